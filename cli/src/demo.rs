//! `lineage demo`: the whole path, real at every step, in a fresh temporary
//! directory, talking to the chain over Ethereum JSON-RPC: an embedded node
//! by default, or a running one with `--rpc URL`.

use crate::progress::Steps;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use clap::Args;
use eyre::{bail, WrapErr};
use crate::{register::{b32, describe}, rpc_chain::{RpcChain, TxReceipt}};
use alloy_sol_types::SolEvent;
use lineage_chain::{
    dev_signers,
    genesis::OPEN,
    precompile::{
        attribution::{IAttribution, ADDRESS},
        governance::{IGovernance, Params, Split, ADDRESS as GOVERNANCE},
        staking::{IStaking, ADDRESS as STAKING},
    },
    Chain, Genesis,
};
use lineage_core::field::fr_to_hex;
use lineage_prover::{pipeline, srs, ProverClient};
use lineage_verifier::{Claim, ClaimBundle, ProvenanceReport, Verifier};
use serde::Serialize;
use std::{path::PathBuf, time::Instant};

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Print one JSON object as the last line of output.
    #[arg(long)]
    pub json: bool,
    /// Training examples covered by the proof (a power of two ≥ 64 for the
    /// full demo; smaller values are for quick checks; at most 2048).
    #[arg(long, default_value_t = 64, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=lineage_circuits::MAX_BATCH as u64))]
    pub batch: usize,
    /// Payout slots of the circuit (most distinct contributors per proof, 1 to 256).
    #[arg(long, default_value_t = 32, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::MAX_SLOTS as u64))]
    pub slots: usize,
    /// Inference fee escrowed for the query, in OPEN (1 to 1,000,000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub fee_open: u64,
    /// The query: a held-out digits image, by its index in scikit-learn's
    /// order (any index that is 4 mod 5; never training data).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_QUERY_INDEX)]
    pub query_index: u32,
    /// Training epochs (1 to 100,000).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_EPOCHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub epochs: usize,
    /// Keep the run's files (chain, keys, bundle) here instead of a temporary directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Prove on a CUDA GPU instead of the CPU (needs a binary built with the `gpu` feature).
    #[arg(long)]
    pub gpu: bool,
    /// Where the development SRS is cached (default: $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Examples of the whole-datanet claim: the datanet's first N (default:
    /// all 1,438). Its one-time feature proof takes about 10 minutes on two
    /// cores for all of them, and is cached for later runs.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::query::MAX_CAPACITY as u64))]
    pub whole_examples: Option<usize>,
    /// Use the running node at this JSON-RPC URL (e.g. `lineage node --dev`:
    /// its dev account 0 must govern the key allowlist) instead of an
    /// embedded one.
    #[arg(long)]
    pub rpc: Option<String>,
}

/// The machine-readable result of a demo run.
#[derive(Debug, Serialize, Clone)]
pub struct DemoReport {
    pub verified: bool,
    pub tampered_rejected: bool,
    pub double_pay_rejected: bool,
    pub payouts: usize,
    /// The escrowed fee, and its split: the contributors' share (the pool
    /// the proofs cover), the model owner's, the prover's, the protocol's.
    pub fee_wei: String,
    pub pool_wei: String,
    pub owner_wei: String,
    pub prover_wei: String,
    pub protocol_wei: String,
    /// The prover staked and accepted the window request as its agent.
    pub agent_accepted: bool,
    pub paid_wei: String,
    pub proof_bytes: usize,
    pub prove_ms: u128,
    pub verify_ms: u128,
    pub keygen_ms: u128,
    pub gas_used: u64,
    pub vk_hash: String,
    pub params_hash: String,
    pub genesis_hash: String,
    pub batch: usize,
    pub k: u32,
    pub datanet_root: String,
    pub model_commitment: String,
    pub query_commitment: String,
    pub predicted_class: u64,
    /// The query's index in scikit-learn's digits order (a held-out image).
    pub query_index: u32,
    pub query_label: u8,
    pub window: [usize; 2],
    pub max_logit_error: f64,
    /// Training-set accuracy of the fixed-point model.
    pub fixed_accuracy: f64,
    /// Accuracy on the held-out query set (never training data).
    pub heldout_accuracy: f64,
    pub float_fixed_agreement: f64,
    pub out_dir: String,
    /// The whole-datanet claim: examples its proof covers (the datanet
    /// version's count), contributors paid by the release that follows it,
    /// the claim's gas, the release's gas, what was paid.
    pub examples_covered: usize,
    pub contributors_paid: usize,
    pub whole_gas_used: u64,
    pub whole_release_gas: u64,
    pub whole_paid_wei: String,
    pub whole_prove_ms: u128,
    pub whole_register_gas: u64,
    pub feature_proof_ms: u128,
    pub feature_proof_cached: bool,
}

fn open(wei: U256) -> String {
    let w: u128 = wei.to();
    format!("{}.{:06}", w / OPEN, (w % OPEN) / 1_000_000_000_000)
}

pub fn run(args: DemoArgs) -> eyre::Result<()> {
    let report = execute(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if !(report.verified
        && report.tampered_rejected
        && report.double_pay_rejected
        && report.paid_wei == report.pool_wei
        && report.whole_paid_wei == report.pool_wei)
    {
        bail!("the demo's checks did not all pass");
    }
    Ok(())
}

/// Run the demo and return its report (human-readable output on stdout).
pub fn execute(args: &DemoArgs) -> eyre::Result<DemoReport> {
    // validate everything cheap first: bad arguments fail before any work
    lineage_circuits::CircuitShape::new(args.batch, args.slots, lineage_circuits::MAX_DEPTH)?;
    // choose the prover backend first: a GPU request that cannot be met fails before any work
    let builder = ProverClient::builder();
    let client = if args.gpu { builder.gpu() } else { builder.cpu() }.build()?;
    let tmp;
    let dir = match &args.out {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new().prefix("lineage-demo-").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let cache = args.cache_dir.clone().unwrap_or_else(srs::default_cache_dir);
    let mut steps = Steps::new(11, false);
    println!("Lineage demo — working in {}", dir.display());

    // 1. datanet
    let datanet = steps.run("commit the digits datanet (Poseidon Merkle tree)", || Ok(lineage_inference::digits_datanet()?))?;
    println!(
        "datanet  {} — {} contributions from {} contributors, root {}",
        datanet.name,
        datanet.contributions.len(),
        datanet.contributors().len(),
        fr_to_hex(&datanet.root())
    );

    // 2. model
    let cfg = lineage_inference::TrainConfig { epochs: args.epochs, ..Default::default() };
    let heldout = lineage_inference::digits_heldout()?;
    let (model, qreport, heldout_accuracy) = steps.run("train the 64-16-10 MLP and quantise it", || {
        let float = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu)?;
        let q = float.quantize()?;
        let r = lineage_inference::quantization_report(&float, &q, &datanet);
        let held = lineage_inference::heldout_accuracy(&q, &heldout);
        Ok((q, r, held))
    })?;
    println!(
        "model    commitment {} — held-out accuracy {:.1}% ({} queries), training accuracy {:.1}%, max |logit − float| {:.4}, float/fixed agreement {:.2}%",
        fr_to_hex(&model.commitment()),
        heldout_accuracy * 100.0,
        heldout.queries.len(),
        qreport.fixed_accuracy * 100.0,
        qreport.max_logit_error,
        qreport.agreement * 100.0
    );

    // 3. attribution
    let Some(query_ex) = heldout.get(args.query_index) else {
        bail!("image #{} is not a held-out query (held-out images are those whose index is 4 mod 5)", args.query_index);
    };
    let query = query_ex.pixels.clone();
    // the fee is split by the chain's governed parameters; the proofs cover the contributors' share
    let fee_wei = args.fee_open as u128 * OPEN;
    let split: Split = match &args.rpc {
        None => Params::dev(Address::ZERO).split,
        Some(url) => {
            let p = RpcChain::connect(url)?.view(GOVERNANCE, IGovernance::paramsCall {})?;
            Split { contributors_bps: p.contributorsBps, owner_bps: p.ownerBps, prover_bps: p.proverBps, protocol_bps: p.protocolBps }
        }
    };
    let shares = split.shares(U256::from(fee_wei));
    let pool_wei: u128 = shares.contributors.to();
    let prepared = steps.run("attribute the query (TracIn, last layer, fixed point)", || {
        Ok(pipeline::prepare_best_window(&datanet, &model, &query, args.batch, args.slots, pool_wei)?)
    })?;
    let att = &prepared.attribution;
    println!(
        "query    held-out image #{} (label {}) → predicted class {}; window [{}, {}) of the datanet",
        args.query_index,
        query_ex.label,
        att.predicted,
        att.start,
        att.start + att.size
    );
    let mut top: Vec<_> = prepared.input.payouts.iter().filter(|p| p.amount_wei > 0).collect();
    top.sort_by_key(|p| std::cmp::Reverse(p.amount_wei));
    println!(
        "top contributors of their {} OPEN share of the {} OPEN fee ({} % to contributors, {} % to the model owner, {} % to the prover, {} % to the protocol):",
        open(shares.contributors),
        args.fee_open,
        split.contributors_bps as f64 / 100.0,
        split.owner_bps as f64 / 100.0,
        split.prover_bps as f64 / 100.0,
        split.protocol_bps as f64 / 100.0
    );
    for p in top.iter().take(5) {
        println!("    {}  {:>12} OPEN", p.contributor, open(U256::from(p.amount_wei)));
    }

    // 4. keys and proof
    let shape = prepared.shape;
    let keys = steps.run(&format!("generate keys (k = {}, dev SRS)", shape.k), || {
        let params = srs::cached_dev_srs(&cache, shape.k)?;
        Ok(client.keygen(&shape, params)?)
    })?;
    let proof = steps.run(&format!("prove the attribution of {} examples (halo2, SHPLONK)", shape.batch), || {
        Ok(client.prove(&keys, &prepared.input)?)
    })?;
    let public = &proof.public;
    let claim = proof.claim(&keys, &prepared.input);
    // files an auditor gets
    let vk_bytes = keys.vk_file.to_bytes();
    let vp_bytes = keys.verifier_params.to_bytes();
    std::fs::write(dir.join("vk.json"), &vk_bytes)?;
    std::fs::write(dir.join("verifier-params.bin"), &vp_bytes)?;
    std::fs::write(dir.join("bundle.json"), ClaimBundle::from_claim(&claim).to_json())?;
    // independent verification from those files
    let t = Instant::now();
    let verifier = Verifier::from_pinned_bytes(&vp_bytes, &keys.verifier_params.hash())?;
    let vk = verifier.parse_pinned_key(&vk_bytes, &keys.vk_file.hash)?;
    let verified = verifier.verify(&claim, &vk).wrap_err("the fresh proof did not verify")?;
    let verify_ms = t.elapsed().as_millis();
    println!(
        "proof    {} bytes; keygen {} ms, prove {} ms, verify {} ms",
        proof.bytes.len(),
        keys.keygen_time.as_millis(),
        proof.prove_time.as_millis(),
        verify_ms
    );

    // 5. the whole datanet: feature chunks proven once (cached), per-query keys
    let n_whole = args.whole_examples.unwrap_or(datanet.contributions.len()).min(datanet.contributions.len());
    let whole_datanet = lineage_core::datanet::Datanet::new(datanet.name.clone(), datanet.contributions[..n_whole].to_vec())?;
    let whole_shape = lineage_circuits::query::QueryShape::new(n_whole)?;
    let whole_params = srs::cached_dev_srs(&cache, whole_shape.k)?;
    let whole = steps.run(&format!("prove the feature table of {n_whole} examples once (k = {}; cached)", whole_shape.k), || {
        crate::whole::prepare(&client, &whole_params, &whole_datanet, &model, None, &cache)
    })?;
    println!(
        "features {} chunks of {} examples{}; per-query key {}",
        whole.features.chunks.len(),
        whole.size,
        if whole.cached { " (from the cache)" } else { "" },
        whole.query_file.hash
    );

    // 6. chain
    let signers = dev_signers(4)?;
    let (operator, user, prover, griefer) = (&signers[0], &signers[1], &signers[2], &signers[3]);
    let model_c = b32(&public.model_commitment);
    let query_c = b32(&public.query_commitment);
    let step = match &args.rpc {
        None => "start the embedded node (revm + RocksDB, JSON-RPC on loopback) and register".to_string(),
        Some(url) => format!("connect to the node at {url} and register"),
    };
    let (chain, request_id) = steps.run(&step, || {
        // genesis pins the verifier parameters and allowlists this circuit's
        // key and the whole-datanet circuits' templates
        let mut allowed = vec![keys.vk_file.hash, whole.query_file.template_hash()];
        allowed.extend(whole.features.chunks.iter().map(|c| c.0.template_hash()));
        let chain = match &args.rpc {
            None => RpcChain::embedded(Chain::init(&dir.join("chain"), Genesis::dev(&vp_bytes, allowed.clone())?)?, 100)?,
            Some(url) => RpcChain::connect(url)?,
        };
        // a running node allowlists through its governor (dev account 0)
        crate::register::allowlist(&chain, operator, &allowed)?;
        // what a node used before already holds is not registered again
        let datanet_known = chain.view(ADDRESS, IAttribution::isDatanetRegisteredCall { owner: operator.address(), root: b32(&public.datanet_root) })?;
        let key_known = chain.view(ADDRESS, IAttribution::modelOfCall { owner: operator.address(), modelCommitment: model_c })?.vkHash != B256::ZERO;
        let mut calls = vec![];
        if !key_known {
            calls.push((IAttribution::registerVerifyingKeyCall { vkFile: Bytes::from(vk_bytes.clone()) }.abi_encode(), 20_000_000));
        }
        if !datanet_known {
            calls.push((IAttribution::registerDatanetCall { root: b32(&public.datanet_root) }.abi_encode(), 200_000));
        }
        if !key_known {
            let model = IAttribution::registerModelCall {
                modelCommitment: model_c,
                datanetOwner: operator.address(),
                datanetRoot: b32(&public.datanet_root),
                vkHash: keys.vk_file.hash,
            };
            calls.push((model.abi_encode(), 200_000));
        }
        for (input, gas) in calls {
            let r = chain.transact(operator, ADDRESS, input, U256::ZERO, gas)?;
            // a key registered by an earlier run on this node is fine
            if !r.status && !describe(&r).contains("already registered") {
                bail!("registration failed: {}", describe(&r));
            }
        }
        let deadline = chain.head()?.1 + 3600;
        let escrow = IAttribution::escrowFeeCall { modelOwner: operator.address(), modelCommitment: model_c, queryCommitment: query_c, deadline }
            .abi_encode();
        let mine = chain.transact(user, ADDRESS, escrow.clone(), U256::from(fee_wei), 300_000)?;
        // a griefer's 1-wei request for the same query opens a request of its own; the user's fee is untouched
        let grief = chain.transact(griefer, ADDRESS, escrow, U256::from(1), 300_000)?;
        if let Some(bad) = [&mine, &grief].into_iter().find(|r| !r.status) {
            bail!("escrow failed: {}", describe(bad));
        }
        Ok((chain, request_opened(&mine)?))
    })?;
    // the whole datanet: its example count, the per-query key with every chunk, a request
    let (whole_register_gas, whole_request) = steps.run("register the whole datanet's per-query key (every chunk checked) and open a request", || {
        let register_gas = crate::register::register_whole_key(&chain, operator, &model, &whole_datanet, &whole)?;
        let deadline = chain.head()?.1 + 3600;
        let escrow = IAttribution::escrowFeeCall { modelOwner: operator.address(), modelCommitment: model_c, queryCommitment: query_c, deadline };
        let e = chain.transact(user, ADDRESS, escrow.abi_encode(), U256::from(fee_wei), 300_000)?;
        if !e.status {
            bail!("escrow failed: {}", describe(&e));
        }
        Ok((register_gas, request_opened(&e)?))
    })?;
    // both requests fixed the split the proofs were made for
    for id in [request_id, whole_request] {
        let s = chain.view(ADDRESS, IAttribution::splitOfCall { requestId: id })?;
        if s.contributors != shares.contributors {
            bail!("request {id} fixed a contributors' share of {} wei, not {}: the node's split changed during the demo", s.contributors, shares.contributors);
        }
    }
    // the prover acts as the window request's agent: it stakes (once) and accepts it
    let agent_accepted = steps.run("the prover stakes OPEN and accepts the request as its agent", || {
        let need = chain.view(GOVERNANCE, IGovernance::paramsCall {})?.acceptStake;
        let st = chain.view(STAKING, IStaking::stakeOfCall { agent: prover.address() })?;
        if st.free < need {
            let r = chain.transact(prover, STAKING, IStaking::stakeCall {}.abi_encode(), need - st.free, 200_000)?;
            if !r.status {
                bail!("staking failed: {}", describe(&r));
            }
        }
        let r = chain.transact(prover, ADDRESS, IAttribution::acceptRequestCall { requestId: request_id }.abi_encode(), U256::ZERO, 400_000)?;
        if !r.status {
            bail!("accepting request {request_id} failed: {}", describe(&r));
        }
        println!("agent    {} locked {} OPEN on request {request_id}", prover.address(), open(need));
        Ok(true)
    })?;

    let contributors: Vec<Address> = claim.payouts.iter().map(|p| p.contributor).collect();
    let balances = |chain: &RpcChain| -> eyre::Result<Vec<U256>> { contributors.iter().map(|a| chain.balance(*a)).collect() };
    let before = balances(&chain)?;

    let (tampered, honest, replay) = steps.run("submit a tampered claim, the honest claim, and a replay", || {
        // tampered: the prover redirects the top share to itself
        let mut bad = claim.clone();
        let top_i = (0..bad.payouts.len()).max_by_key(|i| bad.payouts[*i].amount_wei).unwrap_or(0);
        bad.payouts[top_i].contributor = prover.address();
        bad.payouts.sort_by_key(|p| p.contributor);
        let tampered = submit_claim(&chain, prover, request_id, &bad)?;
        let honest = submit_claim(&chain, prover, request_id, &claim)?;
        let replay = submit_claim(&chain, prover, request_id, &claim)?;
        Ok((tampered, honest, replay))
    })?;
    let after = balances(&chain)?;
    let paid: U256 = after.iter().zip(&before).map(|(a, b)| *a - *b).sum();
    // the split of the honest claim, from its FeeSplit event
    let fee_split = honest
        .logs
        .iter()
        .filter(|l| l.address == ADDRESS)
        .find_map(|l| IAttribution::FeeSplit::decode_log_data(&l.data).ok())
        .ok_or_else(|| eyre::eyre!("the honest claim emitted no FeeSplit"))?;


    // the whole-datanet claim: one proof over every example (influence-kfac,
    // the best-measured method a circuit checks per query), paid by the chain's split
    let whole_input = lineage_circuits::query::QueryInput::new(&model, &whole.table, &query, pool_wei, whole_request)?;
    let whole_proof = steps.run(&format!("prove the query's influence-kfac attribution over all {n_whole} examples and settle it on chain"), || {
        Ok(client.prove_query(&whole.query_keys, &whole.table, &whole_input)?)
    })?;
    let segments = lineage_core::features::claim_segments(&whole_input.attribution);
    let whole_payouts = whole_input.attribution.payouts(pool_wei)?;
    let whole_before: Vec<U256> = segments.iter().map(|x| chain.balance(x.0)).collect::<eyre::Result<_>>()?;
    let call = IAttribution::submitWholeClaimCall::new(whole_request, whole_input.predicted as u64, &segments, &whole_proof.bytes);
    let whole_receipt = chain.transact(prover, ADDRESS, call.abi_encode(), U256::ZERO, 3_000_000)?;
    // the claim recorded its payout root; anyone releases the payouts (here the prover, in one list)
    let release = IAttribution::releasePayoutsCall {
        requestId: whole_request,
        contributors: whole_payouts.iter().map(|p| p.contributor).collect(),
        amounts: whole_payouts.iter().map(|p| p.amount_wei).collect(),
    };
    let release_receipt = chain.transact(prover, ADDRESS, release.abi_encode(), U256::ZERO, 30_000_000)?;
    let whole_paid: U256 =
        segments.iter().zip(&whole_before).map(|(x, b)| chain.balance(x.0).map(|a| a - *b)).sum::<eyre::Result<U256>>()?;
    let contributors_paid = whole_payouts.len();
    println!(
        "whole    every one of the {n_whole} examples scored: claim {} (register gas {whole_register_gas}); release to {} contributors, {} OPEN: {}",
        describe(&whole_receipt),
        contributors_paid,
        open(whole_paid),
        describe(&release_receipt)
    );

    println!("chain    block {} over JSON-RPC at {} — claim tx gas used {}", chain.head()?.0, chain.url(), honest.gas_used);
    println!(
        "split    contributors {} OPEN, model owner {} OPEN, prover {} OPEN, protocol {} OPEN",
        open(fee_split.contributors),
        open(fee_split.owner),
        open(fee_split.prover),
        open(fee_split.protocol)
    );
    println!("tampered claim (top share redirected to the prover): {}", describe(&tampered));
    println!("honest claim: {}", describe(&honest));
    println!("replayed claim: {}", describe(&replay));
    println!("contributor balances (OPEN):");
    let mut rows: Vec<_> = contributors.iter().zip(before.iter().zip(&after)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(*r.1 .1 - *r.1 .0));
    for (a, (b, f)) in rows.iter().take(8) {
        println!("    {a}  {:>12} → {:>12}", open(**b), open(**f));
    }
    if rows.len() > 8 {
        println!("    … and {} more", rows.len() - 8);
    }
    println!();
    print!("{}", ProvenanceReport { verified, datanet_name: Some(datanet.name.clone()), window_size: shape.batch });
    println!("auditor files: {}/{{bundle.json, vk.json, verifier-params.bin}}", dir.display());
    println!(
        "pinned:  verifier parameters {}, verifying key {} (genesis block {})",
        keys.verifier_params.hash(),
        keys.vk_file.hash,
        chain.genesis_hash()?
    );

    let genesis_hash = chain.genesis_hash()?;
    chain.stop()?;
    Ok(DemoReport {
        verified: honest.status,
        tampered_rejected: !tampered.status,
        double_pay_rejected: !replay.status,
        payouts: claim.payouts.iter().filter(|p| p.amount_wei > 0).count(),
        fee_wei: fee_wei.to_string(),
        pool_wei: pool_wei.to_string(),
        owner_wei: fee_split.owner.to_string(),
        prover_wei: fee_split.prover.to_string(),
        protocol_wei: fee_split.protocol.to_string(),
        agent_accepted,
        paid_wei: paid.to_string(),
        proof_bytes: proof.bytes.len(),
        prove_ms: proof.prove_time.as_millis(),
        verify_ms,
        keygen_ms: keys.keygen_time.as_millis(),
        gas_used: honest.gas_used,
        vk_hash: keys.vk_file.hash.to_string(),
        params_hash: keys.verifier_params.hash().to_string(),
        genesis_hash: genesis_hash.to_string(),
        batch: shape.batch,
        k: shape.k,
        datanet_root: fr_to_hex(&public.datanet_root),
        model_commitment: fr_to_hex(&public.model_commitment),
        query_commitment: fr_to_hex(&public.query_commitment),
        predicted_class: public.predicted_class,
        query_index: args.query_index,
        query_label: query_ex.label,
        window: [att.start, att.start + att.size],
        max_logit_error: qreport.max_logit_error,
        fixed_accuracy: qreport.fixed_accuracy,
        heldout_accuracy,
        float_fixed_agreement: qreport.agreement,
        out_dir: if args.out.is_some() { dir.display().to_string() } else { String::new() },
        examples_covered: if whole_receipt.status { whole_input.attribution.scores.len() } else { 0 },
        contributors_paid: if whole_receipt.status && release_receipt.status { contributors_paid } else { 0 },
        whole_gas_used: whole_receipt.gas_used,
        whole_release_gas: release_receipt.gas_used,
        whole_paid_wei: whole_paid.to_string(),
        whole_prove_ms: whole_proof.prove_time.as_millis(),
        whole_register_gas,
        feature_proof_ms: whole.feature_ms,
        feature_proof_cached: whole.cached,
    })
}

/// The request id a successful `escrowFee` opened (its `RequestOpened` event).
fn request_opened(r: &TxReceipt) -> eyre::Result<U256> {
    r.logs
        .iter()
        .filter(|l| l.address == ADDRESS)
        .find_map(|l| IAttribution::RequestOpened::decode_log_data(&l.data).ok())
        .map(|e| e.requestId)
        .ok_or_else(|| eyre::eyre!("escrow {} opened no request", r.hash))
}

fn submit_claim(chain: &RpcChain, signer: &alloy_signer_local::PrivateKeySigner, request_id: U256, c: &Claim) -> eyre::Result<TxReceipt> {
    let call = IAttribution::submitClaimCall {
        requestId: request_id,
        predictedClass: c.predicted_class,
        windowIndex: c.window_index,
        contributors: c.payouts.iter().map(|p| p.contributor).collect(),
        amounts: c.payouts.iter().map(|p| U256::from(p.amount_wei)).collect(),
        proof: Bytes::from(c.proof.clone()),
    };
    chain.transact(signer, ADDRESS, call.abi_encode(), U256::ZERO, 2_000_000)
}
