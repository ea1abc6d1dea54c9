//! The score stage: one example's TracIn score from its feature row (see
//! `lineage_core::features`): `s = r[c] · (⟨h_q, h⟩ + S²)`, signed (the
//! segment stage sums it per contributor; the clamp at zero is the payout
//! rule's, applied per contributor by the chain and the auditor).
//!
//! ```text
//!  h_q (16, query)   h (16, row)        indicator (10, query)   r (10, row)
//!        \             /                        \                 /
//!     dot = Σ h_q·h + S²                   rc = Σ ind_k · r_k
//!                     \                     /
//!                      s = rc · dot
//! ```

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    features::{RESIDUAL_OFFSET, WIDTH},
    field::Fr,
    fixed::SCALE,
    model::{HIDDEN, OUTPUT},
};

/// Instructions of the score stage.
pub trait ScoreInstructions {
    /// The score of one feature row (`WIDTH` cells) for a query with hidden
    /// activations `hq` and class indicator `indicator`.
    fn score(&self, ctx: &mut Context<Fr>, hq: &[AssignedValue<Fr>], indicator: &[AssignedValue<Fr>], row: &[AssignedValue<Fr>]) -> AssignedValue<Fr>;
}

/// The score chip.
pub struct ScoreChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> ScoreChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

impl ScoreInstructions for ScoreChip<'_> {
    fn score(&self, ctx: &mut Context<Fr>, hq: &[AssignedValue<Fr>], indicator: &[AssignedValue<Fr>], row: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        debug_assert_eq!(row.len(), WIDTH);
        let gate = self.range.gate();
        let s2 = Fr::from((SCALE * SCALE) as u64);
        let ip = gate.inner_product(ctx, hq[..HIDDEN].iter().copied(), row[..HIDDEN].iter().map(|c| Existing(*c)));
        let dot = gate.add(ctx, ip, Constant(s2));
        let rc = gate.inner_product(
            ctx,
            indicator[..OUTPUT].iter().copied(),
            row[RESIDUAL_OFFSET..RESIDUAL_OFFSET + OUTPUT].iter().map(|c| Existing(*c)),
        );
        gate.mul(ctx, rc, dot)
    }
}
