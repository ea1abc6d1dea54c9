//! Shared fixture: keys and one real proof at a small shape.
#![allow(dead_code)]

use lineage_prover::{pipeline, srs, Keys, ProverClient};
use lineage_verifier::{Claim, Verifier, VerifyingKeyFile};
use std::sync::OnceLock;

pub struct Setup {
    pub keys: Keys,
    pub claim: Claim,
}

/// A trained model's attribution of held-out image #1794 over the best window of `batch` examples.
pub fn prepared(batch: usize, slots: usize) -> pipeline::Prepared {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    pipeline::prepare_best_window(&datanet, &model, &query, batch, slots, 1_000_000).unwrap()
}

pub fn setup() -> &'static Setup {
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

pub fn verifier() -> (Verifier, VerifyingKeyFile) {
    let s = setup();
    // what an auditor holds: the compact verifier params and the vk file,
    // from bytes, each pinned by the hash it trusts
    let vp = s.keys.verifier_params.to_bytes();
    let verifier = Verifier::from_pinned_bytes(&vp, &s.keys.verifier_params.hash()).unwrap();
    let vk = verifier.parse_pinned_key(&s.keys.vk_file.to_bytes(), &s.keys.vk_file.hash).unwrap();
    (verifier, vk)
}
