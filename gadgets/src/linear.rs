//! The linear-system check of `lineage_core::linear` as constraints: a
//! circuit proves that `u` solves `M u = g` (within each row's fixed-point
//! bound) instead of computing an inverse.
//!
//! Per matrix entry, then per row `i`, on the flex gate:
//!
//! ```text
//!   a_ij, s_ij witnesses:  M_ij = a_ij − 2·s_ij·a_ij,  s_ij bit,  a_ij < 2^31
//!   B_i   = Σ_j a_ij + 2                    (the row's bound: Σ |M_ij| + 2)
//!   acc_i = Σ_j M_ij · u_j                  (inner product: one row per term)
//!   e_i   = acc_i − g_i · 2^(F + R)        (u at the fine scale 2^(F + R))
//!   t_i   = 2·e_i + B_i;   t_i < 2^44,  2·B_i − t_i < 2^44   (|2·e_i| ≤ B_i)
//! ```
//!
//! and per unknown `u_j + 2^(B−1) < 2^B` (`B = SOLUTION_BITS`), the same
//! for `g_i` with `RHS_BITS`. The range check on `a_ij` both bounds the matrix to
//! `|M_ij| < 2^31` (`lineage_core::linear::MATRIX_BITS`) and makes `a_ij`
//! its absolute value (the other root, `−|M_ij|`, is a huge field
//! element). Without the range checks on `u` the system would have a
//! solution modulo the field for any residual; with them every quantity
//! stays below 2^98, so field and integer arithmetic agree.

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::biguint_to_fe,
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    field::fr_to_i128,
    fixed::SCALE,
    linear::{MATRIX_BITS, MAX_UNKNOWNS, REFINE_BITS, RHS_BITS, SOLUTION_BITS},
};
use num_bigint::BigUint;

use crate::Fr;

/// Bits of a row's `t_i` and `2·B_i − t_i` (`B_i < 2^43`).
const BOUND_BITS: usize = 44;

/// Instructions of the linear-system chip.
pub trait LinearSystemInstructions {
    /// Constrain `|M_ij| < 2^31`, `u_j ∈ [−2^(SOLUTION_BITS − 1),
    /// 2^(SOLUTION_BITS − 1))`, `g_i ∈ [−2^(RHS_BITS − 1), 2^(RHS_BITS − 1))`
    /// and `|2·(Σ_j M_ij u_j − g_i · 2^(F + R))| ≤ Σ_j |M_ij| + 2` for every
    /// row (`lineage_core::linear::check`; `u` at the fine scale). `m` is
    /// row-major `n × n` (`n = u.len() = g.len() ≤ MAX_UNKNOWNS`). Panics on
    /// mismatched lengths (a circuit-building bug, not input).
    /// If `symmetric`, the matrix is constrained symmetric (`M_ji = M_ij`)
    /// and each absolute value is computed once per pair.
    fn check_solution(&self, ctx: &mut Context<Fr>, m: &[AssignedValue<Fr>], u: &[AssignedValue<Fr>], g: &[AssignedValue<Fr>], symmetric: bool);
}

/// The linear-system chip.
#[derive(Clone, Debug)]
pub struct LinearSystemChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> LinearSystemChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }

    fn signed_range(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, bits: u32) {
        let half = biguint_to_fe(&(BigUint::from(1u8) << (bits - 1)));
        let shifted = self.range.gate().add(ctx, v, Constant(half));
        self.range.range_check(ctx, shifted, bits as usize);
    }

    /// `|v|` for `|v| < 2^31` (fails to verify otherwise).
    pub fn abs(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        // witnesses (a value beyond i128 cannot pass the range check, whatever is witnessed)
        let vi = fr_to_i128(v.value()).unwrap_or(0);
        let a = ctx.load_witness(Fr::from(vi.unsigned_abs() as u64));
        let s = ctx.load_witness(Fr::from((vi < 0) as u64));
        gate.assert_bit(ctx, s);
        // v = a − 2·s·a
        let sa = gate.mul(ctx, s, a);
        let back = gate.mul_add(ctx, sa, Constant(-Fr::from(2u64)), a);
        ctx.constrain_equal(&back, &v);
        self.range.range_check(ctx, a, MATRIX_BITS as usize - 1);
        a
    }
}

impl LinearSystemInstructions for LinearSystemChip<'_> {
    fn check_solution(&self, ctx: &mut Context<Fr>, m: &[AssignedValue<Fr>], u: &[AssignedValue<Fr>], g: &[AssignedValue<Fr>], symmetric: bool) {
        let n = u.len();
        assert!(n <= MAX_UNKNOWNS && g.len() == n && m.len() == n * n, "linear system shape");
        for v in u {
            self.signed_range(ctx, *v, SOLUTION_BITS);
        }
        for v in g {
            self.signed_range(ctx, *v, RHS_BITS);
        }
        let gate = self.range.gate();
        // |M_ij|, once per entry, or once per pair {ij, ji} of a symmetric
        // matrix (whose lower half is then the upper half's cells: the
        // layout depends only on the shape, never on cell identities, which
        // witness generation does not track)
        let mut abs: Vec<Option<AssignedValue<Fr>>> = vec![None; n * n];
        for i in 0..n {
            for j in 0..n {
                abs[i * n + j] = Some(match (symmetric && j < i).then(|| abs[j * n + i]).flatten() {
                    Some(a) => {
                        ctx.constrain_equal(&m[i * n + j], &m[j * n + i]);
                        a
                    }
                    None => self.abs(ctx, m[i * n + j]),
                });
            }
        }
        for (i, gi) in g.iter().enumerate() {
            let row = &m[i * n..(i + 1) * n];
            let abs = abs[i * n..(i + 1) * n].iter().map(|a| a.expect("every entry"));
            let sum = gate.sum(ctx, abs);
            let bound = gate.add(ctx, sum, Constant(Fr::from(2u64)));
            let acc = gate.inner_product(ctx, row.iter().copied(), u.iter().map(|c| Existing(*c)));
            let e = gate.mul_add(ctx, *gi, Constant(-Fr::from((SCALE as u64) << REFINE_BITS)), acc);
            let t = gate.mul_add(ctx, e, Constant(Fr::from(2u64)), bound);
            self.range.range_check(ctx, t, BOUND_BITS);
            let twice_b = gate.mul(ctx, bound, Constant(Fr::from(2u64)));
            let slack = gate.sub(ctx, twice_b, t);
            self.range.range_check(ctx, slack, BOUND_BITS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage};
    use halo2_base::halo2_proofs::{dev::{MockProver, VerifyFailure}, plonk::Assigned};
    use lineage_core::field::fr_from_i128;
    use lineage_core::linear;

    const K: usize = 12;

    /// A 3-unknown system with a non-trivial solution.
    fn system() -> (Vec<i64>, Vec<i64>) {
        let m = vec![900, -120, 40, 75, 1100, -300, -60, 210, 700];
        let g = vec![1234, -567, 89];
        (m, g)
    }

    /// Build the check over `(m, u, g)`, optionally adding `delta` to the
    /// cell of `u[0]` after assignment, and run MockProver.
    fn run(m: &[i64], u: &[i64], g: &[i64], delta_u0: Option<Fr>) -> Result<(), Vec<VerifyFailure>> {
        let uf: Vec<Fr> = u.iter().map(|x| fr_from_i128(*x as i128)).collect();
        run_field(m, &uf, g, delta_u0)
    }

    fn run_field(m: &[i64], u: &[Fr], g: &[i64], delta_u0: Option<Fr>) -> Result<(), Vec<VerifyFailure>> {
        run_with(m, u, g, delta_u0, false)
    }

    fn run_with(m: &[i64], u: &[Fr], g: &[i64], delta_u0: Option<Fr>, symmetric: bool) -> Result<(), Vec<VerifyFailure>> {
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock).use_k(K).use_lookup_bits(K - 1).use_instance_columns(0);
        let range = builder.range_chip();
        let ctx = builder.main(0);
        let load = |ctx: &mut Context<Fr>, v: &[i64]| ctx.assign_witnesses(v.iter().map(|x| fr_from_i128(*x as i128)));
        let (mc, gc) = (load(ctx, m), load(ctx, g));
        let uc = ctx.assign_witnesses(u.iter().copied());
        LinearSystemChip::new(&range).check_solution(ctx, &mc, &uc, &gc, symmetric);
        if let Some(d) = delta_u0 {
            let offset = uc[0].cell.unwrap().offset;
            let old = ctx.advice[offset].evaluate();
            ctx.advice[offset] = Assigned::Trivial(old + d);
        }
        builder.calculate_params(Some(9));
        MockProver::run(K as u32, &builder, vec![]).unwrap().verify()
    }

    fn lookups(errs: &[VerifyFailure]) -> bool {
        errs.iter().any(|e| matches!(e, VerifyFailure::Lookup { .. }))
    }

    #[test]
    fn the_rounded_solution_passes() {
        let (m, g) = system();
        let u = linear::solve_fixed(&m, &g, 3).unwrap();
        assert_eq!(run(&m, &u, &g, None), Ok(()));
    }

    #[test]
    fn a_wrong_solution_fails_the_residual_range_check() {
        let (m, g) = system();
        let mut u = linear::solve_fixed(&m, &g, 3).unwrap();
        u[1] += 2; // residual of row 1 moves by 2 · 1100: twice that is beyond B_1 = 1477
        assert!(matches!(linear::check(&m, &u, &g, 3), Err(linear::LinearError::Residual { row: 1, .. })));
        // one of t, 2B − t is negative: its range check's limbs cannot recompose it
        let errs = run(&m, &u, &g, None).unwrap_err();
        assert!(!errs.is_empty() && errs.iter().all(|e| matches!(e, VerifyFailure::Permutation { .. })), "{errs:?}");
    }

    #[test]
    fn a_symmetric_system_shares_its_absolute_values_and_an_asymmetric_one_fails() {
        let m = vec![900, -120, 40, -120, 1100, -300, 40, -300, 700];
        let g = vec![1234, -567, 89];
        let u: Vec<Fr> = linear::solve_fixed(&m, &g, 3).unwrap().iter().map(|x| fr_from_i128(*x as i128)).collect();
        assert_eq!(run_with(&m, &u, &g, None, true), Ok(()));
        let (m, g) = system();
        let u: Vec<Fr> = linear::solve_fixed(&m, &g, 3).unwrap().iter().map(|x| fr_from_i128(*x as i128)).collect();
        let errs = run_with(&m, &u, &g, None, true).unwrap_err();
        assert!(errs.iter().all(|e| matches!(e, VerifyFailure::Permutation { .. })), "{errs:?}");
    }

    #[test]
    fn the_row_bound_is_exactly_the_spec() {
        // M = [1]: B = 3, so residuals −1, 0, 1 pass and 2 does not, natively and in the circuit
        let one = 1i64 << 24;
        for (u, ok) in [(one - 1, true), (one + 1, true), (one + 2, false), (one - 2, false)] {
            assert_eq!(linear::check(&[1], &[u], &[1], 1).is_ok(), ok, "u = {u}");
            assert_eq!(run(&[1], &[u], &[1], None).is_ok(), ok, "u = {u}");
        }
        // a negative entry's absolute value counts: M = [−3] (B = 5), g = −3, u* = 2^24
        assert!(run(&[-3], &[one], &[-3], None).is_ok());
        assert!(run(&[-3], &[one + 1], &[-3], None).is_err());
        // |M| < 2^31: an entry of 2^31 fails the absolute value's range check
        let big = 1i64 << 31;
        assert!(matches!(linear::check(&[big], &[1], &[big / 256], 1), Err(linear::LinearError::Range { what: "matrix", .. })));
        let errs = run(&[big], &[1], &[big / 256], None).unwrap_err();
        assert!(lookups(&errs), "{errs:?}");
    }

    #[test]
    fn the_exact_field_solution_fails_the_range_check() {
        // u = M⁻¹ (g · 2^F) over the field: every residual is exactly zero,
        // but u is a huge field element (the real solution is not an
        // integer), which only the range check on u refuses: its limbs
        // cannot recompose it (a broken copy), a top limb is too wide (a lookup)
        // or the top limb's shift breaks its gate
        let (m, g) = system();
        let f = |v: i64| fr_from_i128(v as i128);
        let a = |i: usize, j: usize| f(m[i * 3 + j]);
        let det = a(0, 0) * (a(1, 1) * a(2, 2) - a(1, 2) * a(2, 1)) - a(0, 1) * (a(1, 0) * a(2, 2) - a(1, 2) * a(2, 0))
            + a(0, 2) * (a(1, 0) * a(2, 1) - a(1, 1) * a(2, 0));
        let b: Vec<Fr> = g.iter().map(|v| f(*v) * f(SCALE << REFINE_BITS)).collect();
        // Cramer's rule: u_j = det(M with column j replaced by b) / det(M)
        let u: Vec<Fr> = (0..3)
            .map(|j| {
                let c = |r: usize, col: usize| if col == j { b[r] } else { a(r, col) };
                let dj = c(0, 0) * (c(1, 1) * c(2, 2) - c(1, 2) * c(2, 1)) - c(0, 1) * (c(1, 0) * c(2, 2) - c(1, 2) * c(2, 0))
                    + c(0, 2) * (c(1, 0) * c(2, 1) - c(1, 1) * c(2, 0));
                dj * det.invert().unwrap()
            })
            .collect();
        for i in 0..3 {
            let row: Fr = (0..3).map(|j| a(i, j) * u[j]).sum();
            assert_eq!(row, b[i], "an exact field solution");
        }
        // (the range check of a 56-bit value ends in a 1-bit limb, shifted
        // into the table by a gate: a huge value breaks that gate as well)
        let errs = run_field(&m, &u, &g, None).unwrap_err();
        assert!(!errs.is_empty() && errs.iter().all(|e| matches!(e, VerifyFailure::Lookup { .. } | VerifyFailure::Permutation { .. } | VerifyFailure::ConstraintNotSatisfied { .. })), "{errs:?}");
        // every u_j fails its range check: three of them
        assert_eq!(errs.iter().filter(|e| matches!(e, VerifyFailure::ConstraintNotSatisfied { .. })).count(), 3, "{errs:?}");
    }

    #[test]
    fn a_tampered_solution_cell_breaks_the_circuit() {
        // one witness cell changed after assignment: its copies no longer match
        let (m, g) = system();
        let u = linear::solve_fixed(&m, &g, 3).unwrap();
        let errs = run(&m, &u, &g, Some(Fr::one())).unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. })), "{errs:?}");
    }
}
