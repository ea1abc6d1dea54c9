//! End to end: the `lineage` binary runs the demo flow (N = 64 examples,
//! real keys, real proof, embedded chain), then an auditor re-verifies the
//! files it left, and a tampered bundle is rejected.

use std::process::Command;

fn lineage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lineage"))
}

#[test]
fn demo_json_verify_and_tamper() {
    let out_dir = tempfile::tempdir().unwrap();
    // the whole-datanet claim over the datanet's first 128 examples (three contributors; for the default query two have negative net influence and are paid nothing) keeps the test quick
    let out = lineage().args(["demo", "--json", "--whole-examples", "128", "--out"]).arg(out_dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let last = stdout.lines().last().unwrap();
    let j: serde_json::Value = serde_json::from_str(last).unwrap();
    assert_eq!(j["verified"], true);
    assert_eq!(j["tampered_rejected"], true);
    assert_eq!(j["double_pay_rejected"], true);
    // the dev split of the 5 OPEN fee: 80 % to contributors (the proofs' pool), 10 % owner, 5 % prover, 5 % protocol
    assert_eq!(j["fee_wei"], "5000000000000000000");
    assert_eq!(j["pool_wei"], "4000000000000000000");
    assert_eq!(j["owner_wei"], "500000000000000000");
    assert_eq!(j["prover_wei"], "250000000000000000");
    assert_eq!(j["protocol_wei"], "250000000000000000");
    assert_eq!(j["agent_accepted"], true);
    // the honest claim paid the contributors' whole share although a griefer opened a 1-wei request for the same query
    assert_eq!(j["paid_wei"], j["pool_wei"]);
    assert!(j["payouts"].as_u64().unwrap() >= 1);
    assert!(j["batch"].as_u64().unwrap() >= 64);
    assert!(j["proof_bytes"].as_u64().unwrap() > 0);
    // the whole-datanet claim covered every example of its version and paid the whole fee
    assert_eq!(j["examples_covered"], 128);
    assert!(j["contributors_paid"].as_u64().unwrap() >= 1);
    assert_eq!(j["whole_paid_wei"], j["pool_wei"]);
    assert!(j["whole_gas_used"].as_u64().unwrap() > 0);
    assert!(j["whole_release_gas"].as_u64().unwrap() > 0);
    assert!(j["gas_used"].as_u64().unwrap() > 450_000);
    for f in ["prove_ms", "verify_ms"] {
        assert!(j[f].is_u64(), "{f}");
    }

    // the datanet root the demo used is what `datanet build` prints for the shipped file
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/digits-datanet.json");
    let b = lineage().args(["datanet", "build", "--json", data]).output().unwrap();
    assert!(b.status.success());
    let bj: serde_json::Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(bj["root"], j["datanet_root"]);
    assert_eq!(bj["contributions"], 1438);
    // the query is a held-out image, never training data; accuracy is measured on the held-out set
    assert_eq!(j["query_index"].as_u64().unwrap() % 5, 4);
    assert!(j["heldout_accuracy"].as_f64().unwrap() > 0.9, "{}", j["heldout_accuracy"]);
    assert!(bj["contributors"].as_u64().unwrap() >= 20);

    // an auditor verifies the files independently, pinning what it trusts
    let d = out_dir.path();
    let (params_hash, vk_hash) = (j["params_hash"].as_str().unwrap(), j["vk_hash"].as_str().unwrap());
    let verify = |bundle: &std::path::Path, params: &std::path::Path, extra: &[&str]| {
        lineage()
            .args(["verify", "--bundle"])
            .arg(bundle)
            .arg("--vk")
            .arg(d.join("vk.json"))
            .arg("--params")
            .arg(params)
            .args(extra)
            .output()
            .unwrap()
    };
    let pins = ["--params-hash", params_hash, "--vk-hash", vk_hash];
    let params = d.join("verifier-params.bin");
    let v = verify(&d.join("bundle.json"), &params, &pins);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    assert!(String::from_utf8_lossy(&v.stdout).contains("VERIFIED"));
    // or pinning by the chain: genesis parameters and the key allowlist
    let chain_dir = d.join("chain");
    let v = verify(&d.join("bundle.json"), &params, &["--chain", chain_dir.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // a chain pinned by another genesis hash is refused; a path holding no chain is refused (and not created)
    let wrong_genesis = ["--chain", chain_dir.to_str().unwrap(), "--genesis-hash", vk_hash];
    let v = verify(&d.join("bundle.json"), &params, &wrong_genesis);
    assert!(!v.status.success() && String::from_utf8_lossy(&v.stderr).contains("not the pinned"));
    let nowhere = d.join("no-chain-here");
    let v = verify(&d.join("bundle.json"), &params, &["--chain", nowhere.to_str().unwrap()]);
    assert!(!v.status.success() && !nowhere.exists());
    let v = verify(&d.join("bundle.json"), &params, &["--chain", chain_dir.to_str().unwrap(), "--genesis-hash", j["genesis_hash"].as_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    // parameters of another k, pinned by their own hash, with the genuine key: refused, no halo2 panic
    let small = lineage_verifier::VerifierParams::from_srs(&lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<
        lineage_circuits::Bn256,
    >::setup(4, rand::rngs::OsRng))
    .to_bytes();
    let sp = d.join("small-params.bin");
    std::fs::write(&sp, &small).unwrap();
    let small_hash = alloy_primitives::keccak256(&small).to_string();
    let v = verify(&d.join("bundle.json"), &sp, &["--params-hash", &small_hash, "--vk-hash", vk_hash]);
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(!v.status.success() && err.contains("is for verifier parameters") && !err.contains("panicked"), "{err}");
    // without a pin, nothing is trusted
    let v = verify(&d.join("bundle.json"), &params, &[]);
    assert!(!v.status.success());

    // a bundle with a changed predicted class is rejected
    let text = std::fs::read_to_string(d.join("bundle.json")).unwrap();
    let mut bundle: serde_json::Value = serde_json::from_str(&text).unwrap();
    let class = bundle["predicted_class"].as_u64().unwrap();
    bundle["predicted_class"] = ((class + 1) % 10).into();
    let bad = d.join("bad.json");
    std::fs::write(&bad, bundle.to_string()).unwrap();
    let v = verify(&bad, &params, &pins);
    assert!(!v.status.success());
    assert!(String::from_utf8_lossy(&v.stderr).contains("REJECTED"));

    // parameters with one bit flipped are refused, by hash, with a clear message
    let mut flipped = std::fs::read(&params).unwrap();
    flipped[60] ^= 1;
    let fp = d.join("flipped.bin");
    std::fs::write(&fp, &flipped).unwrap();
    for extra in [&pins[..], &["--chain", chain_dir.to_str().unwrap()][..]] {
        let v = verify(&d.join("bundle.json"), &fp, extra);
        let err = String::from_utf8_lossy(&v.stderr);
        assert!(!v.status.success() && err.contains("not the pinned hash") && !err.contains("panicked"), "{err}");
    }
    // a key other than the pinned one is refused
    let other = ["--params-hash", params_hash, "--vk-hash", "0x1111111111111111111111111111111111111111111111111111111111111111"];
    let v = verify(&d.join("bundle.json"), &params, &other);
    assert!(!v.status.success() && String::from_utf8_lossy(&v.stderr).contains("not the pinned key hash"));
}

#[test]
fn datanet_build_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.json");
    std::fs::write(&p, r#"{"format":"lineage-datanet","version":1,"name":"x","contributions":[{"contributor":"0x0000000000000000000000000000000000000001","licence":"CC0-1.0","payload":{"label":3,"pixels":[99]}}]}"#).unwrap();
    let out = lineage().args(["datanet", "build"]).arg(&p).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("contribution 0"));
    let out = lineage().args(["datanet", "build"]).arg(dir.path().join("missing.json")).output().unwrap();
    assert!(!out.status.success());
}

#[cfg(not(feature = "gpu"))]
#[test]
fn gpu_request_without_the_feature_fails_fast_and_says_why() {
    let out = lineage().args(["demo", "--gpu"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("built without the `gpu` feature"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("datanet"), "no work before the backend check");
}
