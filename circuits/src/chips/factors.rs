//! The factor stage: the damped K-FAC factors `A₂`, `S`, `A₁` of
//! `lineage_core::kfac` from the table's sums, and the check that the
//! query's three solutions solve their systems.
//!
//! The sums (`lineage_core::kfac::Sums`: the count `n`, sums of outer
//! products of `h̃`, of the masks and of the pixels) are cells of the fixed
//! feature column, written by the feature chunks. Every factor entry is a
//! rounded mean of a linear form in them, a division by the cell `d = n`
//! or `d = n·2^16` (`⌊d/2⌋` from halving `n`):
//!
//! ```text
//!  A₂_ij = mean(Σh̃_i h̃_j, n·2^16)   A₂_i,16 = mean(Σh̃_i·2^16, n·2^16)   A₂_16,16 = mean(n·2^32, n·2^16)
//!  S_ij  = mean(W2ᵀW2_ij · Σm_i m_j, n)          (W2ᵀW2 from the parameters)
//!  A₁_ab = mean(2^8·Σp_a p_b − 16C·(Σp_a + Σp_b) + n·C², n)
//!  A₁_a,64 = mean(2^8·(16·Σp_a − n·C), n)        A₁_64,64 = mean(n·2^16, n)
//! ```
//!
//! each quotient range-checked to `MATRIX_BITS` signed bits, then damped
//! (`FactorChip::damp`). The systems `A₂ u = h̃_q`, `S a = 2^8·v_q`,
//! `A₁ b = 2^8·x̃_q` are checked by `LinearSystemChip` (which bounds
//! `|M_ij| < 2^31` again after the damping).

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    field::{fr_from_i128, Fr},
    kfac::{sums_layout as at, tri, FINE_BITS, H1, INPUT_CENTRE_FIXED, X1},
    linear::MATRIX_BITS,
    model::{HIDDEN, INPUT, OUTPUT},
};
use lineage_gadgets::{
    factor::{FactorChip, FactorInstructions},
    linear::{LinearSystemChip, LinearSystemInstructions},
};

/// The damped factors, row-major.
#[derive(Clone, Debug)]
pub struct LoadedFactors {
    pub a2: Vec<AssignedValue<Fr>>,
    pub s: Vec<AssignedValue<Fr>>,
    pub a1: Vec<AssignedValue<Fr>>,
}

/// Instructions of the factor stage.
pub trait FactorStageInstructions {
    /// The damped factors from the sums' cells (`lineage_core::kfac::SUMS_LEN`
    /// of them) and the model's `W2` cells (row-major `[OUTPUT][HIDDEN]`).
    fn factors(&self, ctx: &mut Context<Fr>, sums: &[AssignedValue<Fr>], w2: &[AssignedValue<Fr>]) -> LoadedFactors;
    /// Check `M x = g` (`lineage_core::linear::check`) for one of the
    /// (symmetric) factors.
    fn check(&self, ctx: &mut Context<Fr>, m: &[AssignedValue<Fr>], x: &[AssignedValue<Fr>], g: &[AssignedValue<Fr>]);
}

/// The factor-stage chip.
pub struct FactorStageChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> FactorStageChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

/// Bits of `⌊n/2⌋` (`n ≤ MAX_CAPACITY = 2^16`).
const HALF_COUNT_BITS: usize = 16;
/// Bits of the divisors `n ≤ 2^16` and `n·2^16 ≤ 2^32`.
const COUNT_BITS: usize = 17;
const FINE_COUNT_BITS: usize = COUNT_BITS + FINE_BITS as usize;

/// Bits of a trace of a damped factor's diagonal (65 entries below 2^31).
const TRACE_BITS: usize = MATRIX_BITS as usize + 8;

impl FactorStageInstructions for FactorStageChip<'_> {
    fn factors(&self, ctx: &mut Context<Fr>, sums: &[AssignedValue<Fr>], w2: &[AssignedValue<Fr>]) -> LoadedFactors {
        assert_eq!(sums.len(), lineage_core::kfac::SUMS_LEN, "sums shape");
        let gate = self.range.gate();
        let fc = FactorChip::new(self.range);
        let c = |v: i128| Constant(fr_from_i128(v));
        let q_bits = MATRIX_BITS as usize;
        let n = sums[at::N];
        let (half_n, _) = fc.halve(ctx, n, HALF_COUNT_BITS);
        let n_fine = gate.mul(ctx, n, c(1 << FINE_BITS));
        let half_fine = gate.mul(ctx, n, c(1 << (FINE_BITS - 1)));
        let mean = |ctx: &mut Context<Fr>, v: AssignedValue<Fr>, fine: bool| {
            let (d, h, d_bits) = if fine { (n_fine, half_fine, FINE_COUNT_BITS) } else { (n, half_n, COUNT_BITS) };
            let biased = gate.add(ctx, v, h);
            fc.div_floor_var(ctx, biased, d, d_bits, q_bits)
        };
        let zero = ctx.load_zero();
        let sym = |m: &mut Vec<AssignedValue<Fr>>, d: usize, i: usize, j: usize, v: AssignedValue<Fr>| {
            m[i * d + j] = v;
            m[j * d + i] = v;
        };

        // A₂ and S
        let mut a2 = vec![zero; H1 * H1];
        let mut s = vec![zero; HIDDEN * HIDDEN];
        for i in 0..HIDDEN {
            for j in i..HIDDEN {
                let t = tri(i, j, HIDDEN);
                let v = mean(ctx, sums[at::HH + t], true);
                sym(&mut a2, H1, i, j, v);
                let col = |k: usize, x: usize| Existing(w2[k * HIDDEN + x]);
                let gram = gate.inner_product(ctx, (0..OUTPUT).map(|k| col(k, i)), (0..OUTPUT).map(|k| col(k, j)));
                let prod = gate.mul(ctx, gram, sums[at::CO + t]);
                let v = mean(ctx, prod, false);
                sym(&mut s, HIDDEN, i, j, v);
            }
            let scaled = gate.mul(ctx, sums[at::H + i], c(1 << FINE_BITS));
            let v = mean(ctx, scaled, true);
            sym(&mut a2, H1, i, HIDDEN, v);
        }
        let corner = gate.mul(ctx, n, c(1 << (2 * FINE_BITS)));
        let v = mean(ctx, corner, true);
        sym(&mut a2, H1, HIDDEN, HIDDEN, v);

        // A₁ over x̃ = [16·p − C; 2^8]
        let cc = INPUT_CENTRE_FIXED as i128;
        let mut a1 = vec![zero; X1 * X1];
        for a in 0..INPUT {
            for b in a..INPUT {
                let pp = sums[at::PP + tri(a, b, INPUT)];
                let (pa, pb) = (sums[at::P + a], sums[at::P + b]);
                let v = gate.inner_product(ctx, [pp, pa, pb, n].map(Existing), [c(256), c(-16 * cc), c(-16 * cc), c(cc * cc)]);
                let v = mean(ctx, v, false);
                sym(&mut a1, X1, a, b, v);
            }
            let v = gate.inner_product(ctx, [sums[at::P + a], n].map(Existing), [c(256 * 16), c(-256 * cc)]);
            let v = mean(ctx, v, false);
            sym(&mut a1, X1, a, INPUT, v);
        }
        let corner = gate.mul(ctx, n, c(1 << 16));
        let v = mean(ctx, corner, false);
        sym(&mut a1, X1, INPUT, INPUT, v);

        fc.damp(ctx, &mut a2, H1, TRACE_BITS);
        fc.damp(ctx, &mut s, HIDDEN, TRACE_BITS);
        fc.damp(ctx, &mut a1, X1, TRACE_BITS);
        LoadedFactors { a2, s, a1 }
    }

    fn check(&self, ctx: &mut Context<Fr>, m: &[AssignedValue<Fr>], x: &[AssignedValue<Fr>], g: &[AssignedValue<Fr>]) {
        LinearSystemChip::new(self.range).check_solution(ctx, m, x, g, true);
    }
}
