//! `lineage audit --rpc URL` — what an auditor runs against a chain.
//!
//! It replays every paid claim from the chain's events and checks each one
//! with nothing but the chain's data and verifier parameters the auditor
//! pins: the claim's own transaction input (proof, payouts), the request
//! and model records, and the verifying key's bytes read from the
//! attribution precompile's storage (checked against the key hash the
//! model names). A window claim's proof is verified and its payouts must
//! sum to the contributors' share; a whole-datanet claim's proof is
//! verified and its payout root recomputed; every paid claim's fee split
//! must match the split its request fixed. Every slash is listed with its
//! evidence. Any finding makes the exit status non-zero.

use crate::rpc_chain::RpcChain;
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use clap::Args;
use eyre::{bail, eyre, WrapErr};
use lineage_chain::precompile::{
    attribution::{slots, IAttribution, ADDRESS},
    staking::{IStaking, ADDRESS as STAKING},
};
use lineage_core::{field::fr_from_be_bytes, payout::{Payout, PayoutTree}};
use lineage_verifier::{table_keys::MAX_TABLE_VK_FILE_BYTES, Claim, TableKeyFile, Verifier, WholeClaim, MAX_VK_FILE_BYTES, PARAMS_BYTES};
use serde::Serialize;
use std::path::PathBuf;

/// The verifier parameters an audit (or a report) pins.
#[derive(Debug, Args, Clone)]
pub struct PinnedParams {
    /// Verifier parameters (`LNVPARAM` file) the chain's genesis pins.
    #[arg(long, required_unless_present = "dev_params")]
    pub params: Option<PathBuf>,
    /// A development chain's parameters instead (`lineage node --dev`:
    /// the insecure dev SRS at k = 17, made and cached under
    /// $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long, conflicts_with = "params")]
    pub dev_params: bool,
    /// keccak256 of the verifier parameters you trust; any other file is refused.
    #[arg(long)]
    pub params_hash: Option<B256>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long)]
    pub rpc: String,
    #[command(flatten)]
    pub pinned: PinnedParams,
    /// First block to audit.
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// Print one JSON object as the last line of output.
    #[arg(long)]
    pub json: bool,
}

/// One paid claim, as audited.
#[derive(Debug, Serialize)]
pub struct AuditedClaim {
    pub request_id: String,
    pub kind: &'static str,
    pub block: u64,
    pub tx: B256,
    pub prover: Address,
    pub proof_valid: bool,
    pub contributors_wei: String,
    pub payouts: usize,
    /// The request: its model (owner, commitment), query commitment and fee.
    pub model_owner: Address,
    pub model_commitment: B256,
    pub query_commitment: B256,
    pub fee_wei: String,
    /// The class the claim proved.
    pub predicted_class: u64,
    /// What the proof pays each contributor (empty when it did not verify).
    pub payout_list: Vec<AuditedPayout>,
}

/// One contributor's payout, as the proof fixes it.
#[derive(Debug, Serialize, Clone)]
pub struct AuditedPayout {
    pub contributor: Address,
    pub amount_wei: String,
}

/// One slash, with its evidence.
#[derive(Debug, Serialize)]
pub struct AuditedSlash {
    pub slash_id: String,
    pub agent: Address,
    pub request_id: String,
    pub fault: &'static str,
    pub amount_wei: String,
    pub reporter: Address,
    pub block: u64,
    pub tx: B256,
}

/// What the audit found.
#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub params_hash: B256,
    pub from_block: u64,
    pub to_block: u64,
    pub claims: Vec<AuditedClaim>,
    pub slashes: Vec<AuditedSlash>,
    /// Payouts not backed by a valid proof, underpaid contributors, split
    /// mismatches, claims that could not be checked.
    pub findings: Vec<String>,
}

/// Most blocks one `eth_getLogs` asks for (the node's default limit).
const LOG_CHUNK: u64 = 10_000;

/// The logs of `address` with first topic `topic` in blocks `from..=head`,
/// read in spans the node accepts.
pub fn logs_between(chain: &RpcChain, address: Address, topic: B256, from: u64, head: u64) -> eyre::Result<Vec<(alloy_primitives::Log, B256, u64)>> {
    let mut out = Vec::new();
    let mut from = from;
    while from <= head {
        let to = from.saturating_add(LOG_CHUNK - 1).min(head);
        out.extend(chain.logs(address, topic, from, to)?);
        let Some(next) = to.checked_add(1) else { break };
        from = next;
    }
    Ok(out)
}

pub fn run(args: AuditArgs) -> eyre::Result<()> {
    let report = audit(&args)?;
    for c in &report.claims {
        println!(
            "claim    request {} ({}) block {}: proof {}, {} payouts, {} wei to contributors",
            c.request_id,
            c.kind,
            c.block,
            if c.proof_valid { "valid" } else { "INVALID" },
            c.payouts,
            c.contributors_wei
        );
    }
    for s in &report.slashes {
        println!("slash    #{} agent {} request {}: {} — {} wei, reported by {} (block {}, tx {})", s.slash_id, s.agent, s.request_id, s.fault, s.amount_wei, s.reporter, s.block, s.tx);
    }
    for f in &report.findings {
        println!("FINDING  {f}");
    }
    println!(
        "audited blocks {}..={}: {} paid claims, {} slashes, {} findings",
        report.from_block,
        report.to_block,
        report.claims.len(),
        report.slashes.len(),
        report.findings.len()
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if !report.findings.is_empty() {
        bail!("{} findings", report.findings.len());
    }
    Ok(())
}

/// Keys read and parsed so far, by hash: each is read from the chain and
/// parsed once per audit (a parse costs tens of milliseconds).
#[derive(Default)]
struct KeyFiles {
    window: std::cell::RefCell<std::collections::HashMap<B256, std::rc::Rc<lineage_verifier::VerifyingKeyFile>>>,
    whole: std::cell::RefCell<std::collections::HashMap<B256, std::rc::Rc<TableKeyFile>>>,
}

/// A stored key file's bytes (length word, then 32-byte words), at most
/// `max`, checked against its hash.
fn stored_key(chain: &RpcChain, hash: &B256, max: usize) -> eyre::Result<Vec<u8>> {
    let len: usize = chain.storage(ADDRESS, slots::key_len(hash))?.saturating_to();
    if len == 0 || len > max {
        bail!("key {hash} is not stored (or longer than {max} bytes)");
    }
    let first = slots::key_data(hash);
    let mut out = Vec::with_capacity(len.div_ceil(32) * 32);
    for i in 0..len.div_ceil(32) {
        out.extend_from_slice(&chain.storage(ADDRESS, first + U256::from(i))?.to_be_bytes::<32>());
    }
    out.truncate(len);
    if keccak256(&out) != *hash {
        bail!("stored key {hash} does not hash to its name");
    }
    Ok(out)
}


pub fn audit(args: &AuditArgs) -> eyre::Result<AuditReport> {
    let bytes = match &args.pinned.params {
        Some(p) => crate::verify::read_bounded(p, PARAMS_BYTES, "verifier parameters")?,
        None => {
            let srs = lineage_prover::srs::cached_dev_srs(&lineage_prover::srs::default_cache_dir(), crate::node::DEV_NODE_K)?;
            lineage_verifier::VerifierParams::from_srs(&srs).to_bytes()
        }
    };
    let found = keccak256(&bytes);
    if let Some(h) = args.pinned.params_hash {
        if h != found {
            bail!("the verifier parameters hash to {found}, not the pinned {h}; refusing them");
        }
    }
    let verifier = Verifier::from_pinned_bytes(&bytes, &found).wrap_err("verifier parameters")?;
    let chain = RpcChain::connect(&args.rpc)?;
    let (head, _) = chain.head()?;
    let mut report = AuditReport { params_hash: found, from_block: args.from_block, to_block: head, claims: vec![], slashes: vec![], findings: vec![] };
    let logs = |address: Address, topic: B256| logs_between(&chain, address, topic, args.from_block, head);
    let window = logs(ADDRESS, IAttribution::ClaimPaid::SIGNATURE_HASH)?;
    let whole = logs(ADDRESS, IAttribution::WholeClaimPaid::SIGNATURE_HASH)?;
    let splits = logs(ADDRESS, IAttribution::FeeSplit::SIGNATURE_HASH)?;
    let slashed = logs(STAKING, IStaking::Slashed::SIGNATURE_HASH)?;

    let keys = KeyFiles::default();
    for (log, tx, block) in window.iter().chain(&whole) {
        let is_window = log.topics()[0] == IAttribution::ClaimPaid::SIGNATURE_HASH;
        let (id, prover) = if is_window {
            let e = IAttribution::ClaimPaid::decode_log_data(&log.data)?;
            (e.requestId, e.prover)
        } else {
            let e = IAttribution::WholeClaimPaid::decode_log_data(&log.data)?;
            (e.requestId, e.prover)
        };
        let outcome = audit_claim(&chain, &keys, &verifier, id, *tx, is_window, log);
        let (valid, contributors, paid_list, class) = match outcome {
            Ok(x) => x,
            Err(e) => {
                report.findings.push(format!("request {id} (tx {tx}): payout not backed by a checked proof: {e:#}"));
                (false, U256::ZERO, vec![], 0)
            }
        };
        let payouts = paid_list.iter().filter(|p| p.amount_wei > 0).count();
        // the fee split the claim paid must be the one its request fixed
        let req = chain.view(ADDRESS, IAttribution::requestOfCall { requestId: id })?;
        let fixed = chain.view(ADDRESS, IAttribution::splitOfCall { requestId: id })?;
        match splits.iter().find(|(l, t, _)| t == tx && IAttribution::FeeSplit::decode_log_data(&l.data).map(|e| e.requestId == id).unwrap_or(false)) {
            Some((l, _, _)) => {
                let e = IAttribution::FeeSplit::decode_log_data(&l.data)?;
                let paid = (e.contributors, e.owner, e.prover, e.protocol);
                if paid != (fixed.contributors, fixed.owner, fixed.prover, fixed.protocol) || e.contributors + e.owner + e.prover + e.protocol != req.fee {
                    report.findings.push(format!("request {id}: split paid {paid:?}, but the request fixed {:?} of fee {}", (fixed.contributors, fixed.owner, fixed.prover, fixed.protocol), req.fee));
                }
            }
            None => report.findings.push(format!("request {id} (tx {tx}): a paid claim without its FeeSplit event")),
        }
        if valid && contributors != fixed.contributors {
            report.findings.push(format!("request {id}: the proof pays contributors {contributors} wei, the request's share is {}", fixed.contributors));
        }
        report.claims.push(AuditedClaim {
            request_id: id.to_string(),
            kind: if is_window { "window" } else { "whole-datanet" },
            block: *block,
            tx: *tx,
            prover,
            proof_valid: valid,
            contributors_wei: contributors.to_string(),
            payouts,
            model_owner: req.modelOwner,
            model_commitment: req.modelCommitment,
            query_commitment: req.queryCommitment,
            fee_wei: req.fee.to_string(),
            predicted_class: class,
            payout_list: paid_list
                .iter()
                .filter(|p| p.amount_wei > 0)
                .map(|p| AuditedPayout { contributor: p.contributor, amount_wei: p.amount_wei.to_string() })
                .collect(),
        });
    }
    for (log, tx, block) in &slashed {
        let e = IStaking::Slashed::decode_log_data(&log.data)?;
        let fault = match e.fault {
            1 => "false claim (signed attribution differs from the proven one)",
            2 => "contradicted answer (signed class differs from the proven forward pass)",
            3 => "unanswered (accepted, deadline passed)",
            _ => "unknown fault",
        };
        report.slashes.push(AuditedSlash {
            slash_id: e.slashId.to_string(),
            agent: e.agent,
            request_id: e.requestId.to_string(),
            fault,
            amount_wei: e.amount.to_string(),
            reporter: e.reporter,
            block: *block,
            tx: *tx,
        });
    }
    Ok(report)
}

/// Re-verify one paid claim from its transaction: (proof valid, wei the
/// proof pays contributors, the payouts, the proven class).
fn audit_claim(chain: &RpcChain, keys: &KeyFiles, verifier: &Verifier, id: U256, tx: B256, is_window: bool, log: &alloy_primitives::Log) -> eyre::Result<(bool, U256, Vec<Payout>, u64)> {
    let (to, input) = chain.transaction_input(tx)?;
    if to != Some(ADDRESS) {
        bail!("the claim was submitted through a contract; its calldata is not the transaction's input");
    }
    let req = chain.view(ADDRESS, IAttribution::requestOfCall { requestId: id })?;
    let pool: u128 = chain.view(ADDRESS, IAttribution::splitOfCall { requestId: id })?.contributors.try_into().map_err(|_| eyre!("pool above 2^128"))?;
    let query = fr_from_be_bytes(&req.queryCommitment.0).map_err(|e| eyre!("query commitment: {e}"))?;
    if is_window {
        let c = IAttribution::submitClaimCall::abi_decode(&input).wrap_err("decoding the claim transaction")?;
        if c.requestId != id {
            bail!("the transaction claims request {}, its event names {id}", c.requestId);
        }
        let model = chain.view(ADDRESS, IAttribution::modelOfCall { owner: req.modelOwner, modelCommitment: req.modelCommitment })?;
        let cached = keys.window.borrow().get(&model.vkHash).cloned();
        let vk = match cached {
            Some(vk) => vk,
            None => {
                let vk = std::rc::Rc::new(verifier.parse_pinned_key(&stored_key(chain, &model.vkHash, MAX_VK_FILE_BYTES)?, &model.vkHash)?);
                keys.window.borrow_mut().insert(model.vkHash, vk.clone());
                vk
            }
        };
        let payouts: Vec<Payout> = c
            .contributors
            .iter()
            .zip(&c.amounts)
            .map(|(a, v)| Ok(Payout { contributor: *a, amount_wei: (*v).try_into().map_err(|_| eyre!("payout above 2^128"))? }))
            .collect::<eyre::Result<_>>()?;
        let claim = Claim {
            vk_hash: model.vkHash,
            datanet_root: fr_from_be_bytes(&model.datanetRoot.0).map_err(|e| eyre!("datanet root: {e}"))?,
            model_commitment: fr_from_be_bytes(&req.modelCommitment.0).map_err(|e| eyre!("model commitment: {e}"))?,
            query_commitment: query,
            predicted_class: c.predictedClass,
            window_index: c.windowIndex,
            pool_wei: pool,
            payouts: payouts.clone(),
            proof: c.proof.to_vec(),
        };
        verifier.verify(&claim, &vk).wrap_err("the proof does not verify")?;
        let paid: u128 = payouts.iter().map(|p| p.amount_wei).sum();
        Ok((true, U256::from(paid), payouts, c.predictedClass))
    } else {
        let c = IAttribution::submitWholeClaimCall::abi_decode(&input).wrap_err("decoding the claim transaction")?;
        if c.requestId != id {
            bail!("the transaction claims request {}, its event names {id}", c.requestId);
        }
        let key_hash = chain.view(ADDRESS, IAttribution::wholeKeyOfCall { owner: req.modelOwner, modelCommitment: req.modelCommitment })?.keyHash;
        let k: u32 = chain.storage(ADDRESS, lineage_chain::precompile::whole::whole_slots::whole_k(&req.modelOwner, &req.modelCommitment))?.saturating_to();
        let at_k = verifier.with_k(k)?;
        let cached = keys.whole.borrow().get(&key_hash).cloned();
        let key = match cached {
            Some(key) => key,
            None => {
                let bytes = stored_key(chain, &key_hash, MAX_TABLE_VK_FILE_BYTES)?;
                let key = std::rc::Rc::new(TableKeyFile::from_pinned_bytes(&bytes, &key_hash, k, &at_k.params_hash())?);
                keys.whole.borrow_mut().insert(key_hash, key.clone());
                key
            }
        };
        if c.totals.len() != c.contributors.len() || c.endRows.len() != c.contributors.len() {
            bail!("the claim's contributor, total and end-row lists differ in length");
        }
        let segments = (0..c.contributors.len()).map(|i| (c.contributors[i], c.totals[i], c.endRows[i])).collect();
        let claim = WholeClaim { request_id: id, pool_wei: pool, query_commitment: query, predicted_class: c.predictedClass, segments, proof: c.proof.to_vec() };
        let payouts = verifier.verify_whole_claim(&key, &claim).wrap_err("the proof does not verify")?;
        let root = PayoutTree::new(&payouts)?.root();
        let event = IAttribution::WholeClaimPaid::decode_log_data(&log.data)?;
        if event.payoutRoot != root {
            bail!("the recorded payout root {} is not the proof's {root}", event.payoutRoot);
        }
        let paid: u128 = payouts.iter().map(|p| p.amount_wei).sum();
        Ok((true, U256::from(paid), payouts, c.predictedClass))
    }
}
