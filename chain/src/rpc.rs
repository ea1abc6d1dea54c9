//! Ethereum JSON-RPC over HTTP (jsonrpsee), with alloy's RPC types.
//!
//! The node keeps only the head state (no archive): state queries accept
//! `latest`, `pending`, `safe`, `finalized` or the head's number or hash,
//! and refuse older blocks with an error that says so. Every request is
//! bounded before work: body and response size, batch length, the log
//! range and result count, and `eth_call`'s gas, time and concurrency.
//! Errors use the codes and messages geth uses, so clients parse them:
//! a revert is code 3, `execution reverted…`, with the revert data as
//! `data`.

use crate::{
    node::{Block, CallOutcome, CallRequest, Receipt},
    tx::RecoveredTx,
    Chain, Error,
};
use alloy_consensus::transaction::Recovered;
use alloy_primitives::{Address, Bytes, TxKind, B256, U256, U64};
use alloy_rpc_types_eth::{
    Block as RpcBlock, BlockId, BlockNumberOrTag, BlockTransactions, FeeHistory, Filter, FilterBlockOption, Header as RpcHeader,
    Log as RpcLog, Transaction as RpcTransaction, TransactionReceipt, TransactionRequest,
};
use jsonrpsee::{
    server::{BatchRequestConfig, Server, ServerConfig, ServerHandle},
    types::{ErrorObjectOwned, Params},
    RpcModule,
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// The version string `web3_clientVersion` reports.
pub const CLIENT_VERSION: &str = concat!("lineage/v", env!("CARGO_PKG_VERSION"));
/// Most addresses one log filter may name.
pub const MAX_FILTER_ADDRESSES: usize = 1_000;
/// Most values one topic position of a log filter may name.
pub const MAX_FILTER_TOPICS: usize = 100;
/// The tip a client is told to pay (`eth_maxPriorityFeePerGas`), 1 gwei.
pub const SUGGESTED_TIP: u128 = 1_000_000_000;

/// Limits of the RPC server (reth's names and, where they fit a small
/// node, its defaults).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RpcLimits {
    /// Largest request body, bytes (a key registration carries MiBs of
    /// proofs, hex-encoded).
    pub max_request_bytes: u32,
    /// Largest response body, bytes.
    pub max_response_bytes: u32,
    /// Most calls in one batch.
    pub max_batch: u32,
    /// Open connections.
    pub max_connections: u32,
    /// Most blocks one `eth_getLogs` may span.
    pub max_log_blocks: u64,
    /// Most logs one `eth_getLogs` may return.
    pub max_logs: usize,
    /// Gas cap of `eth_call` and `eth_estimateGas`.
    pub call_gas_cap: u64,
    /// Wall-clock limit of one `eth_call` or `eth_estimateGas`, ms.
    pub call_timeout_ms: u64,
    /// Calls executing at once; more wait for a slot.
    pub max_concurrent_calls: usize,
    /// Most blocks one `eth_feeHistory` covers.
    pub max_fee_history: u64,
    /// Gas an `eth_call` may use in place on any runtime worker (no
    /// handoff); a call that needs more, or whose execution observes its gas
    /// limit, runs again with its full limit as other calls do. Bounds how
    /// long one call holds a worker.
    pub inline_call_gas: u64,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: 16 << 20,
            max_response_bytes: 64 << 20,
            max_batch: 100,
            max_connections: 500,
            max_log_blocks: 10_000,
            max_logs: 10_000,
            call_gas_cap: 50_000_000,
            call_timeout_ms: 5_000,
            max_concurrent_calls: 8,
            max_fee_history: 1024,
            inline_call_gas: 1_000_000,
        }
    }
}

struct Ctx {
    chain: Arc<Chain>,
    limits: RpcLimits,
    calls: Arc<tokio::sync::Semaphore>,
    /// Calls that may run on the runtime's own worker threads at once (all
    /// workers but one, so a slow call never stalls every worker): a handoff
    /// to a blocking thread costs more than a typical call. A call is
    /// bounded by the gas cap, whose precompile prices follow time.
    inline: tokio::sync::Semaphore,
    /// `eth_call`s running in place within `inline_call_gas` (every worker).
    inline_bounded: tokio::sync::Semaphore,
}

type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// JSON-RPC error codes.
pub mod codes {
    /// Execution reverted (geth).
    pub const EXECUTION_REVERTED: i32 = 3;
    /// Invalid parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error.
    pub const INTERNAL: i32 = -32603;
    /// Transaction refused, execution halted (geth's server error).
    pub const SERVER: i32 = -32000;
    /// A request limit was exceeded (EIP-1474).
    pub const LIMIT_EXCEEDED: i32 = -32005;
}

fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned::<()>(code, msg.into(), None)
}

fn internal(e: Error) -> ErrorObjectOwned {
    tracing::error!("rpc: {e}");
    err(codes::INTERNAL, e.to_string())
}

/// How a refused transaction is reported (geth's messages and code).
fn submit_error(e: Error) -> ErrorObjectOwned {
    match e {
        Error::Db(_) | Error::Corrupt { .. } => internal(e),
        other => err(codes::SERVER, other.to_string()),
    }
}

fn revert_error(output: Bytes) -> ErrorObjectOwned {
    // Error(string) gives its reason; anything else (a panic code, a custom
    // error) alloy describes
    let reason = <alloy_sol_types::Revert as alloy_sol_types::SolError>::abi_decode(&output)
        .map(|e| e.reason)
        .ok()
        .or_else(|| alloy_sol_types::decode_revert_reason(&output));
    let msg = match reason {
        Some(r) if !r.is_empty() => format!("execution reverted: {r}"),
        _ => "execution reverted".to_string(),
    };
    ErrorObjectOwned::owned(codes::EXECUTION_REVERTED, msg, Some(output))
}

fn call_error(outcome: CallOutcome) -> ErrorObjectOwned {
    match outcome {
        CallOutcome::Revert { output, .. } => revert_error(output),
        CallOutcome::Halt { reason, .. } => err(codes::SERVER, format!("execution halted: {reason}")),
        CallOutcome::Success { .. } => err(codes::INTERNAL, "unexpected success"),
    }
}

impl Ctx {
    /// The block a state query names, which must be the head.
    fn state_at(&self, id: Option<BlockId>) -> RpcResult<()> {
        let head = self.chain.head_number().map_err(internal)?;
        let ok = match id {
            None => true,
            Some(BlockId::Number(tag)) => match tag {
                BlockNumberOrTag::Latest | BlockNumberOrTag::Pending | BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized => true,
                BlockNumberOrTag::Number(n) => n == head,
                BlockNumberOrTag::Earliest => head == 0,
            },
            Some(BlockId::Hash(h)) => match self.chain.block_by_hash(&h.block_hash).map_err(internal)? {
                Some(b) => b.number == head,
                None => return Err(err(codes::SERVER, format!("header for hash {} not found", h.block_hash))),
            },
        };
        if ok {
            Ok(())
        } else {
            Err(err(codes::SERVER, format!("historical state is not available: this node keeps only the head state (block {head})")))
        }
    }

    fn block_number(&self, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
        let head = self.chain.head_number().map_err(internal)?;
        Ok(match tag {
            BlockNumberOrTag::Latest | BlockNumberOrTag::Pending | BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized => Some(head),
            BlockNumberOrTag::Earliest => Some(0),
            BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
        })
    }

    fn rpc_block(&self, b: Block, full: bool) -> RpcResult<RpcBlock> {
        let header = b.header();
        let transactions = if full {
            let mut txs = Vec::with_capacity(b.transactions.len());
            for h in &b.transactions {
                let (tx, receipt) = self.chain.transaction(h).map_err(internal)?.ok_or_else(|| internal(missing(h)))?;
                txs.push(rpc_tx(tx, Some((&receipt, b.hash, b.timestamp))));
            }
            BlockTransactions::Full(txs)
        } else {
            BlockTransactions::Hashes(b.transactions.clone())
        };
        let size = alloy_rlp::Encodable::length(&header) as u64;
        Ok(RpcBlock {
            header: RpcHeader { hash: b.hash, inner: header, total_difficulty: Some(U256::ZERO), size: Some(U256::from(size)) },
            uncles: vec![],
            transactions,
            withdrawals: None,
        })
    }

    fn rpc_receipt(&self, r: &Receipt) -> RpcResult<TransactionReceipt> {
        let b = self.chain.block(r.block_number).map_err(internal)?.ok_or_else(|| internal(missing(&r.tx_hash)))?;
        let inner = r.envelope_with(rpc_logs(r, &b));
        Ok(TransactionReceipt {
            inner,
            transaction_hash: r.tx_hash,
            transaction_index: Some(r.transaction_index),
            block_hash: Some(b.hash),
            block_number: Some(r.block_number),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            blob_gas_used: None,
            blob_gas_price: None,
            from: r.from,
            to: r.to,
            contract_address: r.contract_address,
        })
    }

    fn call_request(&self, req: TransactionRequest) -> RpcResult<CallRequest> {
        let input = req.input.into_input().unwrap_or_default();
        // gas × price + value must fit in 256 bits (revm assumes it once the
        // balance check is off, as it is for calls)
        let price = req.gas_price.or(req.max_fee_per_gas).unwrap_or(0);
        let gas = req.gas.unwrap_or(self.limits.call_gas_cap).min(self.limits.call_gas_cap);
        let cost = U256::from(gas).checked_mul(U256::from(price)).and_then(|c| c.checked_add(req.value.unwrap_or_default()));
        if cost.is_none() {
            return Err(err(codes::INVALID_PARAMS, "gas × gasPrice + value overflows 256 bits"));
        }
        Ok(CallRequest {
            from: req.from,
            to: match req.to {
                Some(TxKind::Call(a)) => Some(a),
                _ => None,
            },
            gas: req.gas,
            gas_price: req.gas_price.or(req.max_fee_per_gas),
            value: req.value.unwrap_or_default(),
            input,
        })
    }

    fn logs(&self, filter: &Filter) -> RpcResult<Vec<RpcLog>> {
        if filter.address.len() > MAX_FILTER_ADDRESSES || filter.topics.iter().any(|t| t.len() > MAX_FILTER_TOPICS) {
            return Err(err(
                codes::LIMIT_EXCEEDED,
                format!("a filter may name at most {MAX_FILTER_ADDRESSES} addresses and {MAX_FILTER_TOPICS} values per topic position"),
            ));
        }
        let head = self.chain.head_number().map_err(internal)?;
        let (from, to) = match filter.block_option {
            FilterBlockOption::AtBlockHash(h) => match self.chain.block_by_hash(&h).map_err(internal)? {
                Some(b) => (b.number, b.number),
                None => return Err(err(codes::SERVER, format!("unknown block {h}"))),
            },
            FilterBlockOption::Range { from_block, to_block } => {
                let resolve = |t: Option<BlockNumberOrTag>| -> RpcResult<Option<u64>> {
                    Ok(match t {
                        None => Some(head),
                        Some(tag) => self.block_number(tag)?,
                    })
                };
                // a range starting after the head holds no logs yet
                let Some(from) = resolve(from_block)? else { return Ok(vec![]) };
                (from, resolve(to_block)?.unwrap_or(head))
            }
        };
        if from > to {
            return Err(err(codes::INVALID_PARAMS, format!("invalid block range: from {from} is after to {to}")));
        }
        if to - from >= self.limits.max_log_blocks {
            return Err(err(codes::LIMIT_EXCEEDED, format!("query exceeds max block range {}", self.limits.max_log_blocks)));
        }
        let mut out = Vec::new();
        for n in from..=to {
            let b = self.chain.block(n).map_err(internal)?.ok_or_else(|| internal(missing(&B256::ZERO)))?;
            // a block without logs has an empty bloom; one entry per block otherwise
            if b.logs_bloom == alloy_primitives::Bloom::ZERO || !filter.matches_bloom(b.logs_bloom) {
                continue;
            }
            for (tx_hash, tx_index, log_index, l) in self.chain.block_index(n).map_err(internal)?.logs {
                if filter.matches_address(l.address) && filter.matches_topics(l.topics()) {
                    if out.len() >= self.limits.max_logs {
                        return Err(err(codes::LIMIT_EXCEEDED, format!("query returned more than {} results", self.limits.max_logs)));
                    }
                    out.push(rpc_log(&b, tx_hash, tx_index, log_index, l));
                }
            }
        }
        Ok(out)
    }

    fn fee_history(&self, count: u64, newest: BlockNumberOrTag, percentiles: Option<Vec<f64>>) -> RpcResult<FeeHistory> {
        let count = count.min(self.limits.max_fee_history);
        let newest = self.block_number(newest)?.ok_or_else(|| err(codes::INVALID_PARAMS, "newest block is in the future"))?;
        if let Some(p) = &percentiles {
            if p.len() > 100 || p.windows(2).any(|w| w[0] > w[1]) || p.iter().any(|x| !(0.0..=100.0).contains(x)) {
                return Err(err(codes::INVALID_PARAMS, "reward percentiles must be at most 100 ascending values in [0, 100]"));
            }
        }
        let oldest = (newest + 1).saturating_sub(count);
        let base_fee = self.chain.genesis().base_fee as u128;
        let mut h = FeeHistory { oldest_block: oldest, ..Default::default() };
        let mut rewards = Vec::new();
        for n in oldest..=newest {
            if count == 0 {
                break;
            }
            let b = self.chain.block(n).map_err(internal)?.ok_or_else(|| internal(missing(&B256::ZERO)))?;
            h.base_fee_per_gas.push(base_fee);
            h.gas_used_ratio.push(b.gas_used as f64 / b.gas_limit as f64);
            if let Some(p) = &percentiles {
                // tips weighted by gas used, as geth computes them (sorted in the block's index)
                let tips = self.chain.block_index(n).map_err(internal)?.tips;
                let row = p
                    .iter()
                    .map(|pct| {
                        let threshold = (b.gas_used as f64 * pct / 100.0) as u64;
                        let mut acc = 0u64;
                        for (tip, gas) in &tips {
                            acc += gas;
                            if acc >= threshold {
                                return *tip;
                            }
                        }
                        tips.last().map_or(0, |t| t.0)
                    })
                    .collect();
                rewards.push(row);
            }
        }
        // the base fee of the block after the newest (constant on this chain)
        if count > 0 {
            h.base_fee_per_gas.push(base_fee);
        }
        h.reward = percentiles.map(|_| rewards);
        Ok(h)
    }
}

fn missing(h: &B256) -> Error {
    Error::Corrupt { key: format!("{h}"), reason: "indexed entry missing".into() }
}

/// A log as JSON-RPC gives it: with its block, transaction and index.
fn rpc_log(b: &Block, tx_hash: B256, tx_index: u64, log_index: u64, l: alloy_primitives::Log) -> RpcLog {
    RpcLog {
        inner: l,
        block_hash: Some(b.hash),
        block_number: Some(b.number),
        block_timestamp: Some(b.timestamp),
        transaction_hash: Some(tx_hash),
        transaction_index: Some(tx_index),
        log_index: Some(log_index),
        removed: false,
    }
}

fn rpc_logs(r: &Receipt, b: &Block) -> Vec<RpcLog> {
    r.logs.iter().enumerate().map(|(i, l)| rpc_log(b, r.tx_hash, r.transaction_index, r.first_log_index + i as u64, l.clone())).collect()
}

fn rpc_tx(tx: RecoveredTx, mined: Option<(&Receipt, B256, u64)>) -> RpcTransaction {
    let inner = Recovered::new_unchecked(tx.envelope, tx.sender);
    match mined {
        Some((r, block_hash, ts)) => RpcTransaction {
            inner,
            block_hash: Some(block_hash),
            block_number: Some(r.block_number),
            transaction_index: Some(r.transaction_index),
            effective_gas_price: Some(r.effective_gas_price),
            block_timestamp: Some(ts),
        },
        None => RpcTransaction { inner, block_hash: None, block_number: None, transaction_index: None, effective_gas_price: None, block_timestamp: None },
    }
}

macro_rules! method {
    ($m:expr, $name:literal, |$p:ident, $c:ident| $body:expr) => {
        $m.register_method($name, |$p: Params, $c: &Ctx, _| -> RpcResult<_> { $body }).expect("method names are unique");
    };
}

fn module(ctx: Ctx) -> RpcModule<Ctx> {
    let mut m = RpcModule::new(ctx);
    method!(m, "eth_chainId", |_p, c| Ok(U64::from(c.chain.chain_id())));
    method!(m, "net_version", |_p, c| Ok(c.chain.chain_id().to_string()));
    method!(m, "web3_clientVersion", |_p, _c| Ok(CLIENT_VERSION));
    method!(m, "eth_syncing", |_p, _c| Ok(false));
    method!(m, "eth_accounts", |_p, _c| Ok(Vec::<Address>::new()));
    method!(m, "eth_blockNumber", |_p, c| Ok(U64::from(c.chain.head_number().map_err(internal)?)));
    method!(m, "eth_gasPrice", |_p, c| Ok(U256::from(c.chain.genesis().base_fee as u128 + SUGGESTED_TIP)));
    method!(m, "eth_maxPriorityFeePerGas", |_p, _c| Ok(U256::from(SUGGESTED_TIP)));
    method!(m, "eth_getBalance", |p, c| {
        let mut s = p.sequence();
        let a: Address = s.next()?;
        c.state_at(s.optional_next()?)?;
        Ok(c.chain.balance(a).map_err(internal)?)
    });
    method!(m, "eth_getTransactionCount", |p, c| {
        let mut s = p.sequence();
        let a: Address = s.next()?;
        let id: Option<BlockId> = s.optional_next()?;
        c.state_at(id)?;
        let n = match id {
            Some(BlockId::Number(BlockNumberOrTag::Pending)) => c.chain.nonce(a),
            _ => c.chain.state_nonce(a),
        };
        Ok(U64::from(n.map_err(internal)?))
    });
    method!(m, "eth_getCode", |p, c| {
        let mut s = p.sequence();
        let a: Address = s.next()?;
        c.state_at(s.optional_next()?)?;
        Ok(c.chain.code(a).map_err(internal)?)
    });
    method!(m, "eth_getStorageAt", |p, c| {
        let mut s = p.sequence();
        let a: Address = s.next()?;
        let slot: U256 = s.next()?;
        c.state_at(s.optional_next()?)?;
        Ok(B256::from(c.chain.storage(a, slot).map_err(internal)?))
    });
    method!(m, "eth_sendRawTransaction", |p, c| {
        let raw: Bytes = p.one()?;
        c.chain.submit(&raw).map_err(submit_error)
    });
    method!(m, "eth_getTransactionByHash", |p, c| {
        let h: B256 = p.one()?;
        if let Some((tx, r)) = c.chain.transaction(&h).map_err(internal)? {
            let b = c.chain.block(r.block_number).map_err(internal)?.ok_or_else(|| internal(missing(&h)))?;
            return Ok(Some(rpc_tx(tx, Some((&r, b.hash, b.timestamp)))));
        }
        Ok(c.chain.pending_transaction(&h).map(|t| rpc_tx(t, None)))
    });
    method!(m, "eth_getTransactionReceipt", |p, c| {
        let h: B256 = p.one()?;
        match c.chain.receipt(&h).map_err(internal)? {
            Some(r) => Ok(Some(c.rpc_receipt(&r)?)),
            None => Ok(None),
        }
    });
    method!(m, "eth_getBlockByNumber", |p, c| {
        let mut s = p.sequence();
        let tag: BlockNumberOrTag = s.next()?;
        let full: bool = s.optional_next()?.unwrap_or(false);
        let Some(n) = c.block_number(tag)? else { return Ok(None) };
        match c.chain.block(n).map_err(internal)? {
            Some(b) => Ok(Some(c.rpc_block(b, full)?)),
            None => Ok(None),
        }
    });
    method!(m, "eth_getBlockByHash", |p, c| {
        let mut s = p.sequence();
        let h: B256 = s.next()?;
        let full: bool = s.optional_next()?.unwrap_or(false);
        match c.chain.block_by_hash(&h).map_err(internal)? {
            Some(b) => Ok(Some(c.rpc_block(b, full)?)),
            None => Ok(None),
        }
    });
    method!(m, "eth_getLogs", |p, c| {
        let f: Filter = p.one()?;
        c.logs(&f)
    });
    method!(m, "eth_feeHistory", |p, c| {
        let mut s = p.sequence();
        let count: U64 = s.next()?;
        let newest: BlockNumberOrTag = s.next()?;
        let pct: Option<Vec<f64>> = s.optional_next()?;
        c.fee_history(count.to::<u64>(), newest, pct)
    });
    m.register_async_method("eth_call", |p, c, _| async move {
        let (req, id) = parse_call(&p)?;
        c.state_at(id)?;
        let req = c.call_request(req)?;
        // first in place within a small budget, on any worker: a handoff
        // costs more than a typical call
        let bounded = match c.inline_bounded.try_acquire() {
            Ok(_permit) => c.chain.call_within(&req, c.limits.call_gas_cap, c.limits.inline_call_gas).map_err(map_call_error)?,
            Err(_) => None,
        };
        let out = match bounded {
            Some(out) => out,
            None => run_limited(&c, move |chain, cap| chain.call(&req, cap)).await?,
        };
        match out {
            CallOutcome::Success { output, .. } => Ok(output),
            failure => Err(call_error(failure)),
        }
    })
    .expect("unique");
    m.register_async_method("eth_estimateGas", |p, c, _| async move {
        let (req, id) = parse_call(&p)?;
        c.state_at(id)?;
        let req = c.call_request(req)?;
        match run_limited(&c, move |chain, cap| chain.estimate_gas(&req, cap)).await? {
            Ok(gas) => Ok(U64::from(gas)),
            Err(failure) => Err(call_error(failure)),
        }
    })
    .expect("unique");
    m
}

fn parse_call(p: &Params<'static>) -> RpcResult<(TransactionRequest, Option<BlockId>)> {
    let mut s = p.sequence();
    let req: TransactionRequest = s.next()?;
    let id: Option<BlockId> = s.optional_next()?;
    Ok((req, id))
}

fn map_call_error(e: Error) -> ErrorObjectOwned {
    match e {
        Error::InvalidTransaction(m) => err(codes::SERVER, m),
        other => internal(other),
    }
}

/// Run a call within the gas cap and the time limit. Up to one call per
/// runtime worker but one runs in place (a handoff to another thread costs
/// more than a typical call; in place, the time limit is checked when it
/// returns); more go to blocking threads, at most `max_concurrent_calls`
/// at once — an abandoned one (past the time limit) keeps its slot until it
/// ends.
async fn run_limited<T: Send + 'static>(
    c: &Arc<Ctx>,
    f: impl FnOnce(&Chain, u64) -> crate::Result<T> + Send + 'static,
) -> RpcResult<T> {
    let timeout = Duration::from_millis(c.limits.call_timeout_ms);
    if let Ok(_inline) = c.inline.try_acquire() {
        let started = std::time::Instant::now();
        let r = f(&c.chain, c.limits.call_gas_cap);
        if started.elapsed() > timeout {
            return Err(err(codes::LIMIT_EXCEEDED, format!("execution timeout: exceeded {} ms", c.limits.call_timeout_ms)));
        }
        return r.map_err(map_call_error);
    }
    let permit = tokio::time::timeout(timeout, c.calls.clone().acquire_owned())
        .await
        .map_err(|_| err(codes::LIMIT_EXCEEDED, "too many calls in flight; try again"))?
        .map_err(|_| err(codes::INTERNAL, "shutting down"))?;
    let chain = c.chain.clone();
    let cap = c.limits.call_gas_cap;
    // the permit goes with the job: an abandoned call still counts until it ends
    let job = tokio::task::spawn_blocking(move || {
        let r = f(&chain, cap);
        drop(permit);
        r
    });
    match tokio::time::timeout(timeout, job).await {
        Err(_) => Err(err(codes::LIMIT_EXCEEDED, format!("execution timeout: exceeded {} ms", c.limits.call_timeout_ms))),
        Ok(Err(join)) => Err(err(codes::INTERNAL, format!("call failed: {join}"))),
        Ok(Ok(r)) => r.map_err(map_call_error),
    }
}

/// Start the JSON-RPC server on `addr`; returns its bound address and a
/// handle that stops it.
pub async fn serve(chain: Arc<Chain>, addr: SocketAddr, limits: RpcLimits) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .http_only()
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    let calls = Arc::new(tokio::sync::Semaphore::new(limits.max_concurrent_calls.max(1)));
    // in place on all workers but one: a slow call never holds them all
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    let inline = tokio::sync::Semaphore::new(workers.saturating_sub(1));
    let inline_bounded = tokio::sync::Semaphore::new(workers.max(1));
    let handle = server.start(module(Ctx { chain, limits, calls, inline, inline_bounded }));
    Ok((bound, handle))
}
