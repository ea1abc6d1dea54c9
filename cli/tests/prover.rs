//! The prover node end to end: a dev node, the model owner's `lineage
//! register`, two `lineage prover` nodes and a client that posts 20 public
//! queries. All settle; one prover dies right after sending a claim, the
//! other right after storing an accept it has not sent, and one is killed
//! with SIGKILL mid-proof; each is restarted, and no claim is ever sent
//! twice; a misbehaving agent (it
//! answers one class and proves another) is reported and slashed; `lineage
//! audit` re-verifies every paid claim and lists the slash.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use lineage::rpc_chain::RpcChain;
use lineage_chain::{
    dev_signers,
    genesis::OPEN,
    precompile::{
        attribution::{IAttribution, ADDRESS},
        settlement::{answer_hash, recover, Answer},
        staking::{IStaking, ADDRESS as STAKING},
    },
};
use serde_json::Value;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_lineage");
/// The digits datanet's first 256 examples: 7 contributors, 3 licences (k = 13).
const EXAMPLES: &str = "256";

/// A child process, killed on drop; its first stdout line that names an
/// `http://` address gives its URL.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn start(cmd: &mut Command) -> Proc {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn lineage");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let url = loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the process exited before printing its address");
            if let Some(w) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                break w.trim_end_matches("/health").to_string();
            }
        };
        // keep draining its output so it never blocks on a full pipe
        std::thread::spawn(move || for _ in out.lines() {});
        Proc { child, url }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(url: &str) -> Option<(u16, String)> {
    // a tiny HTTP/1.0 GET: the node's health and answers are small JSON
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, buf.split_once("\r\n\r\n")?.1.to_string()))
}

fn prover_cmd(node: &str, key: &Path, owner: Address, data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(["prover", "--rpc", node, "--key"])
        .arg(key)
        .args(["--owner", &owner.to_string(), "--examples", EXAMPLES, "--listen", "127.0.0.1:0", "--poll-ms", "100", "--memory-budget-mib", "120", "--stake-budget-open", "3000", "--data-dir"])
        .arg(data);
    c
}

fn call<C: SolCall>(chain: &RpcChain, c: C) -> C::Return {
    C::abi_decode_returns(&chain.call(ADDRESS, &c.abi_encode()).unwrap()).unwrap()
}

#[test]
fn two_prover_nodes_settle_twenty_requests_through_a_kill_and_a_lying_agent_is_slashed() {
    let dir = tempfile::tempdir().unwrap();
    let s = dev_signers(6).unwrap();
    let (owner, client, a, b, liar, reporter) = (&s[0], &s[1], &s[2], &s[3], &s[4], &s[5]);
    let key = |i: usize| {
        let p = dir.path().join(format!("key{i}"));
        std::fs::write(&p, format!("0x{}\n", hex::encode(s[i].to_bytes()))).unwrap();
        p
    };
    let node = Proc::start(Command::new(BIN).args(["node", "--dev", "--http-addr", "127.0.0.1:0", "--block-time-ms", "200", "--datadir"]).arg(dir.path().join("chain")));
    let chain = RpcChain::connect(&node.url).unwrap();

    // the model owner (the dev governor) registers the model's whole-datanet key
    let out = Command::new(BIN).args(["register", "--rpc", &node.url, "--examples", EXAMPLES, "--key"]).arg(key(0)).output().unwrap();
    assert!(out.status.success(), "register failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));

    let (a_data, b_data) = (dir.path().join("prover-a"), dir.path().join("prover-b"));
    // A dies right after sending its first claim, B right after storing its first accept
    // (before sending it): each is restarted on its queue and must finish what it started
    let mut pa = Proc::start(prover_cmd(&node.url, &key(2), owner.address(), &a_data).env("LINEAGE_PROVER_CRASH_AT", "claim-sent"));
    let mut pb = Proc::start(prover_cmd(&node.url, &key(3), owner.address(), &b_data).env("LINEAGE_PROVER_CRASH_AT", "accept-stored"));
    for p in [&pa, &pb] {
        let (status, body) = get(&format!("{}/health", p.url)).expect("health answers");
        assert_eq!(status, 200, "{body}");
    }

    // the client posts 20 held-out queries, all at once
    let (datanet, model) = lineage::register::digits_model(Some(256), lineage_inference::DEFAULT_EPOCHS).unwrap();
    let model_c = lineage::register::b32(&model.commitment());
    let heldout = lineage_inference::digits_heldout().unwrap();
    let deadline = chain.head().unwrap().1 + 3600;
    let mut sent = vec![];
    for q in heldout.queries.iter().take(20) {
        let input = IAttribution::escrowQueryCall { modelOwner: owner.address(), modelCommitment: model_c, query: q.pixels.clone().into(), deadline }.abi_encode();
        let tx = chain.sign(client, ADDRESS, input.into(), U256::from(2 * OPEN), 500_000).unwrap();
        chain.send_raw(&tx.raw).unwrap();
        sent.push(tx.hash);
    }
    let mut ids = vec![];
    for h in sent {
        let r = chain.wait_receipt(h).unwrap();
        assert!(r.status, "escrowQuery failed: {r:?}");
        let opened = r.logs.iter().find_map(|l| <IAttribution::RequestOpened as alloy_sol_types::SolEvent>::decode_log_data(&l.data).ok()).unwrap();
        ids.push(opened.requestId);
    }
    // a griefer's 1-wei query: its contributors' share (80 % of 1 wei) cannot be split, so no
    // claim could ever pay it; a node that accepted it would be slashed as unanswered
    let grief = IAttribution::escrowQueryCall { modelOwner: owner.address(), modelCommitment: model_c, query: heldout.queries[30].pixels.clone().into(), deadline }.abi_encode();
    let r = chain.transact(reporter, ADDRESS, grief, U256::from(1), 500_000).unwrap();
    assert!(r.status, "{}", lineage::register::describe(&r));
    let grief_id = IAttribution::escrowQueryCall::abi_decode_returns(&r.output).unwrap();

    for (p, data, k) in [(&mut pa, &a_data, 2), (&mut pb, &b_data, 3)] {
        let start = Instant::now();
        while p.child.try_wait().unwrap().is_none() {
            assert!(start.elapsed() < Duration::from_secs(120), "the crash point was never reached");
            std::thread::sleep(Duration::from_millis(20));
        }
        *p = Proc::start(&mut prover_cmd(&node.url, &key(k), owner.address(), data));
    }

    // kill prover A while it proves, then restart it on the same queue
    let start = Instant::now();
    loop {
        let h: Value = serde_json::from_str(&get(&format!("{}/health", pa.url)).unwrap().1).unwrap();
        if h["proving"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "prover A never started a proof: {h}");
        std::thread::sleep(Duration::from_millis(20));
    }
    pa.kill9();
    let pa = Proc::start(&mut prover_cmd(&node.url, &key(2), owner.address(), &a_data));

    // every request settles
    let start = Instant::now();
    loop {
        // paid, and its contributors' payouts released
        let open = ids
            .iter()
            .filter(|id| {
                call(&chain, IAttribution::requestOfCall { requestId: **id }).status != 2
                    || !call(&chain, IAttribution::payoutsOfCall { requestId: **id }).unreleased.is_zero()
            })
            .count();
        if open == 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(300) {
            let jobs = |u: &str| get(&format!("{u}/v1/jobs")).map(|r| r.1).unwrap_or_default();
            panic!("{open} request(s) not settled after 300 s\nA: {}\nB: {}", jobs(&pa.url), jobs(&pb.url));
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // the two agents shared the work; each request's claim came from its agent, once
    let mut by_agent: HashMap<Address, usize> = HashMap::new();
    for id in &ids {
        let st = call(&chain, IAttribution::settlementOfCall { requestId: *id });
        assert!(st.agent == a.address() || st.agent == b.address(), "request {id} accepted by {}", st.agent);
        assert_eq!(st.prover, st.agent);
        *by_agent.entry(st.agent).or_default() += 1;
        // the agent's signed answer matches what it proved
        let url = if st.agent == a.address() { &pa.url } else { &pb.url };
        let (status, body) = get(&format!("{url}/v1/answers/{id}")).unwrap();
        assert_eq!(status, 200, "{body}");
        let ans: lineage::prover::queue::SignedAnswer = serde_json::from_str(&body).unwrap();
        assert_eq!((ans.predicted_class, ans.payout_digest), (st.provenClass, st.payoutDigest), "request {id}");
        let q = call(&chain, IAttribution::requestOfCall { requestId: *id }).queryCommitment;
        let h = answer_hash(chain.chain_id(), &Answer { requestId: *id, queryCommitment: q, predictedClass: ans.predicted_class, payoutDigest: ans.payout_digest });
        assert_eq!(recover(&h, &ans.signature), Some(st.agent));
        if *id == ids[0] {
            // an honest answer reported is refused, and slashes nothing
            let report = IAttribution::reportAnswerCall { requestId: *id, predictedClass: ans.predicted_class, payoutDigest: ans.payout_digest, signature: ans.signature.clone() };
            let r = chain.transact(reporter, ADDRESS, report.abi_encode(), U256::ZERO, 1_000_000).unwrap();
            assert!(!r.status, "an honest answer was slashed");
        }
    }
    assert_eq!(by_agent.len(), 2, "both agents proved some requests: {by_agent:?}");
    // neither node took the 1-wei request: both marked it lost as not payable
    assert_eq!(call(&chain, IAttribution::settlementOfCall { requestId: grief_id }).agent, Address::ZERO);
    for url in [&pa.url, &pb.url] {
        let jobs: Value = serde_json::from_str(&get(&format!("{url}/v1/jobs")).unwrap().1).unwrap();
        let j = jobs.as_array().unwrap().iter().find(|j| j["request_id"] == grief_id.to_string()).expect("the node saw the 1-wei request");
        assert_eq!(j["stage"], "lost", "{j}");
        assert!(j["note"].as_str().unwrap().starts_with("not payable"), "{j}");
    }
    let head = chain.head().unwrap().0;
    let mut claims: HashMap<U256, usize> = HashMap::new();
    for n in 0..=head {
        for (_, from, to, input) in chain.block_transactions(n).unwrap() {
            if to == Some(ADDRESS) && input.starts_with(&IAttribution::submitWholeClaimCall::SELECTOR) {
                let c = IAttribution::submitWholeClaimCall::abi_decode(&input).unwrap();
                assert!(from == a.address() || from == b.address());
                *claims.entry(c.requestId).or_default() += 1;
            }
        }
    }
    for id in &ids {
        assert_eq!(claims.get(id), Some(&1), "request {id}: claims sent {:?}", claims.get(id));
    }

    // a misbehaving agent: its user names it at escrow; it answers one class and proves the other
    assert!(chain.transact(liar, STAKING, IStaking::stakeCall {}.abi_encode(), U256::from(100 * OPEN), 200_000).unwrap().status);
    let q = &heldout.queries[25];
    let qc = lineage::register::b32(&lineage_core::datanet::query_commitment(&q.pixels).unwrap());
    let deadline = chain.head().unwrap().1 + 3600;
    let r = chain
        .transact(client, ADDRESS, IAttribution::escrowFeeForCall { modelOwner: owner.address(), modelCommitment: model_c, queryCommitment: qc, deadline, agent: liar.address() }.abi_encode(), U256::from(2 * OPEN), 500_000)
        .unwrap();
    assert!(r.status);
    let lie_id = IAttribution::escrowFeeForCall::abi_decode_returns(&r.output).unwrap();
    assert!(chain.transact(liar, ADDRESS, IAttribution::acceptRequestCall { requestId: lie_id }.abi_encode(), U256::ZERO, 400_000).unwrap().status);
    let cache = lineage_prover::srs::default_cache_dir();
    let shape = lineage_circuits::query::QueryShape::new(datanet.contributions.len()).unwrap();
    let params = lineage_prover::srs::cached_dev_srs(&cache, shape.k).unwrap();
    let prover = lineage_prover::ProverClient::builder().cpu().build().unwrap();
    let setup = lineage::whole::prepare(&prover, &params, &datanet, &model, None, &cache).unwrap();
    let pool: u128 = call(&chain, IAttribution::splitOfCall { requestId: lie_id }).contributors.to();
    let input = lineage_circuits::query::QueryInput::new(&model, &setup.table, &q.pixels, pool, lie_id).unwrap();
    let digest = lineage::prover::payout_digest(&input).unwrap();
    let lie = lineage::prover::sign_answer(liar, chain.chain_id(), lie_id, qc, (input.predicted as u64 + 1) % 10, digest).unwrap();
    let proof = prover.prove_query(&setup.query_keys, &setup.table, &input).unwrap();
    let segments = lineage_core::features::claim_segments(&input.attribution);
    let claim = IAttribution::submitWholeClaimCall::new(lie_id, input.predicted as u64, &segments, &proof.bytes);
    let r = chain.transact(liar, ADDRESS, claim.abi_encode(), U256::ZERO, 3_000_000).unwrap();
    assert!(r.status, "{}", lineage::register::describe(&r));
    // its user reports the signed answer: the agent's lock is slashed
    let report = IAttribution::reportAnswerCall { requestId: lie_id, predictedClass: lie.predicted_class, payoutDigest: lie.payout_digest, signature: lie.signature.clone() };
    let r = chain.transact(reporter, ADDRESS, report.abi_encode(), U256::ZERO, 1_000_000).unwrap();
    assert!(r.status, "{}", lineage::register::describe(&r));
    assert_ne!(call(&chain, IAttribution::settlementOfCall { requestId: lie_id }).fault, 0);

    // the auditor: every paid claim backed by a valid proof, the slash listed
    let params_file = dir.path().join("verifier-params.bin");
    let dev = lineage_prover::srs::cached_dev_srs(&cache, lineage::node::DEV_NODE_K).unwrap();
    std::fs::write(&params_file, lineage_verifier::VerifierParams::from_srs(&dev).to_bytes()).unwrap();
    let out = Command::new(BIN).args(["audit", "--json", "--rpc", &node.url, "--params"]).arg(&params_file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "audit failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let audit: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let claims = audit["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 21, "{audit}");
    assert!(claims.iter().all(|c| c["proof_valid"] == true), "{audit}");
    assert_eq!(audit["findings"].as_array().unwrap().len(), 0, "{audit}");
    let slashes = audit["slashes"].as_array().unwrap();
    assert_eq!(slashes.len(), 1, "{audit}");
    assert_eq!(slashes[0]["request_id"], lie_id.to_string());
    assert!(slashes[0]["fault"].as_str().unwrap().starts_with("contradicted answer"), "{audit}");

    // the regulator's report: its numbers are the auditor's, and it renders in Chromium
    let page = dir.path().join("report.html");
    let out = Command::new(BIN)
        .args(["report", "--json", "--rpc", &node.url, "--owner", &owner.address().to_string(), "--model", &model_c.to_string(), "--params"])
        .arg(&params_file)
        .arg("--out")
        .arg(&page)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "report failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    check_report(&report, &audit, &page, dir.path());

    // hostile requests to the node's HTTP side get clear refusals, and the node lives on
    for (path, status) in [("/v1/answers/not-a-number", 400), ("/v1/answers/0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 400), ("/v1/answers/999999", 404)] {
        let (got, body) = get(&format!("{}{path}", pb.url)).unwrap();
        assert_eq!(got, status, "{path}: {body}");
    }
    assert_eq!(get(&format!("{}/health", pb.url)).unwrap().0, 200);

    // the metrics count what happened
    let (status, metrics) = get(&format!("{}/metrics", pb.url)).unwrap();
    assert_eq!(status, 200);
    for name in ["lineage_prover_proofs_total", "lineage_prover_claims_paid_total", "lineage_prover_prove_seconds_bucket", "lineage_prover_queue_depth"] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
}

/// The report's data and its rendered page agree with the audit: the same
/// 21 requests, each with the audit's contributors' total, payouts and
/// class; the datanet version with its licences and 7 contributors; the
/// slash. Headless Chromium renders the page with no console message and a
/// non-empty screenshot, and its DOM carries the same numbers.
fn check_report(report: &Value, audit: &Value, page: &Path, dir: &Path) {
    let claims: HashMap<String, &Value> = audit["claims"].as_array().unwrap().iter().map(|c| (c["request_id"].as_str().unwrap().to_string(), c)).collect();
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 21, "{report}");
    for q in queries {
        let c = claims[q["request_id"].as_str().unwrap()];
        assert_eq!(q["contributors_wei"], c["contributors_wei"]);
        assert_eq!(q["predicted_class"], c["predicted_class"]);
        assert_eq!(q["proof_valid"], true);
        let mut mine: Vec<(String, String)> = q["payouts"].as_array().unwrap().iter().map(|p| (p["contributor"].as_str().unwrap().to_lowercase(), p["amount_wei"].as_str().unwrap().to_string())).collect();
        let mut theirs: Vec<(String, String)> = c["payout_list"].as_array().unwrap().iter().map(|p| (p["contributor"].as_str().unwrap().to_lowercase(), p["amount_wei"].as_str().unwrap().to_string())).collect();
        mine.sort();
        theirs.sort();
        assert_eq!(mine, theirs, "request {}", q["request_id"]);
    }
    let d = &report["datanets"].as_array().unwrap()[0];
    assert_eq!((d["contributions"].as_u64(), d["contributors"].as_u64()), (Some(256), Some(7)), "{report}");
    assert!(d["licence"].as_str().unwrap().contains("CC0-1.0"), "{report}");
    let licences = report["licences"].as_array().unwrap();
    assert!(licences.len() >= 2 && licences.iter().all(|l| !l["licence"].as_str().unwrap().starts_with("unknown")), "{report}");
    let total: u128 = queries.iter().map(|q| q["contributors_wei"].as_str().unwrap().parse::<u128>().unwrap()).sum();
    assert_eq!(licences.iter().map(|l| l["amount_wei"].as_str().unwrap().parse::<u128>().unwrap()).sum::<u128>(), total);
    assert_eq!(report["slashes"].as_array().unwrap().len(), 1);

    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| Command::new(c).arg("--version").output().map(|o| o.status.success()).unwrap_or(false));
    let chromium = chromium.expect("Chromium is needed (Debian: apt-get install chromium; scripts/setup.sh installs it)");
    let url = format!("file://{}", page.display());
    let shot = dir.join("report.png");
    let profile = dir.join("chromium-profile");
    let base = |c: &mut Command| {
        c.args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--enable-logging=stderr", "--v=0", "--window-size=1280,4000"]).arg(format!("--user-data-dir={}", profile.display()));
    };
    let mut cmd = Command::new(chromium);
    base(&mut cmd);
    let out = cmd.arg(format!("--screenshot={}", shot.display())).arg(&url).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "the page logged to the console: {console:?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.len() > 20_000 && png.starts_with(b"\x89PNG"), "screenshot of {} bytes", png.len());
    let mut cmd = Command::new(chromium);
    base(&mut cmd);
    let out = cmd.arg("--dump-dom").arg(&url).output().unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    for q in queries {
        let row = format!(r#"data-request-id="{}" data-contributors-wei="{}""#, q["request_id"].as_str().unwrap(), q["contributors_wei"].as_str().unwrap());
        assert!(dom.contains(&row), "the rendered page lacks {row}");
    }
    for l in licences {
        assert!(dom.contains(&format!(r#"data-amount-wei="{}""#, l["amount_wei"].as_str().unwrap())), "licence {l}");
    }
}

/// In a build without the `gpu` feature (the tests' build) `--gpu` is
/// refused before any work, rather than proving on the CPU.
#[cfg(not(feature = "gpu"))]
#[test]
fn a_gpu_flag_is_refused_before_any_work_rather_than_proving_on_the_cpu() {
    // no node listens on port 1: the refusal comes before any connection
    let out = Command::new(BIN).args(["prover", "--rpc", "http://127.0.0.1:1", "--key", "dev:2", "--gpu"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built without the `gpu` feature"), "{err}");
    // and proving alone (`lineage attribute --gpu`, the node's GPU baseline) likewise
    let out = Command::new(BIN).args(["attribute", "--examples", "64", "--gpu"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built without the `gpu` feature"), "{err}");
}
