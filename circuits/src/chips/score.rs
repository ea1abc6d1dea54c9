//! The score stage: one example's TracIn score from its feature row (see
//! `lineage_core::features`): `s = r[c] · (⟨h_q, h⟩ + S²)`, and its
//! positive part.
//!
//! ```text
//!  h_q (16, query)   h (16, row)        indicator (10, query)   r (10, row)
//!        \             /                        \                 /
//!     dot = Σ h_q·h + S²                   rc = Σ ind_k · r_k
//!                     \                     /
//!                      s = rc · dot ; pos = max(s, 0)   (|s| < 2^SCORE_BITS)
//! ```

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::{biguint_to_fe, fe_to_biguint},
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    features::{RESIDUAL_OFFSET, WIDTH},
    field::Fr,
    fixed::{SCALE, SCORE_BITS},
    model::{HIDDEN, OUTPUT},
};
use num_bigint::BigUint;

/// Instructions of the score stage.
pub trait ScoreInstructions {
    /// The score of one feature row (`WIDTH` cells) for a query with hidden
    /// activations `hq` and class indicator `indicator`.
    fn score(&self, ctx: &mut Context<Fr>, hq: &[AssignedValue<Fr>], indicator: &[AssignedValue<Fr>], row: &[AssignedValue<Fr>]) -> AssignedValue<Fr>;
    /// `max(s, 0)` for `|s| < 2^SCORE_BITS`.
    fn positive_part(&self, ctx: &mut Context<Fr>, s: AssignedValue<Fr>) -> AssignedValue<Fr>;
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

    fn positive_part(&self, ctx: &mut Context<Fr>, s: AssignedValue<Fr>) -> AssignedValue<Fr> {
        // u = s + 2^B ∈ [0, 2^(B+1)) splits as u = b·2^B + low, low < 2^B;
        // s ≥ 0 ⇔ b = 1, so max(s, 0) = b·s.
        let gate = self.range.gate();
        let bits = SCORE_BITS as usize;
        let two_b = biguint_to_fe::<Fr>(&(BigUint::from(1u8) << bits));
        let u = gate.add(ctx, s, Constant(two_b));
        let nonneg = fe_to_biguint(u.value()) >= (BigUint::from(1u8) << bits);
        let b = ctx.load_witness(Fr::from(nonneg as u64));
        gate.assert_bit(ctx, b);
        let low = gate.sub_mul(ctx, u, b, Constant(two_b));
        self.range.range_check(ctx, low, bits);
        gate.mul(ctx, b, s)
    }
}
