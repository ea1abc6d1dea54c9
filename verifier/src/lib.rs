//! Independent verification of Lineage attribution proofs.
//!
//! What an auditor runs: load the compact KZG verifier parameters and a
//! verifying key, then check a proof bundle or an on-chain claim. Nothing
//! here depends on prover code. Verification returns `Ok(VerifiedClaim)` or a
//! typed [`Error`] saying why the claim is rejected.

mod claim;
mod error;
mod keys;
mod report;

pub use claim::{Claim, ClaimBundle, VerifiedClaim, BUNDLE_FORMAT, BUNDLE_VERSION};
pub use error::{Error, Result};
pub use keys::{verify_proof, VerifierParams, VerifyingKeyFile, VK_FORMAT, VK_VERSION};
pub use report::ProvenanceReport;

/// KZG parameters over BN254, as the verifier uses them.
pub type KzgParams = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<lineage_circuits::Bn256>;
