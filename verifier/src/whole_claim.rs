//! Whole-datanet claims: the bundle an auditor receives, and the one check
//! the chain's `submitWholeClaim` and the auditor share
//! ([`Verifier::verify_whole_claim`]).
//!
//! A claim names its request (id, pool, query commitment), the predicted
//! class, one `(contributor, net total, end row)` segment per run of one
//! contributor's examples, and the proof. The check: the segment list is
//! well formed for the key's capacity, the challenge and digest are computed
//! natively from the request and the list, the proof verifies against the
//! per-query key, and the pool is split over the proven totals by the payout
//! rule (`payout::split_net`: each contributor's net influence, clamped at
//! zero).
//!
//! Bundle JSON (version 2): `format`, `version`, `query_key_hash`,
//! `request_id` (decimal), `pool_wei` (decimal), `query_commitment`,
//! `predicted_class`, `segments` (`contributor`, `total` signed decimal,
//! `end_row`), `proof` (hex). Version 1 carried totals already clamped per
//! example; it is refused.

use crate::{Error, Result, TableKeyFile, TableKind, Verifier, MAX_PROOF_BYTES};
use alloy_primitives::{Address, B256, U256};
use lineage_circuits::{query::QueryPublic, Fr};
use lineage_core::{
    features::{segment_challenge, segment_digest, validate_segments, Segment},
    field::{fr_from_hex, fr_to_hex},
    payout::{split_net, Payout},
};
use serde::{Deserialize, Serialize};

/// Whole-claim bundle format tag and version.
pub const WHOLE_CLAIM_FORMAT: &str = "lineage-whole-claim";
pub const WHOLE_CLAIM_VERSION: u32 = 2;
/// Largest whole-claim bundle accepted, in bytes.
pub const MAX_WHOLE_CLAIM_BYTES: usize = 16 << 20;

/// A claim over every example of a datanet version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WholeClaim {
    pub request_id: U256,
    pub pool_wei: u128,
    pub query_commitment: Fr,
    pub predicted_class: u64,
    pub segments: Vec<Segment>,
    pub proof: Vec<u8>,
}

impl Verifier {
    /// Check `claim` against per-query key `key` (which the caller has
    /// pinned: registered on chain, or by hash) and return the payouts it
    /// earns: one per contributor whose net influence is positive, in
    /// ascending address order (those of at least 1 wei).
    pub fn verify_whole_claim(&self, key: &TableKeyFile, claim: &WholeClaim) -> Result<Vec<Payout>> {
        let TableKind::Query(shape) = key.kind else {
            return Err(Error::KeyBounds("not a per-query key".into()));
        };
        // the verifier for the key's size under the same pinned SRS
        let at_k;
        let v = if self.k() == shape.k {
            self
        } else {
            at_k = self.with_k(shape.k)?;
            &at_k
        };
        if key.params_hash != v.params_hash() {
            return Err(Error::KeyForOtherParams { expected: v.params_hash(), found: key.params_hash });
        }
        validate_segments(&claim.segments, shape.capacity)?;
        let challenge = segment_challenge(claim.request_id, claim.pool_wei, &claim.segments);
        let public = QueryPublic {
            query_commitment: claim.query_commitment,
            predicted_class: claim.predicted_class,
            challenge,
            digest: segment_digest(challenge, &claim.segments),
        };
        v.verify_with_key(&key.vk, &public.to_instances(), &claim.proof)?;
        let totals: Vec<(Address, i128)> = claim.segments.iter().map(|(a, t, _)| (*a, *t)).collect();
        Ok(split_net(claim.pool_wei, &totals)?)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentJson {
    contributor: Address,
    total: String,
    end_row: u32,
}

/// The JSON bundle of a [`WholeClaim`], naming the per-query key it is for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WholeClaimBundle {
    format: String,
    version: u32,
    pub query_key_hash: B256,
    request_id: String,
    pool_wei: String,
    query_commitment: String,
    predicted_class: u64,
    segments: Vec<SegmentJson>,
    proof: String,
}

impl WholeClaimBundle {
    pub fn new(query_key_hash: B256, c: &WholeClaim) -> Self {
        Self {
            format: WHOLE_CLAIM_FORMAT.into(),
            version: WHOLE_CLAIM_VERSION,
            query_key_hash,
            request_id: c.request_id.to_string(),
            pool_wei: c.pool_wei.to_string(),
            query_commitment: fr_to_hex(&c.query_commitment),
            predicted_class: c.predicted_class,
            segments: c.segments.iter().map(|(a, t, e)| SegmentJson { contributor: *a, total: t.to_string(), end_row: *e }).collect(),
            proof: hex::encode(&c.proof),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("whole-claim bundle serialises")
    }

    /// Parse a bundle (bounded) and its claim.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, WholeClaim)> {
        const WHAT: &str = "whole-claim bundle";
        if bytes.len() > MAX_WHOLE_CLAIM_BYTES {
            return Err(Error::malformed(WHAT, format!("{} bytes exceeds the {MAX_WHOLE_CLAIM_BYTES}-byte maximum", bytes.len())));
        }
        let b: Self = serde_json::from_slice(bytes).map_err(|e| Error::malformed(WHAT, e))?;
        if b.format != WHOLE_CLAIM_FORMAT {
            return Err(Error::malformed(WHAT, format!("format {:?}", b.format)));
        }
        if b.version != WHOLE_CLAIM_VERSION {
            return Err(Error::Version { what: WHAT, found: b.version, expected: WHOLE_CLAIM_VERSION });
        }
        let request_id = U256::from_str_radix(&b.request_id, 10).map_err(|e| Error::malformed(WHAT, format!("request_id: {e}")))?;
        let pool_wei = b.pool_wei.parse::<u128>().map_err(|e| Error::malformed(WHAT, format!("pool_wei: {e}")))?;
        let query_commitment = fr_from_hex(&b.query_commitment).map_err(|e| Error::malformed(WHAT, format!("query_commitment: {e}")))?;
        let segments = b
            .segments
            .iter()
            .map(|s| s.total.parse::<i128>().map(|t| (s.contributor, t, s.end_row)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::malformed(WHAT, format!("segment total: {e}")))?;
        if b.proof.len() > 2 * MAX_PROOF_BYTES {
            return Err(Error::malformed(WHAT, format!("proof longer than {MAX_PROOF_BYTES} bytes")));
        }
        let proof = hex::decode(&b.proof).map_err(|e| Error::malformed(WHAT, format!("proof: {e}")))?;
        let claim = WholeClaim { request_id, pool_wei, query_commitment, predicted_class: b.predicted_class, segments, proof };
        Ok((b, claim))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> WholeClaim {
        WholeClaim {
            request_id: U256::from(7),
            pool_wei: 1000,
            query_commitment: Fr::from(5),
            predicted_class: 3,
            segments: vec![(Address::with_last_byte(1), 10, 4), (Address::with_last_byte(2), -3, 9)],
            proof: vec![1, 2, 3],
        }
    }

    #[test]
    fn bundles_round_trip_and_hostile_ones_are_typed_errors() {
        let b = WholeClaimBundle::new(B256::with_last_byte(9), &claim()).to_bytes();
        let (parsed, c) = WholeClaimBundle::from_bytes(&b).unwrap();
        assert_eq!((parsed.query_key_hash, c), (B256::with_last_byte(9), claim()));
        let text = String::from_utf8(b).unwrap();
        let bad = |s: String| WholeClaimBundle::from_bytes(s.as_bytes()).unwrap_err();
        assert!(matches!(bad(text.replace("\"version\": 2", "\"version\": 1")), Error::Version { found: 1, .. }));
        assert!(matches!(bad(text.replace("\"pool_wei\": \"1000\"", "\"pool_wei\": \"-1\"")), Error::Malformed { .. }));
        assert!(matches!(bad(text.replace("\"total\": \"10\"", "\"total\": \"170141183460469231731687303715884105728\"")), Error::Malformed { .. }));
        assert!(matches!(bad(text.replace("\"total\": \"-3\"", "\"total\": \"-170141183460469231731687303715884105729\"")), Error::Malformed { .. }));
        assert!(matches!(bad(text.replace("\"proof\": \"010203\"", "\"proof\": \"0g\"")), Error::Malformed { .. }));
        assert!(matches!(bad(text.replacen('{', "{\"extra\": 1,", 1)), Error::Malformed { .. }));
        let modulus = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        let q = fr_to_hex(&Fr::from(5));
        assert!(matches!(bad(text.replace(&q, modulus)), Error::Malformed { .. }));
        assert!(matches!(WholeClaimBundle::from_bytes(&vec![b' '; MAX_WHOLE_CLAIM_BYTES + 1]), Err(Error::Malformed { .. })));
    }
}
