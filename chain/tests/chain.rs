//! The chain without proofs: genesis, signed transfers, persistence,
//! versioning, and the precompile's malformed-input and revert paths.
//! (Paying a real verified claim is covered end to end in `cli/tests`.)

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use lineage_chain::{
    dev_signers,
    precompile::attribution::{IAttribution, ADDRESS},
    tx::sign_call,
    Chain, Genesis,
};

fn verifier_params() -> Vec<u8> {
    // a real (tiny) SRS's verifier part
    use lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
    let p = ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand::rngs::OsRng);
    lineage_verifier::VerifierParams::from_srs(&p).to_bytes()
}

fn new_chain(dir: &std::path::Path) -> Chain {
    Chain::init(dir, Genesis::dev(&verifier_params(), vec![]).unwrap()).unwrap()
}

const GAS_PRICE: u128 = 2_000_000_000;

#[test]
fn genesis_transfer_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let signers = dev_signers(2).unwrap();
    let (a, b) = (signers[0].address(), signers[1].address());
    let genesis_balance;
    let hash;
    {
        let chain = new_chain(dir.path());
        // the standard dev account 0
        assert_eq!(a, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().unwrap());
        genesis_balance = chain.balance(a).unwrap();
        assert_eq!(genesis_balance, U256::from(10_000u128 * lineage_chain::genesis::OPEN));
        let raw = sign_call(&signers[0], chain.chain_id(), 0, b, U256::from(12345), Bytes::new(), 21_000, GAS_PRICE).unwrap();
        hash = chain.submit(&raw).unwrap();
        let (block, receipts) = chain.mine().unwrap();
        assert_eq!(block.number, 1);
        assert!(receipts[0].status);
        assert_eq!(receipts[0].gas_used, 21_000);
    }
    // state and receipts persist across a reopen
    let chain = Chain::open(dir.path()).unwrap();
    assert_eq!(chain.head().unwrap().number, 1);
    assert_eq!(chain.balance(b).unwrap(), genesis_balance + U256::from(12345));
    let fee = U256::from(21_000u128 * GAS_PRICE);
    assert_eq!(chain.balance(a).unwrap(), genesis_balance - U256::from(12345) - fee);
    assert!(chain.receipt(&hash).unwrap().unwrap().status);
    assert_eq!(chain.nonce(a).unwrap(), 1);
}

#[test]
fn rejects_wrong_chain_id_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let chain = new_chain(dir.path());
    let s = &dev_signers(1).unwrap()[0];
    let raw = sign_call(s, 1, 0, Address::ZERO, U256::ZERO, Bytes::new(), 21_000, GAS_PRICE).unwrap();
    assert!(matches!(chain.submit(&raw), Err(lineage_chain::Error::WrongChainId { .. })));
    assert!(chain.submit(&[0x02, 0x01]).is_err());
    let raw = sign_call(s, chain.chain_id(), 0, Address::ZERO, U256::ZERO, Bytes::new(), 21_000, GAS_PRICE).unwrap();
    chain.submit(&raw).unwrap();
    chain.mine().unwrap();
    // the same signed tx again has a stale nonce: the pool refuses it
    assert!(matches!(
        chain.submit(&raw),
        Err(lineage_chain::Error::Pool(lineage_chain::PoolError::NonceTooLow { expected: 1, found: 0 }))
    ));
    let (block, receipts) = chain.mine().unwrap();
    assert!(receipts.is_empty() && block.transactions.is_empty());
}

#[test]
fn refuses_another_format_version() {
    let dir = tempfile::tempdir().unwrap();
    drop(new_chain(dir.path()));
    {
        let db = rocksdb::DB::open_default(dir.path()).unwrap();
        db.put(b"m/version", 99u32.to_be_bytes()).unwrap();
    }
    assert!(matches!(Chain::open(dir.path()), Err(lineage_chain::Error::FormatVersion { found: 99, .. })));
    assert!(matches!(Chain::init(tempfile::tempdir().unwrap().path(), Genesis::dev(&[1, 2], vec![]).unwrap()), Err(lineage_chain::Error::Verifier(_))));
}

fn call(chain: &mut Chain, input: Vec<u8>, value: U256, gas: u64) -> lineage_chain::Receipt {
    let s = &dev_signers(1).unwrap()[0];
    let nonce = chain.nonce(s.address()).unwrap();
    let raw = sign_call(s, chain.chain_id(), nonce, ADDRESS, value, input.into(), gas, GAS_PRICE).unwrap();
    chain.submit(&raw).unwrap();
    chain.mine().unwrap().1.remove(0)
}

#[test]
fn malformed_precompile_input_halts_and_consumes_all_gas() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = new_chain(dir.path());
    let gas = 300_000;
    for input in [
        vec![],                         // no selector
        vec![0xde, 0xad, 0xbe, 0xef],   // unknown selector
        IAttribution::registerDatanetCall { root: [0xff; 32].into() }.abi_encode(), // non-canonical field element
    ] {
        let r = call(&mut chain, input, U256::ZERO, gas);
        assert!(!r.status, "{r:?}");
        assert!(r.outcome.starts_with("halt"), "{r:?}");
        assert_eq!(r.gas_used, gas, "a halt consumes the call's gas: {r:?}");
    }
    // truncated ABI: a valid selector with half its argument
    let mut input = IAttribution::registerDatanetCall { root: [1; 32].into() }.abi_encode();
    input.truncate(20);
    let r = call(&mut chain, input, U256::ZERO, gas);
    assert!(r.outcome.starts_with("halt") && r.gas_used == gas);
}

#[test]
fn well_formed_invalid_requests_revert_and_keep_the_escrow() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = new_chain(dir.path());
    let s = dev_signers(1).unwrap()[0].address();
    let before = chain.balance(s).unwrap();
    // escrow for an unregistered model reverts and returns the value
    let deadline = chain.head().unwrap().timestamp + 100;
    let input = IAttribution::escrowFeeCall { modelOwner: s, modelCommitment: [1; 32].into(), queryCommitment: [2; 32].into(), deadline }
        .abi_encode();
    let r = call(&mut chain, input, U256::from(1000), 300_000);
    assert!(!r.status && r.outcome == "revert" && r.gas_used < 300_000, "{r:?}");
    assert_eq!(chain.balance(ADDRESS).unwrap(), U256::ZERO);
    assert_eq!(chain.balance(s).unwrap(), before - U256::from(r.gas_used as u128 * GAS_PRICE));
    // registering a datanet twice: first succeeds, second reverts
    let input = IAttribution::registerDatanetCall { root: [1; 32].into() }.abi_encode();
    assert!(call(&mut chain, input.clone(), U256::ZERO, 100_000).status);
    let r = call(&mut chain, input, U256::ZERO, 100_000);
    assert_eq!(r.outcome, "revert");
    // a claim for an unknown request reverts
    let claim = IAttribution::submitClaimCall {
        requestId: U256::from(3),
        predictedClass: 1,
        windowIndex: 0,
        contributors: vec![Address::with_last_byte(1)],
        amounts: vec![U256::from(10)],
        proof: Bytes::from_static(&[0; 64]),
    };
    let r = call(&mut chain, claim.abi_encode(), U256::ZERO, 1_000_000);
    assert_eq!(r.outcome, "revert");
    // value sent to a non-payable function reverts
    let input = IAttribution::registerDatanetCall { root: [9; 32].into() }.abi_encode();
    assert_eq!(call(&mut chain, input, U256::from(1), 100_000).outcome, "revert");
}

/// A call run within a small gas budget gives the full call's outcome
/// exactly when its execution never observed its gas limit; otherwise it
/// asks to be run again with the full limit.
#[test]
fn a_call_within_a_budget_is_the_full_call_or_nothing() {
    use lineage_chain::{tx::sign_create, CallRequest};
    let dir = tempfile::tempdir().unwrap();
    let chain = new_chain(dir.path());
    let s = &dev_signers(1).unwrap()[0];
    // three runtimes, each deployed by an init code that returns it:
    // 42 (PUSH1 42 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN), gasleft (GAS PUSH0 MSTORE …), a loop (JUMPDEST PUSH0 JUMP)
    let runtimes: [&[u8]; 3] = [&[0x60, 0x2a, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3], &[0x5a, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3], &[0x5b, 0x5f, 0x56]];
    let mut addrs = Vec::new();
    for (nonce, rt) in runtimes.iter().enumerate() {
        // PUSHn runtime PUSH0 MSTORE PUSH1 len PUSH1 (32 - len) RETURN
        let mut init = vec![0x5f + rt.len() as u8];
        init.extend_from_slice(rt);
        init.extend_from_slice(&[0x5f, 0x52, 0x60, rt.len() as u8, 0x60, 32 - rt.len() as u8, 0xf3]);
        chain.submit(&sign_create(s, chain.chain_id(), nonce as u64, init.into(), 200_000, GAS_PRICE).unwrap()).unwrap();
        addrs.push(s.address().create(nonce as u64));
    }
    chain.mine().unwrap();
    let req = |to: Address| CallRequest { to: Some(to), ..Default::default() };
    let cap = 50_000_000;
    // never observes its gas: the budgeted run is the full call's outcome
    let within = chain.call_within(&req(addrs[0]), cap, 100_000).unwrap();
    assert_eq!(within, Some(chain.call(&req(addrs[0]), cap).unwrap()));
    assert!(matches!(within, Some(lineage_chain::CallOutcome::Success { .. })));
    // reads GAS: its output depends on the limit, so it must run again
    assert_eq!(chain.call_within(&req(addrs[1]), cap, 100_000).unwrap(), None);
    // runs out of the budget: again
    assert_eq!(chain.call_within(&req(addrs[2]), cap, 100_000).unwrap(), None);
    // a priced call (whose fee its caller's balance shows) and one whose
    // intrinsic gas exceeds the budget run with their full limit
    assert_eq!(chain.call_within(&CallRequest { gas_price: Some(1), ..req(addrs[0]) }, cap, 100_000).unwrap(), None);
    let big = CallRequest { input: vec![1u8; 4_000].into(), ..req(addrs[0]) };
    assert_eq!(chain.call_within(&big, cap, 30_000).unwrap(), None);
    assert!(matches!(chain.call(&big, cap).unwrap(), lineage_chain::CallOutcome::Success { .. }));
    // a call whose own limit fits the budget runs once, as is
    let small = CallRequest { gas: Some(60_000), ..req(addrs[2]) };
    assert!(matches!(chain.call_within(&small, cap, 100_000).unwrap(), Some(lineage_chain::CallOutcome::Halt { .. })));
}
