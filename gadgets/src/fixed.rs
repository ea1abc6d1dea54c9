//! Fixed-point constraints (see `lineage_core::fixed` for the specification).

use halo2_base::{
    gates::{GateInstructions, RangeChip, RangeInstructions},
    utils::biguint_to_fe,
    AssignedValue, Context,
    QuantumCell::{Constant, Existing},
};
use lineage_core::fixed::{ACC_OFFSET_BITS, FRAC_BITS, HIDDEN_BITS, PARAM_BITS, PARAM_MIN, PIXEL_MAX, SCALE};
use num_bigint::BigUint;

use crate::Fr;

/// A loaded model parameter: its signed value and the unsigned 16-bit word
/// `v + 2^15` that the commitment packs.
#[derive(Clone, Copy, Debug)]
pub struct LoadedParam {
    pub signed: AssignedValue<Fr>,
    pub word: AssignedValue<Fr>,
}

/// Instructions of the fixed-point chip.
pub trait FixedPointInstructions {
    /// Witness a parameter, range-checked to `PARAM_BITS` signed bits.
    fn load_param(&self, ctx: &mut Context<Fr>, q: i32) -> LoadedParam;
    /// Witness pixels, each checked to lie in the native spec's `0..=PIXEL_MAX`.
    fn load_pixels(&self, ctx: &mut Context<Fr>, pixels: &[u8]) -> Vec<AssignedValue<Fr>>;
    /// `Σ_k limbs[k] · 2^(bits·k)` (limbs must already be range-checked to `bits`).
    fn pack(&self, ctx: &mut Context<Fr>, limbs: &[AssignedValue<Fr>], bits: usize) -> AssignedValue<Fr>;
    /// `relu(floor((acc + 2^(F−1)) / 2^F))` for `|acc| < 2^ACC_OFFSET_BITS`.
    fn rescale_relu(&self, ctx: &mut Context<Fr>, acc: AssignedValue<Fr>) -> AssignedValue<Fr>;
    /// `max(v, 0)` for `|v| < 2^bits` (fails to verify otherwise).
    fn positive_part(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, bits: usize) -> AssignedValue<Fr>;
}

/// The fixed-point chip.
#[derive(Clone, Debug)]
pub struct FixedPointChip<'a> {
    pub range: &'a RangeChip<Fr>,
}

impl<'a> FixedPointChip<'a> {
    pub fn new(range: &'a RangeChip<Fr>) -> Self {
        Self { range }
    }
}

fn pow2(bits: u32) -> Fr {
    biguint_to_fe(&(BigUint::from(1u8) << bits))
}

impl FixedPointInstructions for FixedPointChip<'_> {
    fn load_param(&self, ctx: &mut Context<Fr>, q: i32) -> LoadedParam {
        let word = ctx.load_witness(Fr::from((q as i64 - PARAM_MIN) as u64));
        self.range.range_check(ctx, word, PARAM_BITS as usize);
        let signed = self.range.gate().sub(ctx, word, Constant(Fr::from((-PARAM_MIN) as u64)));
        LoadedParam { signed, word }
    }

    fn load_pixels(&self, ctx: &mut Context<Fr>, pixels: &[u8]) -> Vec<AssignedValue<Fr>> {
        let cells = ctx.assign_witnesses(pixels.iter().map(|p| Fr::from(*p as u64)));
        for c in &cells {
            // the native spec's range 0..=PIXEL_MAX (16); below 2^PIXEL_BITS as packing needs
            self.range.check_less_than_safe(ctx, *c, PIXEL_MAX as u64 + 1);
        }
        cells
    }

    fn pack(&self, ctx: &mut Context<Fr>, limbs: &[AssignedValue<Fr>], bits: usize) -> AssignedValue<Fr> {
        let coeffs = (0..limbs.len()).map(|k| Constant(pow2((bits * k) as u32)));
        self.range.gate().inner_product(ctx, limbs.iter().copied(), coeffs)
    }

    fn rescale_relu(&self, ctx: &mut Context<Fr>, acc: AssignedValue<Fr>) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        // t = acc + 2^(F-1) + 2^ACC_OFFSET_BITS ∈ [0, 2^(ACC_OFFSET_BITS+1))
        let offset = pow2(ACC_OFFSET_BITS) + Fr::from((SCALE >> 1) as u64);
        let t = gate.add(ctx, acc, Constant(offset));
        // q = floor(t / 2^F) < 2^HIDDEN_BITS, r < 2^F (both range-checked by div_mod)
        let (q, _r) = self.range.div_mod(ctx, t, BigUint::from(1u64 << FRAC_BITS), (ACC_OFFSET_BITS + 1) as usize);
        // rescaled value = q − 2^(ACC_OFFSET_BITS − F); negative iff q < that
        let zero_point = Constant(pow2(ACC_OFFSET_BITS - FRAC_BITS));
        let is_neg = self.range.is_less_than(ctx, q, zero_point, HIDDEN_BITS as usize);
        let value = gate.sub(ctx, q, zero_point);
        gate.select(ctx, Constant(Fr::zero()), value, is_neg)
    }

    fn positive_part(&self, ctx: &mut Context<Fr>, v: AssignedValue<Fr>, bits: usize) -> AssignedValue<Fr> {
        let gate = self.range.gate();
        let shifted = gate.add(ctx, v, Constant(pow2(bits as u32)));
        self.range.range_check(ctx, shifted, bits + 1);
        let is_neg = self.range.is_less_than(ctx, Existing(shifted), Constant(pow2(bits as u32)), bits + 1);
        gate.select(ctx, Constant(Fr::zero()), v, is_neg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::utils::testing::base_test;
    use lineage_core::fixed::{relu, rescale};

    #[test]
    fn rescale_relu_matches_native() {
        let accs: Vec<i64> = vec![0, 127, 128, -128, -129, 1 << 20, -(1 << 20), (1 << 31) - 1, -(1 << 31) + 1, 65535];
        base_test().k(12).lookup_bits(10).run(|ctx, range| {
            let chip = FixedPointChip::new(range);
            for a in &accs {
                let cell = ctx.load_witness(lineage_core::field::fr_from_i128(*a as i128));
                let out = chip.rescale_relu(ctx, cell);
                assert_eq!(*out.value(), Fr::from(relu(rescale(*a)) as u64), "acc {a}");
            }
        });
    }

    #[test]
    fn positive_part_and_params() {
        base_test().k(12).lookup_bits(10).run(|ctx, range| {
            let chip = FixedPointChip::new(range);
            for v in [-5i128, 0, 7, -(1 << 90), 1 << 90] {
                let cell = ctx.load_witness(lineage_core::field::fr_from_i128(v));
                let out = chip.positive_part(ctx, cell, 96);
                assert_eq!(*out.value(), lineage_core::field::fr_from_i128(v.max(0)));
            }
            for q in [-32768, -1, 0, 32767] {
                let p = chip.load_param(ctx, q);
                assert_eq!(*p.signed.value(), lineage_core::field::fr_from_i128(q as i128));
            }
        });
    }

    #[test]
    fn pixel_above_the_spec_range_fails() {
        base_test().k(12).lookup_bits(10).run(|ctx, range| {
            FixedPointChip::new(range).load_pixels(ctx, &[0, 16]);
        });
        base_test().k(12).lookup_bits(10).expect_satisfied(false).run(|ctx, range| {
            FixedPointChip::new(range).load_pixels(ctx, &[17]);
        });
    }

    #[test]
    fn out_of_range_pixel_fails() {
        base_test().k(12).lookup_bits(10).expect_satisfied(false).run(|ctx, range| {
            let chip = FixedPointChip::new(range);
            chip.load_pixels(ctx, &[32]);
        });
    }
}
