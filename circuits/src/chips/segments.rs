//! The segment stage: per-contributor segment totals of net (signed)
//! influence over every example, and their digest (see
//! `lineage_core::features`).
//!
//! Per row `i` (score `p_i`, address `a_i`, end flag `e_i`):
//!
//! ```text
//!  t_i     = p_i + (1 − e_{i−1})·t_{i−1}        (t_{−1} = 0, e_{−1} = 0)
//!  D      += e_i · (a_i·w_i + t_i·w_i·γ)          (w_i = γ^{2i+1})
//!  w_{i+1} = w_i·γ²
//! ```
//!
//! On an end row `t_i` is the segment's total. Every row pays the same cells
//! whatever its flags, so the layout does not depend on the datanet. Totals
//! cannot wrap the field: each score is a sum of products of bounded
//! features and range-checked solutions (`lineage_core::features` and
//! `lineage_core::linear` bounds: `|p_i| < 2^160`) and there are at most
//! 2^16 rows, so every total is an integer of magnitude below 2^176, far
//! inside the field. A claim lists totals as `i128`; a total beyond that has
//! no claim whose digest matches (the native attribution refuses it as an
//! overflow, and a trained model is far from it).

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    AssignedValue, Context,
};
use lineage_core::field::Fr;

/// What the segment stage returns.
#[derive(Clone, Debug)]
pub struct SegmentOutput {
    /// Per row, the running total of its segment (the segment's total on its
    /// end row).
    pub totals: Vec<AssignedValue<Fr>>,
    /// The digest `D(γ)` of the `(address, total)` list.
    pub digest: AssignedValue<Fr>,
}

/// Instructions of the segment stage.
pub trait SegmentInstructions {
    /// Sum `scores` per segment (`addresses`, `ends`) and digest the
    /// `(address, total)` list at `challenge`.
    fn segments(
        &self,
        ctx: &mut Context<Fr>,
        challenge: AssignedValue<Fr>,
        scores: &[AssignedValue<Fr>],
        addresses: &[AssignedValue<Fr>],
        ends: &[AssignedValue<Fr>],
    ) -> SegmentOutput;
}

/// The segment chip.
pub struct SegmentChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> SegmentChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

impl SegmentInstructions for SegmentChip<'_> {
    fn segments(
        &self,
        ctx: &mut Context<Fr>,
        challenge: AssignedValue<Fr>,
        scores: &[AssignedValue<Fr>],
        addresses: &[AssignedValue<Fr>],
        ends: &[AssignedValue<Fr>],
    ) -> SegmentOutput {
        assert!(!scores.is_empty() && scores.len() == addresses.len() && scores.len() == ends.len());
        let gate = self.range.gate();
        let mut totals = Vec::with_capacity(scores.len());
        let mut digest = ctx.load_zero();
        let mut w = challenge;
        let mut carry = ctx.load_zero(); // (1 − e_{i−1})·t_{i−1}
        for ((p_i, a_i), e_i) in scores.iter().zip(addresses).zip(ends) {
            let t = gate.add(ctx, *p_i, carry);
            totals.push(t);
            carry = gate.sub_mul(ctx, t, *e_i, t);
            let wg = gate.mul(ctx, w, challenge);
            let at = gate.mul(ctx, *a_i, w);
            let term = gate.mul_add(ctx, t, wg, at);
            digest = gate.mul_add(ctx, *e_i, term, digest);
            w = gate.mul(ctx, wg, challenge);
        }
        SegmentOutput { totals, digest }
    }
}
