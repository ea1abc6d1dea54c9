//! Real keygen, proving and verification at a small shape, and the
//! verifier's rejections.

use lineage_core::field::{fr_to_be_bytes, modulus_be};
use lineage_prover::{pipeline, srs, Keys, ProverClient};
use lineage_verifier::{Claim, ClaimBundle, Error, VerifierParams, VerifyingKeyFile};
use std::sync::OnceLock;

struct Setup {
    keys: Keys,
    claim: Claim,
}

/// A trained model's attribution of image #1795 over the best window of `batch` examples.
fn prepared(batch: usize, slots: usize) -> pipeline::Prepared {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let query = datanet.contributions[1795].payload.pixels.clone();
    pipeline::prepare_best_window(&datanet, &model, &query, batch, slots, 1_000_000).unwrap()
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let prepared = prepared(4, 4);
        let client = ProverClient::builder().cpu().build().unwrap();
        let params = srs::cached_dev_srs(&srs::default_cache_dir(), prepared.shape.k).unwrap();
        let keys = client.keygen(&prepared.shape, params).unwrap();
        let proof = client.prove(&keys, &prepared.input).unwrap();
        let claim = proof.claim(&keys, &prepared.input);
        Setup { keys, claim }
    })
}

fn verifier() -> (lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<lineage_circuits::Bn256>, VerifyingKeyFile) {
    let s = setup();
    // what an auditor holds: the compact verifier params and the vk file, from bytes
    let vp = VerifierParams::from_bytes(&s.keys.verifier_params.to_bytes()).unwrap();
    let vk = VerifyingKeyFile::from_bytes(&s.keys.vk_file.to_bytes()).unwrap();
    (vp.to_kzg(), vk)
}

#[test]
fn real_proof_verifies_from_serialised_keys_and_bundle() {
    let s = setup();
    let (params, vk) = verifier();
    assert_eq!(vk.hash, s.keys.vk_file.hash);
    let bundle = ClaimBundle::from_json(&ClaimBundle::from_claim(&s.claim).to_json()).unwrap();
    let claim = bundle.to_claim().unwrap();
    assert_eq!(claim, s.claim);
    claim.verify(&params, &vk).unwrap();
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
        assert!(matches!(c.verify(&params, &vk), Err(Error::ProofRejected(_))), "{c:?}");
    }
    // moving one wei between contributors keeps the sum but changes the commitment
    let mut c = s.claim.clone();
    if c.payouts.len() >= 2 {
        c.payouts[0].amount_wei += 1;
        c.payouts[1].amount_wei -= 1;
        assert!(matches!(c.verify(&params, &vk), Err(Error::ProofRejected(_))));
    }
    let mut c = s.claim.clone();
    c.payouts[0].amount_wei += 1;
    assert!(matches!(c.verify(&params, &vk), Err(Error::PayoutSum { .. })));
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
    assert!(matches!(s.claim.verify(&params, &other.vk_file), Err(Error::VkMismatch { .. })));
    let mut c = s.claim.clone();
    c.vk_hash = other.vk_file.hash;
    assert!(matches!(c.verify(&params, &other.vk_file), Err(Error::ProofRejected(_))));
}

#[test]
fn truncated_or_padded_proofs_are_rejected() {
    let s = setup();
    let (params, vk) = verifier();
    let mut c = s.claim.clone();
    c.proof.pop();
    assert!(matches!(c.verify(&params, &vk), Err(Error::ProofRejected(_))));
    let mut c = s.claim.clone();
    c.proof.push(0);
    assert!(matches!(c.verify(&params, &vk), Err(Error::TrailingBytes { extra: 1 })));
    let mut c = s.claim.clone();
    c.proof.truncate(c.proof.len() / 2);
    assert!(matches!(c.verify(&params, &vk), Err(Error::ProofRejected(_))));
    let mut c = s.claim.clone();
    let mid = c.proof.len() / 2;
    c.proof[mid] ^= 1;
    assert!(c.verify(&params, &vk).is_err());
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
    let text = String::from_utf8(s.keys.vk_file.to_bytes()).unwrap().replace("\"version\":1", "\"version\":2");
    assert!(matches!(VerifyingKeyFile::from_bytes(text.as_bytes()), Err(Error::Version { .. })));
}

/// DualHal-style check: the same witness proven on the CPU and on the GPU;
/// both proofs verify with the one verifying key. Runs only in a `gpu` build
/// on a machine with a CUDA device.
#[cfg(feature = "gpu")]
#[test]
fn cpu_and_gpu_proofs_both_verify() {
    let prepared = prepared(8, 8);
    let cpu = ProverClient::builder().cpu().build().unwrap();
    let gpu = ProverClient::builder().gpu().build().expect("this test needs a CUDA device");
    let keys = cpu.keygen(&prepared.shape, srs::cached_dev_srs(&srs::default_cache_dir(), prepared.shape.k).unwrap()).unwrap();
    let (params, vk) = (keys.verifier_params.to_kzg(), &keys.vk_file);
    for client in [&cpu, &gpu] {
        let proof = client.prove(&keys, &prepared.input).unwrap();
        proof.claim(&keys, &prepared.input).verify(&params, vk).unwrap();
    }
}
