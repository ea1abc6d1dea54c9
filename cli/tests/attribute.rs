//! `lineage attribute` over a small prefix of the digits datanet: every
//! example is covered, the chunks' registration check passes, the
//! per-query proof verifies, and the fee is paid out exactly.

use std::process::Command;

#[test]
fn attribute_covers_every_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_lineage"))
        .args(["attribute", "--json", "--examples", "40", "--chunk", "16", "--epochs", "100"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "attribute failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["verified"], true);
    assert_eq!(j["examples_covered"], 40);
    assert_eq!(j["chunks"], 3);
    assert!(j["contributors_paid"].as_u64().unwrap() >= 1);
    assert!(j["contributors_paid"].as_u64().unwrap() <= j["segments"].as_u64().unwrap());
    assert_eq!(j["paid_wei"], j["pool_wei"]);

    // an SRS file that is not the pinned one is refused
    let dir = tempfile::tempdir().unwrap();
    let srs = dir.path().join("srs.bin");
    std::fs::write(&srs, b"not an srs").unwrap();
    let wrong = Command::new(env!("CARGO_BIN_EXE_lineage"))
        .args(["attribute", "--examples", "8", "--epochs", "1", "--srs"])
        .arg(&srs)
        .args(["--srs-hash", "0x0000000000000000000000000000000000000000000000000000000000000001"])
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not the pinned"), "{}", String::from_utf8_lossy(&wrong.stderr));

    // a query that is training data is refused before any work
    let bad = Command::new(env!("CARGO_BIN_EXE_lineage")).args(["attribute", "--query-index", "0"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a held-out query"));
}
