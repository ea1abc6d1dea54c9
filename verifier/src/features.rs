//! Binding a per-query key to its proven feature table.
//!
//! The feature table is a fixed column of both the feature-chunk circuits
//! and the per-query circuit, so its KZG commitment sits in their verifying
//! keys. Each chunk proof shows its key's column is the table on the chunk's
//! rows and zero elsewhere; commitments are additive, so the per-query key
//! holds the proven table exactly when its feature commitment is the sum of
//! the chunk keys' ones. This is checked once, when a per-query key is
//! registered, never per claim.

use crate::{Error, Result, TableKeyFile, TableKind, Verifier};
use alloy_primitives::B256;
use lineage_circuits::{
    chunk::ChunkPublic,
    halo2_proofs::{
        halo2curves::{bn256::G1, group::Curve},
        plonk::VerifyingKey,
    },
    Fr, G1Affine,
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

/// What a per-query key's registration presents: the datanet version
/// (root, example count) and model it is for, the per-query key, and every
/// feature chunk in order with its public inputs and proof.
pub struct TableRegistration<'a> {
    pub root: Fr,
    pub examples: usize,
    pub model: Fr,
    pub query: &'a TableKeyFile,
    pub chunks: &'a [(TableKeyFile, ChunkPublic, Vec<u8>)],
}

/// Everything that must hold before a per-query key may pay claims on a
/// datanet version: both kinds of key have allowlisted templates (the
/// audited circuits) and these verifier parameters; every chunk shares the
/// query key's capacity and `k` and one chunk size; there is exactly one
/// chunk per window of the version's examples (at most the capacity);
/// every chunk proof verifies (all in one batch, one final pairing); the
/// chunks cover the version
/// ([`check_chunks`]); and the per-query key's feature commitments are the
/// sums of the chunks' ([`check_feature_commitments`]).
pub fn check_registration(verifier: &Verifier, allowed: impl Fn(&B256) -> bool, r: &TableRegistration) -> Result<()> {
    let TableKind::Query(qs) = r.query.kind else {
        return Err(Error::KeyBounds("not a per-query key".into()));
    };
    let key_ok = |f: &TableKeyFile| -> Result<()> {
        if f.params_hash != verifier.params_hash() {
            return Err(Error::KeyForOtherParams { expected: verifier.params_hash(), found: f.params_hash });
        }
        let t = f.template_hash();
        if !allowed(&t) {
            return Err(Error::TemplateNotAllowed(t));
        }
        Ok(())
    };
    key_ok(r.query)?;
    if r.examples == 0 || r.examples > qs.capacity {
        return Err(Error::ChunkCoverage(format!("{} examples for a key of capacity {}", r.examples, qs.capacity)));
    }
    let size = match r.chunks.first().map(|c| c.0.kind) {
        Some(TableKind::Chunk(cs)) => cs.size,
        _ => return Err(Error::ChunkCoverage("no feature chunks".into())),
    };
    if r.chunks.len() != r.examples.div_ceil(size) {
        return Err(Error::ChunkCoverage(format!("{} chunks of {size} for {} examples", r.chunks.len(), r.examples)));
    }
    for (j, (key, _, _)) in r.chunks.iter().enumerate() {
        match key.kind {
            TableKind::Chunk(cs) if cs.index == j && cs.size == size && cs.capacity == qs.capacity && cs.k == qs.k => {}
            _ => return Err(Error::ChunkCoverage(format!("key {j} is not chunk {j} of {size} over the query key's table"))),
        }
        key_ok(key)?;
    }
    // every chunk proof, with one final pairing (`Verifier::verify_batch`)
    let instances: Vec<Vec<Fr>> = r.chunks.iter().map(|c| c.1.to_instances()).collect();
    let items: Vec<_> = r.chunks.iter().zip(&instances).map(|(c, i)| (&c.0.vk, &i[..], &c.2[..])).collect();
    verifier.verify_batch(&items)?;
    let publics: Vec<ChunkPublic> = r.chunks.iter().map(|c| c.1.clone()).collect();
    check_chunks(r.root, r.examples, r.model, size, &publics)?;
    let q = r.query.feature_indices();
    let idx: Vec<_> = r.chunks.iter().map(|c| c.0.feature_indices()).collect();
    let list: Vec<_> = r.chunks.iter().zip(&idx).map(|(c, i)| (&c.0.vk, &i[..])).collect();
    check_feature_commitments((&r.query.vk, &q[..]), &list)
}

/// Check that chunk public inputs `chunks` (in order) cover a datanet
/// version with root `root` and `n` examples under model `model`, in chunks
/// of `size`: one chunk per window, every one naming `model`, `active` equal
/// to the window's real examples, consecutive chunks agreeing on the
/// contributor at their boundary (the last naming none), and the subtree
/// roots hashing up to `root`.
pub fn check_chunks(root: Fr, n: usize, model: Fr, size: usize, chunks: &[ChunkPublic]) -> Result<()> {
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
        let next = chunks.get(j + 1).map(|d| d.first_contributor).unwrap_or(Fr::zero());
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
