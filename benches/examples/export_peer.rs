//! Export the demo's model and query for the EZKL peer benchmark:
//! `model.json` (Lineage's model file), `input.json` (the query's pixels),
//! and `onnx.json` (the same weights as floats — each parameter `q / 256`,
//! exactly the fixed-point model — and the query as EZKL input data).
//!
//! `cargo run --release -p lineage-benches --example export_peer -- DIR`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: export_peer DIR")?);
    std::fs::create_dir_all(&dir)?;
    let datanet = lineage_inference::digits_datanet()?;
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu)?.quantize()?;
    let query = lineage_inference::digits_heldout()?.get(lineage_inference::DEFAULT_QUERY_INDEX).ok_or("no default query")?.pixels.clone();
    let f = |v: &[i32]| v.iter().map(|q| *q as f64 / 256.0).collect::<Vec<_>>();
    let onnx = serde_json::json!({
        "w1": f(&model.w1), "b1": f(&model.b1), "w2": f(&model.w2), "b2": f(&model.b2),
        "input_data": [query.iter().map(|p| *p as f64 / 16.0).collect::<Vec<_>>()],
        "predicted_class": lineage_core::attribution::predict(&model, &query),
    });
    std::fs::write(dir.join("model.json"), model.to_json())?;
    std::fs::write(dir.join("input.json"), serde_json::to_string(&query)?)?;
    std::fs::write(dir.join("onnx.json"), serde_json::to_string(&onnx)?)?;
    println!("exported the model and held-out query #{} to {}", lineage_inference::DEFAULT_QUERY_INDEX, dir.display());
    Ok(())
}
