//! The command line refuses hostile or nonsensical input with a message and
//! a non-zero status — before any allocation or proving, never a panic or
//! an abort.

use std::process::{Command, Output};

fn lineage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lineage")).args(args).output().unwrap()
}

fn assert_refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted: {err}");
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "crashed: {err}");
    assert!(err.contains(needle), "message {err:?} lacks {needle:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("datanet "), "work started before the check");
}

#[test]
fn demo_refuses_absurd_arguments_before_any_work() {
    assert_refused(&lineage(&["demo", "--slots", "1099511627776"]), "--slots");
    assert_refused(&lineage(&["demo", "--slots", "0"]), "--slots");
    assert_refused(&lineage(&["demo", "--fee-open", "0"]), "--fee-open");
    assert_refused(&lineage(&["demo", "--batch", "1099511627776"]), "--batch");
    assert_refused(&lineage(&["demo", "--batch", "48"]), "power of two");
    assert_refused(&lineage(&["demo", "--epochs", "0"]), "--epochs");
}

/// A structurally valid parameter file with `k`, and its keccak256.
fn params_with_k(dir: &std::path::Path, k: u32) -> (std::path::PathBuf, String) {
    use lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG;
    let p = ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand::rngs::OsRng);
    let mut bytes = lineage_verifier::VerifierParams::from_srs(&p).to_bytes();
    bytes[12..16].copy_from_slice(&k.to_le_bytes());
    let path = dir.join(format!("params-k{k}.bin"));
    std::fs::write(&path, &bytes).unwrap();
    (path, alloy_primitives::keccak256(&bytes).to_string())
}

#[test]
fn verify_refuses_hostile_files_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("vk.json"), b"{}").unwrap();
    std::fs::write(d.join("bundle.json"), b"{}").unwrap();
    let vk_pin = "0x1111111111111111111111111111111111111111111111111111111111111111";
    let run = |params: &std::path::Path, hash: &str, vk: &str| {
        lineage(&[
            "verify",
            "--bundle",
            d.join("bundle.json").to_str().unwrap(),
            "--vk",
            vk,
            "--params",
            params.to_str().unwrap(),
            "--params-hash",
            hash,
            "--vk-hash",
            vk_pin,
        ])
    };
    let vk = d.join("vk.json");
    // k = 28 (once a 16 GiB allocation): refused while parsing, even when its own hash is pinned
    let (p28, h28) = params_with_k(d, 28);
    assert_refused(&run(&p28, &h28, vk.to_str().unwrap()), "k = 28 is outside");
    // parameters of another k than the key's: the key's hash is not the pinned one
    let (p4, h4) = params_with_k(d, 4);
    assert_refused(&run(&p4, &h4, vk.to_str().unwrap()), "not the pinned key hash");
    // a huge key file is refused before it is read whole
    let big = d.join("big.json");
    std::fs::write(&big, vec![b' '; 10 << 20]).unwrap();
    assert_refused(&run(&p4, &h4, big.to_str().unwrap()), "larger than");
    // no pins at all
    let out = lineage(&["verify", "--bundle", "x", "--vk", "y", "--params", "z"]);
    assert_refused(&out, "--params-hash");
}
