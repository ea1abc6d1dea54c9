//! CPU vs GPU proving of the attribution circuit at growing `k`, for the GPU
//! kit (`scripts/gpu-kit.sh run`). Writes one JSON object per `k` as soon as
//! it is measured (so a run stopped by its time budget keeps what it did),
//! then a summary line.
//!
//! ```text
//! gpu_bench [--ks 16,18,20,22] [--budget-s 420] [--cpu-only]
//! ```
//!
//! Every proof, CPU and GPU, is checked by the verifier with the one
//! verifying key. Exits non-zero with the typed `GpuUnavailable` /
//! `GpuNotCompiled` error when no GPU can be used (unless `--cpu-only`).

use lineage_prover::{pipeline, srs, ProverClient};
use lineage_verifier::Verifier;
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("gpu_bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let budget = arg("--budget-s").map(|s| s.parse::<f64>()).transpose()?.unwrap_or(420.0);
    let ks: Vec<u32> = arg("--ks").unwrap_or_else(|| "16,18,20,22".into()).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let cpu_only = std::env::args().any(|a| a == "--cpu-only");
    let cpu = ProverClient::builder().cpu().build()?;
    // the GPU is checked before any work: no device means a typed error in milliseconds
    let gpu = if cpu_only { None } else { Some(ProverClient::builder().gpu().build()?) };

    let datanet = lineage_inference::digits_datanet()?;
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu)?.quantize()?;
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    eprintln!("gpu_bench: model trained in {:.1} s", start.elapsed().as_secs_f64());

    let mut last_total = 0.0f64;
    for &k in &ks {
        let elapsed = start.elapsed().as_secs_f64();
        // each k step costs about 4× the previous one (2× rows, keygen + two proofs)
        if elapsed + 4.0 * last_total > budget {
            eprintln!("gpu_bench: stopping before k = {k}: {elapsed:.0} s used of {budget:.0} s, next step ≈ {:.0} s", 4.0 * last_total);
            break;
        }
        // the largest batch whose own k fits, proven at this k
        let batch = match k {
            0..=16 => 8,
            17..=18 => 64,
            19..=20 => 256,
            _ => 1024,
        };
        let t0 = Instant::now();
        let mut prepared = pipeline::prepare_best_window(&datanet, &model, &query, batch, 32, 1_000_000_000_000_000_000)?;
        prepared.shape = prepared.shape.with_k(k)?;
        let t = Instant::now();
        let params = srs::dev_srs(k);
        let srs_ms = t.elapsed().as_millis();
        let keys = cpu.keygen(&prepared.shape, params)?;
        let verifier = Verifier::new(keys.verifier_params.clone());
        let advice = keys.circuit_params.num_advice_per_phase[0];
        let cpu_proof = cpu.prove(&keys, &prepared.input)?;
        verifier.verify(&cpu_proof.claim(&keys, &prepared.input), &keys.vk_file)?;
        let (gpu_ms, gpu_ok) = match &gpu {
            Some(g) => {
                // first GPU proof includes converting the SRS and warming the device; report the second
                let warm = g.prove(&keys, &prepared.input)?;
                verifier.verify(&warm.claim(&keys, &prepared.input), &keys.vk_file)?;
                let p = g.prove(&keys, &prepared.input)?;
                verifier.verify(&p.claim(&keys, &prepared.input), &keys.vk_file)?;
                (Some(p.prove_time.as_millis()), true)
            }
            None => (None, false),
        };
        let cpu_ms = cpu_proof.prove_time.as_millis();
        let line = serde_json::json!({
            "k": k,
            "batch": batch,
            "advice_columns": advice,
            "srs_ms": srs_ms,
            "keygen_ms": keys.keygen_time.as_millis(),
            "cpu_prove_ms": cpu_ms,
            "gpu_prove_ms": gpu_ms,
            "speedup": gpu_ms.map(|g| cpu_ms as f64 / g.max(1) as f64),
            "cpu_proof_verified": true,
            "gpu_proofs_verified": gpu_ok,
            "proof_bytes": cpu_proof.bytes.len(),
        });
        println!("{line}");
        last_total = t0.elapsed().as_secs_f64();
    }
    eprintln!("gpu_bench: done in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
