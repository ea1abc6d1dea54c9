//! Feature-proof files: the one-time proof of a (datanet version, model)
//! pair's feature table — every chunk's key, public inputs and proof — with
//! the table's feature commitments, versioned and pinned by hash. It is what
//! a prover proves once and registers with a per-query key, and what an
//! auditor re-checks ([`FeatureProofFile::check`] runs
//! [`check_registration`]).
//!
//! JSON (version 1): `format`, `version`, `params_hash`, `datanet_root`,
//! `model_commitment`, `examples`, `feature_commitments` (one compressed G1
//! point per feature column, hex: the sums of the chunk keys' commitments,
//! which a per-query key over this table must hold) and `chunks` (each
//! `key` as its table-key file in hex, `public` as five canonical scalars,
//! `proof` in hex). Parsing is bounded, each chunk key is parsed as a
//! [`TableKeyFile`] of a chunk, the feature commitments are recomputed from
//! the chunk keys, and the file must be in canonical form.

use crate::{
    features::{check_registration, feature_commitment, TableRegistration},
    Error, Result, TableKeyFile, TableKind, Verifier, MAX_PROOF_BYTES,
};
use alloy_primitives::{keccak256, B256};
use lineage_circuits::{
    chunk::ChunkPublic,
    halo2_proofs::halo2curves::{
        bn256::G1,
        group::{Curve, GroupEncoding},
    },
    query::MAX_CAPACITY,
    table::FEATURE_COLUMNS,
    Fr, G1Affine,
};
use lineage_core::field::{fr_from_hex, fr_to_hex};
use serde::{Deserialize, Serialize};

/// Feature-proof file format tag and version.
pub const FEATURE_PROOF_FORMAT: &str = "lineage-feature-proof";
pub const FEATURE_PROOF_VERSION: u32 = 1;
/// Largest feature-proof file accepted, in bytes.
pub const MAX_FEATURE_PROOF_BYTES: usize = 256 << 20;
/// Most chunks one feature proof may hold.
pub const MAX_FEATURE_CHUNKS: usize = 4096;

/// One proven chunk: its key file, public inputs and proof.
pub type ChunkEntry = (TableKeyFile, ChunkPublic, Vec<u8>);

/// A parsed feature-proof file.
#[derive(Clone, Debug)]
pub struct FeatureProofFile {
    pub params_hash: B256,
    pub datanet_root: Fr,
    pub model_commitment: Fr,
    pub examples: usize,
    pub chunks: Vec<ChunkEntry>,
    /// Per feature column, the sum of the chunk keys' commitments.
    pub feature_commitments: [G1Affine; FEATURE_COLUMNS],
    /// keccak256 of [`FeatureProofFile::to_bytes`].
    pub hash: B256,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    format: String,
    version: u32,
    params_hash: B256,
    datanet_root: String,
    model_commitment: String,
    examples: usize,
    feature_commitments: Vec<String>,
    chunks: Vec<ChunkJson>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkJson {
    key: String,
    public: Vec<String>,
    proof: String,
}

/// The sums of the chunk keys' feature commitments, column by column.
pub fn summed_feature_commitments(chunks: &[ChunkEntry]) -> Result<[G1Affine; FEATURE_COLUMNS]> {
    let mut sums = [G1::default(); FEATURE_COLUMNS];
    for (key, _, _) in chunks {
        for (c, index) in key.feature_indices().into_iter().enumerate() {
            sums[c] += feature_commitment(&key.vk, index)?;
        }
    }
    Ok(sums.map(|s| s.to_affine()))
}

impl FeatureProofFile {
    /// The file of `chunks` (in order) proving the feature table of
    /// `examples` examples of datanet `root` under `model`.
    pub fn new(params_hash: B256, datanet_root: Fr, model_commitment: Fr, examples: usize, chunks: Vec<ChunkEntry>) -> Result<Self> {
        let feature_commitments = summed_feature_commitments(&chunks)?;
        let mut f = Self { params_hash, datanet_root, model_commitment, examples, chunks, feature_commitments, hash: B256::ZERO };
        f.hash = keccak256(f.to_bytes());
        Ok(f)
    }

    /// Versioned JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&Json {
            format: FEATURE_PROOF_FORMAT.into(),
            version: FEATURE_PROOF_VERSION,
            params_hash: self.params_hash,
            datanet_root: fr_to_hex(&self.datanet_root),
            model_commitment: fr_to_hex(&self.model_commitment),
            examples: self.examples,
            feature_commitments: self.feature_commitments.iter().map(|c| hex::encode(c.to_bytes())).collect(),
            chunks: self
                .chunks
                .iter()
                .map(|(k, p, b)| ChunkJson {
                    key: hex::encode(k.to_bytes()),
                    public: p.to_instances().iter().map(fr_to_hex).collect(),
                    proof: hex::encode(b),
                })
                .collect(),
        })
        .expect("feature-proof file serialises")
    }

    /// Parse a feature-proof file for verifier parameters with hash
    /// `params_hash` and size `2^k`.
    pub fn from_bytes(bytes: &[u8], k: u32, params_hash: &B256) -> Result<Self> {
        const WHAT: &str = "feature proof";
        if bytes.len() > MAX_FEATURE_PROOF_BYTES {
            return Err(Error::malformed(WHAT, format!("{} bytes exceeds the {MAX_FEATURE_PROOF_BYTES}-byte maximum", bytes.len())));
        }
        let j: Json = serde_json::from_slice(bytes).map_err(|e| Error::malformed(WHAT, e))?;
        if j.format != FEATURE_PROOF_FORMAT {
            return Err(Error::malformed(WHAT, format!("format {:?}", j.format)));
        }
        if j.version != FEATURE_PROOF_VERSION {
            return Err(Error::Version { what: WHAT, found: j.version, expected: FEATURE_PROOF_VERSION });
        }
        if j.params_hash != *params_hash {
            return Err(Error::KeyForOtherParams { expected: *params_hash, found: j.params_hash });
        }
        if j.examples == 0 || j.examples > MAX_CAPACITY || j.chunks.is_empty() || j.chunks.len() > MAX_FEATURE_CHUNKS {
            return Err(Error::malformed(WHAT, format!("{} examples in {} chunks", j.examples, j.chunks.len())));
        }
        if j.feature_commitments.len() != FEATURE_COLUMNS {
            return Err(Error::malformed(WHAT, format!("{} feature commitments, not {FEATURE_COLUMNS}", j.feature_commitments.len())));
        }
        let fr = |s: &str| fr_from_hex(s).map_err(|e| Error::malformed(WHAT, e));
        let mut chunks = Vec::with_capacity(j.chunks.len());
        for (i, c) in j.chunks.iter().enumerate() {
            let key_bytes = hex::decode(&c.key).map_err(|e| Error::malformed(WHAT, format!("chunk {i} key: {e}")))?;
            let key = TableKeyFile::from_bytes(&key_bytes, k, params_hash)?;
            if !matches!(key.kind, TableKind::Chunk(_)) {
                return Err(Error::malformed(WHAT, format!("chunk {i}'s key is not a chunk key")));
            }
            let public: Vec<Fr> = c.public.iter().map(|h| fr(h)).collect::<Result<_>>()?;
            let public = ChunkPublic::from_instances(&public).ok_or_else(|| Error::malformed(WHAT, format!("chunk {i}: public inputs")))?;
            if c.proof.len() > 2 * MAX_PROOF_BYTES {
                return Err(Error::malformed(WHAT, format!("chunk {i}: proof longer than {MAX_PROOF_BYTES} bytes")));
            }
            let proof = hex::decode(&c.proof).map_err(|e| Error::malformed(WHAT, format!("chunk {i} proof: {e}")))?;
            chunks.push((key, public, proof));
        }
        let file = Self::new(*params_hash, fr(&j.datanet_root)?, fr(&j.model_commitment)?, j.examples, chunks)?;
        let stated: Vec<String> = file.feature_commitments.iter().map(|c| hex::encode(c.to_bytes())).collect();
        if stated != j.feature_commitments {
            return Err(Error::FeatureCommitmentMismatch { chunks: file.chunks.len() });
        }
        if file.to_bytes() != bytes {
            return Err(Error::malformed(WHAT, "not in canonical form (re-encoding differs)"));
        }
        Ok(file)
    }

    /// Parse a file only if its keccak256 is `expected` (checked first).
    pub fn from_pinned_bytes(bytes: &[u8], expected: &B256, k: u32, params_hash: &B256) -> Result<Self> {
        crate::keys::check_key_pin(bytes, expected)?;
        Self::from_bytes(bytes, k, params_hash)
    }

    /// The registration of per-query key `query` over this feature proof.
    pub fn registration<'a>(&'a self, query: &'a TableKeyFile) -> TableRegistration<'a> {
        TableRegistration { root: self.datanet_root, examples: self.examples, model: self.model_commitment, query, chunks: &self.chunks }
    }

    /// Everything [`check_registration`] checks, for per-query key `query`.
    pub fn check(&self, verifier: &Verifier, allowed: impl Fn(&B256) -> bool, query: &TableKeyFile) -> Result<()> {
        check_registration(verifier, allowed, &self.registration(query))
    }
}
