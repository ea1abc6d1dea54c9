//! Prove and verify the attribution circuit at N = 64 and N = 256 examples.
//!
//! `cargo bench -p lineage-benches --bench prove_verify`
//! (`LINEAGE_BENCH_BATCHES=64` to run one size only).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lineage_prover::{pipeline, srs, ProverClient};
use std::time::Duration;

fn batches() -> Vec<usize> {
    std::env::var("LINEAGE_BENCH_BATCHES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![64, 256])
}

fn prove_verify(c: &mut Criterion) {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    let client = ProverClient::builder().cpu().build().unwrap();
    let mut group = c.benchmark_group("attribution");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for batch in batches() {
        let prepared = pipeline::prepare_best_window(&datanet, &model, &query, batch, 32, 5_000_000_000_000_000_000).unwrap();
        let params = srs::cached_dev_srs(&srs::default_cache_dir(), prepared.shape.k).unwrap();
        let keys = client.keygen(&prepared.shape, params).unwrap();
        let cp = &keys.circuit_params;
        eprintln!(
            "N = {batch}: k = {}, advice columns {:?}, lookup advice {:?}, fixed {}, keygen {:.1} s",
            cp.k,
            cp.num_advice_per_phase,
            cp.num_lookup_advice_per_phase,
            cp.num_fixed,
            keys.keygen_time.as_secs_f64()
        );
        group.measurement_time(Duration::from_secs(if batch >= 256 { 600 } else { 120 }));
        group.bench_with_input(BenchmarkId::new("prove", batch), &prepared.input, |b, input| {
            b.iter(|| client.prove(&keys, input).unwrap())
        });
        let proof = client.prove(&keys, &prepared.input).unwrap();
        let claim = proof.claim(&keys, &prepared.input);
        let vparams = lineage_verifier::Verifier::from_pinned_bytes(&keys.verifier_params.to_bytes(), &keys.verifier_params.hash()).unwrap();
        eprintln!("N = {batch}: proof {} bytes", proof.bytes.len());
        group.measurement_time(Duration::from_secs(10));
        group.bench_function(BenchmarkId::new("verify", batch), |b| b.iter(|| vparams.verify(&claim, &keys.vk_file).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, prove_verify);
criterion_main!(benches);
