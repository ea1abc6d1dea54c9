//! Verifying-key files of the whole-datanet circuits (feature chunks and
//! per-query keys): versioned, bounded, canonical, pinned by hash — and
//! with a **template hash** that leaves the feature commitments out.
//!
//! A chunk key or a per-query key is specific to its datanet and model only
//! through its feature commitments; everything else (gates, wiring,
//! selectors, the other fixed columns) is fixed by its shape. The template
//! hash is keccak256 of the file with the feature commitments' bytes
//! zeroed: whoever governs the chain allowlists templates once per shape,
//! and any key with an allowlisted template is the right circuit over
//! whatever table its commitments hold — which the chunk proofs then pin.

use crate::{keys::check_key_pin, Error, Result};
use alloy_primitives::{keccak256, B256};
use lineage_circuits::{
    chunk::ChunkShape,
    halo2_proofs::{plonk::VerifyingKey, SerdeFormat},
    query::QueryShape,
    table::{feature_column_indices, TableCircuit, FEATURE_COLUMNS},
    BaseCircuitParams, G1Affine, MAX_K,
};
use serde::{Deserialize, Serialize};

/// Table-key file format tag and version.
pub const TABLE_VK_FORMAT: &str = "lineage-table-vk";
pub const TABLE_VK_VERSION: u32 = 1;
/// Largest table-key file accepted, in bytes (selectors are stored as one
/// bit per row, so keys grow with `k`).
pub const MAX_TABLE_VK_FILE_BYTES: usize = 1 << 20;
/// Most advice columns a table circuit may have.
pub const MAX_TABLE_ADVICE_COLUMNS: usize = 96;
/// Byte offset of the first fixed commitment in halo2-axiom's key encoding:
/// version (1), k (4), selector compression flag (1), count (4).
const FIXED_COMMITMENTS_AT: usize = 10;
/// Bytes of one compressed G1 commitment.
const G1_BYTES: usize = 32;

/// Which circuit a table key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Chunk(ChunkShape),
    Query(QueryShape),
}

impl TableKind {
    /// The `k` the shape implies.
    pub fn k(&self) -> u32 {
        match self {
            TableKind::Chunk(s) => s.k,
            TableKind::Query(s) => s.k,
        }
    }

    fn lookup_bits(&self) -> usize {
        match self {
            TableKind::Chunk(s) => s.lookup_bits,
            TableKind::Query(s) => s.lookup_bits,
        }
    }

    /// The shape must be one its constructor derives.
    fn check(&self) -> Result<()> {
        let derived = match self {
            TableKind::Chunk(s) => ChunkShape::new(s.size, s.index, s.capacity, s.k).map(TableKind::Chunk),
            TableKind::Query(s) => QueryShape::with_k(s.capacity, s.k).map(TableKind::Query),
        }
        .map_err(|e| Error::KeyBounds(e.to_string()))?;
        if derived != *self {
            return Err(Error::KeyBounds("the shape is not one its constructor derives".into()));
        }
        Ok(())
    }
}

/// A verifying key of a table circuit, with what is needed to read it.
#[derive(Clone, Debug)]
pub struct TableKeyFile {
    pub kind: TableKind,
    pub circuit_params: BaseCircuitParams,
    /// Hash of the verifier parameters this key is for.
    pub params_hash: B256,
    pub vk: VerifyingKey<G1Affine>,
    /// keccak256 of [`TableKeyFile::to_bytes`].
    pub hash: B256,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableKeyJson {
    format: String,
    version: u32,
    params_hash: B256,
    kind: TableKind,
    circuit_params: BaseCircuitParams,
    vk: String,
}

impl TableKeyFile {
    pub fn new(kind: TableKind, circuit_params: BaseCircuitParams, params_hash: B256, vk: VerifyingKey<G1Affine>) -> Self {
        let mut f = Self { kind, circuit_params, params_hash, vk, hash: B256::ZERO };
        f.hash = keccak256(f.to_bytes());
        f
    }

    fn json(&self, raw_vk: &[u8]) -> Vec<u8> {
        serde_json::to_vec(&TableKeyJson {
            format: TABLE_VK_FORMAT.into(),
            version: TABLE_VK_VERSION,
            params_hash: self.params_hash,
            kind: self.kind,
            circuit_params: self.circuit_params.clone(),
            vk: hex::encode(raw_vk),
        })
        .expect("table key file serialises")
    }

    /// Versioned JSON with the key in halo2's compressed form.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.json(&self.vk.to_bytes(SerdeFormat::Processed))
    }

    /// Indices of the feature columns among the key's fixed commitments.
    pub fn feature_indices(&self) -> [usize; FEATURE_COLUMNS] {
        feature_column_indices(&self.circuit_params)
    }

    /// keccak256 of the file with the feature commitments zeroed: the same
    /// for every key of this shape, whatever table it holds.
    pub fn template_hash(&self) -> B256 {
        let mut raw = self.vk.to_bytes(SerdeFormat::Processed);
        for c in self.feature_indices() {
            let at = FIXED_COMMITMENTS_AT + G1_BYTES * c;
            raw[at..at + G1_BYTES].fill(0);
        }
        keccak256(self.json(&raw))
    }

    /// Parse a table-key file for verifier parameters with hash
    /// `params_hash` and size `2^k`: bounds first, then halo2 (under
    /// `catch_unwind`), then the canonical re-encoding.
    pub fn from_bytes(bytes: &[u8], k: u32, params_hash: &B256) -> Result<Self> {
        if bytes.len() > MAX_TABLE_VK_FILE_BYTES {
            return Err(Error::KeyBounds(format!("{} bytes exceeds the {MAX_TABLE_VK_FILE_BYTES}-byte maximum", bytes.len())));
        }
        let f: TableKeyJson = serde_json::from_slice(bytes).map_err(|e| Error::malformed("table key", e))?;
        if f.format != TABLE_VK_FORMAT {
            return Err(Error::malformed("table key", format!("format {:?}", f.format)));
        }
        if f.version != TABLE_VK_VERSION {
            return Err(Error::Version { what: "table key", found: f.version, expected: TABLE_VK_VERSION });
        }
        if f.params_hash != *params_hash {
            return Err(Error::KeyForOtherParams { expected: *params_hash, found: f.params_hash });
        }
        check_bounds(&f.kind, &f.circuit_params, k)?;
        let vk = crate::keys::read_halo2_key::<TableCircuit>("table key", &f.vk, k, f.circuit_params.clone())?;
        let file = Self { kind: f.kind, circuit_params: f.circuit_params, params_hash: f.params_hash, vk, hash: keccak256(bytes) };
        if file.to_bytes() != bytes {
            return Err(Error::malformed("table key", "not in canonical form (re-encoding differs)"));
        }
        Ok(file)
    }

    /// Parse a file only if its keccak256 is `expected` (checked first).
    pub fn from_pinned_bytes(bytes: &[u8], expected: &B256, k: u32, params_hash: &B256) -> Result<Self> {
        check_key_pin(bytes, expected)?;
        Self::from_bytes(bytes, k, params_hash)
    }
}

fn check_bounds(kind: &TableKind, c: &BaseCircuitParams, k: u32) -> Result<()> {
    let bad = |r: String| Err(Error::KeyBounds(r));
    if !(1..=MAX_K).contains(&k) || c.k != k as usize || kind.k() != k {
        return bad(format!("the key is for k = {} (shape k = {}), the verifier parameters have k = {k}", c.k, kind.k()));
    }
    kind.check()?;
    if c.lookup_bits != Some(kind.lookup_bits()) {
        return bad(format!("lookup_bits {:?}, the shape implies {}", c.lookup_bits, kind.lookup_bits()));
    }
    crate::keys::check_columns(c, MAX_TABLE_ADVICE_COLUMNS)
}
