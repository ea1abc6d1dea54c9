//! The security review's findings against the chain, one test each, named
//! after what it refuses. Each asserts the specific revert reason or halt.

mod common;

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use common::*;
use lineage_chain::{
    precompile::attribution::{IAttribution, ADDRESS, MAX_REQUEST_TTL, VERIFY_BASE_GAS},
    tx::sign_call,
    Chain, Genesis,
};
use lineage_verifier::{Verifier, VerifierParams, MAX_VK_FILE_BYTES};

// ---------------------------------------------------------------- 1. value

#[test]
fn callcode_and_delegatecall_escrows_credit_nothing() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let forger = deploy_forger(&mut chain, &s[1]);
    let escrow = escrow_input(&chain, s[0].address(), model, fe(9), 3600);
    let fee = U256::from(7_000_000_000_000_000_000u128);
    for via in [
        IEscrowForger::viaCallcodeCall { target: ADDRESS, data: escrow.clone().into() }.abi_encode(),
        IEscrowForger::viaDelegatecallCall { target: ADDRESS, data: escrow.clone().into() }.abi_encode(),
    ] {
        let before = chain.balance(ADDRESS).unwrap();
        let r = call_to(&mut chain, &s[1], forger, via, fee, 1_000_000);
        assert_reverts(&r, "must be a plain CALL");
        assert_eq!(chain.balance(ADDRESS).unwrap(), before, "precompile balance unchanged");
        assert_eq!(escrow_of(&mut chain, U256::ZERO), U256::ZERO);
        assert!(chain.storage(ADDRESS, lineage_chain::precompile::attribution::slots::request_count()).unwrap().is_zero());
    }
    chain.escrow_invariant().unwrap();
}

#[test]
fn call_from_a_contract_credits_exactly_what_it_sent() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let forger = deploy_forger(&mut chain, &s[1]);
    let escrow = escrow_input(&chain, s[0].address(), model, fe(9), 3600);
    let fee = U256::from(1_234_567u64);
    let before = chain.balance(ADDRESS).unwrap();
    let r = call_to(&mut chain, &s[1], forger, IEscrowForger::viaCallCall { target: ADDRESS, data: escrow.into() }.abi_encode(), fee, 1_000_000);
    assert!(r.status, "{r:?}");
    assert_eq!(chain.balance(ADDRESS).unwrap(), before + fee);
    assert_eq!(escrow_of(&mut chain, U256::ZERO), fee);
    // the request's payer is the contract, which really paid
    let req = call(&mut chain, &s[5], IAttribution::requestOfCall { requestId: U256::ZERO }.abi_encode(), U256::ZERO, 100_000);
    let req = IAttribution::requestOfCall::abi_decode_returns(&req.output).unwrap();
    assert_eq!(req.payer, forger);
    assert_eq!(req.fee, fee);
    chain.escrow_invariant().unwrap();
}

#[test]
fn value_sent_to_a_view_or_non_payable_function_is_refused() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let r = call(&mut chain, &s[1], IAttribution::escrowOfCall { requestId: U256::ZERO }.abi_encode(), U256::from(5), 100_000);
    assert_reverts(&r, "not payable");
    let r = call(&mut chain, &s[1], IAttribution::registerDatanetCall { root: fe(3) }.abi_encode(), U256::from(5), 100_000);
    assert_reverts(&r, "not payable");
    assert_eq!(chain.balance(ADDRESS).unwrap(), U256::ZERO);
}

// ---------------------------------------------------------------- 2. keys

/// Key files an attacker could submit, each built from a genuine one.
fn malicious_keys() -> Vec<(&'static str, Vec<u8>)> {
    let k = keys();
    let good: serde_json::Value = serde_json::from_slice(&k.vk_bytes).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let kk = good["circuit_params"]["k"].as_u64().unwrap();
    let vk_hex = good["vk"].as_str().unwrap().to_string();
    let mut header_k = hex::decode(&vk_hex).unwrap();
    header_k[1..5].copy_from_slice(&28u32.to_le_bytes());
    let header_k = hex::encode(header_k);
    vec![
        ("lookup_bits = k", edit(&|v| v["circuit_params"]["lookup_bits"] = kk.into())),
        ("lookup_bits = 200", edit(&|v| v["circuit_params"]["lookup_bits"] = 200.into())),
        ("lookup_bits = 0", edit(&|v| v["circuit_params"]["lookup_bits"] = 0.into())),
        ("no lookup", edit(&|v| v["circuit_params"]["lookup_bits"] = serde_json::Value::Null)),
        ("empty advice phases", edit(&|v| v["circuit_params"]["num_advice_per_phase"] = serde_json::json!([]))),
        ("zero advice", edit(&|v| v["circuit_params"]["num_advice_per_phase"] = serde_json::json!([0]))),
        ("second phase", edit(&|v| v["circuit_params"]["num_advice_per_phase"] = serde_json::json!([3, 2]))),
        ("a million advice columns", edit(&|v| v["circuit_params"]["num_advice_per_phase"] = serde_json::json!([1_000_000]))),
        ("no lookup advice", edit(&|v| v["circuit_params"]["num_lookup_advice_per_phase"] = serde_json::json!([0]))),
        ("no fixed columns", edit(&|v| v["circuit_params"]["num_fixed"] = 0.into())),
        ("huge fixed columns", edit(&|v| v["circuit_params"]["num_fixed"] = 100_000.into())),
        ("no instance column", edit(&|v| v["circuit_params"]["num_instance_columns"] = 0.into())),
        ("k = 28", edit(&|v| {
            v["circuit_params"]["k"] = 28.into();
            v["shape"]["k"] = 28.into();
        })),
        ("k = 4", edit(&|v| {
            v["circuit_params"]["k"] = 4.into();
            v["shape"]["k"] = 4.into();
        })),
        ("halo2 header k = 28", edit(&|v| v["vk"] = header_k.clone().into())),
        ("slots = 2^40", edit(&|v| v["shape"]["slots"] = (1u64 << 40).into())),
        ("batch = 3", edit(&|v| v["shape"]["batch"] = 3.into())),
        ("batch = 2^20", edit(&|v| v["shape"]["batch"] = (1u64 << 20).into())),
        ("depth = 1000", edit(&|v| v["shape"]["depth"] = 1000.into())),
        ("shape inconsistent with k", edit(&|v| v["shape"]["batch"] = 256.into())),
        ("other parameters", edit(&|v| v["params_hash"] = B256::repeat_byte(7).to_string().into())),
        ("truncated key bytes", edit(&|v| v["vk"] = vk_hex[..vk_hex.len() / 2].to_string().into())),
        ("trailing key bytes", edit(&|v| v["vk"] = format!("{vk_hex}00").into())),
        ("odd hex", edit(&|v| v["vk"] = format!("{vk_hex}0").into())),
        ("unknown field", edit(&|v| v["extra"] = 1.into())),
        ("unknown field in shape", edit(&|v| v["shape"]["extra"] = 1.into())),
        ("unknown field in circuit_params", edit(&|v| v["circuit_params"]["extra"] = 1.into())),
        ("version 1", edit(&|v| v["version"] = 1.into())),
        ("not JSON", b"\x00\x01garbage".to_vec()),
        ("too large", vec![b' '; MAX_VK_FILE_BYTES + 1]),
    ]
}

#[test]
fn malicious_key_files_are_refused_by_the_parser_without_panicking() {
    let k = keys();
    let verifier = Verifier::new(VerifierParams::from_bytes(&k.params).unwrap());
    verifier.parse_key(&k.vk_bytes).expect("the genuine key parses");
    for (name, bytes) in malicious_keys() {
        let r = std::panic::catch_unwind(|| verifier.parse_key(&bytes));
        match r {
            Ok(Err(_)) => {}
            Ok(Ok(_)) => panic!("{name}: accepted"),
            Err(_) => panic!("{name}: the parser panicked"),
        }
    }
}

#[test]
fn malicious_key_files_halt_on_chain_and_the_next_block_is_mined() {
    let (_dir, mut chain, s) = fresh(vec![]);
    for (name, bytes) in malicious_keys() {
        // even a key the governor allowlisted by mistake must not crash the node
        let hash = keccak256(&bytes);
        let r = call(&mut chain, &s[0], IAttribution::setKeyAllowedCall { vkHash: hash, allowed: true }.abi_encode(), U256::ZERO, 100_000);
        assert!(r.status, "{name}: {r:?}");
        // enough gas for the largest file, so each halts on its content, not for want of gas
        let gas = 45_000_000;
        let r = call(&mut chain, &s[1], IAttribution::registerVerifyingKeyCall { vkFile: bytes.into() }.abi_encode(), U256::ZERO, gas);
        assert!(r.outcome.starts_with("halt") && !r.outcome.contains("OutOfGas"), "{name}: {r:?}");
        // the chain goes on
        let before = chain.head().unwrap().number;
        let r = call_to(&mut chain, &s[2], s[3].address(), vec![], U256::from(1), 21_000);
        assert!(r.status && chain.head().unwrap().number == before + 1, "{name}: chain stalled");
    }
}

#[test]
fn oversized_calldata_halts_before_work() {
    let (_dir, mut chain, s) = fresh(vec![]);
    // 5,000 payouts: far above the circuit's slot maximum
    let n = 5_000;
    let claim = IAttribution::submitClaimCall {
        requestId: U256::ZERO,
        predictedClass: 0,
        windowIndex: 0,
        contributors: vec![Address::with_last_byte(1); n],
        amounts: vec![U256::from(1); n],
        proof: Bytes::new(),
    };
    let gas = 59_000_000;
    let r = call(&mut chain, &s[1], claim.abi_encode(), U256::ZERO, gas);
    assert_halts(&r, gas);
    assert_eq!(chain.attribution().verifications(), 0);
}

// ---------------------------------------------------------------- 3. registry

#[test]
fn unlisted_key_is_refused() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let k = keys();
    let r = call(&mut chain, &s[1], IAttribution::registerVerifyingKeyCall { vkFile: k.vk_bytes.clone().into() }.abi_encode(), U256::ZERO, 20_000_000);
    assert_reverts(&r, "not on the allowlist");
    // only the governor may allow it
    let allow = IAttribution::setKeyAllowedCall { vkHash: k.vk.hash, allowed: true }.abi_encode();
    assert_reverts(&call(&mut chain, &s[1], allow.clone(), U256::ZERO, 100_000), "only the governor");
    assert!(call(&mut chain, &s[0], allow, U256::ZERO, 100_000).status);
    let r = call(&mut chain, &s[1], IAttribution::registerVerifyingKeyCall { vkFile: k.vk_bytes.clone().into() }.abi_encode(), U256::ZERO, 20_000_000);
    assert!(r.status, "{r:?}");
    assert_eq!(B256::from_slice(&r.output), k.vk.hash);
    // registration paid the key's parse at the chain's k and warmed it by consensus:
    // claims against it pay no parse while it stays in the ring
    use lineage_chain::precompile::{attribution::window_key_parse_gas, whole::{whole_slots::warm_slot, WARM_KEYS}};
    assert!(r.gas_used >= window_key_parse_gas(15), "{} < {}", r.gas_used, window_key_parse_gas(15));
    let ring: Vec<U256> = (0..WARM_KEYS).map(|i| chain.storage(ADDRESS, warm_slot(i)).unwrap()).collect();
    assert!(ring.contains(&U256::from_be_bytes(k.vk.hash.0)), "{ring:?}");
    // a model cannot bind a delisted key, and a delisted key pays no claim
    assert!(call(&mut chain, &s[0], IAttribution::setKeyAllowedCall { vkHash: k.vk.hash, allowed: false }.abi_encode(), U256::ZERO, 100_000).status);
    assert!(call(&mut chain, &s[1], IAttribution::registerDatanetCall { root: fe(1) }.abi_encode(), U256::ZERO, 200_000).status);
    let r = call(&mut chain, &s[1], IAttribution::registerModelCall { modelCommitment: fe(2), datanetOwner: s[1].address(), datanetRoot: fe(1), vkHash: k.vk.hash }.abi_encode(), U256::ZERO, 200_000);
    assert_reverts(&r, "not on the allowlist");
}

#[test]
fn registering_over_an_existing_model_or_on_someone_elses_datanet_reverts() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (honest, attacker) = (&s[0], &s[4]);
    let (root, model) = register_model(&mut chain, honest);
    let k = keys();
    let reg = |m: B256, downer: Address, r: B256| {
        IAttribution::registerModelCall { modelCommitment: m, datanetOwner: downer, datanetRoot: r, vkHash: k.vk.hash }.abi_encode()
    };
    // the owner cannot register the same model (or datanet) twice
    assert_reverts(&call(&mut chain, honest, reg(model, honest.address(), root), U256::ZERO, 200_000), "already registered");
    // not even when the model's datanet root is 0 (a canonical field element)
    assert!(call(&mut chain, honest, IAttribution::registerDatanetCall { root: B256::ZERO }.abi_encode(), U256::ZERO, 200_000).status);
    assert!(call(&mut chain, honest, reg(fe(5), honest.address(), B256::ZERO), U256::ZERO, 200_000).status);
    assert_reverts(&call(&mut chain, honest, reg(fe(5), honest.address(), root), U256::ZERO, 200_000), "already registered");
    assert_reverts(&call(&mut chain, honest, IAttribution::registerDatanetCall { root }.abi_encode(), U256::ZERO, 200_000), "already registered");
    // someone else cannot bind a model to the honest owner's datanet
    assert_reverts(&call(&mut chain, attacker, reg(fe(3), honest.address(), root), U256::ZERO, 200_000), "belongs to someone else");
    // the attacker may register the same root and the same model commitment —
    // under their own name, which leaves the honest entries as they were
    assert!(call(&mut chain, attacker, IAttribution::registerDatanetCall { root }.abi_encode(), U256::ZERO, 200_000).status);
    assert!(call(&mut chain, attacker, reg(model, attacker.address(), root), U256::ZERO, 200_000).status);
    let view = |chain: &mut Chain, owner: Address| {
        let r = call(chain, &s[5], IAttribution::modelOfCall { owner, modelCommitment: model }.abi_encode(), U256::ZERO, 100_000);
        IAttribution::modelOfCall::abi_decode_returns(&r.output).unwrap()
    };
    let h = view(&mut chain, honest.address());
    assert_eq!((h.datanetOwner, h.datanetRoot, h.vkHash), (honest.address(), root, k.vk.hash));
    assert_eq!(view(&mut chain, attacker.address()).datanetOwner, attacker.address());
    // the datanet owner may grant its use; nobody else can
    let grant = |user: Address| IAttribution::grantDatanetUseCall { root: fe(77), user }.abi_encode();
    assert!(call(&mut chain, honest, IAttribution::registerDatanetCall { root: fe(77) }.abi_encode(), U256::ZERO, 200_000).status);
    assert_reverts(&call(&mut chain, &s[3], reg(fe(4), honest.address(), fe(77)), U256::ZERO, 200_000), "belongs to someone else");
    assert!(call(&mut chain, honest, grant(s[3].address()), U256::ZERO, 200_000).status);
    assert!(call(&mut chain, &s[3], reg(fe(4), honest.address(), fe(77)), U256::ZERO, 200_000).status);
    assert_reverts(&call(&mut chain, &s[2], grant(s[2].address()), U256::ZERO, 200_000), "only the datanet's owner");
}

#[test]
fn views_return_what_was_registered() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (root, _) = register_model(&mut chain, &s[2]);
    let out = |chain: &mut Chain, input: Vec<u8>| call(chain, &s[5], input, U256::ZERO, 100_000).output;
    for (owner, expected) in [(s[2].address(), true), (s[3].address(), false)] {
        let o = out(&mut chain, IAttribution::isDatanetRegisteredCall { owner, root }.abi_encode());
        assert_eq!(IAttribution::isDatanetRegisteredCall::abi_decode_returns(&o).unwrap(), expected);
    }
    let o = out(&mut chain, IAttribution::governorCall {}.abi_encode());
    assert_eq!(IAttribution::governorCall::abi_decode_returns(&o).unwrap(), s[0].address());
    let o = out(&mut chain, IAttribution::isKeyAllowedCall { vkHash: keys().vk.hash }.abi_encode());
    assert!(IAttribution::isKeyAllowedCall::abi_decode_returns(&o).unwrap());
    let o = out(&mut chain, IAttribution::isKeyAllowedCall { vkHash: B256::repeat_byte(1) }.abi_encode());
    assert!(!IAttribution::isKeyAllowedCall::abi_decode_returns(&o).unwrap());
}

// ---------------------------------------------------------------- 5. gas

#[test]
fn claim_with_too_little_gas_halts_without_calling_the_verifier() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let input = escrow_input(&chain, s[0].address(), model, fe(9), 3600);
    let r = call(&mut chain, &s[1], input, U256::from(1000), 300_000);
    assert!(r.status, "{r:?}");
    let claim = IAttribution::submitClaimCall {
        requestId: U256::ZERO,
        predictedClass: 1,
        windowIndex: 0,
        contributors: vec![Address::with_last_byte(1)],
        amounts: vec![U256::from(1000)],
        proof: Bytes::from(vec![0u8; 64]),
    };
    let gas = 300_000; // below VERIFY_BASE_GAS
    assert!(gas < VERIFY_BASE_GAS);
    let r = call(&mut chain, &s[2], claim.abi_encode(), U256::ZERO, gas);
    assert_halts(&r, gas);
    assert!(r.outcome.contains("OutOfGas"), "{r:?}");
    assert_eq!(chain.attribution().verifications(), 0);
    // with enough gas the same claim reaches the verifier (and is rejected)
    let r = call(&mut chain, &s[2], claim.abi_encode(), U256::ZERO, 2_000_000);
    assert_reverts(&r, "claim rejected");
    assert_eq!(chain.attribution().verifications(), 1);
    assert_eq!(escrow_of(&mut chain, U256::ZERO), U256::from(1000), "a rejected claim leaves the escrow");
}

#[test]
fn registration_caches_only_the_key_it_paid_to_parse() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let k = keys();
    let reg = IAttribution::registerVerifyingKeyCall { vkFile: k.vk_bytes.clone().into() }.abi_encode();
    // too little gas for the parse: halts before any work, caches nothing
    let r = call(&mut chain, &s[1], reg.clone(), U256::ZERO, 300_000);
    assert!(r.outcome.contains("OutOfGas"), "{r:?}");
    assert_eq!(chain.attribution().cached_keys(), 0);
    // registered: parsed (and paid), warm by consensus, kept parsed
    assert!(call(&mut chain, &s[1], reg.clone(), U256::ZERO, 20_000_000).status);
    assert_eq!(chain.attribution().cached_keys(), 1);
    // a reverted registration (already registered) adds nothing
    assert_reverts(&call(&mut chain, &s[1], reg, U256::ZERO, 20_000_000), "already registered");
    assert_eq!(chain.attribution().cached_keys(), 1);
}

#[test]
fn no_block_exceeds_its_gas_limit() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let limit = chain.genesis().gas_limit;
    // a transaction that can never fit is refused at once
    let raw = sign_call(&s[1], chain.chain_id(), 0, s[2].address(), U256::ZERO, Bytes::new(), limit + 1, GAS_PRICE).unwrap();
    assert!(matches!(chain.submit(&raw), Err(lineage_chain::Error::InvalidTransaction(_))));
    // ten 25M-gas calls (each burning its gas in a halt) need four blocks
    for i in 0..10 {
        queue(&mut chain, &s[1 + i % 4], ADDRESS, vec![0xde, 0xad, 0xbe, 0xef], U256::ZERO, 25_000_000);
    }
    let mut included = 0;
    while chain.pending() > 0 {
        let (block, receipts) = chain.mine().unwrap();
        assert!(block.gas_used <= block.gas_limit, "{block:?}");
        assert!(!receipts.is_empty(), "a block made no progress");
        included += receipts.len();
    }
    assert_eq!(included, 10);
}

// ---------------------------------------------------------------- 6. requests

#[test]
fn a_second_escrow_opens_its_own_request_and_cannot_change_a_pending_pool() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let input = escrow_input(&chain, s[0].address(), model, fe(9), 3600);
    let r = call(&mut chain, &s[1], input.clone(), U256::from(5000), 300_000);
    assert_eq!(IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap(), U256::ZERO);
    // a griefer "tops up" the same query by 1 wei
    let r = call(&mut chain, &s[4], input, U256::from(1), 300_000);
    assert_eq!(IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap(), U256::from(1));
    assert_eq!(escrow_of(&mut chain, U256::ZERO), U256::from(5000));
    assert_eq!(escrow_of(&mut chain, U256::from(1)), U256::from(1));
    chain.escrow_invariant().unwrap();
}

#[test]
fn refund_goes_to_the_payer_only_after_the_deadline() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let fee = U256::from(10u128.pow(18));
    let input = escrow_input(&chain, s[0].address(), model, fe(9), 20);
    assert!(call(&mut chain, &s[1], input, fee, 300_000).status);
    let refund = IAttribution::refundCall { requestId: U256::ZERO }.abi_encode();
    assert_reverts(&call(&mut chain, &s[3], refund.clone(), U256::ZERO, 200_000), "deadline has not passed");
    // a claim after the deadline is refused; a refund is then allowed (anyone may trigger it)
    for _ in 0..12 {
        chain.mine().unwrap(); // 2 s per block
    }
    let payer_before = chain.balance(s[1].address()).unwrap();
    let claim = IAttribution::submitClaimCall {
        requestId: U256::ZERO,
        predictedClass: 1,
        windowIndex: 0,
        contributors: vec![],
        amounts: vec![],
        proof: Bytes::from(vec![0u8; 64]),
    };
    assert_reverts(&call(&mut chain, &s[2], claim.abi_encode(), U256::ZERO, 2_000_000), "deadline has passed");
    let r = call(&mut chain, &s[3], refund.clone(), U256::ZERO, 200_000);
    assert!(r.status, "{r:?}");
    assert_eq!(chain.balance(s[1].address()).unwrap(), payer_before + fee);
    assert_eq!(chain.balance(ADDRESS).unwrap(), U256::ZERO);
    assert_reverts(&call(&mut chain, &s[3], refund, U256::ZERO, 200_000), "no open request");
    assert_reverts(&call(&mut chain, &s[2], claim.abi_encode(), U256::ZERO, 2_000_000), "refunded");
    chain.escrow_invariant().unwrap();
}

#[test]
fn claim_against_nothing_escrowed_is_refused() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    register_model(&mut chain, &s[0]);
    let claim = IAttribution::submitClaimCall {
        requestId: U256::from(42),
        predictedClass: 1,
        windowIndex: 0,
        contributors: vec![],
        amounts: vec![],
        proof: Bytes::from(vec![0u8; 64]),
    };
    assert_reverts(&call(&mut chain, &s[2], claim.abi_encode(), U256::ZERO, 2_000_000), "nothing is escrowed");
    assert_eq!(chain.attribution().verifications(), 0);
    // a zero-value escrow cannot open a request either
    let (_, model) = (fe(1), fe(2));
    let input = escrow_input(&chain, s[0].address(), model, fe(9), 3600);
    let r = call(&mut chain, &s[1], input, U256::ZERO, 300_000);
    assert_reverts(&r, "escrow must be in (0, 2^128) wei");
    let input = escrow_input(&chain, s[0].address(), model, fe(9), MAX_REQUEST_TTL + 10);
    let r = call(&mut chain, &s[1], input, U256::from(1), 300_000);
    assert_reverts(&r, "within 30 days");
}

// ---------------------------------------------------------------- 8. low

#[test]
fn dirty_high_bits_and_trailing_calldata_halt() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let gas = 200_000;
    // an address argument with its high 12 bytes dirty
    let mut dirty = IAttribution::grantDatanetUseCall { root: fe(1), user: s[1].address() }.abi_encode();
    dirty[4 + 32] = 0xff;
    assert_halts(&call(&mut chain, &s[1], dirty, U256::ZERO, gas), gas);
    // a bool argument that is 2
    let mut two = IAttribution::setKeyAllowedCall { vkHash: fe(1), allowed: true }.abi_encode();
    two[4 + 63] = 2;
    assert_halts(&call(&mut chain, &s[0], two, U256::ZERO, gas), gas);
    // trailing bytes
    let mut long = IAttribution::registerDatanetCall { root: fe(1) }.abi_encode();
    long.extend_from_slice(&[0; 32]);
    assert_halts(&call(&mut chain, &s[1], long, U256::ZERO, gas), gas);
    // the clean forms still work
    assert!(call(&mut chain, &s[1], IAttribution::registerDatanetCall { root: fe(1) }.abi_encode(), U256::ZERO, gas).status);
}

#[test]
fn blocks_are_written_with_a_synced_wal() {
    let dir = tempfile::tempdir().unwrap();
    let chain = new_chain(dir.path(), vec![]);
    let before = chain.wal_syncs();
    chain.mine().unwrap();
    chain.mine().unwrap();
    assert!(chain.wal_syncs() >= before + 2, "{} → {}", before, chain.wal_syncs());
}

#[test]
fn the_genesis_hash_covers_the_verifier_parameters() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ha = new_chain(a.path(), vec![]).genesis_hash().unwrap();
    let other = VerifierParams::from_srs(&lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(
        4,
        rand::rngs::OsRng,
    ));
    let hb = Chain::init(b.path(), Genesis::dev(&other.to_bytes(), vec![]).unwrap()).unwrap().genesis_hash().unwrap();
    assert_ne!(ha, hb);
    // a genesis configuration edited on disk no longer matches block 0
    let mut g: serde_json::Value = serde_json::from_slice(&Genesis::dev(&keys().params, vec![]).unwrap().to_bytes()).unwrap();
    g["verifier_params"] = hex::encode(other.to_bytes()).into();
    {
        let db = rocksdb::DB::open_default(a.path()).unwrap();
        db.put(b"m/genesis", serde_json::to_vec(&g).unwrap()).unwrap();
    }
    assert!(matches!(Chain::open(a.path()), Err(lineage_chain::Error::Corrupt { .. })));
    // so does a genesis block whose stored hash was replaced by a trusted one
    let c = tempfile::tempdir().unwrap();
    drop(new_chain(c.path(), vec![]));
    {
        let db = rocksdb::DB::open_default(c.path()).unwrap();
        let key = [b"b/".as_slice(), &0u64.to_be_bytes()].concat();
        let mut block: serde_json::Value = serde_json::from_slice(&db.get(&key).unwrap().unwrap()).unwrap();
        block["hash"] = hb.to_string().into();
        db.put(&key, serde_json::to_vec(&block).unwrap()).unwrap();
    }
    assert!(matches!(Chain::open(c.path()), Err(lineage_chain::Error::Corrupt { .. })));
}

// ---------------------------------------------------------------- invariant

#[derive(Clone, Debug)]
enum Op {
    /// Escrow `value` wei for `ttl` s from signer `who`, directly (0) or
    /// through the forger by CALL (1), CALLCODE (2) or DELEGATECALL (3).
    Escrow { who: usize, via: u8, value: u64, ttl: u64 },
    Refund { id: u64 },
    /// A claim with a garbage proof (always refused).
    Claim { id: u64 },
    /// Plain value sent to the precompile with no calldata.
    Send { value: u64 },
    Mine,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (1..5usize, 0..4u8, 0..1_000_000u64, 1..30u64).prop_map(|(who, via, value, ttl)| Op::Escrow { who, via, value, ttl }),
        2 => (0..8u64).prop_map(|id| Op::Refund { id }),
        1 => (0..8u64).prop_map(|id| Op::Claim { id }),
        1 => (1..1000u64).prop_map(|value| Op::Send { value }),
        2 => Just(Op::Mine),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("LINEAGE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12),
        failure_persistence: None,
        ..Default::default()
    })]

    /// Σ open request fees == the precompile's running total ≤ its balance
    /// after every block, whatever mix of escrows (forged or real), refunds,
    /// refused claims and stray transfers; forged escrows never open a request.
    #[test]
    fn escrow_sum_never_exceeds_the_precompile_balance(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
        let (_, model) = register_model(&mut chain, &s[0]);
        let forger = deploy_forger(&mut chain, &s[0]);
        let mut forged = Vec::new();
        for op in ops {
            match op {
                Op::Escrow { who, via, value, ttl } => {
                    let input = escrow_input(&chain, s[0].address(), model, fe(9), ttl);
                    let value = U256::from(value);
                    match via {
                        0 => {
                            queue(&mut chain, &s[who], ADDRESS, input, value, 300_000);
                        }
                        v => {
                            let data = input.into();
                            let call = match v {
                                1 => IEscrowForger::viaCallCall { target: ADDRESS, data }.abi_encode(),
                                2 => IEscrowForger::viaCallcodeCall { target: ADDRESS, data }.abi_encode(),
                                _ => IEscrowForger::viaDelegatecallCall { target: ADDRESS, data }.abi_encode(),
                            };
                            let h = queue(&mut chain, &s[who], forger, call, value, 400_000);
                            if v >= 2 {
                                forged.push(h);
                            }
                        }
                    }
                }
                Op::Refund { id } => {
                    queue(&mut chain, &s[1], ADDRESS, IAttribution::refundCall { requestId: U256::from(id) }.abi_encode(), U256::ZERO, 200_000);
                }
                Op::Claim { id } => {
                    let claim = IAttribution::submitClaimCall {
                        requestId: U256::from(id),
                        predictedClass: 1,
                        windowIndex: 0,
                        contributors: vec![Address::with_last_byte(1)],
                        amounts: vec![U256::from(1)],
                        proof: Bytes::from(vec![0u8; 64]),
                    };
                    queue(&mut chain, &s[2], ADDRESS, claim.abi_encode(), U256::ZERO, 1_000_000);
                }
                Op::Send { value } => {
                    queue(&mut chain, &s[3], ADDRESS, vec![], U256::from(value), 100_000);
                }
                Op::Mine => {
                    chain.mine().unwrap();
                    chain.escrow_invariant().unwrap();
                }
            }
        }
        while chain.pending() > 0 {
            chain.mine().unwrap();
        }
        chain.escrow_invariant().unwrap();
        for h in forged {
            let r = chain.receipt(&h).unwrap().unwrap();
            proptest::prop_assert!(!r.status, "a forged escrow succeeded: {r:?}");
        }
        // nothing but open requests holds value here: the balance is exactly their sum
        let total = chain.storage(ADDRESS, lineage_chain::precompile::attribution::slots::escrow_total()).unwrap();
        proptest::prop_assert_eq!(chain.balance(ADDRESS).unwrap(), total);
    }
}
