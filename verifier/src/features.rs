//! Binding a per-query key to its proven feature table.
//!
//! The feature table is a fixed column of both the feature-chunk circuits
//! and the per-query circuit, so its KZG commitment sits in their verifying
//! keys. Each chunk proof shows its key's column is the table on the chunk's
//! rows and zero elsewhere; commitments are additive, so the per-query key
//! holds the proven table exactly when its feature commitment is the sum of
//! the chunk keys' ones. This is checked once, when a per-query key is
//! registered, never per claim.

use crate::{Error, Result};
use lineage_circuits::{
    halo2_proofs::{
        halo2curves::{bn256::G1, group::Curve},
        plonk::VerifyingKey,
    },
    G1Affine,
};

/// The commitment of fixed column `index` of `vk`.
pub fn feature_commitment(vk: &VerifyingKey<G1Affine>, index: usize) -> Result<G1Affine> {
    vk.fixed_commitments()
        .get(index)
        .copied()
        .ok_or_else(|| Error::KeyBounds(format!("key has {} fixed commitments, no column {index}", vk.fixed_commitments().len())))
}

/// Check that `query`'s feature commitment (its fixed column at the given
/// index) is the sum of the `chunks`' ones.
pub fn check_feature_commitments(query: (&VerifyingKey<G1Affine>, usize), chunks: &[(&VerifyingKey<G1Affine>, usize)]) -> Result<()> {
    let mut sum = G1::default();
    for (vk, index) in chunks {
        sum += feature_commitment(vk, *index)?;
    }
    if sum.to_affine() != feature_commitment(query.0, query.1)? {
        return Err(Error::FeatureCommitmentMismatch { chunks: chunks.len() });
    }
    Ok(())
}
