//! The MLP's forward pass alone, proven (the inference circuit): key
//! generation, prove, verify, and the key and proof sizes — the figures the
//! EZKL peer benchmark (`benches/peers/ezkl.sh`) compares.
//!
//! `cargo bench -p lineage-benches --bench inference`
//! (`LINEAGE_PEER_MODEL=model.json LINEAGE_PEER_INPUT=input.json` to use the
//! peer script's model and query, `LINEAGE_PEER_OUT=sizes.json` to write
//! the key and proof sizes; by default the demo's model and query).

use criterion::{criterion_group, criterion_main, Criterion};
use lineage_circuits::inference::inference_k;
use lineage_core::model::QuantizedModel;
use lineage_prover::{srs, ProverClient};
use std::time::Duration;

fn model_and_query() -> (QuantizedModel, Vec<u8>) {
    if let (Ok(m), Ok(q)) = (std::env::var("LINEAGE_PEER_MODEL"), std::env::var("LINEAGE_PEER_INPUT")) {
        let model = QuantizedModel::from_json(&std::fs::read_to_string(m).unwrap()).unwrap();
        let query: Vec<u8> = serde_json::from_str(&std::fs::read_to_string(q).unwrap()).unwrap();
        return (model, query);
    }
    let datanet = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let q = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    (model, q)
}

fn inference(c: &mut Criterion) {
    let (model, query) = model_and_query();
    let client = ProverClient::builder().cpu().build().unwrap();
    let k = std::env::var("LINEAGE_BENCH_K").ok().and_then(|s| s.parse().ok()).unwrap_or_else(inference_k);
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), k).unwrap();
    let keys = client.keygen_inference(&model, params).unwrap();
    let cp = &keys.circuit_params;
    let mut pk_bytes = Vec::new();
    keys.pk.write(&mut pk_bytes, lineage_circuits::halo2_proofs::SerdeFormat::RawBytes).unwrap();
    let (proof, public) = client.prove_inference(&keys, &model, &query).unwrap();
    eprintln!(
        "inference: k = {}, advice {:?}, lookup advice {:?}, keygen {:.2} s, proving key {} bytes, proof {} bytes, predicted class {:?}",
        cp.k,
        cp.num_advice_per_phase,
        cp.num_lookup_advice_per_phase,
        keys.keygen_time.as_secs_f64(),
        pk_bytes.len(),
        proof.len(),
        public[10]
    );
    if let Ok(out) = std::env::var("LINEAGE_PEER_OUT") {
        let sizes = serde_json::json!({
            "logrows": cp.k, "pk_bytes": pk_bytes.len(), "proof_bytes": proof.len(),
            "predicted_class": lineage_core::attribution::predict(&model, &query),
        });
        std::fs::write(out, sizes.to_string()).unwrap();
    }
    let verifier = lineage_verifier::Verifier::from_pinned_bytes(&keys.verifier_params.to_bytes(), &keys.verifier_params.hash()).unwrap();
    let mut group = c.benchmark_group("inference");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.bench_function("prove", |b| b.iter(|| client.prove_inference(&keys, &model, &query).unwrap()));
    group.bench_function("verify", |b| b.iter(|| verifier.verify_with_key(&keys.vk, &public, &proof).unwrap()));
    group.finish();
}

criterion_group!(benches, inference);
criterion_main!(benches);
