/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors building a circuit input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Core(#[from] lineage_core::Error),
    #[error("input does not fit the circuit shape: {0}")]
    Shape(String),
}
