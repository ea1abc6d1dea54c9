//! `lineage report`: a regulator's provenance report for a model (or one
//! query), as one self-contained HTML page. Its numbers are the auditor's:
//! it runs the same audit (`lineage audit`: every paid claim re-verified
//! against the pinned parameters) and adds what the registry records — the
//! datanet versions behind the model, their licences and counts — and,
//! from the datanet file whose root the chain holds, each contributor's
//! licence.

use crate::{
    audit::{self, AuditArgs, AuditReport},
    report_html::{AnsweredQuery, DatanetVersion, LicenceShare, ModelInfo, PayoutRow, ReportData, SlashInfo},
    rpc_chain::RpcChain,
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use clap::Args;
use eyre::{bail, WrapErr};
use lineage_chain::precompile::{
    attribution::{IAttribution, ADDRESS},
    registry::{IRegistry, ADDRESS as REGISTRY},
};
use lineage_core::datanet::Datanet;
use std::{collections::BTreeMap, path::PathBuf};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The chain's JSON-RPC endpoint.
    #[arg(long)]
    pub rpc: String,
    #[command(flatten)]
    pub pinned: audit::PinnedParams,
    /// The model's owner (with `--model`).
    #[arg(long, requires = "model")]
    pub owner: Option<Address>,
    /// The model's commitment: report every query it answered.
    #[arg(long, requires = "owner", conflicts_with = "query")]
    pub model: Option<B256>,
    /// A query commitment: report the requests for this one query.
    #[arg(long)]
    pub query: Option<B256>,
    /// The datanet file (JSON) behind the model, for each contributor's
    /// licence; used only if its root is the one on chain (default: the
    /// built-in digits datanet, or its first N examples, when it matches).
    #[arg(long)]
    pub datanet: Option<PathBuf>,
    /// Where to write the page.
    #[arg(long, default_value = "provenance-report.html")]
    pub out: PathBuf,
    /// Print the report's data as one JSON object as the last line of output.
    #[arg(long)]
    pub json: bool,
}

/// Most registry entries (datanets, models) and versions a report reads:
/// an endpoint that claims more is refused rather than followed.
pub const MAX_REGISTRY_ENTRIES: u64 = 100_000;
pub const MAX_VERSIONS: u32 = 10_000;

fn bounded(count: U256, what: &str) -> eyre::Result<u64> {
    match u64::try_from(count) {
        Ok(n) if n <= MAX_REGISTRY_ENTRIES => Ok(n),
        _ => bail!("the registry reports {count} {what}; a report reads at most {MAX_REGISTRY_ENTRIES}"),
    }
}


pub fn run(args: ReportArgs) -> eyre::Result<()> {
    if args.model.is_none() && args.query.is_none() {
        bail!("name what to report on: --owner ADDR --model COMMITMENT, or --query COMMITMENT");
    }
    let audit = audit::audit(&AuditArgs { rpc: args.rpc.clone(), pinned: args.pinned.clone(), from_block: 0, json: false })?;
    let chain = RpcChain::connect(&args.rpc)?;
    let data = collect(&args, &chain, &audit)?;
    let html = crate::report_html::render(&data);
    std::fs::write(&args.out, &html).wrap_err_with(|| format!("writing {}", args.out.display()))?;
    let valid = data.queries.iter().filter(|q| q.proof_valid).count();
    println!(
        "report   {}: {} answered queries ({} with a valid proof), {} datanet version(s), {} slash(es), {} finding(s)",
        args.out.display(),
        data.queries.len(),
        valid,
        data.datanets.len(),
        data.slashes.len(),
        data.findings.len()
    );
    if args.json {
        println!("{}", serde_json::to_string(&data)?);
    }
    Ok(())
}

/// The model a report is about: (owner, commitment).
fn subject(args: &ReportArgs, audit: &AuditReport) -> Option<(Address, B256)> {
    match (args.owner, args.model) {
        (Some(o), Some(m)) => Some((o, m)),
        // a query's report names the model of its first paid claim
        _ => audit.claims.iter().find(|c| Some(c.query_commitment) == args.query).map(|c| (c.model_owner, c.model_commitment)),
    }
}

fn collect(args: &ReportArgs, chain: &RpcChain, audit: &AuditReport) -> eyre::Result<ReportData> {
    let (head, _) = chain.head()?;
    let subject = subject(args, audit);
    let claims: Vec<_> = audit
        .claims
        .iter()
        .filter(|c| match args.query {
            Some(q) => c.query_commitment == q,
            None => Some((c.model_owner, c.model_commitment)) == subject,
        })
        .collect();

    // the model's registration, and the datanet its whole-datanet key covers
    let mut model = ModelInfo::default();
    let mut root = None;
    let mut datanet_owner = None;
    if let Some((owner, m)) = subject {
        model.owner = owner.to_string();
        model.commitment = m.to_string();
        let key = chain.view(ADDRESS, IAttribution::wholeKeyOfCall { owner, modelCommitment: m })?;
        model.key_hash = key.keyHash.to_string();
        model.examples = key.examples;
        model.k = chain.storage(ADDRESS, lineage_chain::precompile::whole::whole_slots::whole_k(&owner, &m))?.saturating_to();
        // the registration transaction names the datanet (owner, root)
        for (log, tx, _) in audit::logs_between(chain, ADDRESS, IAttribution::WholeKeyRegistered::SIGNATURE_HASH, 0, head)? {
            let Ok(e) = IAttribution::WholeKeyRegistered::decode_log_data(&log.data) else { continue };
            if e.owner == owner && e.modelCommitment == m {
                let (_, input) = chain.transaction_input(tx)?;
                if let Ok(c) = IAttribution::registerWholeKeyCall::abi_decode(&input) {
                    model.datanet_owner = c.datanetOwner.to_string();
                    model.datanet_root = c.datanetRoot.to_string();
                    root = Some(c.datanetRoot);
                    datanet_owner = Some(c.datanetOwner);
                }
            }
        }
        if root.is_none() {
            let w = chain.view(ADDRESS, IAttribution::modelOfCall { owner, modelCommitment: m })?;
            if w.vkHash != B256::ZERO {
                model.key_hash = w.vkHash.to_string();
                model.datanet_owner = w.datanetOwner.to_string();
                model.datanet_root = w.datanetRoot.to_string();
                root = Some(w.datanetRoot);
                datanet_owner = Some(w.datanetOwner);
            }
        }
    }

    // the datanet file whose root is the chain's: each contributor's licence
    let file = match (&args.datanet, root) {
        (_, None) => None,
        (Some(path), Some(r)) => {
            let bytes = crate::verify::read_bounded(path, 64 << 20, "datanet file")?;
            let d = Datanet::from_json(std::str::from_utf8(&bytes).wrap_err("datanet file")?).wrap_err("datanet file")?;
            if crate::register::b32(&d.root()) != r {
                bail!("{} has root {}, the model's datanet is {r}", path.display(), crate::register::b32(&d.root()));
            }
            Some(d)
        }
        (None, Some(r)) => {
            let d = lineage_inference::digits_datanet()?;
            let n = (model.examples as usize).min(d.contributions.len()).max(1);
            let part = Datanet::new(d.name.clone(), d.contributions[..n].to_vec())?;
            (crate::register::b32(&part.root()) == r).then_some(part)
        }
    };
    let licence_of: BTreeMap<Address, String> = file.iter().flat_map(|d| d.contributions.iter().map(|c| (c.contributor, c.licence.clone()))).collect();

    // the registry's versions with this root, and the ones the model names there
    let mut datanets = vec![];
    let mut named: Vec<(U256, u32)> = vec![];
    if let Some((owner, m)) = subject {
        let n = bounded(chain.view(REGISTRY, IRegistry::modelCountCall {})?, "models")?;
        for i in 0..n {
            let r = chain.view(REGISTRY, IRegistry::modelOfCall { modelId: U256::from(i) })?;
            if r.owner == owner && r.commitment == m {
                named.extend(r.datanetIds.iter().copied().zip(r.versions.iter().copied()));
            }
        }
    }
    let n = bounded(chain.view(REGISTRY, IRegistry::datanetCountCall {})?, "datanets")?;
    for i in 0..n {
        let i = U256::from(i);
        let d = chain.view(REGISTRY, IRegistry::datanetOfCall { datanetId: i })?;
        if d.versions > MAX_VERSIONS {
            bail!("registry datanet #{i} reports {} versions; a report reads at most {MAX_VERSIONS}", d.versions);
        }
        for v in 0..d.versions {
            let ver = chain.view(REGISTRY, IRegistry::versionOfCall { datanetId: i, version: v })?;
            let is_named = named.contains(&(i, v));
            // anyone may register any root: a version counts as the key's datanet only
            // when the key's own datanet owner registered it
            if is_named || (Some(ver.root) == root && Some(d.owner) == datanet_owner) {
                let contributors = match &file {
                    Some(f) if Some(ver.root) == root => f.contributors().len() as u64,
                    _ => 0,
                };
                datanets.push(DatanetVersion {
                    root: ver.root.to_string(),
                    licence: d.licence.clone(),
                    contributions: ver.contributions,
                    contributors,
                    metadata_uri: d.metadataUri.clone(),
                    source: format!(
                        "registry #{i} v{v} (owner {}, block {}){}",
                        d.owner,
                        ver.blockNumber,
                        if is_named { ", named by the model" } else { ", root of the model's key" }
                    ),
                });
            }
        }
    }

    // every answered query, with its payouts as the audit re-derived them
    let mut queries = vec![];
    let mut by_licence: BTreeMap<String, u128> = BTreeMap::new();
    for c in &claims {
        let total: u128 = c.contributors_wei.parse().unwrap_or(0);
        let mut payouts: Vec<PayoutRow> = c
            .payout_list
            .iter()
            .map(|p| {
                let w: u128 = p.amount_wei.parse().unwrap_or(0);
                let e = by_licence.entry(licence_of.get(&p.contributor).cloned().unwrap_or_else(|| "unknown (no datanet file)".into())).or_default();
                *e = e.saturating_add(w);
                PayoutRow { contributor: p.contributor.to_string(), amount_wei: p.amount_wei.clone(), share: if total == 0 { 0.0 } else { w as f64 / total as f64 } }
            })
            .collect();
        payouts.sort_by(|a, b| b.amount_wei.parse::<u128>().unwrap_or(0).cmp(&a.amount_wei.parse::<u128>().unwrap_or(0)));
        let id: U256 = c.request_id.parse()?;
        let released = c.kind == "window" || chain.view(ADDRESS, IAttribution::payoutsOfCall { requestId: id })?.unreleased.is_zero();
        queries.push(AnsweredQuery {
            request_id: c.request_id.clone(),
            block: c.block,
            timestamp: chain.block_timestamp(c.block)?,
            query_commitment: c.query_commitment.to_string(),
            predicted_class: c.predicted_class,
            prover: c.prover.to_string(),
            proof_valid: c.proof_valid,
            fee_wei: c.fee_wei.clone(),
            contributors_wei: c.contributors_wei.clone(),
            payouts,
            released,
        });
    }
    let all: u128 = by_licence.values().fold(0u128, |a, w| a.saturating_add(*w));
    let licences = by_licence
        .into_iter()
        .map(|(licence, w)| LicenceShare { licence, amount_wei: w.to_string(), share: if all == 0 { 0.0 } else { w as f64 / all as f64 } })
        .collect();
    let ids: Vec<&str> = claims.iter().map(|c| c.request_id.as_str()).collect();
    // a slash is about the subject when its request is (an unanswered request has no paid claim)
    let mut slashes_of = vec![];
    for sl in &audit.slashes {
        let ours = ids.contains(&sl.request_id.as_str()) || {
            let r = chain.view(ADDRESS, IAttribution::requestOfCall { requestId: sl.request_id.parse()? })?;
            match args.query {
                Some(q) => r.queryCommitment == q,
                None => Some((r.modelOwner, r.modelCommitment)) == subject,
            }
        };
        if ours {
            slashes_of.push(sl);
        }
    }
    let slashes = slashes_of
        .into_iter()
        .map(|s| SlashInfo {
            slash_id: s.slash_id.clone(),
            agent: s.agent.to_string(),
            request_id: s.request_id.clone(),
            fault: s.fault.to_string(),
            amount_wei: s.amount_wei.clone(),
            block: s.block,
        })
        .collect();
    let title = match (args.query, subject) {
        (Some(q), _) => format!("Provenance report: query {q}"),
        (None, Some((o, m))) => format!("Provenance report: model {m} of {o}"),
        (None, None) => "Provenance report".into(),
    };
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    Ok(ReportData {
        title,
        generated_at: format!("{} UTC", crate::report_html::utc_time(secs)),
        rpc: public_url(&args.rpc),
        chain_id: chain.chain_id(),
        head_block: head,
        params_hash: audit.params_hash.to_string(),
        model,
        datanets,
        queries,
        slashes,
        licences,
        // the audit's findings about these requests (each names its request first)
        findings: findings_about(&audit.findings, &ids),
    })
}

/// The audit's findings about these requests: each names its request
/// first (`request 7 (tx …)`, `request 7: …`).
fn findings_about(findings: &[String], ids: &[&str]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| ids.iter().any(|id| f.strip_prefix(&format!("request {id}")).is_some_and(|rest| rest.starts_with([' ', ':']))))
        .cloned()
        .collect()
}

/// The endpoint as a page may show it: no user information, query or
/// fragment (they can carry API keys).
fn public_url(url: &str) -> String {
    let cut = url.find(['?', '#']).map_or(url, |i| &url[..i]);
    match cut.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{host}")
        }
        None => cut.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_keeps_every_finding_about_its_requests_and_no_other() {
        let f: Vec<String> = ["request 7 (tx 0x1): payout not backed", "request 7: split paid", "request 70: other", "request 8: other"].map(String::from).into();
        assert_eq!(super::findings_about(&f, &["7"]), f[..2].to_vec());
    }

    #[test]
    fn an_endpoint_is_shown_without_its_secrets() {
        assert_eq!(super::public_url("https://user:key@rpc.example/v1?apikey=9#x"), "https://rpc.example/v1");
        assert_eq!(super::public_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    }
}
