//! Independent verification of Lineage attribution proofs.
//!
//! What an auditor runs: load the compact KZG verifier parameters and a
//! verifying key — each pinned by its keccak256 hash, never trusted because
//! a prover handed them over — then check a proof bundle or an on-chain
//! claim. Nothing here depends on prover code. Verification returns `Ok(VerifiedClaim)` or a
//! typed [`Error`] saying why the claim is rejected.

mod claim;
mod error;
pub mod feature_file;
pub mod features;
mod keys;
mod pinned;
mod report;
pub mod table_keys;
pub mod whole_claim;

pub use claim::{Claim, ClaimBundle, VerifiedClaim, BUNDLE_FORMAT, BUNDLE_VERSION, MAX_BUNDLE_BYTES};
pub use error::{Error, Result};
pub use keys::{
    check_columns, VerifierParams, VerifyingKeyFile, MAX_ADVICE_COLUMNS, MAX_FIXED_COLUMNS, MAX_LOOKUP_ADVICE_COLUMNS, MAX_VK_FILE_BYTES,
    PARAMS_BYTES, PARAMS_VERSION, VK_FORMAT, VK_VERSION,
};
pub use pinned::{KzgParams, Verifier, MAX_PROOF_BYTES};
pub use report::ProvenanceReport;
pub use feature_file::FeatureProofFile;
pub use table_keys::{TableKeyFile, TableKind};
pub use whole_claim::{WholeClaim, WholeClaimBundle};

pub use lineage_circuits::{
    chunk::ChunkPublic,
    query::{QueryPublic, MAX_CAPACITY},
    CircuitShape, MAX_K, MAX_SLOTS,
};
