//! Growth of the whole-datanet proofs with the datanet's size, one size per
//! run (so peak memory is per size): the per-query key and proof, and one
//! feature chunk sized to fill the same `k` (all chunks of a table cost the
//! same; the whole feature proof is that times the chunk count, split across
//! machines as they like). Datanets above the digits training split's 1,438
//! examples are `lineage_inference::augmented_digits` (documented noise).
//! Single runs, not criterion samples: the criterion benches `query` and
//! `features` time the digits datanet itself.
//!
//! `cargo run --release -p lineage-prover --example growth -- N`

use alloy_primitives::U256;
use lineage_circuits::{chunk::ChunkShape, query::{QueryInput, QueryShape}};
use lineage_core::{datanet::Datanet, features::FeatureTable};
use lineage_prover::{srs, ProverClient};
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> eyre::Result<()> {
    let n: usize = std::env::args().nth(1).unwrap_or_else(|| "1438".into()).parse()?;
    let digits = lineage_inference::digits_datanet()?;
    let model = lineage_inference::train(&digits, &Default::default(), &candle_core::Device::Cpu)?.quantize()?;
    let datanet = if n <= digits.contributions.len() {
        Datanet::new("digits".into(), digits.contributions[..n].to_vec())?
    } else {
        lineage_inference::augmented_digits(n, 1)?
    };
    let q = lineage_inference::digits_heldout()?.get(lineage_inference::DEFAULT_QUERY_INDEX).expect("held out").pixels.clone();
    let table = FeatureTable::build(&model, &datanet)?;
    let shape = QueryShape::new(n)?;
    let client = ProverClient::builder().cpu().build()?;
    let t = Instant::now();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k)?;
    let srs_s = t.elapsed().as_secs_f64();
    let keys = client.keygen_query(&shape, &table, params.clone())?;
    let input = QueryInput::new(&model, &table, &q, 5_000_000_000_000_000_000, U256::from(1))?;
    let proof = client.prove_query(&keys, &table, &input)?;
    let verifier = lineage_verifier::Verifier::from_pinned_bytes(&keys.keys.verifier_params.to_bytes(), &keys.keys.verifier_params.hash())?;
    let t = Instant::now();
    verifier.verify_with_key(&keys.keys.vk, &proof.public.to_instances(), &proof.bytes)?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    let query_rss = peak_rss_mib();
    let query_keygen_s = keys.keys.keygen_time.as_secs_f64();
    drop(keys);
    // one feature chunk of the default size at the same k
    let size = ChunkShape::default_size(shape.k);
    let chunks = ChunkShape::count(size, n);
    let cshape = ChunkShape::new(size, 0, shape.capacity, shape.k)?;
    let ckeys = client.keygen_chunk(&cshape, &table, params)?;
    let cproof = client.prove_chunk(&ckeys, &table, &datanet, &model)?;
    println!(
        "N = {n}: k = {}, segments {}; per-query keygen {:.1} s, prove {:.2} s, verify {:.1} ms, proof {} B, peak RSS {:.0} MiB; \
         feature chunks: {chunks} × {size} examples, one chunk keygen {:.1} s + prove {:.1} s ({} advice columns) → {:.1} min on one machine, peak RSS {:.0} MiB (SRS load/generate {:.1} s)",
        shape.k,
        table.segments(),
        query_keygen_s,
        proof.prove_time.as_secs_f64(),
        verify_ms,
        proof.bytes.len(),
        query_rss,
        ckeys.keys.keygen_time.as_secs_f64(),
        cproof.prove_time.as_secs_f64(),
        ckeys.keys.circuit_params.num_advice_per_phase[0],
        chunks as f64 * (ckeys.keys.keygen_time + cproof.prove_time).as_secs_f64() / 60.0,
        peak_rss_mib(),
        srs_s,
    );
    Ok(())
}
