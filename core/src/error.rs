//! Errors of the shared crate.

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in native reference arithmetic and formats.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid datanet file: {0}")]
    DatanetFormat(String),
    #[error("unsupported {what} version {found} (this build reads version {expected})")]
    Version { what: &'static str, found: u32, expected: u32 },
    #[error("contribution {index}: {reason}")]
    Contribution { index: usize, reason: String },
    #[error("licence tag {0:?} is not 1..=31 printable ASCII bytes")]
    Licence(String),
    #[error("value {value} does not fit the fixed-point range [{min}, {max}] ({what})")]
    FixedPointRange { what: &'static str, value: f64, min: i64, max: i64 },
    #[error("field element is not canonical (not below the BN254 scalar modulus)")]
    NonCanonicalField,
    #[error("expected {expected} bytes, found {found}")]
    Length { expected: usize, found: usize },
    #[error("invalid hex: {0}")]
    Hex(String),
    #[error("batch [{start}, {end}) is not an aligned window of a datanet with {len} contributions")]
    Window { start: usize, end: usize, len: usize },
    #[error("batch has {found} distinct contributors but the circuit has {slots} payout slots")]
    TooManyContributors { found: usize, slots: usize },
    #[error("no contributor's net influence on this query is positive; nothing to pay")]
    NoPositiveInfluence,
    #[error("reward pool {0} wei exceeds the 2^128 - 1 wei bound of the payout specification")]
    PoolTooLarge(u128),
    #[error("payout tree: {0}")]
    PayoutTree(String),
    #[error("invalid segment list: {0}")]
    Segments(String),
    #[error("model shape mismatch: {0}")]
    ModelShape(String),
    #[error("example {0}'s influence score overflows 128 bits")]
    ScoreOverflow(usize),
    #[error("linear system: {0}")]
    LinearSystem(#[from] crate::linear::LinearError),
    #[error("io error on {path}: {source}")]
    Io { path: String, #[source] source: std::io::Error },
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
}
