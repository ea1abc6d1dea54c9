//! Real keygen, proving and verification at a small shape, and the
//! verifier's rejections.

use lineage_core::field::{fr_to_be_bytes, modulus_be};
use lineage_prover::{srs, ProverClient};
use lineage_verifier::{Claim, ClaimBundle, Error, VerifierParams};

mod common;
use common::{setup, verifier};

#[test]
fn real_proof_verifies_from_serialised_keys_and_bundle() {
    let s = setup();
    let (params, vk) = verifier();
    assert_eq!(vk.hash, s.keys.vk_file.hash);
    let bundle = ClaimBundle::from_json(&ClaimBundle::from_claim(&s.claim).to_json()).unwrap();
    let claim = bundle.to_claim().unwrap();
    assert_eq!(claim, s.claim);
    params.verify(&claim, &vk).unwrap();
}

#[test]
fn changed_public_inputs_are_rejected() {
    let s = setup();
    let (params, vk) = verifier();
    let mut tweaks: Vec<Claim> = Vec::new();
    let mut c = s.claim.clone();
    c.datanet_root += lineage_core::Fr::one();
    tweaks.push(c);
    let mut c = s.claim.clone();
    c.model_commitment += lineage_core::Fr::one();
    tweaks.push(c);
    let mut c = s.claim.clone();
    c.query_commitment += lineage_core::Fr::one();
    tweaks.push(c);
    let mut c = s.claim.clone();
    c.predicted_class = (c.predicted_class + 1) % 10;
    tweaks.push(c);
    let mut c = s.claim.clone();
    c.window_index += 1;
    tweaks.push(c);
    for c in tweaks {
        assert!(matches!(params.verify(&c, &vk), Err(Error::ProofRejected(_))), "{c:?}");
    }
    // moving one wei between contributors keeps the sum but changes the commitment
    let mut c = s.claim.clone();
    if c.payouts.len() >= 2 {
        c.payouts[0].amount_wei += 1;
        c.payouts[1].amount_wei -= 1;
        assert!(matches!(params.verify(&c, &vk), Err(Error::ProofRejected(_))));
    }
    let mut c = s.claim.clone();
    c.payouts[0].amount_wei += 1;
    assert!(matches!(params.verify(&c, &vk), Err(Error::PayoutSum { .. })));
}

#[test]
fn non_canonical_encodings_are_rejected() {
    let s = setup();
    let mut b = ClaimBundle::from_claim(&s.claim);
    // x + r encodes the same residue as x; it must be refused, not reduced
    let x = fr_to_be_bytes(&s.claim.datanet_root);
    let r = modulus_be();
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let v = x[i] as u16 + r[i] as u16 + carry;
        sum[i] = v as u8;
        carry = v >> 8;
    }
    if carry == 0 {
        b.datanet_root = format!("0x{}", hex_encode(&sum));
        assert!(matches!(b.to_claim(), Err(Error::NonCanonical("datanet_root"))));
    }
    let mut b = ClaimBundle::from_claim(&s.claim);
    b.model_commitment = format!("0x{}", hex_encode(&r));
    assert!(matches!(b.to_claim(), Err(Error::NonCanonical("model_commitment"))));
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn another_verifying_key_is_rejected() {
    let s = setup();
    let (params, _) = verifier();
    // keys for another shape (more slots): a different circuit
    let shape = lineage_circuits::CircuitShape::new(4, 5, s.keys.shape.depth).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let other = client.keygen(&shape, srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap()).unwrap();
    assert!(matches!(params.verify(&s.claim, &other.vk_file), Err(Error::VkMismatch { .. })));
    let mut c = s.claim.clone();
    c.vk_hash = other.vk_file.hash;
    assert!(matches!(params.verify(&c, &other.vk_file), Err(Error::ProofRejected(_))));
}

#[test]
fn truncated_or_padded_proofs_are_rejected() {
    let s = setup();
    let (params, vk) = verifier();
    let mut c = s.claim.clone();
    c.proof.pop();
    assert!(matches!(params.verify(&c, &vk), Err(Error::ProofRejected(_))));
    let mut c = s.claim.clone();
    c.proof.push(0);
    assert!(matches!(params.verify(&c, &vk), Err(Error::TrailingBytes { extra: 1 })));
    let mut c = s.claim.clone();
    c.proof.truncate(c.proof.len() / 2);
    assert!(matches!(params.verify(&c, &vk), Err(Error::ProofRejected(_))));
    let mut c = s.claim.clone();
    let mid = c.proof.len() / 2;
    c.proof[mid] ^= 1;
    assert!(params.verify(&c, &vk).is_err());
}

#[test]
fn gpu_without_feature_is_a_typed_error() {
    assert!(matches!(ProverClient::builder().gpu().build(), Err(lineage_prover::Error::GpuNotCompiled)));
}

#[test]
fn corrupted_key_files_are_rejected() {
    let s = setup();
    let mut vp = s.keys.verifier_params.to_bytes();
    vp[8] = 9; // version
    assert!(matches!(VerifierParams::from_bytes(&vp), Err(Error::Version { .. })));
    let vp = s.keys.verifier_params.to_bytes();
    assert!(VerifierParams::from_bytes(&vp[..vp.len() - 1]).is_err());
    let text = String::from_utf8(s.keys.vk_file.to_bytes()).unwrap().replace("\"version\":2", "\"version\":1");
    let (params, _) = verifier();
    assert!(matches!(params.parse_key(text.as_bytes()), Err(Error::Version { .. })));
}

/// DualHal-style check: the same witness proven on the CPU and on the GPU;
/// both proofs verify with the one verifying key. Runs only in a `gpu` build
/// on a machine with a CUDA device.
#[cfg(feature = "gpu")]
#[test]
fn cpu_and_gpu_proofs_both_verify() {
    let prepared = common::prepared(8, 8);
    let cpu = ProverClient::builder().cpu().build().unwrap();
    let gpu = ProverClient::builder().gpu().build().expect("this test needs a CUDA device");
    let keys = cpu.keygen(&prepared.shape, srs::cached_dev_srs(&srs::default_cache_dir(), prepared.shape.k).unwrap()).unwrap();
    let (params, vk) = (lineage_verifier::Verifier::new(keys.verifier_params.clone()), &keys.vk_file);
    for client in [&cpu, &gpu] {
        let proof = client.prove(&keys, &prepared.input).unwrap();
        params.verify(&proof.claim(&keys, &prepared.input), vk).unwrap();
    }
}

/// DualHal for the whole-datanet per-query circuit (what `lineage prover`
/// makes): one query over a small table proven on the CPU and on the GPU;
/// both proofs verify with the one verifying key, and both are refused with
/// a public input changed. Runs only in a `gpu` build on a CUDA machine.
#[cfg(feature = "gpu")]
#[test]
fn cpu_and_gpu_per_query_proofs_both_verify() {
    use lineage_circuits::query::{QueryInput, QueryShape};
    let full = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let datanet = lineage_core::datanet::Datanet::new("subset".into(), full.contributions.iter().step_by(45).cloned().collect()).unwrap();
    let table = lineage_core::features::FeatureTable::build(&model, &datanet).unwrap();
    let shape = QueryShape::new(table.len()).unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(1794).unwrap().pixels.clone();
    let input = QueryInput::new(&model, &table, &query, 1_000_000, alloy_primitives::U256::from(3)).unwrap();
    let cpu = ProverClient::builder().cpu().build().unwrap();
    let gpu = ProverClient::builder().gpu().build().expect("this test needs a CUDA device");
    let keys = cpu.keygen_query(&shape, &table, srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap()).unwrap();
    let verifier = lineage_verifier::Verifier::new(keys.keys.verifier_params.clone());
    for client in [&cpu, &gpu] {
        let proof = client.prove_query(&keys, &table, &input).unwrap();
        let inst = proof.public.to_instances();
        verifier.verify_with_key(&keys.keys.vk, &inst, &proof.bytes).unwrap();
        let mut bad = inst.clone();
        bad[0] += lineage_core::field::Fr::one();
        assert!(verifier.verify_with_key(&keys.keys.vk, &bad, &proof.bytes).is_err());
    }
}
