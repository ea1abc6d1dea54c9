//! Random and mutated bytes fed to every parser of untrusted input: the
//! verifying-key file, the verifier parameters, the proof bundle (through
//! verification) and the precompile's calldata (through the chain). None may
//! panic; the chain must keep mining.
//!
//! CI runs a short version. A long run (see BENCHMARKS.md):
//! `LINEAGE_FUZZ_CASES=100000 cargo test --release -p lineage-chain --test fuzz_parsers`

mod common;

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use common::*;
use lineage_chain::precompile::attribution::{IAttribution, ADDRESS};
use lineage_verifier::{Claim, ClaimBundle, Verifier, VerifierParams};
use proptest::prelude::*;
use std::sync::OnceLock;

fn cases(default: u32) -> u32 {
    std::env::var("LINEAGE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::new(VerifierParams::from_bytes(&keys().params).unwrap()))
}

/// A structurally valid bundle for the fixture's key (its proof is garbage).
fn sample_bundle() -> String {
    let claim = Claim {
        vk_hash: keys().vk.hash,
        datanet_root: lineage_core::Fr::from(1u64),
        model_commitment: lineage_core::Fr::from(2u64),
        query_commitment: lineage_core::Fr::from(3u64),
        predicted_class: 4,
        window_index: 0,
        pool_wei: 1000,
        payouts: vec![lineage_core::payout::Payout { contributor: Address::with_last_byte(9), amount_wei: 1000 }],
        proof: vec![7; 96],
    };
    ClaimBundle::from_claim(&claim).to_json()
}

/// A mutation of `base`: flip, overwrite, insert or delete a few bytes, or truncate.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    prop::collection::vec((0..5u8, 0..len, any::<u8>()), 1..6).prop_map(move |edits| {
        let mut v = base.clone();
        for (kind, at, byte) in edits {
            let at = at.min(v.len().saturating_sub(1));
            match kind {
                0 if !v.is_empty() => v[at] ^= 1 << (byte % 8),
                1 if !v.is_empty() => v[at] = byte,
                2 => v.insert(at.min(v.len()), byte),
                3 if !v.is_empty() => {
                    v.remove(at);
                }
                _ => v.truncate(at),
            }
        }
        v
    })
}

fn bytes_or_mutation(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..512), mutated(base)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn key_file_parser_never_panics(bytes in bytes_or_mutation(keys().vk_bytes.clone())) {
        // a mutation may yield another valid key (a commitment flipped to
        // another curve point): then it is canonical — its bytes are its only
        // encoding — and has its own hash, which no pin or allowlist names
        if let Ok(vk) = verifier().parse_key(&bytes) {
            prop_assert_eq!(vk.to_bytes(), bytes.clone());
            prop_assert_eq!(vk.hash, alloy_primitives::keccak256(&bytes));
            prop_assert!(bytes == keys().vk_bytes || vk.hash != keys().vk.hash);
        }
    }

    #[test]
    fn verifier_params_parser_never_panics(bytes in bytes_or_mutation(keys().params.clone())) {
        if let Ok(p) = VerifierParams::from_bytes(&bytes) {
            prop_assert_eq!(p.to_bytes(), bytes);
        }
    }

    #[test]
    fn proof_bundle_parser_and_verifier_never_panic(bytes in bytes_or_mutation(sample_bundle().into_bytes())) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if let Ok(claim) = ClaimBundle::from_json(text).and_then(|b| b.to_claim()) {
                // garbage proofs are refused, never accepted or a panic
                prop_assert!(verifier().verify(&claim, &keys().vk).is_err());
            }
        }
    }
}

/// Calldata: random bytes, mutated valid calls, and valid selectors with random tails.
fn calldata() -> impl Strategy<Value = Vec<u8>> {
    let valid = [
        IAttribution::registerDatanetCall { root: fe(1) }.abi_encode(),
        IAttribution::registerModelCall { modelCommitment: fe(2), datanetOwner: Address::with_last_byte(1), datanetRoot: fe(1), vkHash: keys().vk.hash }.abi_encode(),
        IAttribution::escrowFeeCall { modelOwner: Address::with_last_byte(1), modelCommitment: fe(2), queryCommitment: fe(3), deadline: 1_790_000_100 }
            .abi_encode(),
        IAttribution::submitClaimCall {
            requestId: U256::ZERO,
            predictedClass: 1,
            windowIndex: 0,
            contributors: vec![Address::with_last_byte(1)],
            amounts: vec![U256::from(1)],
            proof: Bytes::from(vec![1; 64]),
        }
        .abi_encode(),
        IAttribution::registerVerifyingKeyCall { vkFile: keys().vk_bytes.clone().into() }.abi_encode(),
        IAttribution::requestOfCall { requestId: U256::ZERO }.abi_encode(),
        IAttribution::releasePayoutsCall { requestId: U256::ZERO, contributors: vec![Address::with_last_byte(1)], amounts: vec![1] }.abi_encode(),
        IAttribution::withdrawPayoutCall {
            requestId: U256::ZERO,
            count: 2,
            index: 1,
            contributor: Address::with_last_byte(1),
            amount: 1,
            path: vec![fe(4)],
        }
        .abi_encode(),
    ];
    let mutations: Vec<_> = valid.iter().cloned().map(mutated).collect();
    let selectors: Vec<[u8; 4]> = valid.iter().map(|v| [v[0], v[1], v[2], v[3]]).collect();
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::sample::select(selectors).prop_flat_map(|s| prop::collection::vec(any::<u8>(), 0..300).prop_map(move |t| [s.to_vec(), t].concat())),
        prop::strategy::Union::new(mutations),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64).div_ceil(64), failure_persistence: None, ..ProptestConfig::default() })]

    /// 64 hostile calls a block, with value; every one gets a receipt and the chain mines on.
    #[test]
    fn precompile_calldata_never_panics_or_stalls(inputs in prop::collection::vec((calldata(), 0..3u64), 64)) {
        let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
        let mut hashes = Vec::new();
        for (i, (input, value)) in inputs.into_iter().enumerate() {
            hashes.push(queue(&mut chain, &s[i % 5], ADDRESS, input, U256::from(value), 400_000));
        }
        while chain.pending() > 0 {
            chain.mine().unwrap();
        }
        for h in hashes {
            prop_assert!(chain.receipt(&h).unwrap().is_some());
        }
        chain.escrow_invariant().unwrap();
    }
}
