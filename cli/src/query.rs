//! `lineage query`: a user's side of a public query. It posts held-out
//! digits images with `escrowQuery` (the fee escrowed, the pixels published
//! for any prover node), then, with `--wait`, follows each request until a
//! claim settles it and prints the rate.

use crate::{register::read_key, rpc_chain::RpcChain};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use clap::Args;
use eyre::{bail, eyre};
use lineage_chain::{
    genesis::OPEN,
    precompile::attribution::{IAttribution, RequestStatus, ADDRESS},
};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// Transactions sent before waiting for the last one's receipt (below the
/// pool's per-sender gap limit of 64).
const IN_FLIGHT: usize = 32;

#[derive(Debug, Args, Clone)]
pub struct QueryArgs {
    /// JSON-RPC URL of the node.
    #[arg(long)]
    pub rpc: String,
    /// File holding the payer's private key (hex, one line), or `dev:N`.
    #[arg(long)]
    pub key: PathBuf,
    /// The model's owner.
    #[arg(long)]
    pub owner: Address,
    /// The model's commitment (default: the digits model trained for `--epochs`).
    #[arg(long)]
    pub model: Option<B256>,
    /// Training epochs of the digits model, when `--model` is not given.
    #[arg(long, default_value_t = lineage_inference::DEFAULT_EPOCHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub epochs: usize,
    /// Post this many held-out images, starting at `--first` in the held-out set's order (1 to 1,000).
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000))]
    pub count: usize,
    /// Position of the first image in the held-out set.
    #[arg(long, default_value_t = 0)]
    pub first: usize,
    /// Fee per query, in OPEN (1 to 1,000,000).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub fee_open: u64,
    /// Seconds each request stays open before its fee can be refunded (600 to 30 days).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(600..=30 * 24 * 3600))]
    pub ttl_secs: u64,
    /// Wait until every request is settled (or refunded), up to this many seconds.
    #[arg(long)]
    pub wait_secs: Option<u64>,
    /// Print one JSON object as the last line of output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: QueryArgs) -> eyre::Result<()> {
    let payer = read_key(&args.key)?;
    let chain = RpcChain::connect(&args.rpc)?;
    let model = match args.model {
        Some(m) => m,
        None => crate::register::b32(&crate::register::digits_model(Some(1), args.epochs)?.1.commitment()),
    };
    let heldout = lineage_inference::digits_heldout()?;
    let images: Vec<_> = heldout.queries.iter().skip(args.first).take(args.count).collect();
    if images.len() < args.count {
        bail!("the held-out set has {} images; --first {} --count {} runs past it", heldout.queries.len(), args.first, args.count);
    }
    let deadline = chain.head()?.1 + args.ttl_secs;
    let fee = U256::from(args.fee_open) * U256::from(OPEN);
    // sign and send every query at once, then collect the receipts
    let start = Instant::now();
    let mut sent = Vec::with_capacity(images.len());
    for (i, q) in images.iter().enumerate() {
        // a node holds at most 64 pending transactions of one sender ahead of its nonce
        if i > 0 && i % IN_FLIGHT == 0 {
            chain.wait_receipt(sent[i - 1])?;
        }
        let input = IAttribution::escrowQueryCall { modelOwner: args.owner, modelCommitment: model, query: q.pixels.clone().into(), deadline }.abi_encode();
        if let Err(reason) = chain.dry_run(payer.address(), ADDRESS, &input, fee, 500_000)? {
            bail!("escrowQuery would be refused: {reason}");
        }
        let tx = chain.sign(&payer, ADDRESS, input.into(), fee, 500_000)?;
        chain.send_raw(&tx.raw)?;
        sent.push(tx.hash);
    }
    let mut ids = Vec::with_capacity(sent.len());
    for (h, q) in sent.iter().zip(&images) {
        let r = chain.wait_receipt(*h)?;
        let id = r
            .logs
            .iter()
            .filter(|l| l.address == ADDRESS)
            .find_map(|l| IAttribution::RequestOpened::decode_log_data(&l.data).ok())
            .map(|e| e.requestId)
            .ok_or_else(|| eyre!("escrowQuery {h} opened no request"))?;
        println!("request  {id}: held-out image #{} (label {}), {} OPEN escrowed, tx {h}", q.index, q.label, args.fee_open);
        ids.push(id);
    }
    let mut settled_s = None;
    if let Some(wait) = args.wait_secs {
        loop {
            let mut open = 0;
            for id in &ids {
                let r = chain.view(ADDRESS, IAttribution::requestOfCall { requestId: *id })?;
                open += (r.status == RequestStatus::Open as u8) as usize;
            }
            if open == 0 {
                break;
            }
            if start.elapsed() > Duration::from_secs(wait) {
                bail!("{open} of {} requests still open after {wait} s", ids.len());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let s = start.elapsed().as_secs_f64();
        println!("settled  {} requests in {s:.1} s from posting: {:.2} per minute", ids.len(), ids.len() as f64 * 60.0 / s);
        settled_s = Some(s);
    }
    if args.json {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        println!("{}", serde_json::json!({"requests": ids, "settled_s": settled_s}));
    }
    Ok(())
}
