/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Chain errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("on-disk format version {found} is not the version {expected} this build uses; refusing to open {path}")]
    FormatVersion { path: String, found: u32, expected: u32 },
    #[error("the data directory {0} holds no chain; initialise it with a genesis first")]
    NotInitialised(String),
    #[error("the data directory {0} already holds a chain")]
    AlreadyInitialised(String),
    #[error("corrupt state entry {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),
    #[error("transaction is for chain id {found}, this chain is {expected}")]
    WrongChainId { found: u64, expected: u64 },
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
    #[error("insufficient funds for gas * price + value: balance {have}, tx cost {want}")]
    InsufficientFunds { have: alloy_primitives::U256, want: alloy_primitives::U256 },
    #[error("replay: {0}")]
    Replay(String),
    #[error("evm: {0}")]
    Evm(String),
    #[error("signer: {0}")]
    Signer(String),
    #[error("escrow invariant broken: open request fees sum to {open_fees}, running total {total}, precompile balance {balance}")]
    EscrowInvariant { open_fees: alloy_primitives::U256, total: alloy_primitives::U256, balance: alloy_primitives::U256 },
    #[error("owed-payout invariant broken: unreleased payouts {owed}, owed total {total} (at request {request})")]
    OwedInvariant { owed: alloy_primitives::U256, total: alloy_primitives::U256, request: alloy_primitives::U256 },
    #[error("staking invariant broken: {0}")]
    StakingInvariant(String),
    #[error("invalid genesis: {0}")]
    InvalidGenesis(String),
    #[error(transparent)]
    Verifier(#[from] lineage_verifier::Error),
}

impl revm::database_interface::DBErrorMarker for Error {}
