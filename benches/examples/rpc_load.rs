//! JSON-RPC latency under concurrent clients on loopback: `eth_getBalance`
//! and `eth_call` (a contract that returns a word), each from `CLIENTS`
//! clients at once (one HTTP connection each), `REQUESTS` requests per
//! client. Prints p50, p99 and max per method, then one JSON line.
//!
//! `cargo run --release -p lineage-benches --example rpc_load [CLIENTS] [REQUESTS]`
//!
//! `rpc_load serve` only serves (on 127.0.0.1:8599, with the contract at
//! the address it prints) until killed, for an outside load generator such
//! as `wrk` pinned to the other core (see BENCHMARKS.md).

use alloy_primitives::{Address, Bytes, U256};
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use lineage_chain::{dev_signers, rpc::RpcLimits, tx::sign_create, Chain, Genesis};
use rand_chacha::rand_core::SeedableRng;
use std::{sync::Arc, time::{Duration, Instant}};

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p / 100.0).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    // (`serve` is handled once the chain is up)
    let requests: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let srs = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([1; 32]));
    let chain = Arc::new(Chain::init(dir.path(), Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap()).unwrap());
    // a contract whose code returns the word 42: PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    let s = &dev_signers(1).unwrap()[0];
    let init: Bytes = hex_literal("69602a60005260206000f3600052600a6016f3");
    chain.submit(&sign_create(s, chain.chain_id(), 0, init, 100_000, 2_000_000_000).unwrap()).unwrap();
    chain.mine().unwrap();
    let contract = s.address().create(0);
    assert!(!chain.code(contract).unwrap().is_empty());
    // RPC_WORKERS: the runtime's worker threads (default: tokio's, one per core)
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("RPC_WORKERS").ok().and_then(|v| v.parse().ok()) {
        builder.worker_threads(n);
    }
    let rt = builder.enable_all().build().unwrap();
    if args.get(1).map(String::as_str) == Some("serve") {
        rt.block_on(async {
            let (addr, _handle) = lineage_chain::rpc::serve(chain.clone(), "127.0.0.1:8599".parse().unwrap(), RpcLimits::default()).await.unwrap();
            println!("serving http://{addr} contract {contract}");
            std::future::pending::<()>().await;
        });
        return;
    }
    let mut json = serde_json::Map::new();
    rt.block_on(async {
        let (addr, handle) = lineage_chain::rpc::serve(chain.clone(), "127.0.0.1:0".parse().unwrap(), RpcLimits::default()).await.unwrap();
        let url = format!("http://{addr}");
        for method in ["eth_getBalance", "eth_call"] {
            let start = Instant::now();
            let mut tasks = Vec::new();
            for c in 0..clients {
                let url = url.clone();
                tasks.push(tokio::spawn(async move {
                    let client = HttpClientBuilder::default().build(&url).unwrap();
                    let mut lat = Vec::with_capacity(requests);
                    for i in 0..requests {
                        let t = Instant::now();
                        if method == "eth_getBalance" {
                            let who = Address::repeat_byte(((c + i) % 250) as u8 + 1);
                            let _: U256 = client.request("eth_getBalance", rpc_params![who, "latest"]).await.unwrap();
                        } else {
                            let out: Bytes = client.request("eth_call", rpc_params![serde_json::json!({"to": contract}), "latest"]).await.unwrap();
                            assert_eq!(U256::from_be_slice(&out), U256::from(42));
                        }
                        lat.push(t.elapsed());
                    }
                    lat
                }));
            }
            let mut all = Vec::with_capacity(clients * requests);
            for t in tasks {
                all.extend(t.await.unwrap());
            }
            let wall = start.elapsed().as_secs_f64();
            all.sort();
            let (p50, p99, max) = (pct(&all, 50.0), pct(&all, 99.0), all.last().unwrap().as_secs_f64() * 1e3);
            let rps = all.len() as f64 / wall;
            println!("{method:16} {clients} clients × {requests}: p50 {p50:.3} ms  p99 {p99:.3} ms  max {max:.3} ms  {rps:.0} req/s");
            json.insert(method.into(), serde_json::json!({"p50_ms": p50, "p99_ms": p99, "max_ms": max, "req_per_s": rps, "clients": clients, "requests": all.len()}));
        }
        handle.stop().unwrap();
    });
    println!("{}", serde_json::Value::Object(json));
}

fn hex_literal(s: &str) -> Bytes {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>().into()
}
