/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a claim, key or parameter file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("unsupported {what} version {found} (this build reads version {expected})")]
    Version { what: &'static str, found: u32, expected: u32 },
    #[error("non-canonical field element in {0} (value ≥ the BN254 scalar modulus)")]
    NonCanonical(&'static str),
    #[error("the proof does not verify against this verifying key and these public inputs: {0}")]
    ProofRejected(String),
    #[error("proof has {extra} trailing bytes after the transcript")]
    TrailingBytes { extra: usize },
    #[error("verifying key hash {found} is not the pinned key hash {expected}; refusing it")]
    VkMismatch { expected: String, found: String },
    #[error("verifier parameters hash {found} is not the pinned hash {expected}; refusing them (take the parameters whose hash genesis or your trusted source states)")]
    ParamsNotPinned { expected: alloy_primitives::B256, found: alloy_primitives::B256 },
    #[error("the verifying key is for verifier parameters {found}, not the pinned parameters {expected}")]
    KeyForOtherParams { expected: alloy_primitives::B256, found: alloy_primitives::B256 },
    #[error("verifying key out of bounds: {0}")]
    KeyBounds(String),
    #[error("payouts sum to {sum} wei but the pool is {pool} wei")]
    PayoutSum { sum: u128, pool: u128 },
    #[error("claim has {found} payouts but the circuit has {slots} slots")]
    TooManyPayouts { found: usize, slots: usize },
    #[error("payout contributors are not in strictly ascending address order")]
    PayoutOrder,
    #[error("the per-query key's feature commitment is not the sum of the {chunks} feature-chunk keys' ones: the key does not hold the proven feature table")]
    FeatureCommitmentMismatch { chunks: usize },
    #[error("key template {0} is not allowlisted (not an audited circuit shape)")]
    TemplateNotAllowed(alloy_primitives::B256),
    #[error("feature chunks do not cover the datanet version: {0}")]
    ChunkCoverage(String),
    #[error(transparent)]
    Core(#[from] lineage_core::Error),
    #[error("io error on {path}: {source}")]
    Io { path: String, #[source] source: std::io::Error },
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> Self {
        Error::Malformed { what, reason: reason.to_string() }
    }
}
