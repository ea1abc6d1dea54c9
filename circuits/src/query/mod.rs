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
//! The attribution is `influence-kfac` (`lineage_core::kfac`): the method
//! the eval ranks best among those whose per-query check is small
//! (ATTRIBUTION.md). Stages (each a chip in [`crate::chips`]):
//!
//! 1. **forward** — the query pixels hash to the public query commitment;
//!    the fixed-point forward pass with the model parameters read from the
//!    table (so the key fixes the model; the chunk proofs tie those
//!    parameters to the model commitment), keeping the fine hidden
//!    activations `h̃_q`; the public predicted class `c` is the argmax;
//! 2. **factors** — the damped factors `A₂`, `S`, `A₁` from the table's
//!    sums (rounded means, divisions by the count), and the check that the
//!    witnessed `u`, `a`, `b` solve `A₂ u = h̃_q`, `S a = 2^8·(W2[c] ⊙ m_q)`,
//!    `A₁ b = 2^8·x̃_q` within each row's bound (`lineage_core::linear`):
//!    a linear-system check instead of an inverse;
//! 3. **score** — every row's signed score
//!    `2^8·(δ·a)(x̃·b) + r[c]·⟨u, h̃⟩` from its fixed features;
//! 4. **segments** — every contributor segment's net total (signed),
//!    digested with its address at the public challenge. The payouts are a
//!    public function of public data, computed natively by the chain and the
//!    auditor (`lineage_core::payout::split_net`): each contributor's net
//!    influence clamped at zero, then the cumulative-floor split of the pool.
//!    The circuit spends no cells on the clamp or on division.
//!
//! A solution is accepted within its rows' bounds, at the fine scale
//! `2^24`, then rounded to `2^8` in the circuit (`lineage_core::linear`).
//! An honest prover's rounded solution always passes; a dishonest one may
//! move a fine entry by at most `‖M⁻¹‖_∞ · max_i B_i / 2` units — about
//! 12,800 for the digits datanet's first-layer factor, a fifth of a unit at
//! `2^8` — so the solutions the scores use are the exact ones rounded,
//! except within that distance of a rounding tie, where one may be a unit
//! off (`a_fine_shift_within_the_bound_rounds_to_the_same_claim` in the
//! tests). Checked at `2^8` directly the same slack would be about 12,800
//! units of `2^8`, several times the solutions themselves: the prover
//! could tilt the scores.
//!
//! Public instance column, in order: see [`QueryPublic::to_instances`].
//!
//! Cell layout of the feature column (`lineage_core::features`, folded into
//! the table's fixed columns, equality enabled, used only through copy
//! constraints into the stages; `W = WIDTH = 108`, `C` the capacity):
//!
//! ```text
//!  row            features
//!  W·i + 0..16    h̃_i        fine hidden activations
//!  W·i + 16..26   r_i         residual vector
//!  W·i + 26..42   δ_i         first-layer error
//!  W·i + 42..106  p_i         pixels
//!  W·i + 106      a_i         contributor address
//!  W·i + 107      e_i         end of segment
//!  W·C + p        θ_p         model parameter p
//!  W·C + 1210 + j Σ_j         the factor sums (`kfac::Sums`, in its order)
//! ```

mod circuit;

pub use circuit::{build, keygen_circuit, synthesize, QueryCircuit, QueryHandles};

use crate::{Error, Result};
use lineage_core::{
    features::{self, FeatureTable, WholeAttribution},
    field::{fr_to_u128, Fr},
    kfac::{H1, X1},
    model::{QuantizedModel, HIDDEN},
    payout::Payout,
};
use serde::{Deserialize, Serialize};

/// Version of the per-query circuit's layout: bumped whenever its synthesis
/// changes, so that keys cached under an older layout are not reused (a
/// stale proving key yields proofs its own verifying key rejects).
/// 2: signed segment totals (the clamp at zero moved to the payout rule).
/// 3: `influence-kfac` scores (factors from the table's sums, three
/// linear-system checks). 4: the solutions checked at the fine scale and
/// rounded in the circuit.
pub const CIRCUIT_VERSION: u32 = 4;
/// The attribution method the per-query circuit proves (the eval's name
/// for it: `lineage attribution eval`, `lineage attribute --method`).
pub const METHOD: &str = "influence-kfac";
/// Number of public inputs of the per-query circuit.
pub const QUERY_INSTANCES: usize = 4;
/// Most examples one per-query circuit may cover.
pub const MAX_CAPACITY: usize = 1 << 16;
/// Smallest `k` the per-query circuit uses.
pub const MIN_QUERY_K: u32 = 12;
/// Advice cells of the per-query circuit per example (the score and the
/// segment stages), measured.
pub const QUERY_CELLS_PER_EXAMPLE: usize = 345;
/// Advice cells of the per-query circuit that do not grow with the
/// examples (the query's forward pass, the factors from the sums, the three
/// linear-system checks), measured.
pub const QUERY_FIXED_CELLS: usize = 275_000;
/// Advice columns [`QueryShape::new`] aims for at most.
pub const TARGET_COLUMNS: usize = 20;

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
    /// columns need `column_len(capacity) / FEATURE_COLUMNS` rows, and the
    /// stages about [`QUERY_CELLS_PER_EXAMPLE`] advice cells per example plus
    /// [`QUERY_FIXED_CELLS`] for the query and the factors (measured:
    /// `cargo run --release -p lineage-circuits --example cells`), spread
    /// over at most about [`TARGET_COLUMNS`] columns.
    pub fn new(capacity: usize) -> Result<Self> {
        if capacity == 0 || capacity > MAX_CAPACITY {
            return Err(Error::Shape(format!("capacity {capacity} is outside 1..={MAX_CAPACITY}")));
        }
        let rows_needed = crate::table::feature_rows(features::column_len(capacity)) + 64;
        let cells = QUERY_CELLS_PER_EXAMPLE * capacity + QUERY_FIXED_CELLS;
        let mut k = MIN_QUERY_K;
        while (1usize << k) < rows_needed || (1usize << k) * TARGET_COLUMNS < cells {
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
            attribution: WholeAttribution {
                predicted: 0,
                hidden: [0; 16],
                logits: [0; 10],
                scores: vec![],
                segments: vec![],
                ends: vec![],
                solutions: lineage_core::kfac::QuerySolutions {
                    class: 0,
                    u: vec![0; H1],
                    a: vec![0; HIDDEN],
                    b: vec![0; X1],
                    fine: [vec![0; H1], vec![0; HIDDEN], vec![0; X1]],
                },
            },
            payouts: vec![],
        }
    }
}
