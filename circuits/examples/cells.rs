//! Cells of the whole-datanet circuits: the per-query circuit and one
//! feature chunk, for `CAPACITY` examples spread over the digits datanet and chunks
//! of `SIZE`, at the `k` that `QueryShape::new` picks.
//!
//! `cargo run --release -p lineage-circuits --example cells [-- CAPACITY SIZE]`

use alloy_primitives::U256;
use lineage_circuits::{
    chunk::{self, ChunkInput, ChunkShape},
    query::{self, QueryInput, QueryShape},
    CircuitBuilderStage,
};
use lineage_core::{datanet::Datanet, features::FeatureTable};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let capacity = args.next().transpose()?.unwrap_or(128);
    let size = args.next().transpose()?.unwrap_or(64);
    let full = lineage_inference::digits_datanet()?;
    let cfg = lineage_inference::TrainConfig { epochs: 20, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu)?.quantize()?;
    let step = (full.contributions.len() / capacity).max(1);
    let datanet = Datanet::new("spread".into(), full.contributions.iter().step_by(step).take(capacity).cloned().collect())?;
    let table = FeatureTable::build(&model, &datanet)?;
    let shape = QueryShape::new(table.len())?;
    let q = lineage_inference::digits_heldout()?.get(lineage_inference::DEFAULT_QUERY_INDEX).ok_or("query")?.pixels.clone();
    let input = QueryInput::new(&model, &table, &q, 0, U256::from(1))?;
    let (mut circuit, _) = query::build(CircuitBuilderStage::Mock, &shape, &table, &input, None)?;
    let cells = circuit.builder.main(0).advice.len();
    let cp = circuit.builder.config_params.clone();
    println!("per-query, {} examples, k = {}: {cells} advice cells ({:.0} per example), advice columns {:?}, lookup {:?}", table.len(), shape.k, cells as f64 / table.len() as f64, cp.num_advice_per_phase, cp.num_lookup_advice_per_phase);
    let cs = ChunkShape::new(size, 0, shape.capacity, shape.k)?;
    let ci = ChunkInput::new(&cs, &model, &datanet)?;
    let mut c = chunk::build(CircuitBuilderStage::Mock, &cs, chunk::chunk_column(&cs, &table)?, &ci, None)?;
    let cells = c.builder.main(0).advice.len();
    let cp = c.builder.config_params.clone();
    println!("chunk of {size}: {cells} advice cells ({:.0} per example), advice columns {:?}, lookup {:?}", cells as f64 / size as f64, cp.num_advice_per_phase, cp.num_lookup_advice_per_phase);
    Ok(())
}
