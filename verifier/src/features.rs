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

/// Check that `query`'s feature commitments (its fixed columns at the given
/// indices) are the sums of the `chunks`' ones, column by column.
pub fn check_feature_commitments(query: (&VerifyingKey<G1Affine>, &[usize]), chunks: &[(&VerifyingKey<G1Affine>, &[usize])]) -> Result<()> {
    for (c, q_index) in query.1.iter().enumerate() {
        let mut sum = G1::default();
        for (vk, indices) in chunks {
            let index = indices.get(c).ok_or_else(|| Error::KeyBounds(format!("chunk key lists no feature column {c}")))?;
            sum += feature_commitment(vk, *index)?;
        }
        if sum.to_affine() != feature_commitment(query.0, *q_index)? {
            return Err(Error::FeatureCommitmentMismatch { chunks: chunks.len() });
        }
    }
    Ok(())
}

/// [`check_feature_commitments`] over parsed table-key files: `query` must
/// be a per-query key and `chunks` its datanet's chunk keys, in order.
pub fn check_table_keys(query: &crate::TableKeyFile, chunks: &[crate::TableKeyFile]) -> Result<()> {
    if !matches!(query.kind, crate::TableKind::Query(_)) {
        return Err(Error::KeyBounds("not a per-query key".into()));
    }
    for (j, c) in chunks.iter().enumerate() {
        match c.kind {
            crate::TableKind::Chunk(s) if s.index == j => {}
            _ => return Err(Error::KeyBounds(format!("key {j} is not chunk {j}"))),
        }
    }
    let q = query.feature_indices();
    let idx: Vec<_> = chunks.iter().map(|c| c.feature_indices()).collect();
    let list: Vec<_> = chunks.iter().zip(&idx).map(|(c, i)| (&c.vk, &i[..])).collect();
    check_feature_commitments((&query.vk, &q[..]), &list)
}

/// Check that chunk public inputs `chunks` (in order) cover a datanet
/// version with root `root` and `n` examples under model `model`, in chunks
/// of `size`: one chunk per window, every one naming `model`, `active` equal
/// to the window's real examples, consecutive chunks agreeing on the
/// contributor at their boundary (the last naming none), and the subtree
/// roots hashing up to `root`.
pub fn check_chunks(root: lineage_circuits::Fr, n: usize, model: lineage_circuits::Fr, size: usize, chunks: &[lineage_circuits::chunk::ChunkPublic]) -> Result<()> {
    let bad = |r: String| Err(Error::ChunkCoverage(r));
    if n == 0 || size == 0 || chunks.len() != n.div_ceil(size) {
        return bad(format!("{} chunks of {size} for {n} examples", chunks.len()));
    }
    for (j, c) in chunks.iter().enumerate() {
        if c.model_commitment != model {
            return bad(format!("chunk {j} is for another model"));
        }
        let expected = size.min(n - j * size) as u64;
        if c.active != expected {
            return bad(format!("chunk {j} covers {} examples, the version has {expected} there", c.active));
        }
        let next = chunks.get(j + 1).map(|d| d.first_contributor).unwrap_or(lineage_circuits::Fr::zero());
        if c.next_contributor != next {
            return bad(format!("chunk {j} names another next contributor than chunk {} starts with", j + 1));
        }
    }
    let roots: Vec<_> = chunks.iter().map(|c| c.subtree_root).collect();
    if !lineage_core::merkle::chunks_match_root(root, n, size, &roots) {
        return bad("the chunks' subtree roots do not hash up to the datanet root".into());
    }
    Ok(())
}
