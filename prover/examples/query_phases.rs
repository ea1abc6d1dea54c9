//! Where the per-query proving time goes, phase by phase, over the digits
//! datanet: feature table, native attribution, witness generation, proof.
//!
//! `cargo run --release -p lineage-prover --example query_phases [-- K]`

use alloy_primitives::U256;
use halo2_base::gates::circuit::CircuitBuilderStage;
use lineage_circuits::query::{self, QueryInput, QueryShape};
use lineage_core::features::FeatureTable;
use lineage_prover::{srs, ProverClient};
use std::time::Instant;

fn main() -> eyre::Result<()> {
    let datanet = lineage_inference::digits_datanet()?;
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu)?.quantize()?;
    let q = lineage_inference::digits_heldout()?.get(lineage_inference::DEFAULT_QUERY_INDEX).expect("held out").pixels.clone();
    let t = Instant::now();
    let table = FeatureTable::build(&model, &datanet)?;
    println!("feature table ({} rows): {:.3} s", table.len(), t.elapsed().as_secs_f64());
    let shape = match std::env::args().nth(1) {
        Some(k) => QueryShape::with_k(table.len(), k.parse()?)?,
        None => QueryShape::new(table.len())?,
    };
    let client = ProverClient::builder().cpu().build()?;
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k)?;
    let keys = client.keygen_query(&shape, &table, params)?;
    let cp = &keys.keys.circuit_params;
    println!("k = {}, advice {:?}, lookup advice {:?}, keygen {:.2} s", cp.k, cp.num_advice_per_phase, cp.num_lookup_advice_per_phase, keys.keys.keygen_time.as_secs_f64());
    let t = Instant::now();
    let input = QueryInput::new(&model, &table, &q, 5_000_000_000_000_000_000, U256::from(1))?;
    println!("native attribution: {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let (mut circuit, _) = query::build(
        CircuitBuilderStage::Prover,
        &shape,
        &table,
        &input,
        Some((keys.keys.circuit_params.clone(), keys.keys.break_points.clone())),
    )?;
    println!("witness generation: {:.3} s ({} advice cells)", t.elapsed().as_secs_f64(), circuit.builder.main(0).advice.len());
    let t = Instant::now();
    let proof = client.prove_query(&keys, &table, &input)?;
    println!("prove_query (witness + proof): {:.3} s, proof {} bytes", t.elapsed().as_secs_f64(), proof.bytes.len());
    let _ = t;
    Ok(())
}
