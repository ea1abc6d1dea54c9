//! `lineage prover`: a proving node for an agent that answers a model's
//! public queries for fees.
//!
//! ```text
//!  chain ── QueryPosted (escrowQuery) ──► Seen ──acceptRequest──► Accepted ──prove──► Proven
//!                                          │ another agent first: Lost        (thread, rayon inside halo2)
//!  Proven ──submitWholeClaim──► Claimed ──releasePayouts──► Released ──releaseStake (after the window)──► Done
//! ```
//!
//! * **One sender.** Every transaction is sent from the main loop, one at a
//!   time: signed, stored in its job (RocksDB, synced), then sent, then
//!   awaited. A node killed anywhere resumes from its queue: a stored
//!   transaction is looked up by hash and, if never mined, the same bytes
//!   are sent again; so no claim is ever submitted twice.
//! * **Sharing.** Acceptance on chain decides who proves: the node accepts a
//!   request only while it has a free proving slot (the memory budget over
//!   the per-proof estimate), and only after a dry run shows the accept
//!   would succeed; an agent that loses the race marks the job lost.
//! * **Answers.** On taking a job the node computes the prediction and the
//!   payout split natively and signs the EIP-712 answer its user fetches
//!   at `/v1/answers/{id}`; the proof follows.
//! * **GPU.** `--gpu` proves on CUDA (halo2-axiom-gpu) in a binary built
//!   with the `gpu` feature; without it, or without a device, the node
//!   refuses to start.

pub mod http;
pub mod queue;

use crate::{
    register::{b32, digits_model, read_key},
    rpc_chain::{RpcChain, TxReceipt},
};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent};
use clap::Args;
use eyre::{bail, eyre, WrapErr};
use lineage_chain::precompile::{
    attribution::{IAttribution, RequestStatus, ADDRESS},
    governance::{IGovernance, ADDRESS as GOVERNANCE},
    settlement::{answer_hash, Answer, MIN_ANSWER_TIME},
    staking::{IStaking, ADDRESS as STAKING},
};
use lineage_circuits::query::QueryInput;
use lineage_core::model::QuantizedModel;
use lineage_prover::{srs, ProverClient};
use queue::{Job, PendingTx, Queue, SignedAnswer, Stage, TxKind};
use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    time::Duration,
};

/// Peak memory of one per-query proof per row of its circuit: 6.8 GiB at
/// k = 20, 222 MiB at k = 15, 60 MiB at k = 13 (BENCHMARKS.md, "whole
/// datanet"): about 7 KiB a row.
pub const PROVE_BYTES_PER_ROW: u64 = 7 * 1024;
/// A node takes a request only with this much time left beyond the
/// chain's least answer time and its proofs' time: for the transactions.
pub const SAFETY_SECS: u64 = 120;
/// One per-query proof at k = 15 on two cores (3.49 s, BENCHMARKS.md),
/// scaled by rows until the node has timed its own.
pub const PROVE_MS_AT_K15: u64 = 3_500;
/// Most transactions of the node awaiting their receipts (a node's pool
/// holds at most 64 of one sender ahead of its nonce).
pub const MAX_IN_FLIGHT: usize = 32;
/// Times a failed proof of an accepted job is tried again.
pub const MAX_PROVE_RETRIES: u32 = 1;
/// OPEN a node keeps unstaked to pay for its transactions.
pub const GAS_RESERVE_OPEN: u64 = 5;
/// Most blocks read in one `eth_getLogs`.
const SCAN_SPAN: u64 = 5_000;

#[derive(Debug, Args, Clone)]
pub struct ProverArgs {
    /// JSON-RPC URL of the node to watch and send to.
    #[arg(long)]
    pub rpc: String,
    /// File holding the agent's private key (hex, one line), or `dev:N` for a
    /// development account: it stakes,
    /// accepts, claims and collects the prover's share of each fee.
    #[arg(long)]
    pub key: PathBuf,
    /// The model's owner (default: the agent itself). The model is the
    /// digits model with its whole-datanet key on chain (`lineage register`).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Examples the model's whole-datanet key covers: the digits datanet's
    /// first N (default: all 1,438); must match the key on chain.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::query::MAX_CAPACITY as u64))]
    pub examples: Option<usize>,
    /// Training epochs of the digits model (as registered; 1 to 100,000).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_EPOCHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub epochs: usize,
    /// The job queue lives here (RocksDB; default ~/.lineage/prover).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where the SRS, feature proofs and proving keys are cached (default: $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Health, metrics and answers are served here (port 0 picks one; the
    /// address is printed).
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub listen: std::net::SocketAddr,
    /// Memory the node may use for proofs running at once, MiB: it proves
    /// (and accepts) as many requests at a time as fit, at least one.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..=1 << 24))]
    pub memory_budget_mib: u64,
    /// How often to poll the chain, milliseconds (50 to 60,000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub poll_ms: u64,
    /// First block to read when the queue is new (default: 0, the whole chain).
    #[arg(long, default_value_t = 0)]
    pub from_block: u64,
    /// How long to wait for the model's key to appear on chain, seconds.
    #[arg(long, default_value_t = 600)]
    pub wait_key_secs: u64,
    /// Prove on a CUDA GPU (needs a binary built with the `gpu` feature and
    /// a CUDA device; refused before any work otherwise).
    #[arg(long)]
    pub gpu: bool,
    /// The most OPEN this node keeps bonded as stake. Each accepted request
    /// locks the chain's `acceptStake` until its challenge window ends (a
    /// day on a dev chain), so this bounds the requests taken per window.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    pub stake_budget_open: u64,
    /// Stop after this many requests are settled by this node (for
    /// measurements and tests; default: run until interrupted).
    #[arg(long)]
    pub exit_after: Option<usize>,
}

/// Everything fixed for a node's life.
struct Node {
    chain: RpcChain,
    signer: PrivateKeySigner,
    owner: Address,
    model: QuantizedModel,
    model_c: B256,
    setup: Arc<crate::whole::WholeSetup>,
    /// The gas of a claim's key-dependent work (verification at this key's
    /// `k`; budgeted cold: load, parse and warm-ring entry included).
    claim_key_gas: u64,
    client: Arc<ProverClient>,
    queue: Arc<Queue>,
    shared: Arc<http::Shared>,
    capacity: usize,
    accept_stake: U256,
    stake_budget: U256,
    /// Jobs accepted and not yet proven.
    taken: usize,
    /// Jobs with a transaction awaiting its receipt, and those that are accepts.
    in_flight: usize,
    pending_accepts: usize,
    /// This key's mined nonce, read at the start of a step with transactions in flight.
    mined_nonce: Option<u64>,
    slowest_prove_ms: u64,
    estimate_prove_ms: u64,
    proving: HashSet<U256>,
    /// Transactions this process sent, and when.
    sent: std::collections::HashMap<B256, std::time::Instant>,
    done_tx: mpsc::Sender<(U256, Result<(Vec<u8>, u64), String>)>,
    done_rx: mpsc::Receiver<(U256, Result<(Vec<u8>, u64), String>)>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

/// The request ids whose claim this node's transactions paid.
fn settled(jobs: &[Job]) -> usize {
    jobs.iter().filter(|j| j.stage >= Stage::Claimed && j.stage <= Stage::Done).count()
}

pub fn run(args: ProverArgs) -> eyre::Result<()> {
    // a GPU that cannot be had fails here, before any work (never a CPU proof under --gpu)
    let builder = ProverClient::builder();
    let client = Arc::new(if args.gpu { builder.gpu() } else { builder.cpu() }.build()?);
    let signer = read_key(&args.key)?;
    let chain = RpcChain::connect(&args.rpc)?;
    let owner = args.owner.unwrap_or(signer.address());
    let cache = args.cache_dir.clone().unwrap_or_else(srs::default_cache_dir);
    eprintln!("agent {} for the model of {owner}; training the digits model ({} epochs)…", signer.address(), args.epochs);
    let (datanet, model) = digits_model(args.examples, args.epochs)?;
    let model_c = b32(&model.commitment());
    let shape = lineage_circuits::query::QueryShape::new(datanet.contributions.len())?;
    let params = srs::cached_dev_srs(&cache, shape.k)?;
    eprintln!("loading (or proving once) the feature table of {} examples and the per-query keys (k = {})…", datanet.contributions.len(), shape.k);
    let setup = Arc::new(crate::whole::prepare(&client, &params, &datanet, &model, None, &cache)?);

    // the key this node proves for must be the one the chain holds
    let waited = std::time::Instant::now();
    loop {
        let held = chain.view(ADDRESS, IAttribution::wholeKeyOfCall { owner, modelCommitment: model_c })?;
        if held.keyHash == setup.query_file.hash {
            break;
        }
        if held.keyHash != B256::ZERO {
            bail!("the chain holds key {} for model {model_c} of {owner}, this node's is {} (other --examples or --epochs?)", held.keyHash, setup.query_file.hash);
        }
        if waited.elapsed().as_secs() >= args.wait_key_secs {
            bail!("model {model_c} of {owner} has no whole-datanet key on chain after {} s: run `lineage register` as its owner", args.wait_key_secs);
        }
        std::thread::sleep(Duration::from_secs(1));
    }

    let per_proof = PROVE_BYTES_PER_ROW << shape.k;
    let capacity = ((args.memory_budget_mib << 20) / per_proof).max(1) as usize;
    let data_dir = args.data_dir.clone().unwrap_or_else(|| home().join(".lineage").join("prover"));
    std::fs::create_dir_all(&data_dir)?;
    let queue = Arc::new(Queue::open(&data_dir.join("jobs")).wrap_err_with(|| format!("opening the job queue in {}", data_dir.display()))?);
    let accept_stake = chain.view(GOVERNANCE, IGovernance::paramsCall {})?.acceptStake;

    let shared = Arc::new(http::Shared {
        metrics: http::Metrics::new(),
        queue: queue.clone(),
        agent: signer.address(),
        capacity,
        // the chain just answered every setup call
        last_poll_ms: http::now_ms().into(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let addr = serve(shared.clone(), args.listen, stop.clone())?;
    println!(
        "prover node: agent {} · model {model_c} · {} examples (k = {}) · {capacity} proof(s) at a time (~{} MiB each) · http://{addr}/health",
        signer.address(),
        datanet.contributions.len(),
        shape.k,
        per_proof >> 20
    );
    let (done_tx, done_rx) = mpsc::channel();
    let claim_key_gas = lineage_chain::precompile::whole::claim_key_gas(shape.k, false, setup.query_file.to_bytes().len() as u64);
    let mut node = Node {
        chain,
        signer,
        owner,
        model,
        model_c,
        setup,
        claim_key_gas,
        client,
        queue,
        shared,
        capacity,
        accept_stake,
        stake_budget: U256::from(args.stake_budget_open) * U256::from(lineage_chain::genesis::OPEN),
        taken: 0,
        in_flight: 0,
        pending_accepts: 0,
        mined_nonce: None,
        slowest_prove_ms: 0,
        estimate_prove_ms: PROVE_MS_AT_K15.saturating_mul(1u64 << shape.k) >> 15,
        proving: HashSet::new(),
        sent: Default::default(),
        done_tx,
        done_rx,
    };
    node.top_up_stake()?;
    if node.queue.scanned()?.is_none() && args.from_block > 0 {
        node.queue.set_scanned(args.from_block - 1)?;
    }
    node.run_loop(&args, &stop)
}

/// Start the HTTP server on its own tokio runtime; returns its address.
fn serve(shared: Arc<http::Shared>, listen: std::net::SocketAddr, stop: Arc<AtomicBool>) -> eyre::Result<std::net::SocketAddr> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind(listen)).wrap_err_with(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new().name("prover-http".into()).spawn(move || {
        rt.block_on(async move {
            let stop2 = stop.clone();
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    stop2.store(true, Ordering::SeqCst);
                }
            });
            if let Err(e) = axum::serve(listener, http::router(shared)).await {
                tracing::error!("the HTTP server stopped: {e}");
            }
        })
    })?;
    Ok(addr)
}

impl Node {
    fn me(&self) -> Address {
        self.signer.address()
    }

    /// Bond more stake when too little is free to accept `capacity`
    /// requests, within the stake budget. True if `acceptStake` is free.
    fn top_up_stake(&self) -> eyre::Result<bool> {
        let st = self.chain.view(STAKING, IStaking::stakeOfCall { agent: self.me() })?;
        // accepts sent and not yet mined will lock stake the block above still shows free
        let free = st.free.saturating_sub(self.accept_stake * U256::from(self.pending_accepts));
        let want = self.accept_stake * U256::from(self.capacity);
        if free < want {
            // never the gas money: keep GAS_RESERVE_OPEN for the claims and releases
            let spendable = self.chain.balance(self.me())?.saturating_sub(U256::from(GAS_RESERVE_OPEN) * U256::from(lineage_chain::genesis::OPEN));
            let add = (want - free).min(self.stake_budget.saturating_sub(st.free + st.locked)).min(spendable);
            if !add.is_zero() {
                let r = self.chain.transact(&self.signer, STAKING, IStaking::stakeCall {}.abi_encode(), add, 200_000)?;
                if !r.status {
                    bail!("staking {add} wei failed: {}", crate::register::describe(&r));
                }
                return Ok(free + add >= self.accept_stake);
            }
        }
        Ok(free >= self.accept_stake)
    }

    fn run_loop(&mut self, args: &ProverArgs, stop: &AtomicBool) -> eyre::Result<()> {
        loop {
            if stop.load(Ordering::SeqCst) {
                eprintln!("interrupted: the queue keeps every job; a restart resumes them");
                return Ok(());
            }
            self.collect_proofs()?;
            let busy = match self.step() {
                Ok(b) => {
                    self.shared.last_poll_ms.store(http::now_ms(), Ordering::Relaxed);
                    b
                }
                Err(e) => {
                    // the chain or the network: keep the queue and try again
                    tracing::warn!("{e:#}");
                    self.shared.metrics.fail("chain");
                    false
                }
            };
            let jobs = self.queue.jobs()?;
            self.gauges(&jobs);
            if let Some(n) = args.exit_after {
                if settled(&jobs) >= n && self.proving.is_empty() && jobs.iter().all(|j| j.stage != Stage::Claimed) {
                    println!("settled {} request(s); exiting", settled(&jobs));
                    return Ok(());
                }
            }
            if !busy {
                std::thread::sleep(Duration::from_millis(args.poll_ms));
            }
        }
    }

    fn gauges(&self, jobs: &[Job]) {
        let m = &self.shared.metrics;
        for st in Stage::ALL {
            m.jobs.get_or_create(&http::StageLabel { stage: st.name() }).set(jobs.iter().filter(|j| j.stage == st).count() as i64);
        }
        m.queue_depth.set(jobs.iter().filter(|j| j.stage <= Stage::Proven).count() as i64);
        m.proving.set(self.proving.len() as i64);
    }

    /// Record the proofs that finished.
    fn collect_proofs(&mut self) -> eyre::Result<()> {
        while let Ok((id, res)) = self.done_rx.try_recv() {
            self.proving.remove(&id);
            let Some(mut job) = self.queue.get(id)? else { continue };
            match res {
                Ok((proof, ms)) => {
                    job.proof = Some(proof.into());
                    job.prove_ms = Some(ms);
                    job.stage = Stage::Proven;
                    self.slowest_prove_ms = self.slowest_prove_ms.max(ms);
                    self.shared.metrics.proofs.inc();
                    self.shared.metrics.prove_seconds.observe(ms as f64 / 1000.0);
                }
                Err(e) => {
                    // an accepted job left unproven is slashed at its deadline: one more try
                    job.prove_failures += 1;
                    if job.prove_failures > MAX_PROVE_RETRIES {
                        job.stage = Stage::Failed;
                    }
                    job.note = format!("proving failed ({} time(s)): {e}", job.prove_failures);
                    self.shared.metrics.fail("prove");
                }
            }
            self.queue.put(&job)?;
        }
        Ok(())
    }

    /// Read new events, then move every open job one step. True if anything moved.
    fn step(&mut self) -> eyre::Result<bool> {
        // a failed scan (the endpoint, a huge log range) never holds up the jobs already taken
        let mut moved = match self.scan() {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("reading events: {e:#}");
                self.shared.metrics.fail("chain");
                false
            }
        };
        let mut jobs = self.queue.jobs()?;
        // what is owed first: claims of proven jobs, then releases, proofs, stake, new accepts
        let rank = |st: Stage| match st {
            Stage::Proven => 0,
            Stage::Claimed => 1,
            Stage::Accepted => 2,
            Stage::Released => 3,
            _ => 4,
        };
        jobs.sort_by_key(|j| (j.pending.is_none(), rank(j.stage), j.request_id));
        self.in_flight = jobs.iter().filter(|j| j.pending.is_some()).count();
        self.mined_nonce = if self.in_flight > 0 { Some(self.chain.mined_nonce(self.me())?) } else { None };
        self.pending_accepts = jobs.iter().filter(|j| j.pending.as_ref().is_some_and(|p| p.kind == TxKind::Accept)).count();
        self.taken = jobs.iter().filter(|j| j.stage == Stage::Accepted || (j.stage == Stage::Seen && j.pending.is_some())).count();
        for job in jobs {
            if job.stage.is_final() {
                continue;
            }
            let id = job.request_id;
            // one job's trouble never stops the others
            match self.advance(job) {
                Ok(m) => moved |= m,
                Err(e) => {
                    tracing::warn!("request {id}: {e:#}");
                    self.shared.metrics.fail("chain");
                }
            }
        }
        Ok(moved)
    }

    /// New `QueryPosted` events for this model become `Seen` jobs.
    fn scan(&mut self) -> eyre::Result<bool> {
        let (head, _) = self.chain.head()?;
        let mut from = self.queue.scanned()?.map_or(0, |b| b + 1);
        let mut found = false;
        while from <= head {
            let to = head.min(from.saturating_add(SCAN_SPAN - 1));
            for (log, _, _) in self.chain.logs(ADDRESS, IAttribution::QueryPosted::SIGNATURE_HASH, from, to)? {
                let Ok(ev) = IAttribution::QueryPosted::decode_log_data(&log.data) else { continue };
                if self.queue.get(ev.requestId)?.is_some() {
                    continue;
                }
                let r = self.chain.view(ADDRESS, IAttribution::requestOfCall { requestId: ev.requestId })?;
                if r.modelOwner != self.owner || r.modelCommitment != self.model_c || r.status != RequestStatus::Open as u8 {
                    continue;
                }
                found = true;
                self.queue.put(&Job::seen(ev.requestId, ev.query.to_vec(), r.queryCommitment, r.fee, r.deadline, http::now_ms()))?;
            }
            self.queue.set_scanned(to)?;
            self.shared.metrics.scanned_block.set(to.min(i64::MAX as u64) as i64);
            let Some(next) = to.checked_add(1) else { break };
            from = next;
        }
        Ok(found)
    }

    fn advance(&mut self, mut job: Job) -> eyre::Result<bool> {
        if let Some(p) = job.pending.clone() {
            return self.poll_pending(job, p);
        }
        let id = job.request_id;
        if self.in_flight >= MAX_IN_FLIGHT && matches!(job.stage, Stage::Seen | Stage::Proven | Stage::Claimed | Stage::Released) {
            // receipts first: no dry run, no work, until a slot frees
            return Ok(false);
        }
        match job.stage {
            Stage::Seen => {
                let (_, now) = self.chain.head()?;
                if job.deadline < now.saturating_add(MIN_ANSWER_TIME + self.margin_secs()) {
                    return self.lose(job, "too little time left before its deadline");
                }
                if self.taken >= self.capacity {
                    return Ok(false);
                }
                // what it would prove: a request that cannot be paid (a contributors' share
                // too small to split, another query than its commitment) is never accepted
                let checked = self.input(&job).and_then(|i| {
                    let q = b32(&lineage_core::datanet::query_commitment(&job.query)?);
                    if q != job.query_commitment {
                        bail!("its posted pixels do not hash to its commitment");
                    }
                    payout_digest(&i)
                });
                if let Err(e) = checked {
                    return self.lose(job, &format!("not payable: {e:#}"));
                }
                if !self.top_up_stake()? {
                    // say why it waits (once): stake comes back as challenge windows end
                    let why = "waiting: the stake budget is locked in accepted requests (raise --stake-budget-open, or wait for their challenge windows)";
                    if job.note != why {
                        tracing::warn!("request {id}: {why}");
                        job.note = why.into();
                        self.queue.put(&job)?;
                    }
                    return Ok(false);
                }
                let input = IAttribution::acceptRequestCall { requestId: id }.abi_encode();
                match self.chain.dry_run(self.me(), ADDRESS, &input, U256::ZERO, 400_000)? {
                    Err(reason) => {
                        // ours already (an accept mined while this node was down)?
                        let st = self.settlement(id)?;
                        if st.agent == self.me() {
                            job.stage = Stage::Accepted;
                            self.queue.put(&job)?;
                            self.taken += 1;
                            Ok(true)
                        } else {
                            self.lose(job, &format!("not accepted: {reason}"))
                        }
                    }
                    Ok(_) => {
                        self.taken += 1;
                        self.pending_accepts += 1;
                        self.send(job, TxKind::Accept, input, 400_000).map(|_| true)
                    }
                }
            }
            Stage::Accepted => {
                if self.proving.contains(&id) || self.proving.len() >= self.capacity {
                    return Ok(false);
                }
                let input = self.input(&job)?;
                if job.answer.is_none() {
                    job.answer = Some(self.sign_answer(&job, input.predicted as u64, payout_digest(&input)?)?);
                    self.queue.put(&job)?;
                }
                self.proving.insert(id);
                self.shared.metrics.proving.set(self.proving.len() as i64);
                let (client, setup, done) = (self.client.clone(), self.setup.clone(), self.done_tx.clone());
                std::thread::Builder::new().name(format!("prove-{id}")).spawn(move || {
                    // a panic inside the prover fails this job, never the slot
                    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| client.prove_query(&setup.query_keys, &setup.table, &input)))
                        .map_err(|_| "the prover panicked".to_string())
                        .and_then(|r| r.map(|p| (p.bytes, p.prove_time.as_millis() as u64)).map_err(|e| e.to_string()));
                    let _ = done.send((id, res));
                })?;
                Ok(true)
            }
            Stage::Proven => {
                let input = self.input(&job)?;
                let segments = lineage_core::features::claim_segments(&input.attribution);
                let proof = job.proof.clone().ok_or_else(|| eyre!("request {id} is proven but its proof is missing"))?;
                let call = IAttribution::submitWholeClaimCall::new(id, input.predicted as u64, &segments, &proof);
                let gas = claim_gas_limit(&call, self.claim_key_gas);
                let input = call.abi_encode();
                match self.chain.dry_run(self.me(), ADDRESS, &input, U256::ZERO, gas)? {
                    Err(reason) => {
                        // paid by this node's own claim already (mined while it was down)?
                        let st = self.settlement(id)?;
                        if st.prover == self.me() {
                            job.stage = Stage::Claimed;
                            self.queue.put(&job)?;
                            Ok(true)
                        } else {
                            self.fail(job, "claim", &format!("the claim would be refused: {reason}"))
                        }
                    }
                    Ok(_) => self.send(job, TxKind::Claim, input, gas).map(|_| true),
                }
            }
            Stage::Claimed => {
                let input = self.input(&job)?;
                let payouts = input.attribution.payouts(input.pool)?;
                let call = IAttribution::releasePayoutsCall {
                    requestId: id,
                    contributors: payouts.iter().map(|p| p.contributor).collect(),
                    amounts: payouts.iter().map(|p| p.amount_wei).collect(),
                };
                let gas = lineage_chain::precompile::whole::release_gas(payouts.len()) + 40 * call.abi_encode().len() as u64 + 100_000;
                let input = call.abi_encode();
                match self.chain.dry_run(self.me(), ADDRESS, &input, U256::ZERO, gas)? {
                    Err(reason) => {
                        // somebody else may have released them: anyone can
                        let left = self.chain.view(ADDRESS, IAttribution::payoutsOfCall { requestId: id })?;
                        if left.unreleased.is_zero() {
                            job.stage = Stage::Released;
                            self.queue.put(&job)?;
                            Ok(true)
                        } else {
                            self.fail(job, "release", &format!("releasing the payouts would be refused: {reason}"))
                        }
                    }
                    Ok(_) => self.send(job, TxKind::Release, input, gas).map(|_| true),
                }
            }
            Stage::Released => {
                let (_, now) = self.chain.head()?;
                if now <= job.challenge_ends {
                    return Ok(false);
                }
                let s = self.settlement(id)?;
                if job.challenge_ends != s.challengeEnds {
                    job.challenge_ends = s.challengeEnds;
                    self.queue.put(&job)?;
                }
                if s.stake.is_zero() {
                    // released (or slashed) by a call of somebody else
                    job.stage = Stage::Done;
                    self.queue.put(&job)?;
                    return Ok(true);
                }
                if now <= s.challengeEnds {
                    return Ok(false);
                }
                let input = IAttribution::releaseStakeCall { requestId: id }.abi_encode();
                match self.chain.dry_run(self.me(), ADDRESS, &input, U256::ZERO, 300_000)? {
                    Err(reason) => self.fail(job, "release", &format!("releasing the stake would be refused: {reason}")),
                    Ok(_) => self.send(job, TxKind::ReleaseStake, input, 300_000).map(|_| true),
                }
            }
            Stage::Done | Stage::Lost | Stage::Failed => Ok(false),
        }
    }

    /// The witness of a job: the native attribution of its query over the
    /// whole table, for the contributors' share its request fixed.
    fn input(&self, job: &Job) -> eyre::Result<QueryInput> {
        let split = self.chain.view(ADDRESS, IAttribution::splitOfCall { requestId: job.request_id })?;
        let pool: u128 = split.contributors.try_into().map_err(|_| eyre!("request {}: pool above 2^128", job.request_id))?;
        Ok(QueryInput::new(&self.model, &self.setup.table, &job.query, pool, job.request_id)?)
    }

    fn settlement(&self, id: U256) -> eyre::Result<IAttribution::settlementOfReturn> {
        Ok(self.chain.view(ADDRESS, IAttribution::settlementOfCall { requestId: id })?)
    }

    /// Seconds a new job needs beyond the chain's least answer time: two
    /// rounds of proofs (the one running, its own), a round being the
    /// slowest proof seen so far (timed with the others running beside it)
    /// and at least the k-scaled estimate of `capacity` proofs sharing the
    /// cores; plus time for its transactions.
    fn margin_secs(&self) -> u64 {
        let round = self.slowest_prove_ms.max(self.estimate_prove_ms.saturating_mul(self.capacity as u64));
        SAFETY_SECS + round.saturating_mul(2) / 1000
    }

    fn sign_answer(&self, job: &Job, class: u64, digest: B256) -> eyre::Result<SignedAnswer> {
        sign_answer(&self.signer, self.chain.chain_id(), job.request_id, job.query_commitment, class, digest)
    }

    fn lose(&self, mut job: Job, why: &str) -> eyre::Result<bool> {
        job.stage = Stage::Lost;
        job.note = why.to_string();
        self.shared.metrics.lost.inc();
        self.queue.put(&job)?;
        Ok(true)
    }

    fn fail(&self, mut job: Job, step: &'static str, why: &str) -> eyre::Result<bool> {
        tracing::warn!("request {}: {why}", job.request_id);
        job.stage = Stage::Failed;
        job.note = why.to_string();
        self.shared.metrics.fail(step);
        self.queue.put(&job)?;
        Ok(true)
    }

    /// Sign, store and send one transaction of `job`; its receipt is
    /// picked up by a later step ([`Self::poll_pending`]), so the
    /// transactions of many jobs share a block.
    fn send(&mut self, mut job: Job, kind: TxKind, input: Vec<u8>, gas: u64) -> eyre::Result<()> {
        if self.in_flight >= MAX_IN_FLIGHT {
            // later: receipts first
            return Ok(());
        }
        self.in_flight += 1;
        let tx = self.chain.sign(&self.signer, ADDRESS, Bytes::from(input), U256::ZERO, gas)?;
        job.pending = Some(PendingTx { kind, tx: tx.clone() });
        self.queue.put(&job)?;
        crash_point(kind, "stored");
        self.chain.send_raw(&tx.raw)?;
        self.sent.insert(tx.hash, std::time::Instant::now());
        crash_point(kind, "sent");
        Ok(())
    }

    /// A stored transaction: apply its receipt once mined. After a restart
    /// (this process never sent it), or when it has waited a minute, the
    /// same signed bytes are sent again: at most one of them is ever mined.
    fn poll_pending(&mut self, mut job: Job, p: PendingTx) -> eyre::Result<bool> {
        // the nonce (read once per step, before any receipt): a transaction mined in between is then still found
        let mined = match self.mined_nonce {
            Some(n) => n,
            None => self.chain.mined_nonce(self.me())?,
        };
        if let Some(r) = self.chain.receipt(p.tx.hash)? {
            self.sent.remove(&p.tx.hash);
            self.apply(job, p.kind, r)?;
            return Ok(true);
        }
        if mined > p.tx.nonce {
            // its nonce went to another transaction of this key: it will never be mined
            self.sent.remove(&p.tx.hash);
            job.pending = None;
            self.queue.put(&job)?;
            return Ok(true);
        }
        let stale = self.sent.get(&p.tx.hash).is_none_or(|t| t.elapsed() > Duration::from_secs(60));
        if stale {
            if let Err(e) = self.chain.send_raw(&p.tx.raw) {
                tracing::info!("resending {}: {e:#}", p.tx.hash);
            }
            self.sent.insert(p.tx.hash, std::time::Instant::now());
        }
        Ok(false)
    }

    fn apply(&self, mut job: Job, kind: TxKind, r: TxReceipt) -> eyre::Result<()> {
        job.pending = None;
        job.txs.push((kind, r.hash));
        // a failed receipt from a lagging endpoint: the settlement says what really holds
        let status = r.status
            || match kind {
                TxKind::Accept => self.settlement(job.request_id)?.agent == self.me(),
                TxKind::Claim => self.settlement(job.request_id)?.prover == self.me(),
                _ => false,
            };
        match (kind, status) {
            (TxKind::Accept, true) => job.stage = Stage::Accepted,
            (TxKind::Accept, false) => {
                job.stage = Stage::Lost;
                job.note = "the accept failed in its block (another agent was first, or the stake ran short)".into();
                self.shared.metrics.lost.inc();
            }
            (TxKind::Claim, true) => {
                job.stage = Stage::Claimed;
                job.claimed_ms = Some(http::now_ms());
                self.shared.metrics.claims_paid.inc();
            }
            (TxKind::Release, true) => job.stage = Stage::Released,
            (TxKind::ReleaseStake, true) => job.stage = Stage::Done,
            (k, false) => {
                job.stage = Stage::Failed;
                job.note = format!("{k:?} transaction {} failed in its block", r.hash);
                self.shared.metrics.fail(match k {
                    TxKind::Claim => "claim",
                    _ => "release",
                });
            }
        }
        self.queue.put(&job)?;
        Ok(())
    }
}

/// The crash test's hook: with `LINEAGE_PROVER_CRASH_AT=accept-stored`
/// (or `-sent`, or `claim-…`) the node aborts right after it stored (or
/// sent) that kind of transaction, as a kill -9 there would. Unset, it
/// does nothing.
fn crash_point(kind: TxKind, when: &str) {
    if let Ok(at) = std::env::var("LINEAGE_PROVER_CRASH_AT") {
        if at == format!("{}-{when}", format!("{kind:?}").to_lowercase()) {
            eprintln!("LINEAGE_PROVER_CRASH_AT={at}: aborting");
            std::process::abort();
        }
    }
}

/// The payout digest a whole-datanet claim proves: the root of its payout tree.
pub fn payout_digest(input: &QueryInput) -> eyre::Result<B256> {
    let payouts = input.attribution.payouts(input.pool)?;
    Ok(lineage_core::payout::PayoutTree::new(&payouts)?.root())
}

/// An agent's EIP-712 answer to a request.
pub fn sign_answer(signer: &PrivateKeySigner, chain_id: u64, request_id: U256, query_commitment: B256, class: u64, digest: B256) -> eyre::Result<SignedAnswer> {
    let answer = Answer { requestId: request_id, queryCommitment: query_commitment, predictedClass: class, payoutDigest: digest };
    let sig = signer.sign_hash_sync(&answer_hash(chain_id, &answer))?;
    Ok(SignedAnswer {
        request_id,
        query_commitment,
        predicted_class: class,
        payout_digest: digest,
        signature: Bytes::from(sig.as_bytes().to_vec()),
        agent: signer.address(),
    })
}

/// The gas limit of a whole-datanet claim transaction: what the precompile
/// charges (the part its calldata fixes, and `claim_key_gas`, the part its
/// key's `k` fixes), the calldata, and room for the call itself.
fn claim_gas_limit(call: &IAttribution::submitWholeClaimCall, claim_key_gas: u64) -> u64 {
    lineage_chain::precompile::whole::claim_gas(call) + claim_key_gas + 40 * call.abi_encode().len() as u64 + 100_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_budget_covers_the_precompile_at_every_k() {
        // (at k = 17 the verification alone is 433k gas: a budget without
        // the key's part ran out of gas in the precompile)
        let segments = vec![(Address::with_last_byte(1), 5i128, 3u32); 24];
        let call = IAttribution::submitWholeClaimCall::new(U256::from(1), 3, &segments, &[7u8; 2912]);
        for k in lineage_circuits::query::MIN_QUERY_K..=lineage_circuits::MAX_K {
            let key = lineage_chain::precompile::whole::claim_key_gas(k, false, 4096);
            let charged = lineage_chain::precompile::whole::claim_gas(&call) + key;
            let intrinsic = 21_000 + 16 * call.abi_encode().len() as u64;
            assert!(claim_gas_limit(&call, key) >= charged + intrinsic, "k = {k}");
        }
    }
}
