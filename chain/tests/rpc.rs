//! The JSON-RPC server's limits and error shapes, the pool through RPC,
//! Ethereum-compatible state roots, legacy transactions and replay.
//! (Real clients — web3.py, ethers, solc-js — are driven in `cli/tests/node.rs`.)

use alloy_primitives::{keccak256, Address, Bytes, B256, U256, U64};
use alloy_trie::{root::storage_root_unhashed, TrieAccount};
use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use lineage_chain::{
    dev_signers,
    rpc::{serve, RpcLimits},
    tx::{sign_call, sign_create},
    Chain, Genesis,
};
use lineage_circuits::{halo2_proofs::poly::kzg::commitment::ParamsKZG, Bn256};
use lineage_verifier::VerifierParams;
use rand::SeedableRng;
use serde_json::Value;
use std::{io::{Read, Write}, net::SocketAddr, sync::Arc};

const FEE: u128 = 2_000_000_000;

fn chain(dir: &std::path::Path) -> Chain {
    let srs = ParamsKZG::<Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([3; 32]));
    Chain::init(dir, Genesis::dev(&VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap()).unwrap()
}

/// Runtime code `JUMPDEST PUSH1 0 JUMP` (loops until out of gas), and init
/// code that returns it.
const LOOP_INIT: &str = "635b6000566000526004601cf3";
/// Init code whose runtime emits LOG1(topic 0x11…, data 32 bytes) and stops.
fn logger_init() -> Bytes {
    // runtime: PUSH1 0x2a PUSH1 0 MSTORE PUSH32 topic PUSH1 32 PUSH1 0 LOG1 STOP
    let mut rt = hex::decode("602a600052").unwrap();
    rt.push(0x7f);
    rt.extend([0x11u8; 32]);
    rt.extend(hex::decode("60206000a100").unwrap());
    let n = rt.len() as u8;
    // init: PUSH1 n DUP1 PUSH1 off PUSH1 0 CODECOPY PUSH1 0 RETURN
    let mut init = vec![0x60, n, 0x80, 0x60, 12, 0x60, 0, 0x39, 0x60, 0, 0xf3, 0x00];
    init.extend(rt);
    init.into()
}

fn post(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

#[test]
fn genesis_state_root_is_ethereums_trie_root() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let g = c.genesis().clone();
    // recompute independently: alloc accounts, the attribution precompile's
    // account (nonce 1) with its governor slot, and the registry's
    let mut accounts: Vec<(B256, TrieAccount)> = g
        .alloc
        .iter()
        .map(|(a, b)| (keccak256(a), TrieAccount { nonce: 0, balance: *b, storage_root: alloy_trie::EMPTY_ROOT_HASH, code_hash: alloy_primitives::KECCAK256_EMPTY }))
        .collect();
    let gov_slot = lineage_chain::precompile::attribution::slots::governor();
    let storage = storage_root_unhashed([(B256::from(gov_slot), U256::from_be_slice(g.governor.as_slice()))]);
    accounts.push((
        keccak256(lineage_chain::ATTRIBUTION_PRECOMPILE),
        TrieAccount { nonce: 1, balance: U256::ZERO, storage_root: storage, code_hash: alloy_primitives::KECCAK256_EMPTY },
    ));
    // the registry and staking precompiles' accounts (nonce 1, no storage yet)
    for a in [lineage_chain::REGISTRY_PRECOMPILE, lineage_chain::STAKING_PRECOMPILE] {
        accounts.push((
            keccak256(a),
            TrieAccount { nonce: 1, balance: U256::ZERO, storage_root: alloy_trie::EMPTY_ROOT_HASH, code_hash: alloy_primitives::KECCAK256_EMPTY },
        ));
    }
    // governance (nonce 1) holds the genesis parameters
    let words = g.params.words().into_iter().map(|(k, v)| (B256::from(k), v));
    accounts.push((
        keccak256(lineage_chain::GOVERNANCE_PRECOMPILE),
        TrieAccount { nonce: 1, balance: U256::ZERO, storage_root: storage_root_unhashed(words), code_hash: alloy_primitives::KECCAK256_EMPTY },
    ));
    accounts.sort_by_key(|a| a.0);
    assert_eq!(c.head().unwrap().state_root, alloy_trie::root::state_root(accounts));
    // and the block hash is the keccak of the RLP header
    let b = c.head().unwrap();
    assert_eq!(b.hash, keccak256(alloy_rlp::encode(b.header())));
}

#[test]
fn legacy_and_1559_transactions_logs_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let s = dev_signers(3).unwrap();
    // a legacy EIP-155 transfer, signed by hand
    use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    let legacy = TxLegacy {
        chain_id: Some(c.chain_id()),
        nonce: 0,
        gas_price: FEE,
        gas_limit: 21_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0x77)),
        value: U256::from(5),
        input: Bytes::new(),
    };
    let sig = s[0].sign_hash_sync(&legacy.signature_hash()).unwrap();
    let env: TxEnvelope = legacy.into_signed(sig).into();
    let h_legacy = c.submit(&env.encoded_2718()).unwrap();
    let h_create = c.submit(&sign_create(&s[1], c.chain_id(), 0, logger_init(), 200_000, FEE).unwrap()).unwrap();
    let (b1, r1) = c.mine().unwrap();
    assert_eq!(r1.len(), 2);
    let legacy_r = c.receipt(&h_legacy).unwrap().unwrap();
    assert!(legacy_r.status && legacy_r.tx_type == 0 && legacy_r.effective_gas_price == FEE, "{legacy_r:?}");
    let logger = c.receipt(&h_create).unwrap().unwrap().contract_address.unwrap();
    assert_eq!(c.balance(Address::repeat_byte(0x77)).unwrap(), U256::from(5));
    let h_log = c.submit(&sign_call(&s[2], c.chain_id(), 0, logger, U256::ZERO, Bytes::new(), 100_000, FEE).unwrap()).unwrap();
    let (b2, _) = c.mine().unwrap();
    let r = c.receipt(&h_log).unwrap().unwrap();
    assert_eq!(r.logs.len(), 1);
    assert_eq!(r.logs[0].address, logger);
    assert_eq!(r.logs[0].topics(), &[B256::repeat_byte(0x11)]);
    assert_eq!(U256::from_be_slice(&r.logs[0].data.data), U256::from(42));
    assert!(b2.logs_bloom.contains_input(alloy_primitives::BloomInput::Raw(logger.as_slice())));
    assert_ne!(b1.state_root, b2.state_root);
    assert_ne!(b2.receipts_root, alloy_trie::EMPTY_ROOT_HASH);
    let replay = tempfile::tempdir().unwrap();
    assert_eq!(c.verify_replay(replay.path()).unwrap(), b2.state_root);
}

#[test]
fn rpc_limits_are_json_rpc_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let c = Arc::new(chain(dir.path()));
    let s = dev_signers(2).unwrap();
    let loop_addr = s[0].address().create(0);
    c.submit(&sign_create(&s[0], c.chain_id(), 0, hex::decode(LOOP_INIT).unwrap().into(), 100_000, FEE).unwrap()).unwrap();
    c.submit(&sign_create(&s[1], c.chain_id(), 0, logger_init(), 200_000, FEE).unwrap()).unwrap();
    c.mine().unwrap();
    let logger = s[1].address().create(0);
    for i in 0..3u64 {
        c.submit(&sign_call(&s[1], c.chain_id(), 1 + i, logger, U256::ZERO, Bytes::new(), 100_000, FEE).unwrap()).unwrap();
        c.mine().unwrap();
    }
    let limits = RpcLimits { max_request_bytes: 4096, max_batch: 3, max_log_blocks: 3, max_logs: 2, call_gas_cap: 1_000_000, ..Default::default() };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (addr, handle) = serve(c.clone(), "127.0.0.1:0".parse().unwrap(), limits).await.unwrap();
        let url = format!("http://{addr}");
        let client = HttpClientBuilder::default().build(&url).unwrap();
        let code = |e: jsonrpsee::core::ClientError| match e {
            jsonrpsee::core::ClientError::Call(o) => (o.code(), o.message().to_string(), o.data().map(|d| d.get().to_string())),
            other => panic!("expected a JSON-RPC error, got {other}"),
        };

        // body size: refused by HTTP status, the server keeps serving
        let big = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["{}"]}}"#, "a".repeat(5000));
        let (status, _) = tokio::task::spawn_blocking(move || post(addr, big.as_bytes())).await.unwrap();
        assert_eq!(status, 413);
        // batch size
        let batch: String = format!("[{}]", vec![r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#; 4].join(","));
        let (status, body) = tokio::task::spawn_blocking(move || post(addr, batch.as_bytes())).await.unwrap();
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], -32010, "{v}");
        // log range and result count
        let e = client.request::<Value, _>("eth_getLogs", rpc_params![serde_json::json!({"fromBlock": "0x0", "toBlock": "0x3"})]).await.unwrap_err();
        assert_eq!(code(e).0, -32005);
        let e = client.request::<Value, _>("eth_getLogs", rpc_params![serde_json::json!({"fromBlock": "0x2", "toBlock": "0x4"})]).await.unwrap_err();
        let (c5, msg, _) = code(e);
        assert!(c5 == -32005 && msg.contains("more than 2"), "{msg}");
        let logs: Vec<Value> = client.request("eth_getLogs", rpc_params![serde_json::json!({"fromBlock": "0x3", "toBlock": "0x4", "address": logger})]).await.unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs[1]["topics"][0], format!("{}", B256::repeat_byte(0x11)));
        // eth_call's gas cap: an endless loop halts out of gas within the cap
        let e = client.request::<Bytes, _>("eth_call", rpc_params![serde_json::json!({"to": loop_addr, "gas": "0xffffffffff"})]).await.unwrap_err();
        let (c3, msg, _) = code(e);
        assert!(c3 == -32000 && msg.contains("OutOfGas"), "{msg}");
        // historical state is refused with its reason
        let e = client.request::<U256, _>("eth_getBalance", rpc_params![s[0].address(), "0x1"]).await.unwrap_err();
        assert!(code(e).1.contains("historical state"));
        // malformed parameters
        let e = client.request::<U256, _>("eth_getBalance", rpc_params!["0x1234"]).await.unwrap_err();
        assert_eq!(code(e).0, -32602);
        let e = client.request::<B256, _>("eth_sendRawTransaction", rpc_params!["0x02ff"]).await.unwrap_err();
        assert!(code(e).1.contains("invalid transaction"));
        // a call whose gas × price + value overflows is refused, not a panic
        let huge = serde_json::json!({"to": loop_addr, "value": format!("0x{}", "f".repeat(64)), "gasPrice": "0x1"});
        let e = client.request::<Bytes, _>("eth_call", rpc_params![huge]).await.unwrap_err();
        assert_eq!(code(e).0, -32602);
        // a log range that starts after the head holds nothing (not the head's logs again)
        let logs: Vec<Value> = client.request("eth_getLogs", rpc_params![serde_json::json!({"fromBlock": "0x64", "address": logger})]).await.unwrap();
        assert!(logs.is_empty());
        // still serving
        let n: U64 = client.request("eth_blockNumber", rpc_params![]).await.unwrap();
        assert_eq!(n, U64::from(4));
        handle.stop().unwrap();
    });
    // the call timeout, with a tiny limit
    let rt2 = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt2.block_on(async {
        let limits = RpcLimits { call_timeout_ms: 1, call_gas_cap: 50_000_000, ..Default::default() };
        let (addr, handle) = serve(c.clone(), "127.0.0.1:0".parse().unwrap(), limits).await.unwrap();
        let client = HttpClientBuilder::default().build(format!("http://{addr}")).unwrap();
        // oversized filters are refused
        let many: Vec<Address> = (0..1001u32).map(|i| Address::left_padding_from(&i.to_be_bytes())).collect();
        match client.request::<Value, _>("eth_getLogs", rpc_params![serde_json::json!({"fromBlock": "0x4", "address": many})]).await.unwrap_err() {
            jsonrpsee::core::ClientError::Call(o) => assert_eq!(o.code(), -32005, "{o:?}"),
            other => panic!("{other}"),
        }
        let e = client.request::<Bytes, _>("eth_call", rpc_params![serde_json::json!({"to": loop_addr})]).await.unwrap_err();
        match e {
            jsonrpsee::core::ClientError::Call(o) => assert!(o.code() == -32005 && o.message().contains("timeout"), "{o:?}"),
            other => panic!("{other}"),
        }
        handle.stop().unwrap();
    });
}

#[test]
fn precompile_state_changes_emit_events_and_reverts_emit_none() {
    use alloy_sol_types::{SolCall, SolEvent};
    use lineage_chain::precompile::attribution::IAttribution;
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let s = dev_signers(2).unwrap();
    let pc = lineage_chain::ATTRIBUTION_PRECOMPILE;
    let send = |who: &alloy_signer_local::PrivateKeySigner, input: Vec<u8>| {
        let raw = sign_call(who, c.chain_id(), c.nonce(who.address()).unwrap(), pc, U256::ZERO, input.into(), 200_000, FEE).unwrap();
        let h = c.submit(&raw).unwrap();
        c.mine().unwrap();
        c.receipt(&h).unwrap().unwrap()
    };
    let key = B256::repeat_byte(0x42);
    // the governor (dev account 0) allows a key
    let r = send(&s[0], IAttribution::setKeyAllowedCall { vkHash: key, allowed: true }.abi_encode());
    assert!(r.status && r.logs.len() == 1, "{r:?}");
    assert_eq!(r.logs[0].address, pc);
    let ev = IAttribution::KeyAllowed::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!((ev.vkHash, ev.allowed), (key, true));
    // someone else may not, and the reverted call leaves no log
    let r = send(&s[1], IAttribution::setKeyAllowedCall { vkHash: key, allowed: false }.abi_encode());
    assert!(!r.status && r.logs.is_empty());
    let root = B256::with_last_byte(9);
    let r = send(&s[1], IAttribution::registerDatanetCall { root }.abi_encode());
    let ev = IAttribution::DatanetRegistered::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!((ev.owner, ev.root), (s[1].address(), root));
    assert_eq!(r.logs[0].topics()[0], IAttribution::DatanetRegistered::SIGNATURE_HASH);
    let head = c.head().unwrap();
    assert!(head.logs_bloom.contains_input(alloy_primitives::BloomInput::Raw(pc.as_slice())));
}

#[test]
fn unfit_transactions_are_skipped_not_blocking_and_empty_accounts_are_not_stored() {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let s = dev_signers(4).unwrap();
    let limit = c.genesis().gas_limit;
    let tx = |who: &alloy_signer_local::PrivateKeySigner, gas: u64, tip: u128, to: Address, value: u64| {
        let t = TxEip1559 {
            chain_id: c.chain_id(),
            nonce: 0,
            gas_limit: gas,
            max_fee_per_gas: 100 * FEE,
            max_priority_fee_per_gas: tip,
            to: alloy_primitives::TxKind::Call(to),
            value: U256::from(value),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = who.sign_hash_sync(&t.signature_hash()).unwrap();
        let env: TxEnvelope = t.into_signed(sig).into();
        c.submit(&env.encoded_2718()).unwrap()
    };
    // two whole-block gas limits with high tips, and one plain transfer with a low tip
    let big1 = tx(&s[0], limit, 50 * FEE, Address::repeat_byte(0x51), 1);
    let big2 = tx(&s[1], limit, 40 * FEE, Address::repeat_byte(0x52), 1);
    let fresh = Address::repeat_byte(0x53);
    let small = tx(&s[2], 21_000, 1, fresh, 0);
    let (b, _) = c.mine().unwrap();
    assert_eq!(b.transactions, vec![big1, small], "the second big one is skipped; the small one still goes in");
    assert_eq!(c.pending(), 1);
    let (b, _) = c.mine().unwrap();
    assert_eq!(b.transactions, vec![big2]);
    // the zero-value transfer touched `fresh`, which stays empty: EIP-161 stores nothing
    assert!(revm::DatabaseRef::basic_ref(c.store(), fresh).unwrap().is_none());
    let replay = tempfile::tempdir().unwrap();
    assert_eq!(c.verify_replay(replay.path()).unwrap(), b.state_root);
}

#[test]
fn admission_checks_intrinsic_gas_and_what_a_sender_has_queued() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let s = &dev_signers(1).unwrap()[0];
    let open = U256::from(10u128.pow(18));
    // 1 KiB of non-zero calldata cannot run on 21,000 gas (16 a byte, and Prague's floor)
    let raw = sign_call(s, c.chain_id(), 0, Address::repeat_byte(0x61), U256::ZERO, vec![1u8; 1024].into(), 21_000, FEE).unwrap();
    let e = c.submit(&raw).unwrap_err();
    assert!(e.to_string().contains("intrinsic gas too low"), "{e}");
    // 6,000 OPEN twice from a 10,000 OPEN account: the second is refused while the first is queued
    let raw = sign_call(s, c.chain_id(), 0, Address::repeat_byte(0x61), open * U256::from(6_000), Bytes::new(), 21_000, FEE).unwrap();
    c.submit(&raw).unwrap();
    let raw = sign_call(s, c.chain_id(), 1, Address::repeat_byte(0x62), open * U256::from(6_000), Bytes::new(), 21_000, FEE).unwrap();
    assert!(matches!(c.submit(&raw), Err(lineage_chain::Error::InsufficientFunds { .. })));
    assert_eq!(c.pending(), 1);
    // once the first is mined, the second fits what is left
    c.mine().unwrap();
    let raw = sign_call(s, c.chain_id(), 1, Address::repeat_byte(0x62), open * U256::from(3_000), Bytes::new(), 21_000, FEE).unwrap();
    c.submit(&raw).unwrap();
}
