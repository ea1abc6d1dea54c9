//! The one-time feature proof of the digits datanet (1,438 examples): the
//! per-query shape fixes `k`; each chunk of `LINEAGE_BENCH_CHUNK` examples
//! (default 32) is keyed and proven independently. Criterion times one
//! chunk's proof (chunks are alike; the whole proof is that times the chunk
//! count, split across machines as they like).
//!
//! Then the registration's verification of every chunk proof, as the chain
//! runs it: `verify_each` (one pairing per proof) against `verify_batch`
//! (`Verifier::verify_batch`, one final pairing), over as many copies of
//! the chunk's proof as the datanet has chunks.
//!
//! `cargo bench -p lineage-benches --bench features`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lineage_circuits::{chunk::ChunkShape, query::QueryShape};
use lineage_core::features::FeatureTable;
use lineage_prover::{srs, ProverClient};
use std::time::Duration;

fn features(c: &mut Criterion) {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let size: usize = std::env::var("LINEAGE_BENCH_CHUNK").ok().and_then(|s| s.parse().ok()).unwrap_or(32);
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let q = QueryShape::new(table.len()).unwrap();
    let chunks = ChunkShape::count(size, table.len());
    let shape = ChunkShape::new(size, 0, q.capacity, q.k).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), q.k).unwrap();
    let keys = client.keygen_chunk(&shape, &table, params).unwrap();
    let cp = &keys.keys.circuit_params;
    eprintln!(
        "{} examples in {chunks} chunks of {size}: k = {}, advice columns {:?}, lookup advice {:?}, keygen {:.1} s per chunk",
        table.len(),
        cp.k,
        cp.num_advice_per_phase,
        cp.num_lookup_advice_per_phase,
        keys.keys.keygen_time.as_secs_f64()
    );
    let mut group = c.benchmark_group("features");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(120));
    group.bench_function(BenchmarkId::new("prove_chunk", size), |b| {
        b.iter(|| client.prove_chunk(&keys, &table, &datanet, &model).unwrap())
    });
    group.finish();

    let proof = client.prove_chunk(&keys, &table, &datanet, &model).unwrap();
    let verifier = lineage_verifier::Verifier::new(keys.keys.verifier_params.clone());
    let inst = proof.public.to_instances();
    let items: Vec<_> = (0..chunks).map(|_| (&keys.keys.vk, &inst[..], &proof.bytes[..])).collect();
    let mut group = c.benchmark_group("features");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    group.bench_function(BenchmarkId::new("verify_each", chunks), |b| {
        b.iter(|| items.iter().for_each(|(vk, i, p)| verifier.verify_with_key(vk, i, p).unwrap()))
    });
    group.bench_function(BenchmarkId::new("verify_batch", chunks), |b| b.iter(|| verifier.verify_batch(&items).unwrap()));
    group.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
