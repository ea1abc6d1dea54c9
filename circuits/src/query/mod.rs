//! The per-query circuit: one query attributed over **every** example of a
//! datanet version, from the version's committed feature table.
//!
//! The feature table (`lineage_core::features`) is not a witness: it is a
//! fixed column of this circuit, laid out vertically (`WIDTH` rows per
//! example), so its KZG commitment is part of the verifying key. A key is
//! therefore specific to one (datanet version, model) pair and covers all of
//! its examples by construction: no window, no choice of examples, no tail
//! left out. Examples beyond the table (up to the shape's capacity) are zero
//! rows: score 0, no segment.
//!
//! Stages (each a chip in [`crate::chips`]):
//!
//! 1. **forward** — the query pixels hash to the public query commitment;
//!    the fixed-point forward pass with the model parameters read from the
//!    table (so the key fixes the model; the chunk proofs tie those
//!    parameters to the model commitment); the public predicted class is the
//!    argmax;
//! 2. **score** — every row's signed score `r[c]·(⟨h_q, h⟩ + S²)` from its
//!    fixed features;
//! 3. **segments** — every contributor segment's net total (signed),
//!    digested with its address at the public challenge. The payouts are a
//!    public function of public data, computed natively by the chain and the
//!    auditor (`lineage_core::payout::split_net`): each contributor's net
//!    influence clamped at zero, then the cumulative-floor split of the pool.
//!    The circuit spends no cells on the clamp or on division.
//!
//! Public instance column, in order: see [`QueryPublic::to_instances`].
//!
//! Cell layout of the feature column (one column, equality enabled, used only
//! through copy constraints into the stages):
//!
//! ```text
//!  row         features
//!  28·i + 0    h_i[0]      ┐
//!  …                       │ hidden activations
//!  28·i + 15   h_i[15]     ┘
//!  28·i + 16   r_i[0]      ┐
//!  …                       │ residual vector
//!  28·i + 25   r_i[9]      ┘
//!  28·i + 26   a_i           contributor address
//!  28·i + 27   e_i           end of segment
//!  28·C + p    θ_p           model parameter p (C = capacity)
//! ```

mod circuit;

pub use circuit::{build, keygen_circuit, synthesize, QueryCircuit, QueryHandles};

use crate::{Error, Result};
use lineage_core::{
    features::{self, FeatureTable, WholeAttribution},
    field::{fr_to_u128, Fr},
    model::QuantizedModel,
    payout::Payout,
};
use serde::{Deserialize, Serialize};

/// Version of the per-query circuit's layout: bumped whenever its synthesis
/// changes, so that keys cached under an older layout are not reused (a
/// stale proving key yields proofs its own verifying key rejects).
/// 2: signed segment totals (the clamp at zero moved to the payout rule).
pub const CIRCUIT_VERSION: u32 = 2;
/// Number of public inputs of the per-query circuit.
pub const QUERY_INSTANCES: usize = 4;
/// Most examples one per-query circuit may cover.
pub const MAX_CAPACITY: usize = 1 << 16;
/// Smallest `k` the per-query circuit uses.
pub const MIN_QUERY_K: u32 = 12;

/// Everything that fixes the per-query circuit's constraint system, apart
/// from the feature column's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryShape {
    /// Examples the circuit covers (the datanet version's example count, or
    /// more: extra rows are zero).
    pub capacity: usize,
    /// log2 of the number of rows.
    pub k: u32,
    /// Bits of the range-check lookup table.
    pub lookup_bits: usize,
}

impl QueryShape {
    /// A shape for `capacity` examples with a `k` that fits: the feature
    /// columns need `(WIDTH·capacity + NUM_PARAMS) / FEATURE_COLUMNS` rows,
    /// and the stages about 155 advice cells per example plus 25k for the
    /// query (measured), spread over at most about ten columns.
    pub fn new(capacity: usize) -> Result<Self> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(Error::Shape(format!("capacity {capacity} is outside 1..={MAX_CAPACITY}")));
        }
        let rows_needed = crate::table::feature_rows(features::column_len(capacity)) + 64;
        let cells = 155 * capacity + 25_000;
        let mut k = MIN_QUERY_K;
        while (1usize << k) < rows_needed || (1usize << k) * 10 < cells {
            k += 1;
        }
        Self::with_k(capacity, k)
    }

    /// A shape at an explicit `k` (for measurements).
    pub fn with_k(capacity: usize, k: u32) -> Result<Self> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(Error::Shape(format!("capacity {capacity} is outside 1..={MAX_CAPACITY}")));
        }
        if !(MIN_QUERY_K..=crate::MAX_K).contains(&k) || (1usize << k) < crate::table::feature_rows(features::column_len(capacity)) + 64 {
            return Err(Error::Shape(format!("k = {k} cannot hold {capacity} examples")));
        }
        Ok(Self { capacity, k, lookup_bits: (k - 1) as usize })
    }
}

/// The public inputs of one per-query proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryPublic {
    pub query_commitment: Fr,
    pub predicted_class: u64,
    /// `lineage_core::features::segment_challenge` of the claim.
    pub challenge: Fr,
    /// `lineage_core::features::segment_digest` of the segment totals.
    pub digest: Fr,
}

impl QueryPublic {
    /// The instance column: `[query_commitment, predicted_class, challenge,
    /// digest]`. (The model and the datanet are fixed by the key.)
    pub fn to_instances(&self) -> Vec<Fr> {
        vec![self.query_commitment, Fr::from(self.predicted_class), self.challenge, self.digest]
    }

    /// Parse an instance column (exactly [`QUERY_INSTANCES`] values; the
    /// class must be a small integer).
    pub fn from_instances(v: &[Fr]) -> Option<Self> {
        if v.len() != QUERY_INSTANCES {
            return None;
        }
        let class = fr_to_u128(&v[1]).and_then(|u| u64::try_from(u).ok())?;
        Some(Self { query_commitment: v[0], predicted_class: class, challenge: v[2], digest: v[3] })
    }
}

/// The full witness of one per-query proof (the feature table is the fixed
/// column, not a witness).
#[derive(Clone, Debug)]
pub struct QueryInput {
    pub model: QuantizedModel,
    pub query: Vec<u8>,
    pub predicted: usize,
    pub pool: u128,
    pub challenge: Fr,
    /// The native attribution the proof re-computes.
    pub attribution: WholeAttribution,
    /// The payouts of `pool` (`lineage_core::payout::split_net` of the
    /// segment totals: per contributor, ascending, those of at least 1 wei).
    pub payouts: Vec<Payout>,
}

impl QueryInput {
    /// Attribute `query` over `table` natively and assemble the witness of a
    /// claim on request `request_id` paying `pool`.
    pub fn new(model: &QuantizedModel, table: &FeatureTable, query: &[u8], pool: u128, request_id: alloy_primitives::U256) -> Result<Self> {
        let attribution = features::attribute(model, table, query)?;
        let payouts = attribution.payouts(pool)?;
        let challenge = features::segment_challenge(request_id, pool, &features::claim_segments(&attribution));
        Ok(Self { model: model.clone(), query: query.to_vec(), predicted: attribution.predicted, pool, challenge, attribution, payouts })
    }

    /// The public inputs this witness proves.
    pub fn public(&self) -> Result<QueryPublic> {
        Ok(QueryPublic {
            query_commitment: lineage_core::datanet::query_commitment(&self.query)?,
            predicted_class: self.predicted as u64,
            challenge: self.challenge,
            digest: features::segment_digest(self.challenge, &features::claim_segments(&self.attribution)),
        })
    }

    /// A structurally valid witness used only to fix the constraint system
    /// during key generation (its values are never proven).
    pub fn keygen_placeholder() -> Self {
        Self {
            model: QuantizedModel { w1: vec![0; 1024], b1: vec![0; 16], w2: vec![0; 160], b2: vec![0; 10] },
            query: vec![0; 64],
            predicted: 0,
            pool: 0,
            challenge: Fr::zero(),
            attribution: WholeAttribution { predicted: 0, hidden: [0; 16], logits: [0; 10], scores: vec![], segments: vec![], ends: vec![] },
            payouts: vec![],
        }
    }
}
