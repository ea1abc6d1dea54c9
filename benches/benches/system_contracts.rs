//! Time of the system contracts' calls (staking, governance, settlement,
//! registry), each run through `Chain::call` (revm, the head state, the
//! journal discarded) against a chain holding stake, a proposal and a
//! datanet; minus nothing: the figure includes revm's call setup, which an
//! empty-contract call (`baseline`) measures on its own. Also the signature
//! recovery a `reportAnswer` does. GAS.md turns these into gas at
//! EIP-1108's 25.86 gas/µs and compares them with the prices.
//!
//! `cargo bench -p lineage-benches --bench system_contracts`

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_sol_types::SolCall;
use criterion::{criterion_group, criterion_main, Criterion};
use lineage_chain::{
    dev_signers,
    genesis::OPEN,
    precompile::{
        attribution::{IAttribution, ADDRESS as ATTRIBUTION},
        governance::{IGovernance, ADDRESS as GOVERNANCE},
        registry::{IRegistry, ADDRESS as REGISTRY},
        settlement::{answer_hash, recover, Answer},
        staking::{IStaking, ADDRESS as STAKING},
    },
    tx::{sign_call, sign_create},
    CallOutcome, CallRequest, Chain, Genesis,
};
use rand_chacha::rand_core::SeedableRng;

fn setup() -> (tempfile::TempDir, Chain, Vec<alloy_signer_local::PrivateKeySigner>, Address) {
    let dir = tempfile::tempdir().unwrap();
    let srs = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([1; 32]));
    let chain = Chain::init(dir.path(), Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap()).unwrap();
    let s = dev_signers(4).unwrap();
    let send = |who: &alloy_signer_local::PrivateKeySigner, to: Address, input: Vec<u8>, value: U256| {
        let n = chain.nonce(who.address()).unwrap();
        chain.submit(&sign_call(who, chain.chain_id(), n, to, value, input.into(), 1_000_000, 2_000_000_000).unwrap()).unwrap();
    };
    // an empty contract (returns nothing) for the baseline
    let init: Bytes = hex::decode("69602a60005260206000f3600052600a6016f3").unwrap().into();
    chain.submit(&sign_create(&s[0], chain.chain_id(), 0, init, 100_000, 2_000_000_000).unwrap()).unwrap();
    chain.mine().unwrap();
    let empty = s[0].address().create(0);
    send(&s[1], STAKING, IStaking::stakeCall {}.abi_encode(), U256::from(500 * OPEN));
    send(&s[2], STAKING, IStaking::stakeCall {}.abi_encode(), U256::from(300 * OPEN));
    chain.mine().unwrap();
    send(&s[1], GOVERNANCE, IGovernance::proposeParamCall { param: 0, value: U256::from(50 * OPEN) }.abi_encode(), U256::ZERO);
    send(&s[3], REGISTRY, IRegistry::registerDatanetCall { root: B256::repeat_byte(1), contributions: 10, licence: "CC-BY-4.0".into(), metadataUri: "ipfs://x".into() }.abi_encode(), U256::ZERO);
    chain.mine().unwrap();
    (dir, chain, s, empty)
}

fn bench(c: &mut Criterion) {
    let (_dir, chain, s, empty) = setup();
    let mut g = c.benchmark_group("system_contracts");
    let mut run = |name: &str, from: Address, to: Address, input: Vec<u8>, value: U256| {
        let req = CallRequest { from: Some(from), to: Some(to), input: input.into(), value, ..Default::default() };
        // every measured call must do its work: success, or the named refusal
        match chain.call(&req, 30_000_000).unwrap() {
            CallOutcome::Halt { reason, .. } => panic!("{name} halted: {reason}"),
            _ => {}
        }
        g.bench_function(name, |b| b.iter(|| chain.call(&req, 30_000_000).unwrap()));
    };
    let (a, b) = (s[1].address(), s[2].address());
    run("baseline (empty contract)", a, empty, vec![], U256::ZERO);
    run("stake", a, STAKING, IStaking::stakeCall {}.abi_encode(), U256::from(OPEN));
    run("unbond", a, STAKING, IStaking::unbondCall { amount: U256::from(OPEN) }.abi_encode(), U256::ZERO);
    run("withdraw (refused)", a, STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO);
    run("stakeOf", a, STAKING, IStaking::stakeOfCall { agent: a }.abi_encode(), U256::ZERO);
    run("slashOf", a, STAKING, IStaking::slashOfCall { slashId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("params", a, GOVERNANCE, IGovernance::paramsCall {}.abi_encode(), U256::ZERO);
    run("proposeParam", a, GOVERNANCE, IGovernance::proposeParamCall { param: 1, value: U256::from(7200) }.abi_encode(), U256::ZERO);
    run("vote", b, GOVERNANCE, IGovernance::voteCall { proposalId: U256::ZERO, support: true }.abi_encode(), U256::ZERO);
    run("execute (refused)", b, GOVERNANCE, IGovernance::executeCall { proposalId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("proposalOf", b, GOVERNANCE, IGovernance::proposalOfCall { proposalId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("acceptRequest (refused)", a, ATTRIBUTION, IAttribution::acceptRequestCall { requestId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("settlementOf", a, ATTRIBUTION, IAttribution::settlementOfCall { requestId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("answerHash", a, ATTRIBUTION, IAttribution::answerHashCall { requestId: U256::ZERO, predictedClass: 1, payoutDigest: B256::ZERO }.abi_encode(), U256::ZERO);
    run("requestOf (attribution)", a, ATTRIBUTION, IAttribution::requestOfCall { requestId: U256::ZERO }.abi_encode(), U256::ZERO);
    run("modelOf (attribution)", a, ATTRIBUTION, IAttribution::modelOfCall { owner: a, modelCommitment: B256::repeat_byte(1) }.abi_encode(), U256::ZERO);
    run("registerDatanet (attribution)", a, ATTRIBUTION, IAttribution::registerDatanetCall { root: B256::with_last_byte(7) }.abi_encode(), U256::ZERO);
    run("setKeyAllowed (attribution, governor)", s[0].address(), ATTRIBUTION, IAttribution::setKeyAllowedCall { vkHash: B256::repeat_byte(9), allowed: true }.abi_encode(), U256::ZERO);
    run("registerDatanet (registry)", a, REGISTRY, IRegistry::registerDatanetCall { root: B256::repeat_byte(2), contributions: 5, licence: "MIT".into(), metadataUri: "x".repeat(512) }.abi_encode(), U256::ZERO);
    run("datanetOf (registry)", a, REGISTRY, IRegistry::datanetOfCall { datanetId: U256::ZERO }.abi_encode(), U256::ZERO);
    // the commitment is computed before the model is looked up: the refusal includes it
    let pixels: Vec<u8> = (0..64u8).map(|i| i % 17).collect();
    run("escrowQuery (refused: unknown model)", a, ATTRIBUTION, IAttribution::escrowQueryCall { modelOwner: a, modelCommitment: B256::repeat_byte(1), query: pixels.clone().into(), deadline: u64::MAX }.abi_encode(), U256::from(OPEN));
    drop(run);
    g.bench_function("query commitment (Poseidon)", |bch| bch.iter(|| lineage_core::datanet::query_commitment(&pixels).unwrap()));
    // what reportAnswer adds to the storage work: the EIP-712 hash and the recovery
    let answer = Answer { requestId: U256::from(1), queryCommitment: B256::repeat_byte(3), predictedClass: 4, payoutDigest: B256::repeat_byte(5) };
    let h = answer_hash(chain.chain_id(), &answer);
    let sig = s[1].sign_hash_sync(&h).unwrap().as_bytes();
    assert_eq!(recover(&h, &sig), Some(a));
    g.bench_function("answer hash + ecrecover", |bch| bch.iter(|| recover(&answer_hash(chain.chain_id(), &answer), &sig)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
