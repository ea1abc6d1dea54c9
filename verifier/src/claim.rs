//! Attribution claims: what a prover submits and an auditor checks.

use crate::{Error, Result};
use alloy_primitives::{Address, B256};
use lineage_circuits::PublicInputs;
use lineage_core::{
    field::{fr_from_hex, fr_to_hex, Fr},
    payout::{self, Payout},
};
use serde::{Deserialize, Serialize};

/// Bundle file format tag and version.
pub const BUNDLE_FORMAT: &str = "lineage-proof-bundle";
pub const BUNDLE_VERSION: u32 = 1;

/// An attribution claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// keccak256 of the verifying-key file the proof is for.
    pub vk_hash: B256,
    pub datanet_root: Fr,
    pub model_commitment: Fr,
    pub query_commitment: Fr,
    pub predicted_class: u64,
    pub window_index: u64,
    pub pool_wei: u128,
    /// Ascending by contributor; sums to `pool_wei`.
    pub payouts: Vec<Payout>,
    pub proof: Vec<u8>,
}

/// A claim whose proof verified.
#[derive(Clone, Debug)]
pub struct VerifiedClaim {
    pub claim: Claim,
    pub public_inputs: PublicInputs,
}

impl Claim {
    /// Check the payout list's own rules (order, count, sum).
    pub fn check_payouts(&self, slots: usize) -> Result<()> {
        if self.payouts.len() > slots {
            return Err(Error::TooManyPayouts { found: self.payouts.len(), slots });
        }
        let ascending = self.payouts.windows(2).all(|w| w[0].contributor < w[1].contributor);
        if !ascending || self.payouts.iter().any(|p| p.contributor == Address::ZERO) {
            return Err(Error::PayoutOrder);
        }
        let sum = self.payouts.iter().try_fold(0u128, |acc, p| acc.checked_add(p.amount_wei));
        match sum {
            Some(s) if s == self.pool_wei => Ok(()),
            _ => Err(Error::PayoutSum { sum: sum.unwrap_or(u128::MAX), pool: self.pool_wei }),
        }
    }

    /// The public inputs this claim asserts (payout commitment recomputed).
    pub fn public_inputs(&self, slots: usize) -> Result<PublicInputs> {
        Ok(PublicInputs {
            datanet_root: self.datanet_root,
            model_commitment: self.model_commitment,
            query_commitment: self.query_commitment,
            predicted_class: self.predicted_class,
            payout_commitment: payout::commitment(self.pool_wei, &self.payouts, slots)?,
            window_index: self.window_index,
        })
    }
}

/// Largest proof bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 1 << 20;

/// The JSON proof bundle an auditor receives.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimBundle {
    pub format: String,
    pub version: u32,
    pub vk_hash: String,
    pub datanet_root: String,
    pub model_commitment: String,
    pub query_commitment: String,
    pub predicted_class: u64,
    pub window_index: u64,
    pub pool_wei: String,
    pub payouts: Vec<Payout>,
    pub proof: String,
}

impl ClaimBundle {
    pub fn from_claim(c: &Claim) -> Self {
        Self {
            format: BUNDLE_FORMAT.into(),
            version: BUNDLE_VERSION,
            vk_hash: c.vk_hash.to_string(),
            datanet_root: fr_to_hex(&c.datanet_root),
            model_commitment: fr_to_hex(&c.model_commitment),
            query_commitment: fr_to_hex(&c.query_commitment),
            predicted_class: c.predicted_class,
            window_index: c.window_index,
            pool_wei: c.pool_wei.to_string(),
            payouts: c.payouts.clone(),
            proof: format!("0x{}", hex::encode(&c.proof)),
        }
    }

    /// Parse and check the bundle (format, version, canonical encodings).
    pub fn to_claim(&self) -> Result<Claim> {
        if self.format != BUNDLE_FORMAT {
            return Err(Error::malformed("proof bundle", format!("format {:?}", self.format)));
        }
        if self.version != BUNDLE_VERSION {
            return Err(Error::Version { what: "proof bundle", found: self.version, expected: BUNDLE_VERSION });
        }
        let fr = |what: &'static str, s: &str| {
            fr_from_hex(s).map_err(|e| match e {
                lineage_core::Error::NonCanonicalField => Error::NonCanonical(what),
                e => Error::malformed(what, e),
            })
        };
        let proof_hex = self.proof.strip_prefix("0x").unwrap_or(&self.proof);
        if proof_hex.len() > 2 * crate::MAX_PROOF_BYTES {
            return Err(Error::malformed("proof", format!("longer than {} bytes", crate::MAX_PROOF_BYTES)));
        }
        Ok(Claim {
            vk_hash: self.vk_hash.parse().map_err(|e| Error::malformed("vk_hash", e))?,
            datanet_root: fr("datanet_root", &self.datanet_root)?,
            model_commitment: fr("model_commitment", &self.model_commitment)?,
            query_commitment: fr("query_commitment", &self.query_commitment)?,
            predicted_class: self.predicted_class,
            window_index: self.window_index,
            pool_wei: self.pool_wei.parse().map_err(|e| Error::malformed("pool_wei", e))?,
            payouts: self.payouts.clone(),
            proof: hex::decode(proof_hex).map_err(|e| Error::malformed("proof", e))?,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("bundle serialises")
    }

    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > MAX_BUNDLE_BYTES {
            return Err(Error::malformed("proof bundle", format!("{} bytes exceeds the {MAX_BUNDLE_BYTES}-byte maximum", text.len())));
        }
        serde_json::from_str(text).map_err(|e| Error::malformed("proof bundle", e))
    }
}
