//! The node: a single sequencer that produces a block every `block_time`
//! from the pool, and the JSON-RPC server, until told to stop.
//!
//! Every block is committed atomically (state, header, transactions and
//! receipts in one synced RocksDB batch), so a node killed at any point
//! restarts from its last committed block; a transaction a client saw a
//! receipt for is on disk. Transactions still in the pool are lost on a
//! stop, as in geth without a journal: clients resubmit them.

use crate::{rpc::RpcLimits, Chain, PoolConfig, Result};
use serde::{Deserialize, Serialize};
use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Node configuration (TOML; every field has a default).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// The chain's data directory (RocksDB).
    pub datadir: Option<PathBuf>,
    /// Where the JSON-RPC server listens.
    pub http_addr: SocketAddr,
    /// Time between blocks, ms. A block is produced every period, empty or
    /// not, as on a slot-based chain: clients (ethers' `wait()`, for one)
    /// re-check a receipt only when a new block appears.
    pub block_time_ms: u64,
    pub pool: PoolConfig,
    pub rpc: RpcLimits,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            datadir: None,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            block_time_ms: 2_000,
            pool: PoolConfig::default(),
            rpc: RpcLimits::default(),
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// A started node: its RPC address, and what [`RunningNode::stop`] needs.
pub struct RunningNode {
    pub addr: SocketAddr,
    pub chain: Arc<Chain>,
    handle: jsonrpsee::server::ServerHandle,
    stop_tx: std::sync::mpsc::Sender<()>,
    producer: std::thread::JoinHandle<Result<()>>,
    /// Resolves when the producer thread ends (it only ends on a stop or an error).
    ended: tokio::sync::oneshot::Receiver<()>,
}

/// Start serving `chain` and producing blocks. Blocks are produced on a
/// thread of their own, so no load on the RPC server delays them.
pub async fn start(chain: Arc<Chain>, config: &NodeConfig) -> std::io::Result<RunningNode> {
    let (addr, handle) = crate::rpc::serve(chain.clone(), config.http_addr, config.rpc.clone()).await?;
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    let period = Duration::from_millis(config.block_time_ms.max(1));
    let c = chain.clone();
    let producer = std::thread::Builder::new().name("lineage-producer".into()).spawn(move || {
        let r = (|| {
            let mut next = std::time::Instant::now() + period;
            loop {
                let wait = next.saturating_duration_since(std::time::Instant::now());
                match stop_rx.recv_timeout(wait) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    // a stop (or the node dropped): the last block has committed
                    _ => return Ok(()),
                }
                // a block in production always finishes before a stop is seen
                let (block, receipts) = c.mine_at(now_secs())?;
                tracing::info!(number = block.number, txs = receipts.len(), gas = block.gas_used, "block");
                next = (next + period).max(std::time::Instant::now());
            }
        })();
        let _ = ended_tx.send(());
        r
    })?;
    Ok(RunningNode { addr, chain, handle, stop_tx, producer, ended })
}

impl RunningNode {
    /// Stop accepting requests, let the block in production commit, and
    /// return once everything has stopped.
    pub async fn stop(self) -> Result<()> {
        let _ = self.handle.stop();
        self.handle.stopped().await;
        let _ = self.stop_tx.send(());
        let producer = self.producer;
        tokio::task::spawn_blocking(move || producer.join())
            .await
            .map_err(|e| crate::Error::Evm(format!("block producer: {e}")))?
            .map_err(|_| crate::Error::Evm("block producer panicked".into()))?
    }

    /// Run until `shutdown` resolves (or block production fails), then stop.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        tokio::select! {
            _ = shutdown => {}
            _ = &mut self.ended => {}
        }
        self.stop().await
    }
}
