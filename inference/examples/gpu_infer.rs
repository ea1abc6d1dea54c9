//! Inference and influence of the whole digits datanet on candle's CPU and
//! CUDA devices, for the GPU kit (`scripts/gpu-kit.sh run`).
//!
//! For each device: the fixed-point forward pass of all 1,797 images
//! (checked equal to the native reference, prediction by prediction), then
//! the influence of every image on every query (all 1,797 images as
//! queries, `--copies` times over: 3.2 M scores per copy and repetition)
//! with per-contributor totals,
//! timed over `--reps` repetitions; sample queries are checked against the
//! native integer scores within `SCORE_REL_BOUND`. One JSON line per device,
//! then one with the speedup. Without the `cuda` feature, or without a GPU,
//! the CUDA line carries the error.

use candle_core::Device;
use lineage_core::attribution;
use lineage_inference::batch::{self, BatchModel, Examples, SCORE_REL_BOUND};
use std::time::Instant;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("gpu_infer: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let reps = arg("--reps", 5);
    let copies = arg("--copies", 4).max(1);
    let datanet = lineage_inference::digits_datanet()?;
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &Device::Cpu)?.quantize()?;
    let images: Vec<&[u8]> = datanet.contributions.iter().map(|c| c.payload.pixels.as_slice()).collect();
    let labels: Vec<u8> = datanet.contributions.iter().map(|c| c.payload.label).collect();
    let contributors = datanet.contributors();
    let owners: Vec<usize> = datanet.contributions.iter().map(|c| contributors.binary_search(&c.contributor).unwrap_or(0)).collect();

    // the native reference: every prediction, and exact scores for sample queries
    let native_pred: Vec<usize> = images.iter().map(|im| attribution::predict(&model, im)).collect();
    let samples = [0usize, 611, 1204, 1400];
    let native_scores: Vec<Vec<i128>> = samples
        .iter()
        .map(|&q| {
            let hq = attribution::hidden(&model, images[q]);
            let c = attribution::predict(&model, images[q]);
            datanet.contributions.iter().map(|e| attribution::score(&model, &hq, c, &e.payload)).collect()
        })
        .collect();

    let mut rates = Vec::new();
    let devices: Vec<(&str, Result<Device, String>)> =
        vec![("cpu", Ok(Device::Cpu)), ("cuda", batch::cuda_device().map_err(|e| e.to_string()))];
    for (name, dev) in devices {
        let dev = match dev {
            Ok(d) => d,
            Err(e) => {
                println!("{}", serde_json::json!({ "device": name, "error": e }));
                continue;
            }
        };
        let bm = BatchModel::new(&model, &dev)?;
        let pixels = batch::pixel_tensor(&images, &dev)?;
        let queries: Vec<&[u8]> = (0..copies).flat_map(|_| images.iter().copied()).collect();
        let query_pixels = batch::pixel_tensor(&queries, &dev)?;
        let ex = Examples::new(&bm, &images, &labels, &owners, contributors.len())?;
        // warm-up (CUDA context, kernels, cuBLAS handles), then time
        let _ = batch::influence(&bm, &ex, &query_pixels)?;
        let t = Instant::now();
        let predicted = bm.predict(&pixels)?;
        let infer_s = t.elapsed().as_secs_f64();
        let predictions_equal = predicted == native_pred;
        let t = Instant::now();
        let mut inf = None;
        for _ in 0..reps {
            inf = Some(batch::influence(&bm, &ex, &query_pixels)?);
        }
        let influence_s = t.elapsed().as_secs_f64() / reps as f64;
        let inf = inf.ok_or("no repetitions")?;
        let scores = inf.scores.to_vec2::<f64>()?;
        let mut worst = 0f64;
        for (qi, &q) in samples.iter().enumerate() {
            for (z, exact) in native_scores[qi].iter().enumerate() {
                let rel = (scores[q][z] - *exact as f64).abs() / (exact.unsigned_abs() as f64).max(1.0);
                worst = worst.max(rel);
            }
        }
        let n_scores = queries.len() * images.len();
        let rate = n_scores as f64 / influence_s;
        rates.push(rate);
        println!(
            "{}",
            serde_json::json!({
                "device": name,
                "images": images.len(),
                "predictions_equal_native": predictions_equal,
                "inference_s": infer_s,
                "images_per_s": images.len() as f64 / infer_s,
                "influence_s_per_rep": influence_s,
                "scores_per_rep": n_scores,
                "scores_per_s": rate,
                "max_rel_score_error": worst,
                "within_bound": worst <= SCORE_REL_BOUND,
                "bound": SCORE_REL_BOUND,
            })
        );
        if !predictions_equal || worst > SCORE_REL_BOUND {
            return Err(format!("{name}: results differ from the native reference").into());
        }
    }
    if let [cpu, gpu] = rates[..] {
        println!("{}", serde_json::json!({ "influence_speedup": gpu / cpu }));
    }
    Ok(())
}
