//! The registry precompile (DatanetRegistry, ModelRegistry): versions that
//! only grow, models bound to existing versions, an event for every change,
//! and the attribution precompile's input conventions (halts consume the
//! gas, refusals revert, value and DELEGATECALL are refused).

mod common;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use common::{deploy_forger, IEscrowForger, GAS_PRICE};
use lineage_chain::{
    dev_signers,
    precompile::registry::{IRegistry, MAX_LICENCE_BYTES},
    tx::sign_call,
    Chain, Genesis, Receipt, REGISTRY_PRECOMPILE as REG,
};
use lineage_circuits::{halo2_proofs::poly::kzg::commitment::ParamsKZG, Bn256};
use rand::SeedableRng;

fn chain(dir: &std::path::Path) -> Chain {
    let srs = ParamsKZG::<Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([3; 32]));
    Chain::init(dir, Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap()).unwrap()
}

fn send(c: &Chain, who: &PrivateKeySigner, to: Address, input: Vec<u8>, value: U256, gas: u64) -> Receipt {
    let raw = sign_call(who, c.chain_id(), c.nonce(who.address()).unwrap(), to, value, input.into(), gas, GAS_PRICE).unwrap();
    let h = c.submit(&raw).unwrap();
    c.mine().unwrap();
    c.receipt(&h).unwrap().unwrap()
}

fn view<C: SolCall>(c: &Chain, call: C) -> C::Return {
    match c.call(&lineage_chain::CallRequest { to: Some(REG), input: call.abi_encode().into(), ..Default::default() }, 10_000_000).unwrap() {
        lineage_chain::CallOutcome::Success { output, .. } => C::abi_decode_returns(&output).unwrap(),
        other => panic!("view failed: {other:?}"),
    }
}

fn reason(r: &Receipt) -> String {
    assert!(!r.status, "expected a revert: {r:?}");
    common::reason(r)
}

#[test]
fn datanet_versions_grow_and_models_bind_existing_versions() {
    let dir = tempfile::tempdir().unwrap();
    let c = chain(dir.path());
    let s = dev_signers(3).unwrap();
    let (owner, other) = (&s[1], &s[2]);
    let root0 = B256::repeat_byte(1);
    let reg = IRegistry::registerDatanetCall { root: root0, contributions: 100, licence: "CC-BY-4.0".into(), metadataUri: "ipfs://datanet".into() };
    let r = send(&c, owner, REG, reg.abi_encode(), U256::ZERO, 1_000_000);
    assert!(r.status, "{r:?}");
    assert_eq!(IRegistry::registerDatanetCall::abi_decode_returns(&r.output).unwrap(), U256::ZERO);
    let ev = IRegistry::DatanetRegistered::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!((ev.datanetId, ev.owner, ev.root, ev.contributions, ev.licence.as_str()), (U256::ZERO, owner.address(), root0, 100, "CC-BY-4.0"));

    // only the owner appends, and only more contributions
    let append = |n: u64| IRegistry::appendContributionsCall { datanetId: U256::ZERO, newRoot: B256::repeat_byte(n as u8), newCount: n }.abi_encode();
    assert_eq!(reason(&send(&c, other, REG, append(150), U256::ZERO, 500_000)), "only the datanet's owner may append contributions");
    assert_eq!(reason(&send(&c, owner, REG, append(100), U256::ZERO, 500_000)), "a new version must hold more contributions than the last");
    let r = send(&c, owner, REG, append(150), U256::ZERO, 500_000);
    assert!(r.status);
    let ev = IRegistry::ContributionsAppended::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!((ev.version, ev.contributions), (1, 150));
    let d = view(&c, IRegistry::datanetOfCall { datanetId: U256::ZERO });
    assert_eq!((d.owner, d.licence.as_str(), d.metadataUri.as_str(), d.versions), (owner.address(), "CC-BY-4.0", "ipfs://datanet", 2));
    let v0 = view(&c, IRegistry::versionOfCall { datanetId: U256::ZERO, version: 0 });
    let v1 = view(&c, IRegistry::versionOfCall { datanetId: U256::ZERO, version: 1 });
    assert_eq!((v0.root, v0.contributions), (root0, 100));
    assert_eq!((v1.root, v1.contributions), (B256::repeat_byte(150), 150));
    assert!(v1.blockNumber > v0.blockNumber);

    // a model names existing versions only
    let model = |versions: Vec<u32>| IRegistry::registerModelCall {
        commitment: B256::repeat_byte(7),
        datanetIds: vec![U256::ZERO; versions.len()],
        versions,
        metadataUri: "ipfs://model".into(),
    };
    assert_eq!(reason(&send(&c, other, REG, model(vec![2]).abi_encode(), U256::ZERO, 1_000_000)), "datanet 0 has no version 2");
    let r = send(&c, other, REG, model(vec![0, 1]).abi_encode(), U256::ZERO, 1_000_000);
    assert!(r.status, "{r:?}");
    let ev = IRegistry::ModelRegistered::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!((ev.modelId, ev.owner, ev.versions.clone()), (U256::ZERO, other.address(), vec![0, 1]));
    let m = view(&c, IRegistry::modelOfCall { modelId: U256::ZERO });
    assert_eq!((m.owner, m.commitment, m.datanetIds, m.versions, m.metadataUri.as_str()), (other.address(), B256::repeat_byte(7), vec![U256::ZERO; 2], vec![0, 1], "ipfs://model"));
    assert_eq!(view(&c, IRegistry::modelCountCall {}), U256::from(1));
    assert_eq!(view(&c, IRegistry::datanetCountCall {}), U256::from(1));
    let replay = tempfile::tempdir().unwrap();
    c.verify_replay(replay.path()).unwrap();
}

#[test]
fn malformed_input_halts_refusals_revert_and_value_or_delegatecall_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = chain(dir.path());
    let s = dev_signers(2).unwrap();
    let gas = 900_000;
    // an oversized licence halts and consumes the call's gas
    let long = IRegistry::registerDatanetCall { root: B256::ZERO, contributions: 1, licence: "x".repeat(MAX_LICENCE_BYTES + 1), metadataUri: String::new() };
    let r = send(&c, &s[1], REG, long.abi_encode(), U256::ZERO, gas);
    assert!(!r.status && r.outcome.starts_with("halt") && r.gas_used == gas, "{r:?}");
    // garbage calldata too
    let r = send(&c, &s[1], REG, vec![0xde, 0xad, 0xbe, 0xef, 1], U256::ZERO, gas);
    assert!(!r.status && r.outcome.starts_with("halt") && r.gas_used == gas, "{r:?}");
    // too little gas for the work: out of gas before any
    let ok = IRegistry::registerDatanetCall { root: B256::ZERO, contributions: 1, licence: "MIT".into(), metadataUri: String::new() };
    let r = send(&c, &s[1], REG, ok.abi_encode(), U256::ZERO, 60_000);
    assert!(r.outcome.contains("OutOfGas"), "{r:?}");
    // value is refused
    assert_eq!(reason(&send(&c, &s[1], REG, ok.abi_encode(), U256::from(1), gas)), "the registry is not payable");
    assert_eq!(c.balance(REG).unwrap(), U256::ZERO);
    // a contract may call it, but not by DELEGATECALL
    let forger = deploy_forger(&mut c, &s[0]);
    let via = IEscrowForger::viaDelegatecallCall { target: REG, data: Bytes::from(ok.abi_encode()) }.abi_encode();
    let r = send(&c, &s[0], forger, via, U256::ZERO, gas);
    assert!(!r.status, "{r:?}");
    let via = IEscrowForger::viaCallCall { target: REG, data: Bytes::from(ok.abi_encode()) }.abi_encode();
    let r = send(&c, &s[0], forger, via, U256::ZERO, gas);
    assert!(r.status, "{r:?}");
    let ev = IRegistry::DatanetRegistered::decode_log_data(&r.logs[0].data).unwrap();
    assert_eq!(ev.owner, forger, "the calling contract owns what it registers");
    // unknown ids revert with their reason
    let r = send(&c, &s[1], REG, IRegistry::appendContributionsCall { datanetId: U256::from(9), newRoot: B256::ZERO, newCount: 5 }.abi_encode(), U256::ZERO, gas);
    assert_eq!(reason(&r), "unknown datanet");
}
