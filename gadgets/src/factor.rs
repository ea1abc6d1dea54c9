//! The per-model arithmetic of `lineage_core::kfac` as constraints: the
//! rounded mean of a factor entry and the damping of a factor's diagonal —
//! what a circuit needs to turn committed sums of outer products into the
//! damped factors its linear-system checks ([`crate::linear`]) use.
//!
//! Floor division by a constant `d > 0` of a signed `v` (`|v| < 2^B`), on
//! the flex gate:
//!
//! ```text
//!   q, r   witnesses                 v = q·d + r           (mul_add, equality)
//!   0 ≤ r < d                        (range check + less-than)
//!   q + 2^(B−1) ∈ [0, 2^B)           (signed range check)
//! ```
//!
//! `q·d + r` with those ranges stays far below the BN254 modulus, so the
//! integer pair `(q, r)` is unique: `q = ⌊v / d⌋` exactly.
//!
//! The damping of a `dim × dim` factor with trace `t ≥ 0` (a trace of means
//! of squares, `t < 2^B`):
//!
//! ```text
//!   λ₀ = ⌊t·P / (100·dim)⌋;  λ = λ₀ + [λ₀ = 0]  if t ≠ 0,  2^16 if t = 0
//! ```
//!
//! (`P` = `DAMPING_PERCENT`; `max(λ₀, 1)` for `λ₀ ≥ 0`), added to every
//! diagonal entry.

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::biguint_to_fe,
    AssignedValue, Context,
    QuantumCell::Constant,
};
use lineage_core::{
    field::{fr_from_i128, fr_to_i128},
    kfac::{DAMPING_PERCENT, FACTOR_BITS},
};
use num_bigint::BigUint;

use crate::Fr;

/// Most bits of a dividend (signed) the chip accepts: quotients and
/// remainders are witnessed in `i128`.
pub const MAX_DIVIDEND_BITS: usize = 127;

/// Instructions of the factor chip.
pub trait FactorInstructions {
    /// `⌊v / d⌋` for `|v| < 2^(bits−1)` and a constant `d > 0`.
    fn div_floor(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: u64, bits: usize) -> AssignedValue<Fr>;
    /// `⌊(v + ⌊d/2⌋) / d⌋`: a sum's rounded mean (`lineage_core::kfac::mean`).
    fn mean(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: u64, bits: usize) -> AssignedValue<Fr>;
    /// `⌊v / d⌋` for a cell `0 < d < 2^d_bits` (the caller must bound `d`:
    /// the chip only checks `0 ≤ r < d` within `d_bits`) whose
    /// quotient fits `q_bits` signed bits (fails to verify otherwise).
    fn div_floor_var(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: AssignedValue<Fr>, d_bits: usize, q_bits: usize) -> AssignedValue<Fr>;
    /// `⌊v / 2⌋` and `v mod 2` of a cell `0 ≤ v < 2^(bits + 1)` (the half
    /// is range-checked to `bits`; a larger or negative `v` fails).
    fn halve(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, bits: usize) -> (AssignedValue<Fr>, AssignedValue<Fr>);
    /// Damp the `dim × dim` factor `f` (row-major) in place
    /// (`lineage_core::kfac::damp`); its trace must be nonnegative and below
    /// `2^(bits−1)`. Returns the damping added.
    fn damp(&self, ctx: &mut Context<Fr>, f: &mut [AssignedValue<Fr>], dim: usize, bits: usize) -> AssignedValue<Fr>;
}

/// The factor chip.
#[derive(Clone, Debug)]
pub struct FactorChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> FactorChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

impl FactorInstructions for FactorChip<'_> {
    fn div_floor(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: u64, bits: usize) -> AssignedValue<Fr> {
        assert!(d > 0 && (2..=MAX_DIVIDEND_BITS).contains(&bits), "division shape");
        let gate = self.range.gate();
        // witnesses: floor division of the signed value (a value beyond
        // i128 cannot pass the range checks below, whatever is witnessed)
        let vi = fr_to_i128(v.value()).unwrap_or(0);
        let q = ctx.load_witness(fr_from_i128(vi.div_euclid(d as i128)));
        let r = ctx.load_witness(fr_from_i128(vi.rem_euclid(d as i128)));
        // v = q·d + r
        let back = gate.mul_add(ctx, q, Constant(Fr::from(d)), r);
        ctx.constrain_equal(&back, &v);
        // 0 ≤ r < d
        self.range.check_less_than_safe(ctx, r, d);
        // q signed, |q| < 2^(bits−1)
        let half: Fr = biguint_to_fe(&(BigUint::from(1u8) << (bits - 1)));
        let shifted = gate.add(ctx, q, Constant(half));
        self.range.range_check(ctx, shifted, bits);
        q
    }

    fn div_floor_var(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: AssignedValue<Fr>, d_bits: usize, q_bits: usize) -> AssignedValue<Fr> {
        assert!(d_bits + q_bits < MAX_DIVIDEND_BITS && q_bits >= 2, "division shape");
        let gate = self.range.gate();
        let (vi, di) = (fr_to_i128(v.value()).unwrap_or(0), fr_to_i128(d.value()).unwrap_or(1).max(1));
        let q = ctx.load_witness(fr_from_i128(vi.div_euclid(di)));
        let r = ctx.load_witness(fr_from_i128(vi.rem_euclid(di)));
        // v = q·d + r, with |q| < 2^(q_bits−1) and 0 ≤ r < d < 2^d_bits:
        // |q·d + r| < 2^(q_bits + d_bits), far below the modulus, so q is the integer quotient
        let back = gate.mul_add(ctx, q, d, r);
        ctx.constrain_equal(&back, &v);
        self.range.range_check(ctx, r, d_bits);
        let below = gate.sub(ctx, d, r);
        let below = gate.sub(ctx, below, Constant(Fr::one()));
        self.range.range_check(ctx, below, d_bits);
        let half: Fr = biguint_to_fe(&(BigUint::from(1u8) << (q_bits - 1)));
        let shifted = gate.add(ctx, q, Constant(half));
        self.range.range_check(ctx, shifted, q_bits);
        q
    }

    fn halve(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, bits: usize) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
        let gate = self.range.gate();
        let vi = fr_to_i128(v.value()).unwrap_or(0);
        let h = ctx.load_witness(fr_from_i128(vi.div_euclid(2)));
        let b = ctx.load_witness(fr_from_i128(vi.rem_euclid(2)));
        gate.assert_bit(ctx, b);
        self.range.range_check(ctx, h, bits);
        let back = gate.mul_add(ctx, h, Constant(Fr::from(2u64)), b);
        ctx.constrain_equal(&back, &v);
        (h, b)
    }

    fn mean(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, d: u64, bits: usize) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let biased = gate.add(ctx, v, Constant(Fr::from(d / 2)));
        self.div_floor(ctx, biased, d, bits + 1)
    }

    fn damp(&self, ctx: &mut Context<Fr>, f: &mut [AssignedValue<Fr>], dim: usize, bits: usize) -> AssignedValue<Fr> {
        assert!(dim > 0 && f.len() == dim * dim, "factor shape");
        let gate = self.range.gate();
        let trace = gate.sum(ctx, (0..dim).map(|i| f[i * dim + i]));
        // the trace is a sum of means of squares: nonnegative by construction, checked here
        self.range.range_check(ctx, trace, bits - 1);
        let scaled = gate.mul(ctx, trace, Constant(Fr::from(DAMPING_PERCENT as u64)));
        let lambda0 = self.div_floor(ctx, scaled, dim as u64 * 100, (bits + 8).min(MAX_DIVIDEND_BITS));
        let l0_zero = gate.is_zero(ctx, lambda0);
        let lambda = gate.add(ctx, lambda0, l0_zero);
        let t_zero = gate.is_zero(ctx, trace);
        let lambda = gate.select(ctx, Constant(fr_from_i128(1 << FACTOR_BITS)), lambda, t_zero);
        for i in 0..dim {
            f[i * dim + i] = gate.add(ctx, f[i * dim + i], lambda);
        }
        lambda
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage};
    use halo2_base::halo2_proofs::{
        dev::{MockProver, VerifyFailure},
        plonk::Assigned,
    };
    use lineage_core::kfac;

    const K: usize = 12;

    /// Build `f(chip, ctx)` and run MockProver; `tamper` adds one to the
    /// advice cell at that offset after assignment.
    fn run(f: impl FnOnce(&FactorChip, &mut Context<Fr>) -> Vec<AssignedValue<Fr>>, tamper: Option<usize>) -> (Vec<Fr>, Result<(), Vec<VerifyFailure>>) {
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K).use_lookup_bits(K - 1).use_instance_columns(0);
        let range = builder.range_chip();
        let ctx = builder.main(0);
        let out = f(&FactorChip::new(&range), ctx);
        let values = out.iter().map(|c| *c.value()).collect();
        if let Some(cell) = tamper {
            let offset = out[cell].cell.unwrap().offset;
            let old = ctx.advice[offset].evaluate();
            ctx.advice[offset] = Assigned::Trivial(old + Fr::one());
        }
        builder.calculate_params(Some(9));
        (values, MockProver::run(K as u32, &builder, vec![]).unwrap().verify())
    }

    #[test]
    fn means_follow_the_spec_on_both_signs() {
        for (v, d) in [(1000i128, 7u64), (-1000, 7), (7, 7), (-7, 7), (3, 7), (-3, 7), (0, 1), (-(1i128 << 70), 1438 << 16), ((1i128 << 70) + 5, 1438)] {
            let (got, ok) = run(
                |chip, ctx| {
                    let v = ctx.load_witness(fr_from_i128(v));
                    vec![chip.mean(ctx, v, d, 80)]
                },
                None,
            );
            assert_eq!(ok, Ok(()), "v = {v}, d = {d}");
            assert_eq!(got[0], fr_from_i128(kfac::mean(v, d as i128) as i128), "v = {v}, d = {d}");
        }
    }

    #[test]
    fn means_by_a_divisor_cell_follow_the_spec() {
        // the per-query circuit's means: d = n or n·2^16 from the table, ⌊d/2⌋ by halving n
        for (v, n) in [(1000i128, 7i128), (-1000, 7), (7, 8), (-3, 7), (0, 1), (-(1i128 << 70), 1438), ((1i128 << 70) + 5, 1438)] {
            for scaled in [false, true] {
                let d = if scaled { n << 16 } else { n };
                let (got, ok) = run(
                    |chip, ctx| {
                        let (vc, nc) = (ctx.load_witness(fr_from_i128(v)), ctx.load_witness(fr_from_i128(n)));
                        let (half, _) = chip.halve(ctx, nc, 17);
                        let gate = chip.range.gate();
                        let (dc, hc) = if scaled {
                            (gate.mul(ctx, nc, Constant(Fr::from(1 << 16))), gate.mul(ctx, nc, Constant(Fr::from(1 << 15))))
                        } else {
                            (nc, half)
                        };
                        let biased = gate.add(ctx, vc, hc);
                        vec![chip.div_floor_var(ctx, biased, dc, 33, 64)]
                    },
                    None,
                );
                assert_eq!(ok, Ok(()), "v = {v}, d = {d}");
                assert_eq!(got[0], fr_from_i128(kfac::mean(v, d) as i128), "v = {v}, d = {d}");
            }
        }
        // a remainder of d (one quotient lower) fails its range check against d
        let (_, res) = run(
            |chip, ctx| {
                let (v, d) = (ctx.load_witness(fr_from_i128(14)), ctx.load_witness(fr_from_i128(7)));
                let q = chip.div_floor_var(ctx, v, d, 33, 40);
                vec![q]
            },
            Some(0),
        );
        let errs = res.unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. })), "{errs:?}");
        // a quotient beyond its bits is refused: 2^40 / 1 with 40 signed bits
        let (_, res) = run(
            |chip, ctx| {
                let (v, d) = (ctx.load_witness(fr_from_i128(1 << 40)), ctx.load_witness(Fr::one()));
                vec![chip.div_floor_var(ctx, v, d, 33, 40)]
            },
            None,
        );
        assert!(res.is_err());
    }

    #[test]
    fn a_wrong_quotient_fails() {
        // the quotient cell moved by one after assignment: its copy into v = q·d + r breaks
        let (_, res) = run(
            |chip, ctx| {
                let v = ctx.load_witness(fr_from_i128(-1000));
                vec![chip.div_floor(ctx, v, 7, 40)]
            },
            Some(0),
        );
        let errs = res.unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. })), "{errs:?}");
    }

    #[test]
    fn damping_follows_the_spec() {
        // a trace large enough for λ₀ > 0, one giving λ₀ = 0 (so 1), and an all-zero factor (2^16)
        for diag in [[400_000i64, 300_000, 5], [20, 30, 40], [0, 0, 0]] {
            let mut spec = vec![0i64; 9];
            (0..3).for_each(|i| spec[i * 3 + i] = diag[i]);
            spec[1] = -17;
            spec[3] = -17;
            let mut damped = spec.clone();
            kfac::damp(&mut damped, 3);
            let (got, ok) = run(
                |chip, ctx| {
                    let mut f = ctx.assign_witnesses(spec.iter().map(|v| fr_from_i128(*v as i128)));
                    chip.damp(ctx, &mut f, 3, 64);
                    f
                },
                None,
            );
            assert_eq!(ok, Ok(()), "{diag:?}");
            assert_eq!(got, damped.iter().map(|v| fr_from_i128(*v as i128)).collect::<Vec<_>>(), "{diag:?}");
        }
    }

    #[test]
    fn a_negative_trace_is_refused() {
        let (_, res) = run(
            |chip, ctx| {
                let mut f = ctx.assign_witnesses([-5i64, 0, 0, 1].iter().map(|v| fr_from_i128(*v as i128)));
                chip.damp(ctx, &mut f, 2, 64);
                f
            },
            None,
        );
        let errs = res.unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Lookup { .. })), "{errs:?}");
    }
}
