//! The datanet contribution file format and its Poseidon commitment.
//!
//! File (JSON, `format = "lineage-datanet"`, `version = 1`):
//! `{ "format", "version", "name", "description",
//!    "contributions": [ { "contributor": "0x<20 bytes>", "licence": "<SPDX tag>",
//!                         "payload": { "label": 0..=9, "pixels": [64 × 0..=16] } } ] }`
//!
//! Leaf of contribution `i`:
//! `poseidon(contributor, licence, label, pack(pixels[0..32]), pack(pixels[32..64]))`
//! where `contributor` is the address as an integer, `licence` the tag's ASCII
//! bytes as a big-endian integer (1..=31 bytes) and
//! `pack(p) = Σ_k p_k · 2^(5k)`. The datanet root is the [`MerkleTree`] root
//! of the leaves in file order.

use crate::{
    field::{fr_from_address, Fr},
    merkle::MerkleTree,
    poseidon, Error, Result,
};
use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag.
pub const FORMAT: &str = "lineage-datanet";
/// Format version this build reads and writes.
pub const VERSION: u32 = 1;
/// Pixels per image.
pub const PIXELS: usize = 64;
/// Number of classes.
pub const CLASSES: u8 = 10;

/// A digits example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigitPayload {
    pub label: u8,
    pub pixels: Vec<u8>,
}

/// One contribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub contributor: Address,
    pub licence: String,
    pub payload: DigitPayload,
    /// Where the example came from in its source set (for the shipped digits:
    /// its index in scikit-learn's order). Provenance only: not in the leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// The on-disk file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatanetFile {
    pub format: String,
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub contributions: Vec<Contribution>,
}

/// Encode a licence tag as a field element.
pub fn licence_to_fr(tag: &str) -> Result<Fr> {
    let b = tag.as_bytes();
    if b.is_empty() || b.len() > 31 || !b.iter().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Licence(tag.to_string()));
    }
    let mut be = [0u8; 32];
    be[32 - b.len()..].copy_from_slice(b);
    crate::field::fr_from_be_bytes(&be)
}

/// Pack 32 five-bit pixels into one field element (`Σ p_k · 2^(5k)`).
pub fn pack_pixels(pixels: &[u8]) -> Fr {
    debug_assert!(pixels.len() <= 32);
    let mut acc = 0u128;
    let mut hi = 0u128;
    for (k, p) in pixels.iter().enumerate() {
        let shift = 5 * k as u32;
        if shift < 125 {
            acc |= (*p as u128) << shift;
        } else {
            hi |= (*p as u128) << (shift - 125);
        }
    }
    crate::field::fr_from_u128(acc) + crate::field::fr_from_u128(hi) * crate::field::fr_from_u128(1u128 << 125)
}

/// Validate a digits image.
pub fn check_pixels(pixels: &[u8]) -> std::result::Result<(), String> {
    if pixels.len() != PIXELS {
        return Err(format!("expected {PIXELS} pixels, found {}", pixels.len()));
    }
    if let Some(p) = pixels.iter().find(|p| **p > crate::fixed::PIXEL_MAX) {
        return Err(format!("pixel value {p} is above {}", crate::fixed::PIXEL_MAX));
    }
    Ok(())
}

/// The two packed words of an image.
pub fn packed_image(pixels: &[u8]) -> [Fr; 2] {
    [pack_pixels(&pixels[..32]), pack_pixels(&pixels[32..])]
}

/// Domain tag of query commitments.
pub const QUERY_TAG: u64 = 0x5155_4552; // "QUER"

/// Commitment to a query image: `poseidon(QUERY_TAG, pack0, pack1)`.
pub fn query_commitment(pixels: &[u8]) -> Result<Fr> {
    check_pixels(pixels).map_err(|reason| Error::Contribution { index: 0, reason })?;
    let [a, b] = packed_image(pixels);
    Ok(poseidon::hash(&[Fr::from(QUERY_TAG), a, b]))
}

impl Contribution {
    /// The leaf committed for this contribution.
    pub fn leaf(&self) -> Result<Fr> {
        let [a, b] = packed_image(&self.payload.pixels);
        Ok(poseidon::hash(&[
            fr_from_address(&self.contributor),
            licence_to_fr(&self.licence)?,
            Fr::from(self.payload.label as u64),
            a,
            b,
        ]))
    }

    fn validate(&self, index: usize) -> Result<()> {
        let err = |reason: String| Error::Contribution { index, reason };
        if self.contributor == Address::ZERO {
            return Err(err("contributor address is zero".into()));
        }
        if self.payload.label >= CLASSES {
            return Err(err(format!("label {} is not a digit", self.payload.label)));
        }
        check_pixels(&self.payload.pixels).map_err(err)?;
        licence_to_fr(&self.licence).map_err(|e| err(e.to_string()))?;
        Ok(())
    }
}

/// Format tag of a held-out query set.
pub const QUERIES_FORMAT: &str = "lineage-queries";

/// One held-out query image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOutQuery {
    /// Index in the source set (scikit-learn's order for the digits).
    pub index: u32,
    pub label: u8,
    pub pixels: Vec<u8>,
}

/// A held-out query set shipped beside a datanet: images that are **not**
/// training data, used to measure accuracy and to pick demo queries.
/// File: `{ "format": "lineage-queries", "version": 1, "name", "description",
/// "queries": [ { "index", "label", "pixels" } ] }`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuerySet {
    pub format: String,
    pub version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub queries: Vec<HeldOutQuery>,
}

impl QuerySet {
    /// Parse and validate a query-set file's contents.
    pub fn from_json(text: &str) -> Result<Self> {
        let set: QuerySet = serde_json::from_str(text)?;
        if set.format != QUERIES_FORMAT {
            return Err(Error::DatanetFormat(format!("format is {:?}, expected {QUERIES_FORMAT:?}", set.format)));
        }
        if set.version != VERSION {
            return Err(Error::Version { what: "query set", found: set.version, expected: VERSION });
        }
        for (i, q) in set.queries.iter().enumerate() {
            check_pixels(&q.pixels).map_err(|reason| Error::Contribution { index: i, reason })?;
            if q.label >= CLASSES {
                return Err(Error::Contribution { index: i, reason: format!("label {} is not a digit", q.label) });
            }
        }
        Ok(set)
    }

    /// The query with source index `index`.
    pub fn get(&self, index: u32) -> Option<&HeldOutQuery> {
        self.queries.iter().find(|q| q.index == index)
    }
}

/// A validated, committed datanet.
#[derive(Clone, Debug)]
pub struct Datanet {
    pub name: String,
    pub contributions: Vec<Contribution>,
    pub leaves: Vec<Fr>,
    pub tree: MerkleTree,
}

impl Datanet {
    /// Parse and commit a datanet file's contents.
    pub fn from_json(text: &str) -> Result<Self> {
        let file: DatanetFile = serde_json::from_str(text)?;
        if file.format != FORMAT {
            return Err(Error::DatanetFormat(format!("format is {:?}, expected {FORMAT:?}", file.format)));
        }
        if file.version != VERSION {
            return Err(Error::Version { what: "datanet", found: file.version, expected: VERSION });
        }
        Self::new(file.name, file.contributions)
    }

    /// Read a datanet file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        Self::from_json(&text)
    }

    /// Commit validated contributions.
    pub fn new(name: String, contributions: Vec<Contribution>) -> Result<Self> {
        if contributions.is_empty() {
            return Err(Error::DatanetFormat("no contributions".into()));
        }
        for (i, c) in contributions.iter().enumerate() {
            c.validate(i)?;
        }
        let leaves = contributions.iter().map(Contribution::leaf).collect::<Result<Vec<_>>>()?;
        let tree = MerkleTree::new(&leaves);
        Ok(Self { name, contributions, leaves, tree })
    }

    /// The datanet root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Distinct contributors.
    pub fn contributors(&self) -> Vec<Address> {
        let mut v: Vec<Address> = self.contributions.iter().map(|c| c.contributor).collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<Contribution> {
        (0..n)
            .map(|i| Contribution {
                contributor: Address::with_last_byte(1 + (i % 3) as u8),
                licence: "CC0-1.0".into(),
                payload: DigitPayload { label: (i % 10) as u8, pixels: vec![(i % 17) as u8; 64] },
                index: None,
            })
            .collect()
    }

    #[test]
    fn commits_and_validates() {
        let d = Datanet::new("t".into(), sample(5)).unwrap();
        assert_eq!(d.leaves.len(), 5);
        let mut bad = sample(5);
        bad[3].payload.pixels[7] = 17;
        assert!(matches!(Datanet::new("t".into(), bad), Err(Error::Contribution { index: 3, .. })));
        let mut bad = sample(2);
        bad[1].payload.label = 10;
        assert!(Datanet::new("t".into(), bad).is_err());
        let mut bad = sample(2);
        bad[0].licence = "has space".into();
        assert!(Datanet::new("t".into(), bad).is_err());
        // changing any field changes the root
        let mut other = sample(5);
        other[4].payload.pixels[63] ^= 1;
        assert_ne!(Datanet::new("t".into(), other).unwrap().root(), d.root());
    }

    #[test]
    fn rejects_wrong_version() {
        let text = r#"{"format":"lineage-datanet","version":2,"name":"x","contributions":[]}"#;
        assert!(matches!(Datanet::from_json(text), Err(Error::Version { found: 2, .. })));
    }

    #[test]
    fn packing_is_positional() {
        let mut p = vec![0u8; 32];
        p[31] = 16;
        let mut q = vec![0u8; 32];
        q[30] = 16;
        assert_ne!(pack_pixels(&p), pack_pixels(&q));
        assert_eq!(pack_pixels(&[1]), Fr::from(1));
        assert_eq!(pack_pixels(&[0, 1]), Fr::from(32));
    }
}
