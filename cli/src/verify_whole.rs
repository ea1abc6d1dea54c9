//! `lineage verify-whole` — an auditor re-checks a whole-datanet claim.
//!
//! Nothing in the files is trusted until pinned: the verifier parameters by
//! `--params-hash`, the per-query key by `--query-key-hash` (the hash the
//! chain's `wholeKeyOf` returns). With `--features`, the feature proof is
//! re-checked as the chain's registration does (every chunk proof, coverage
//! of the datanet version, the key's feature commitments), accepting only
//! key templates given with `--allow-template` (take them from the chain's
//! allowlist, `isKeyAllowed`). Then the claim's proof is verified and the
//! fee split over the proven totals, with `Verifier::verify_whole_claim` —
//! the chain's own check.

use crate::verify::{read_bounded, rejected};
use alloy_primitives::B256;
use clap::Args;
use eyre::bail;
use lineage_verifier::{
    feature_file::MAX_FEATURE_PROOF_BYTES, table_keys::MAX_TABLE_VK_FILE_BYTES, whole_claim::MAX_WHOLE_CLAIM_BYTES, FeatureProofFile,
    TableKeyFile, TableKind, Verifier, WholeClaimBundle, PARAMS_BYTES,
};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VerifyWholeArgs {
    /// The claim (`lineage-whole-claim` JSON).
    #[arg(long)]
    pub claim: PathBuf,
    /// The per-query verifying-key file (`lineage-table-vk`).
    #[arg(long)]
    pub query_key: PathBuf,
    /// keccak256 of the per-query key you trust (the chain's `wholeKeyOf`).
    #[arg(long)]
    pub query_key_hash: B256,
    /// Verifier parameters (`LNVPARAM` file).
    #[arg(long)]
    pub params: PathBuf,
    /// keccak256 of the verifier parameters you trust (the chain's genesis).
    #[arg(long)]
    pub params_hash: B256,
    /// Re-check this feature proof (`lineage-feature-proof` JSON) against
    /// the per-query key, as the chain's registration does.
    #[arg(long, requires = "allow_template")]
    pub features: Option<PathBuf>,
    /// keccak256 of the feature-proof file you trust; any other is refused.
    #[arg(long, requires = "features")]
    pub features_hash: Option<B256>,
    /// A key template hash you accept (repeat for each; from the chain's allowlist).
    #[arg(long = "allow-template", requires = "features")]
    pub allow_template: Vec<B256>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: VerifyWholeArgs) -> eyre::Result<()> {
    let params = read_bounded(&a.params, PARAMS_BYTES, "verifier parameters")?;
    let base = Verifier::from_pinned_bytes(&params, &a.params_hash).map_err(rejected)?;
    let key_bytes = read_bounded(&a.query_key, MAX_TABLE_VK_FILE_BYTES, "per-query key")?;
    if alloy_primitives::keccak256(&key_bytes) != a.query_key_hash {
        return Err(rejected(format!("per-query key {} is not the pinned {}", a.query_key.display(), a.query_key_hash)));
    }
    // the key names its k; its parameters are the pinned SRS at that k
    let k = key_k(&key_bytes)?;
    let verifier = base.with_k(k).map_err(rejected)?;
    let key = TableKeyFile::from_pinned_bytes(&key_bytes, &a.query_key_hash, k, &verifier.params_hash()).map_err(rejected)?;
    let TableKind::Query(shape) = key.kind else {
        return Err(rejected("the key is not a per-query key"));
    };

    let mut examples = None;
    if let Some(path) = &a.features {
        let bytes = read_bounded(path, MAX_FEATURE_PROOF_BYTES, "feature proof")?;
        let file = match &a.features_hash {
            Some(h) => FeatureProofFile::from_pinned_bytes(&bytes, h, k, &verifier.params_hash()),
            None => FeatureProofFile::from_bytes(&bytes, k, &verifier.params_hash()),
        }
        .map_err(rejected)?;
        file.check(&verifier, |h| a.allow_template.contains(h), &key).map_err(rejected)?;
        println!(
            "features {} examples of datanet {} under model {}: {} chunk proofs verified, the key holds their table",
            file.examples,
            lineage_core::field::fr_to_hex(&file.datanet_root),
            lineage_core::field::fr_to_hex(&file.model_commitment),
            file.chunks.len()
        );
        examples = Some(file.examples);
    }

    let bytes = read_bounded(&a.claim, MAX_WHOLE_CLAIM_BYTES, "claim")?;
    let (bundle, claim) = WholeClaimBundle::from_bytes(&bytes).map_err(rejected)?;
    if bundle.query_key_hash != a.query_key_hash {
        return Err(rejected(format!("the claim names per-query key {}, not the pinned {}", bundle.query_key_hash, a.query_key_hash)));
    }
    let payouts = verifier.verify_whole_claim(&key, &claim).map_err(rejected)?;
    let paid: u128 = payouts.iter().map(|p| p.amount_wei).sum();
    if a.json {
        let j = serde_json::json!({
            "verified": true,
            "request_id": claim.request_id.to_string(),
            "predicted_class": claim.predicted_class,
            "segments": claim.segments.len(),
            "capacity": shape.capacity,
            "examples_covered": examples,
            "contributors_paid": payouts.len(),
            "pool_wei": claim.pool_wei.to_string(),
            "paid_wei": paid.to_string(),
            "payouts": payouts,
        });
        println!("{j}");
    } else {
        println!(
            "VERIFIED whole-datanet claim for request {}: class {}, {} contributor segments, {} paid {} of {} wei",
            claim.request_id,
            claim.predicted_class,
            claim.segments.len(),
            payouts.len(),
            paid,
            claim.pool_wei
        );
        let mut top = payouts.clone();
        top.sort_by_key(|p| std::cmp::Reverse(p.amount_wei));
        for p in top.iter().take(5) {
            println!("    {}  {:>24} wei", p.contributor, p.amount_wei);
        }
        println!("  pinned   verifier parameters {}, per-query key {}", a.params_hash, a.query_key_hash);
    }
    if paid != claim.pool_wei {
        bail!("REJECTED: the split pays {paid} of {} wei", claim.pool_wei);
    }
    Ok(())
}

/// The `k` a table-key file names (its shape's), read before the key is parsed.
fn key_k(bytes: &[u8]) -> eyre::Result<u32> {
    #[derive(serde::Deserialize)]
    struct Probe {
        kind: TableKind,
    }
    let p: Probe = serde_json::from_slice(bytes).map_err(|e| rejected(format!("per-query key: {e}")))?;
    Ok(p.kind.k())
}
