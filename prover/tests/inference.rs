//! A real proof of the inference circuit (the forward pass alone, the model
//! fixed by the key as constants): it verifies with the auditor's verifier;
//! a changed logit or class, or the key of a model with one parameter
//! changed, is refused.

use lineage_prover::{srs, ProverClient};
use lineage_verifier::{Error, Verifier};

#[test]
fn inference_proof_verifies_and_binds_its_model() {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 50, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(1794).unwrap().pixels.clone();
    let client = ProverClient::builder().cpu().build().unwrap();
    let k = lineage_circuits::inference::inference_k();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), k).unwrap();
    let keys = client.keygen_inference(&model, params.clone()).unwrap();
    let (proof, public) = client.prove_inference(&keys, &model, &query).unwrap();
    let verifier = Verifier::new(keys.verifier_params.clone());
    verifier.verify_with_key(&keys.vk, &public, &proof).unwrap();
    assert_eq!(public[10], lineage_circuits::Fr::from(lineage_core::attribution::predict(&model, &query) as u64));
    for i in [0, 9, 10] {
        let mut bad = public.clone();
        bad[i] += lineage_circuits::Fr::one();
        assert!(matches!(verifier.verify_with_key(&keys.vk, &bad, &proof), Err(Error::ProofRejected(_))), "public input {i}");
    }
    let mut other = model.clone();
    other.w2[3] += 1;
    let other_keys = client.keygen_inference(&other, params).unwrap();
    assert!(matches!(verifier.verify_with_key(&other_keys.vk, &public, &proof), Err(Error::ProofRejected(_))));
}
