//! Whole-datanet scores for one query on a candle device against the CPU
//! reference: the largest difference and the time per query, for N = 1,438
//! (digits) and larger augmented datanets. Exits non-zero on a mismatch.
//!
//! `cargo run --release -p lineage-inference --example device_scores [--features cuda] -- [cuda|cpu] [N ...]`

use candle_core::Device;
use lineage_inference::device::DeviceScorer;
use lineage_inference::influence::{Attributor, Method};
use lineage_inference::native::{self, TrainSet};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let device = match args.next().as_deref() {
        Some("cuda") => Device::new_cuda(0).expect("a CUDA device"),
        _ => Device::Cpu,
    };
    let sizes: Vec<usize> = {
        let v: Vec<usize> = args.filter_map(|a| a.parse().ok()).collect();
        if v.is_empty() { vec![1438, 16_384] } else { v }
    };
    let cfg = lineage_inference::TrainConfig::default();
    let digits = lineage_inference::digits_datanet().expect("digits");
    let model = native::train(&TrainSet::from_datanet(&digits), &cfg, None, &[]).model;
    let queries: Vec<Vec<u8>> = lineage_inference::digits_heldout().expect("held-out").queries.iter().take(20).map(|q| q.pixels.clone()).collect();
    println!("device {device:?}; model: the recipe, seed {}, {} epochs; 20 held-out queries", cfg.seed, cfg.epochs);
    let mut ok = true;
    for n in sizes {
        let datanet = if n == 1438 { digits.clone() } else { lineage_inference::augmented_digits(n, 1).expect("augmented") };
        let t = Instant::now();
        let at = Attributor::new(&model, &[], &TrainSet::from_datanet(&datanet));
        let prepare = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let scorer = DeviceScorer::new(&at, &device).expect("upload");
        let upload = t.elapsed().as_secs_f64();
        for method in [Method::TracIn, Method::Influence, Method::InfluenceFull, Method::InfluenceKfac] {
            let (mut cpu_s, mut dev_s, mut worst) = (0.0, 0.0, 0f64);
            // one warm-up query on the device (kernel loading), not timed
            scorer.scores(&at, method, &queries[0]).expect("device scores");
            for q in &queries {
                let t = Instant::now();
                let cpu = at.scores(method, q);
                cpu_s += t.elapsed().as_secs_f64();
                let t = Instant::now();
                let dev = scorer.scores(&at, method, q).expect("device scores");
                dev_s += t.elapsed().as_secs_f64();
                let scale = cpu.examples.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let err = cpu.examples.iter().zip(&dev.examples).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                worst = worst.max(err / scale.max(1e-30));
            }
            let k = queries.len() as f64;
            let pass = worst <= 1e-4;
            ok &= pass;
            println!(
                "N {n:>6}  {:<15} cpu {:>8.3} ms/query  device {:>8.3} ms/query  max rel diff {worst:.2e} {}  (per model: prepare {prepare:.2} s, upload {upload:.3} s)",
                method.name(),
                cpu_s * 1e3 / k,
                dev_s * 1e3 / k,
                if pass { "ok" } else { "MISMATCH" }
            );
        }
    }
    if !ok {
        std::process::exit(1);
    }
}
