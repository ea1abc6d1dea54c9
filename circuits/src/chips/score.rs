//! The score stage: one example's `influence-kfac` score from its feature
//! row (`lineage_core::kfac`, `lineage_core::features`), signed (the
//! segment stage sums it per contributor; the clamp at zero is the payout
//! rule's, applied per contributor by the chain and the auditor).
//!
//! Per query, once ([`ScoreInstructions::prepare`]) from the solutions
//! `u` (17), `a` (16), `b` (65) and the class indicator:
//! `K_u = u_16·2^16` (the bias entry of `h̃`) and
//! `K_b = 2^8·b_64 − C·Σ_{j<64} b_j` (`x̃ = [16·p − C; 2^8]`). Per row:
//!
//! ```text
//!  u (16)  h̃ (16, row)     ind (10)  r (10, row)     a (16)  δ (16, row)     b (64)  p (64, row)
//!      \     /                  \      /                  \     /                 \     /
//!   lu = Σ u·h̃ + K_u          rc = Σ ind·r            da = Σ a·δ         xb = 16·Σ b·p + K_b
//!              \                /                              \               /
//!               last = rc · lu                             first = 2^8 · da · xb
//!                                  s = first + last
//! ```
//!
//! exactly `lineage_core::kfac`'s integer score at scale `2^40`.

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    features::{DELTA_OFFSET, PIXEL_OFFSET, RESIDUAL_OFFSET, WIDTH},
    field::{fr_from_i128, Fr},
    kfac::{FINE_BITS, INPUT_CENTRE_FIXED},
    model::{HIDDEN, INPUT, OUTPUT},
};

/// The query's share of every score.
#[derive(Clone, Debug)]
pub struct ScoreQuery {
    pub u: Vec<AssignedValue<Fr>>,
    pub ku: AssignedValue<Fr>,
    pub a: Vec<AssignedValue<Fr>>,
    pub b: Vec<AssignedValue<Fr>>,
    pub kb: AssignedValue<Fr>,
    pub indicator: Vec<AssignedValue<Fr>>,
}

/// Instructions of the score stage.
pub trait ScoreInstructions {
    /// The per-query terms from the solutions `u` (17), `a` (16), `b` (65)
    /// and the class indicator (10).
    fn prepare(&self, ctx: &mut Context<Fr>, u: &[AssignedValue<Fr>], a: &[AssignedValue<Fr>], b: &[AssignedValue<Fr>], indicator: &[AssignedValue<Fr>]) -> ScoreQuery;
    /// The score of one feature row (`WIDTH` cells).
    fn score(&self, ctx: &mut Context<Fr>, q: &ScoreQuery, row: &[AssignedValue<Fr>]) -> AssignedValue<Fr>;
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
    fn prepare(&self, ctx: &mut Context<Fr>, u: &[AssignedValue<Fr>], a: &[AssignedValue<Fr>], b: &[AssignedValue<Fr>], indicator: &[AssignedValue<Fr>]) -> ScoreQuery {
        assert!(u.len() == HIDDEN + 1 && a.len() == HIDDEN && b.len() == INPUT + 1 && indicator.len() == OUTPUT, "score shape");
        let gate = self.range.gate();
        let ku = gate.mul(ctx, u[HIDDEN], Constant(Fr::from(1u64 << FINE_BITS)));
        let sb = gate.sum(ctx, b[..INPUT].iter().copied());
        let kb = gate.mul(ctx, b[INPUT], Constant(Fr::from(256u64)));
        let kb = gate.mul_add(ctx, sb, Constant(fr_from_i128(-(INPUT_CENTRE_FIXED as i128))), kb);
        ScoreQuery { u: u[..HIDDEN].to_vec(), ku, a: a.to_vec(), b: b[..INPUT].to_vec(), kb, indicator: indicator.to_vec() }
    }

    fn score(&self, ctx: &mut Context<Fr>, q: &ScoreQuery, row: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        debug_assert_eq!(row.len(), WIDTH);
        let gate = self.range.gate();
        let ip = |ctx: &mut Context<Fr>, x: &[AssignedValue<Fr>], at: usize| gate.inner_product(ctx, x.iter().copied(), row[at..at + x.len()].iter().map(|c| Existing(*c)));
        let hu = ip(ctx, &q.u, 0);
        let lu = gate.add(ctx, hu, q.ku);
        let rc = ip(ctx, &q.indicator, RESIDUAL_OFFSET);
        let last = gate.mul(ctx, rc, lu);
        let da = ip(ctx, &q.a, DELTA_OFFSET);
        let pb = ip(ctx, &q.b, PIXEL_OFFSET);
        let xb = gate.mul_add(ctx, pb, Constant(Fr::from(16u64)), q.kb);
        let da = gate.mul(ctx, da, Constant(Fr::from(256u64)));
        gate.mul_add(ctx, da, xb, last)
    }
}
