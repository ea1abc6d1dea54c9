//! Per-query proof over every example of the digits datanet (the training
//! split, 1,438 examples): key generation once, then prove and verify; and
//! `claim_check`, what the chain's `submitWholeClaim` computes per claim
//! (the stored key file parsed, the segment list, challenge and digest,
//! one verification, the split: `Verifier::verify_whole_claim`), which
//! prices its gas.
//!
//! `cargo bench -p lineage-benches --bench query`
//! (`LINEAGE_BENCH_CAPACITY=256` for a smaller datanet: its first examples).

use alloy_primitives::U256;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lineage_circuits::query::{QueryInput, QueryShape};
use lineage_core::{datanet::Datanet, features::FeatureTable};
use lineage_prover::{srs, ProverClient};
use std::time::Duration;

fn query(c: &mut Criterion) {
    let full = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&full, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let n: usize = std::env::var("LINEAGE_BENCH_CAPACITY").ok().and_then(|s| s.parse().ok()).unwrap_or(full.contributions.len());
    let datanet = Datanet::new("digits".into(), full.contributions[..n.min(full.contributions.len())].to_vec()).unwrap();
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let q = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    let input = QueryInput::new(&model, &table, &q, 5_000_000_000_000_000_000, U256::from(1)).unwrap();
    let shape = match std::env::var("LINEAGE_BENCH_K").ok().and_then(|s| s.parse().ok()) {
        Some(k) => QueryShape::with_k(table.len(), k).unwrap(),
        None => QueryShape::new(table.len()).unwrap(),
    };
    let client = ProverClient::builder().cpu().build().unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap();
    let keys = client.keygen_query(&shape, &table, params).unwrap();
    let cp = &keys.keys.circuit_params;
    eprintln!(
        "examples {}: segments {}, k = {}, advice columns {:?}, lookup advice {:?}, fixed {} (+1 feature column), keygen {:.1} s",
        table.len(),
        table.segments(),
        cp.k,
        cp.num_advice_per_phase,
        cp.num_lookup_advice_per_phase,
        cp.num_fixed,
        keys.keys.keygen_time.as_secs_f64()
    );
    let mut group = c.benchmark_group("query");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(60));
    group.bench_with_input(BenchmarkId::new("prove", table.len()), &input, |b, input| {
        b.iter(|| client.prove_query(&keys, &table, input).unwrap())
    });
    let proof = client.prove_query(&keys, &table, &input).unwrap();
    eprintln!("examples {}: proof {} bytes", table.len(), proof.bytes.len());
    let verifier = lineage_verifier::Verifier::from_pinned_bytes(&keys.keys.verifier_params.to_bytes(), &keys.keys.verifier_params.hash()).unwrap();
    let inst = proof.public.to_instances();
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(BenchmarkId::new("verify", table.len()), |b| {
        b.iter(|| verifier.verify_with_key(&keys.keys.vk, &inst, &proof.bytes).unwrap())
    });
    let key_bytes = keys.file().to_bytes();
    let claim = lineage_verifier::WholeClaim {
        request_id: U256::from(1),
        pool_wei: 5_000_000_000_000_000_000,
        query_commitment: proof.public.query_commitment,
        predicted_class: proof.public.predicted_class,
        segments: lineage_core::features::claim_segments(&input.attribution),
        proof: proof.bytes.clone(),
    };
    eprintln!("per-query key file: {} bytes", key_bytes.len());
    group.bench_function(BenchmarkId::new("claim_check", table.len()), |b| {
        b.iter(|| {
            let key = lineage_verifier::TableKeyFile::from_bytes(&key_bytes, shape.k, &verifier.params_hash()).unwrap();
            verifier.verify_whole_claim(&key, &claim).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, query);
criterion_main!(benches);
