//! The GPU kit on a machine without a GPU: `run` ends at once with
//! `GpuUnavailable` and a non-zero status, and says so in its JSON.

use std::{process::Command, time::Instant};

#[test]
fn gpu_kit_run_without_a_gpu_fails_fast_with_gpu_unavailable() {
    if Command::new("nvidia-smi").arg("-L").output().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: this machine has a GPU");
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/gpu-kit.sh");
    let t = Instant::now();
    let out = Command::new("bash").arg(script).arg("run").env("OUT", out_dir.path()).output().unwrap();
    assert!(t.elapsed().as_secs() < 10);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GpuUnavailable"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.path().join("gpu-kit.json")).unwrap()).unwrap();
    assert_eq!(json["error"], "GpuUnavailable");
}
