//! `lineage node` driven from outside: real Ethereum clients (web3.py,
//! ethers v6, a Solidity contract compiled with solc-js) over JSON-RPC; a
//! graceful stop and resume; and kill -9 under load, after which every
//! receipt a client saw is still there and the state root equals a replay
//! from genesis.
//!
//! The clients come from `scripts/clients-setup.sh` (run by
//! `scripts/setup.sh`); if they are missing, this test runs it.

use alloy_primitives::{Address, Bytes, B256, U256, U64};
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use lineage_chain::{dev_signers, tx::sign_call, Chain};
use serde_json::Value;
use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_lineage");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn clients() -> PathBuf {
    let out = Command::new(repo().join("scripts/clients-setup.sh")).stderr(Stdio::inherit()).output().expect("run clients-setup.sh");
    assert!(out.status.success(), "scripts/clients-setup.sh failed: install the test clients (see README)");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A running `lineage node`; killed on drop.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn start(datadir: &Path, block_ms: u64) -> Node {
        let mut child = Command::new(BIN)
            .args(["node", "--dev", "--http-addr", "127.0.0.1:0", "--block-time-ms", &block_ms.to_string(), "--datadir"])
            .arg(datadir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lineage node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no address in {line:?}")).to_string();
        Node { child, url }
    }

    /// SIGTERM, and the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "node did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn run_client(cmd: &mut Command, what: &str) -> Value {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| panic!("{what}: last line is not JSON ({e}): {stdout}"))
}

/// The Solidity interface clients compile against names exactly the
/// node's selectors and event topics (`subset`: every one of them exists
/// on the node, for an interface that covers part of a precompile).
fn abi_matches_the_node(json: &Path, mut node_functions: Vec<[u8; 4]>, mut node_events: Vec<[u8; 32]>, subset: bool) {
    let abi: Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    // a tuple parameter's type is its components' types in parentheses
    fn ty(p: &Value) -> String {
        let t = p["type"].as_str().unwrap();
        match t.strip_prefix("tuple") {
            Some(rest) => format!("({}){rest}", p["components"].as_array().unwrap().iter().map(ty).collect::<Vec<_>>().join(",")),
            None => t.to_string(),
        }
    }
    let sig = |item: &Value| format!("{}({})", item["name"].as_str().unwrap(), item["inputs"].as_array().unwrap().iter().map(ty).collect::<Vec<_>>().join(","));
    let items = abi["abi"].as_array().unwrap();
    let mut functions: Vec<[u8; 4]> = items.iter().filter(|i| i["type"] == "function").map(|i| alloy_primitives::keccak256(sig(i))[..4].try_into().unwrap()).collect();
    let mut events: Vec<[u8; 32]> = items.iter().filter(|i| i["type"] == "event").map(|i| alloy_primitives::keccak256(sig(i)).0).collect();
    for v in [&mut functions, &mut node_functions] {
        v.sort();
    }
    events.sort();
    node_events.sort();
    if subset {
        assert!(functions.iter().all(|f| node_functions.contains(f)), "{json:?}: a function the node lacks");
        assert!(events.iter().all(|e| node_events.contains(e)), "{json:?}: an event the node lacks");
    } else {
        assert_eq!(functions, node_functions, "{json:?}: functions differ from the node's");
        assert_eq!(events, node_events, "{json:?}: events differ from the node's");
    }
}

/// Every interface in ILineage.sol against its precompile.
fn abis_match_the_node(artifacts: &Path) {
    use lineage_chain::precompile::{attribution::IAttribution, governance::IGovernance, registry::IRegistry, staking::IStaking};
    abi_matches_the_node(&artifacts.join("IRegistry.json"), IRegistry::IRegistryCalls::SELECTORS.to_vec(), IRegistry::IRegistryEvents::SELECTORS.to_vec(), false);
    abi_matches_the_node(&artifacts.join("IStaking.json"), IStaking::IStakingCalls::SELECTORS.to_vec(), IStaking::IStakingEvents::SELECTORS.to_vec(), false);
    abi_matches_the_node(&artifacts.join("IGovernance.json"), IGovernance::IGovernanceCalls::SELECTORS.to_vec(), IGovernance::IGovernanceEvents::SELECTORS.to_vec(), false);
    abi_matches_the_node(
        &artifacts.join("IAttributionSettlement.json"),
        IAttribution::IAttributionCalls::SELECTORS.to_vec(),
        IAttribution::IAttributionEvents::SELECTORS.to_vec(),
        true,
    );
}

#[test]
fn real_clients_over_json_rpc_then_stop_and_resume() {
    let clients = clients();
    let dir = tempfile::tempdir().unwrap();
    let here = repo().join("cli/tests/clients");
    let artifacts = dir.path().join("artifacts");
    let node_path = clients.join("node_modules");
    run_client(Command::new("node").arg(here.join("compile.mjs")).arg(&artifacts).env("NODE_PATH", &node_path), "solc-js compile");

    abis_match_the_node(&artifacts);

    let data = dir.path().join("chain");
    let node = Node::start(&data, 200);
    let web3 = run_client(
        Command::new(clients.join("venv/bin/python")).arg(here.join("web3_client.py")).arg(&node.url).arg(&artifacts),
        "web3.py client",
    );
    assert!(web3["checks"].as_u64().unwrap() >= 35, "{web3}");
    let ethers = run_client(
        Command::new("node").arg(here.join("ethers_client.mjs")).arg(&node.url).arg(&artifacts).env("NODE_PATH", &node_path),
        "ethers client",
    );
    assert!(ethers["checks"].as_u64().unwrap() >= 12, "{ethers}");

    let url = node.url.clone();
    let head: U64 = rt().block_on(async { HttpClientBuilder::default().build(&url).unwrap().request("eth_blockNumber", rpc_params![]).await.unwrap() });
    let status = node.terminate();
    assert!(status.success(), "SIGTERM should stop the node cleanly: {status}");

    // restart on the same directory: it resumes from its last block
    let node = Node::start(&data, 200);
    let url = node.url.clone();
    let resumed: U64 = rt().block_on(async { HttpClientBuilder::default().build(&url).unwrap().request("eth_blockNumber", rpc_params![]).await.unwrap() });
    assert!(resumed >= head, "resumed at {resumed}, had {head}");
    assert!(node.terminate().success());
    let chain = Chain::open(&data).unwrap();
    let replay = tempfile::tempdir().unwrap();
    assert_eq!(chain.verify_replay(replay.path()).unwrap(), chain.head().unwrap().state_root);
}

/// kill -9 the node during block production under load, `LINEAGE_CRASH_CYCLES`
/// times (default 3): after each restart every transaction a client saw a
/// receipt for is still there, and the head state root equals a replay from
/// genesis.
#[test]
fn kill_9_under_load_loses_no_receipt() {
    let cycles: usize = std::env::var("LINEAGE_CRASH_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("chain");
    let signers = dev_signers(8).unwrap();
    let mut seen: Vec<(B256, u64)> = Vec::new();
    let rt = rt();
    let mut rng = 0x9e3779b97f4a7c15u64;
    for cycle in 0..cycles {
        let node = Node::start(&data, 25);
        let client = HttpClientBuilder::default().request_timeout(Duration::from_secs(10)).build(&node.url).unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let run_for = Duration::from_millis(200 + rng % 600);
        let seen_now: Vec<(B256, u64)> = rt.block_on(async {
            let mut nonces = Vec::new();
            for s in &signers {
                let n: U64 = client.request("eth_getTransactionCount", rpc_params![s.address(), "latest"]).await.unwrap();
                nonces.push(n.to::<u64>());
            }
            let start = Instant::now();
            let mut sent: Vec<B256> = Vec::new();
            let mut seen = Vec::new();
            let mut i = 0usize;
            while start.elapsed() < run_for {
                for (k, s) in signers.iter().enumerate() {
                    let to = Address::repeat_byte(0x20 + (i % 200) as u8);
                    let raw = sign_call(s, 19534, nonces[k], to, U256::from(1 + i), Bytes::new(), 21_000, 2_000_000_000).unwrap();
                    nonces[k] += 1;
                    i += 1;
                    let h: B256 = client.request("eth_sendRawTransaction", rpc_params![raw]).await.unwrap();
                    sent.push(h);
                }
                let mut still = Vec::new();
                for h in sent {
                    let r: Option<Value> = client.request("eth_getTransactionReceipt", rpc_params![h]).await.unwrap();
                    match r {
                        Some(r) => seen.push((h, u64::from_str_radix(r["blockNumber"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap())),
                        None => still.push(h),
                    }
                }
                sent = still;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seen
        });
        node.kill9();
        seen.extend(seen_now);
        let chain = Chain::open(&data).unwrap();
        for (h, block) in &seen {
            let r = chain.receipt(h).unwrap().unwrap_or_else(|| panic!("cycle {cycle}: receipt of {h} lost after kill -9"));
            assert_eq!(r.block_number, *block);
        }
        let replay = tempfile::tempdir().unwrap();
        let root = chain.verify_replay(replay.path()).unwrap_or_else(|e| panic!("cycle {cycle}: {e}"));
        assert_eq!(root, chain.head().unwrap().state_root);
    }
    assert!(seen.len() > cycles * 8, "the load produced only {} receipts", seen.len());
}

/// `lineage demo --rpc URL` against a running `lineage node --dev`: the
/// demo allowlists its keys through the governor, registers, and settles
/// over JSON-RPC; a second run on the same node reuses what the first
/// registered and settles again.
#[test]
fn demo_against_a_running_dev_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("chain"), 100);
    let files = dir.path().join("demo-files");
    for run in 0..2 {
        let out = Command::new(BIN).args(["demo", "--json", "--whole-examples", "128", "--rpc", &node.url, "--out"]).arg(&files).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "demo run {run} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let j: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        assert_eq!(j["verified"], true, "{j}");
        assert_eq!(j["tampered_rejected"], true);
        assert_eq!(j["double_pay_rejected"], true);
        assert_eq!(j["paid_wei"], j["pool_wei"]);
        assert_eq!(j["whole_paid_wei"], j["pool_wei"]);
        assert_eq!(j["agent_accepted"], true, "the prover staked and accepted as the request's agent");
        assert!(stdout.contains(&format!("over JSON-RPC at {}", node.url)));
        if run == 1 {
            assert_eq!(j["whole_register_gas"], 0, "the second run registers nothing again");
        }
    }
    // the prover (dev account 2) accepted the first window request (id 0) as its agent; it
    // signed an answer with another class than it proved: anyone reports it, and it is slashed
    {
        use alloy_signer::SignerSync;
        use alloy_sol_types::SolCall;
        use lineage_chain::precompile::{attribution::IAttribution, settlement::{answer_hash, Answer}};
        let signers = dev_signers(6).unwrap();
        let client = HttpClientBuilder::default().build(&node.url).unwrap();
        let rt = rt();
        let eth_call = |input: Vec<u8>| -> Bytes {
            rt.block_on(client.request("eth_call", rpc_params![serde_json::json!({"to": lineage_chain::ATTRIBUTION_PRECOMPILE, "input": Bytes::from(input)}), "latest"])).unwrap()
        };
        let id = U256::ZERO;
        let req = IAttribution::requestOfCall::abi_decode_returns(&eth_call(IAttribution::requestOfCall { requestId: id }.abi_encode())).unwrap();
        let set = IAttribution::settlementOfCall::abi_decode_returns(&eth_call(IAttribution::settlementOfCall { requestId: id }.abi_encode())).unwrap();
        assert_eq!(set.agent, signers[2].address(), "the demo's prover accepted request 0");
        let wrong = (set.provenClass + 1) % 10;
        let answer = Answer { requestId: id, queryCommitment: req.queryCommitment, predictedClass: wrong, payoutDigest: set.payoutDigest };
        let sig = signers[2].sign_hash_sync(&answer_hash(19534, &answer)).unwrap().as_bytes();
        let report = IAttribution::reportAnswerCall { requestId: id, predictedClass: wrong, payoutDigest: set.payoutDigest, signature: sig.to_vec().into() }.abi_encode();
        let reporter = &signers[5];
        let nonce: U64 = rt.block_on(client.request("eth_getTransactionCount", rpc_params![reporter.address(), "latest"])).unwrap();
        let raw = sign_call(reporter, 19534, nonce.to(), lineage_chain::ATTRIBUTION_PRECOMPILE, U256::ZERO, report.into(), 1_000_000, 2_000_000_000).unwrap();
        let h: B256 = rt.block_on(client.request("eth_sendRawTransaction", rpc_params![raw])).unwrap();
        let start = Instant::now();
        loop {
            let r: Option<Value> = rt.block_on(client.request("eth_getTransactionReceipt", rpc_params![h])).unwrap();
            if let Some(r) = r {
                assert_eq!(r["status"], "0x1", "the report was refused: {r}");
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "report not mined");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // the auditor re-verifies every paid claim from the chain alone, with the parameters it pins
    let params = files.join("verifier-params.bin");
    let params_hash = alloy_primitives::keccak256(std::fs::read(&params).unwrap());
    let out = Command::new(BIN).args(["audit", "--json", "--rpc", &node.url, "--params"]).arg(&params).args(["--params-hash", &params_hash.to_string()]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "audit failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let claims = a["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 4, "two runs, a window and a whole-datanet claim each: {a}");
    assert!(claims.iter().all(|c| c["proof_valid"] == true), "{a}");
    assert_eq!(claims.iter().filter(|c| c["kind"] == "whole-datanet").count(), 2);
    assert_eq!(a["findings"].as_array().unwrap().len(), 0, "{a}");
    // and it reports the slash with its evidence
    let slashes = a["slashes"].as_array().unwrap();
    assert_eq!(slashes.len(), 1, "{a}");
    assert!(slashes[0]["fault"].as_str().unwrap().starts_with("contradicted answer"), "{a}");
    assert_eq!(slashes[0]["request_id"], "0");
    // under other parameters (the same file with [τ]₂ negated: its sign bit flipped) no claim checks out
    let original = std::fs::read(&params).unwrap();
    let other = [0x40u8, 0x80, 0x20]
        .iter()
        .map(|bit| {
            let mut o = original.clone();
            o[175] ^= bit;
            o
        })
        .find(|o| lineage_verifier::VerifierParams::from_bytes(o).is_ok())
        .expect("one flag bit is [τ]₂'s sign");
    let other_path = dir.path().join("other-params.bin");
    std::fs::write(&other_path, &other).unwrap();
    let out = Command::new(BIN).args(["audit", "--json", "--rpc", &node.url, "--params"]).arg(&other_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FINDING"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(a["findings"].as_array().unwrap().len(), 4, "every paid claim is a finding under other parameters: {a}");
    // parameters other than the pinned ones are refused before any check
    let out = Command::new(BIN).args(["audit", "--rpc", &node.url, "--params"]).arg(&params).args(["--params-hash", &alloy_primitives::B256::repeat_byte(1).to_string()]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("refusing them"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(node.terminate().success());
}
