//! The split stage: running positive-influence totals over every example,
//! the cumulative-floor split per contributor segment, and the payout digest
//! (see `lineage_core::features`).
//!
//! Per row `i` (positive score `p_i`, address `a_i`, end flag `e_i`):
//!
//! ```text
//!  P_i   = P_{i−1} + p_i                       T = P_last, 0 < T < 2^TOTAL_BITS
//!  q_i   = ⌊pool·P_i / T⌋ :  pool·P_i = q_i·T + r_i,  q_i < 2^POOL_BITS,  r_i < T
//!  m_i   = q_i − q'_i                          (the segment's share when e_i = 1)
//!  q'_{i+1} = e_i ? q_i : q'_i                 (q at the previous end row; q'_0 = 0)
//!  D    += e_i · (a_i·w_i + m_i·w_i·γ)          (w_0 = γ)
//!  w_{i+1} = e_i ? w_i·γ² : w_i
//! ```
//!
//! Every row pays the same cells whatever its flags, so the layout does not
//! depend on the datanet.

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::{biguint_to_fe, fe_to_biguint},
    AssignedValue, Context,
};
use lineage_core::{
    field::Fr,
    fixed::{POOL_BITS, TOTAL_BITS},
};
use num_bigint::BigUint;

/// What the split stage returns.
#[derive(Clone, Debug)]
pub struct SplitOutput {
    /// Positive-influence total `T`.
    pub total: AssignedValue<Fr>,
    /// The payout digest `D(γ)`.
    pub digest: AssignedValue<Fr>,
    /// Per row, `q_i − q'_i` (a segment's share on its end row).
    pub shares: Vec<AssignedValue<Fr>>,
}

/// Instructions of the split stage.
pub trait SplitInstructions {
    /// Split `pool` (range-checked here) over the segments described by
    /// `addresses` and `ends`, weighted by `positives`, and digest the
    /// payout list at `challenge`.
    fn split(
        &self,
        ctx: &mut Context<Fr>,
        pool: AssignedValue<Fr>,
        challenge: AssignedValue<Fr>,
        positives: &[AssignedValue<Fr>],
        addresses: &[AssignedValue<Fr>],
        ends: &[AssignedValue<Fr>],
    ) -> SplitOutput;
}

/// The split chip.
pub struct SplitChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> SplitChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

impl SplitInstructions for SplitChip<'_> {
    fn split(
        &self,
        ctx: &mut Context<Fr>,
        pool: AssignedValue<Fr>,
        challenge: AssignedValue<Fr>,
        positives: &[AssignedValue<Fr>],
        addresses: &[AssignedValue<Fr>],
        ends: &[AssignedValue<Fr>],
    ) -> SplitOutput {
        assert!(!positives.is_empty() && positives.len() == addresses.len() && positives.len() == ends.len());
        let gate = self.range.gate();
        self.range.range_check(ctx, pool, POOL_BITS as usize);
        let mut cumulative = Vec::with_capacity(positives.len());
        let mut acc = positives[0];
        cumulative.push(acc);
        for p in &positives[1..] {
            acc = gate.add(ctx, acc, *p);
            cumulative.push(acc);
        }
        let total = acc;
        self.range.range_check(ctx, total, TOTAL_BITS as usize);
        let total_is_zero = gate.is_zero(ctx, total);
        gate.assert_is_const(ctx, &total_is_zero, &Fr::zero());

        let pool_n = fe_to_biguint(pool.value());
        let total_n = fe_to_biguint(total.value());
        let zero = BigUint::from(0u8);
        let mut q_prev = ctx.load_zero();
        let mut digest = ctx.load_zero();
        let mut w = challenge;
        let mut shares = Vec::with_capacity(positives.len());
        for ((p_i, a_i), e_i) in cumulative.iter().zip(addresses).zip(ends) {
            let num = gate.mul(ctx, pool, *p_i);
            let (q_n, r_n) = if total_n == zero {
                (zero.clone(), zero.clone())
            } else {
                let num_n = &pool_n * fe_to_biguint(p_i.value());
                (&num_n / &total_n, &num_n % &total_n)
            };
            let q = ctx.load_witness(biguint_to_fe(&q_n));
            let r = ctx.load_witness(biguint_to_fe(&r_n));
            self.range.range_check(ctx, q, POOL_BITS as usize);
            self.range.range_check(ctx, r, TOTAL_BITS as usize);
            self.range.check_less_than(ctx, r, total, TOTAL_BITS as usize);
            let recombined = gate.mul_add(ctx, q, total, r);
            ctx.constrain_equal(&recombined, &num);
            let share = gate.sub(ctx, q, q_prev);
            shares.push(share);
            q_prev = gate.select(ctx, q, q_prev, *e_i);
            let wg = gate.mul(ctx, w, challenge);
            let t = gate.mul(ctx, *a_i, w);
            let term = gate.mul_add(ctx, share, wg, t);
            digest = gate.mul_add(ctx, *e_i, term, digest);
            let wgg = gate.mul(ctx, wg, challenge);
            w = gate.select(ctx, wgg, w, *e_i);
        }
        SplitOutput { total, digest, shares }
    }
}
