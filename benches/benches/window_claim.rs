//! What a window claim costs the attribution precompile besides storage:
//! parsing the model's verifying-key file (as `registerVerifyingKey` and a
//! claim's key load do) and verifying the proof, at the demo's shape
//! (N = 64 examples, 32 slots, k = 17). GAS.md prices `submitClaim` and
//! `registerVerifyingKey` from these at 25.86 gas/µs.
//!
//! `cargo bench -p lineage-benches --bench window_claim`

use criterion::{criterion_group, criterion_main, Criterion};
use lineage_prover::{pipeline, srs, ProverClient};
use std::time::Duration;

fn window_claim(c: &mut Criterion) {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    let client = ProverClient::builder().cpu().build().unwrap();
    let prepared = pipeline::prepare_best_window(&datanet, &model, &query, 64, 32, 4_000_000_000_000_000_000).unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), prepared.shape.k).unwrap();
    let keys = client.keygen(&prepared.shape, params).unwrap();
    let proof = client.prove(&keys, &prepared.input).unwrap();
    let claim = proof.claim(&keys, &prepared.input);
    let verifier = lineage_verifier::Verifier::from_pinned_bytes(&keys.verifier_params.to_bytes(), &keys.verifier_params.hash()).unwrap();
    let file = keys.vk_file.to_bytes();
    eprintln!("k = {}, key file {} bytes ({} words), proof {} bytes", prepared.shape.k, file.len(), file.len().div_ceil(32), proof.bytes.len());
    let mut g = c.benchmark_group("window_claim");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    g.bench_function("parse verifying-key file", |b| b.iter(|| verifier.parse_key(&file).unwrap()));
    let vk = verifier.parse_key(&file).unwrap();
    g.bench_function("verify claim", |b| b.iter(|| verifier.verify(&claim, &vk).unwrap()));
    g.finish();
}

criterion_group!(benches, window_claim);
criterion_main!(benches);
