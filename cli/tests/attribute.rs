//! `lineage attribute` over a small prefix of the digits datanet: every
//! example is covered, the chunks' registration check passes, the
//! per-query proof verifies, and the fee is paid out exactly; an auditor
//! re-checks the written claim with `lineage verify-whole` (pinned key and
//! parameters, the feature proof against allowlisted templates) and rejects
//! a changed total, another key, another template list.

use std::process::Command;

#[test]
fn attribute_covers_every_example() {
    let audit = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lineage"))
        // (the first 40 examples are one contributor's; for image #4 its net influence is positive)
        .args(["attribute", "--json", "--examples", "40", "--chunk", "16", "--epochs", "100", "--query-index", "4", "--out"])
        .arg(audit.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "attribute failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(j["verified"], true);
    assert_eq!(j["method"], "influence-kfac");
    assert_eq!(j["examples_covered"], 40);
    assert_eq!(j["chunks"], 3);
    assert!(j["contributors_paid"].as_u64().unwrap() >= 1);
    assert!(j["contributors_paid"].as_u64().unwrap() <= j["segments"].as_u64().unwrap());
    assert_eq!(j["paid_wei"], j["pool_wei"]);

    // the auditor's re-check
    let a = audit.path();
    let params_hash = format!("{}", alloy_primitives::keccak256(std::fs::read(a.join("verifier-params.bin")).unwrap()));
    let key_hash = j["query_key_hash"].as_str().unwrap().to_string();
    let templates: Vec<String> = std::fs::read_to_string(a.join("templates.txt")).unwrap().lines().map(String::from).collect();
    let verify_whole = |claim: &std::path::Path, key_hash: &str, templates: &[String]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lineage"));
        c.args(["verify-whole", "--json", "--claim"]).arg(claim).arg("--query-key").arg(a.join("query-vk.json"));
        c.args(["--query-key-hash", key_hash, "--params"]).arg(a.join("verifier-params.bin")).args(["--params-hash", &params_hash]);
        c.arg("--features").arg(a.join("features.json")).args(["--features-hash", j["feature_proof_hash"].as_str().unwrap()]);
        for t in templates {
            c.args(["--allow-template", t]);
        }
        c.output().unwrap()
    };
    let ok = verify_whole(&a.join("claim.json"), &key_hash, &templates);
    let ok_out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "verify-whole failed:\n{ok_out}\n{}", String::from_utf8_lossy(&ok.stderr));
    let v: serde_json::Value = serde_json::from_str(ok_out.lines().last().unwrap()).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["examples_covered"], 40);
    assert_eq!(v["paid_wei"], j["pool_wei"]);
    assert_eq!(v["contributors_paid"], j["contributors_paid"]);
    // a changed total is rejected
    let mut claim: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("claim.json")).unwrap()).unwrap();
    let t: i128 = claim["segments"][0]["total"].as_str().unwrap().parse().unwrap();
    claim["segments"][0]["total"] = (t + 1).to_string().into();
    let changed = a.join("changed.json");
    std::fs::write(&changed, serde_json::to_vec(&claim).unwrap()).unwrap();
    let bad = verify_whole(&changed, &key_hash, &templates);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("REJECTED"), "{}", String::from_utf8_lossy(&bad.stderr));
    // another pinned key hash, or a template list without the query key's, is rejected
    let other = format!("0x{}", "11".repeat(32));
    assert!(!verify_whole(&a.join("claim.json"), &other, &templates).status.success());
    let bad = verify_whole(&a.join("claim.json"), &key_hash, &templates[..templates.len() - 1]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not allowlisted"), "{}", String::from_utf8_lossy(&bad.stderr));

    // a query on which the one contributor's net influence is negative pays
    // nobody: a clear error, not a claim
    let none = Command::new(env!("CARGO_BIN_EXE_lineage"))
        .args(["attribute", "--json", "--examples", "40", "--chunk", "16", "--epochs", "100", "--query-index", "19"])
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("no contributor's net influence on this query is positive"), "{}", String::from_utf8_lossy(&none.stderr));

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

fn scores(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lineage")).args(["attribute", "--examples", "200", "--epochs", "100"]).args(args).output().unwrap()
}

fn last_json(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "attribute --method failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// `--method M`: per-example and per-contributor float scores of a held-out
/// query; a training image is refused; `--exclude` and `--seed` retrain so a
/// leave-out effect can be recomputed from the CLI alone.
#[test]
fn method_scores_per_example_and_contributor_and_leave_outs_from_the_cli() {
    let j = last_json(&scores(&["--method", "influence", "--query-index", "1794", "--json"]));
    assert_eq!(j["query"], 1794);
    assert_eq!(j["method"], "influence");
    assert_eq!(last_json(&scores(&["--method", "tracin-cp", "--json"]))["method"], "tracin-cp");
    assert_eq!(last_json(&scores(&["--method", "influence-full", "--json"]))["method"], "influence-full");
    let examples = j["examples"].as_object().unwrap();
    assert_eq!(examples.len(), 200);
    let contributors = j["contributors"].as_object().unwrap();
    // the contributor sums are the example scores added up
    let total_examples: f64 = examples.values().map(|v| v.as_f64().unwrap()).sum();
    let total_contributors: f64 = contributors.values().map(|v| v.as_f64().unwrap()).sum();
    assert!((total_examples - total_contributors).abs() < 1e-9 * total_examples.abs().max(1.0));
    let shares: f64 = j["shares"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares sum to {shares}");
    assert_eq!(j["logits"].as_array().unwrap().len(), 10);
    // the payout rule: a contributor with negative net influence has share 0
    for (a, share) in j["shares"].as_object().unwrap() {
        if contributors[a].as_f64().unwrap() <= 0.0 {
            assert_eq!(share.as_f64().unwrap(), 0.0, "{a}");
        }
    }
    // --plot draws the shares to a PNG
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("shares.png");
    let out = scores(&["--method", "influence", "--plot", png.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    // leave the top contributor out: it is gone from the scores, and the query's logits move
    let top = contributors.iter().max_by(|a, b| a.1.as_f64().unwrap().total_cmp(&b.1.as_f64().unwrap())).unwrap().0.clone();
    let without = last_json(&scores(&["--method", "influence", "--query-index", "1794", "--json", "--exclude", &top]));
    assert!(!without["contributors"].as_object().unwrap().contains_key(&top));
    assert!(without["excluded"].as_array().unwrap().len() >= 1);
    assert_ne!(without["logits"], j["logits"]);
    // the same seed and the same data give the same model; another seed another
    assert_eq!(last_json(&scores(&["--method", "tracin", "--json"]))["logits"], last_json(&scores(&["--method", "tracin", "--json"]))["logits"]);
    assert_ne!(last_json(&scores(&["--method", "tracin", "--json", "--seed", "8"]))["logits"], last_json(&scores(&["--method", "tracin", "--json"]))["logits"]);
    // an example id leaves out exactly that example
    let first_id = examples.keys().next().unwrap().clone();
    let one = last_json(&scores(&["--method", "uniform", "--json", "--exclude", &first_id]));
    assert_eq!(one["examples"].as_object().unwrap().len(), 199);

    // refused, each with a clear error: a training image, an unknown method, a bad exclusion
    let err = |out: std::process::Output| {
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = err(scores(&["--method", "influence", "--query-index", "0"]));
    assert!(e.contains("image #0 is training data"), "{e}");
    let e = err(scores(&["--method", "influence", "--query-index", "5000"]));
    assert!(e.contains("there is no image #5000"), "{e}");
    let e = err(scores(&["--method", "gradient-magic"]));
    assert!(e.contains("unknown method"), "{e}");
    let e = err(scores(&["--method", "influence", "--exclude", "not-an-id"]));
    assert!(e.contains("neither an example id nor a contributor address"), "{e}");
    let e = err(scores(&["--method", "influence", "--exclude", "4"]));
    assert!(e.contains("no such example"), "{e}");
    let e = err(scores(&["--method", "influence", "--exclude", "0x000000000000000000000000000000000000dEaD"]));
    assert!(e.contains("no example"), "{e}");
    let e = err(scores(&["--method", "influence", "--plot", "/nonexistent-dir/x.png"]));
    assert!(e.contains("drawing /nonexistent-dir/x.png"), "{e}");
}
