//! The Lineage L1: an EVM chain on revm with RocksDB state, OPEN as the
//! native gas token, and the attribution precompile that verifies halo2
//! proofs and pays contributors.
//!
//! ```text
//!  signed EIP-1559 tx ──► Chain::submit ──► Chain::mine ──► revm (+ precompiles)
//!                                                   │
//!                                       RocksDB: accounts, code, storage,
//!                                       blocks, receipts (one atomic batch)
//! ```

mod error;
pub mod genesis;
pub mod node;
pub mod pool;
pub mod precompile;
pub mod rpc;
pub mod service;
pub mod store;
pub mod tx;

pub use error::{Error, Result};
pub use genesis::{dev_signers, Genesis, DEV_MNEMONIC};
pub use node::{Block, CallOutcome, CallRequest, Chain, Receipt};
pub use pool::{PoolConfig, PoolError};
pub use precompile::attribution::ADDRESS as ATTRIBUTION_PRECOMPILE;
pub use precompile::registry::ADDRESS as REGISTRY_PRECOMPILE;
pub use precompile::staking::ADDRESS as STAKING_PRECOMPILE;
pub use precompile::governance::ADDRESS as GOVERNANCE_PRECOMPILE;
