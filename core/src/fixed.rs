//! The Lineage fixed-point specification — the one definition used by
//! inference, the circuit and payouts.
//!
//! * A real number `v` is the integer `q = round(v · 2^FRAC_BITS)`,
//!   `FRAC_BITS = 8` (scale 256). Rounding is to nearest, ties away from zero
//!   ([`quantize`]).
//! * Model parameters (weights **and** biases) are stored at scale `2^8` as
//!   signed 16-bit integers: `q ∈ [-2^15, 2^15)`, i.e. real values in
//!   `[-128, 128)`. Quantising a value outside that range is an error, never a
//!   silent clamp.
//! * Inputs: a digits pixel `p ∈ [0, 16]` means `p / 16`; it is represented
//!   exactly as `p · 2^(FRAC_BITS − 4)` ([`pixel_to_fixed`]). The circuit
//!   range-checks pixels to 5 bits.
//! * A product of two scale-`2^8` values has scale `2^16`. Layer 1 accumulates
//!   `Σ w·x + b·2^8` at scale `2^16` and returns to scale `2^8` with
//!   [`rescale`]: `floor((acc + 2^7) / 2^8)` — round half up, floor division
//!   on negative values too. ReLU follows the rescale.
//! * Layer 2 logits are kept at scale `2^16` (`Σ w·h + b·2^8`) without
//!   rescaling; argmax and influence are exact integer computations on them.
//!
//! Overflow bounds (proved by the range checks in the circuit; see
//! `circuits/`): `|layer-1 acc| < 2^31`, hidden activations `< 2^24`,
//! `|logit| < 2^47`, `|influence score| < 2^95`, a batch's per-contributor
//! net total and the sum of their positive parts `< 2^106` (2,048 scores),
//! reward pool `< 2^128` wei. Every value stays far below
//! the BN254 scalar modulus (~2^254), so field arithmetic equals integer
//! arithmetic.

use crate::{Error, Result};

/// Fractional bits.
pub const FRAC_BITS: u32 = 8;
/// `2^FRAC_BITS`.
pub const SCALE: i64 = 1 << FRAC_BITS;
/// Bits of a stored parameter (signed).
pub const PARAM_BITS: u32 = 16;
/// Smallest representable parameter.
pub const PARAM_MIN: i64 = -(1 << (PARAM_BITS - 1));
/// Largest representable parameter.
pub const PARAM_MAX: i64 = (1 << (PARAM_BITS - 1)) - 1;
/// Bits of an input pixel.
pub const PIXEL_BITS: u32 = 5;
/// Largest valid digits pixel.
pub const PIXEL_MAX: u8 = 16;
/// Offset that makes every layer-1 accumulator nonnegative (`|acc| < 2^31`).
pub const ACC_OFFSET_BITS: u32 = 31;
/// Bits of a rescaled layer-1 value after adding the offset.
pub const HIDDEN_BITS: u32 = ACC_OFFSET_BITS + 1 - FRAC_BITS;
/// Bits bounding logit differences in the argmax check.
pub const LOGIT_BITS: u32 = 48;
/// Bits bounding the magnitude of one influence score (documentation of the
/// bound; the circuits range-check the totals, `TOTAL_BITS`).
pub const SCORE_BITS: u32 = 96;
/// Bits bounding a contributor's net total in a batch, and the batch's total
/// of positive parts (`2^11` scores of `SCORE_BITS - 1` bits).
pub const TOTAL_BITS: u32 = 106;
/// Bits bounding the reward pool in wei.
pub const POOL_BITS: u32 = 128;

/// Quantise a real value to a stored parameter: round to nearest, ties away
/// from zero, error if outside `[PARAM_MIN, PARAM_MAX]`.
pub fn quantize(what: &'static str, v: f32) -> Result<i32> {
    let q = (v as f64 * SCALE as f64).round();
    if !q.is_finite() || q < PARAM_MIN as f64 || q > PARAM_MAX as f64 {
        return Err(Error::FixedPointRange {
            what,
            value: v as f64,
            min: PARAM_MIN,
            max: PARAM_MAX,
        });
    }
    Ok(q as i32)
}

/// The real value of a scale-`2^8` integer.
pub fn dequantize(q: i64) -> f64 {
    q as f64 / SCALE as f64
}

/// The fixed-point input for a digits pixel (`p / 16` exactly).
pub fn pixel_to_fixed(p: u8) -> i64 {
    (p as i64) << (FRAC_BITS - 4)
}

/// Return a scale-`2^16` accumulator to scale `2^8`: `floor((acc + 2^7) / 2^8)`.
pub fn rescale(acc: i64) -> i64 {
    (acc + (SCALE >> 1)).div_euclid(SCALE)
}

/// ReLU.
pub fn relu(v: i64) -> i64 {
    v.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_rules() {
        assert_eq!(quantize("w", 0.5 / 256.0).unwrap(), 1);
        assert_eq!(quantize("w", -0.5 / 256.0).unwrap(), -1);
        assert_eq!(quantize("w", 1.0).unwrap(), 256);
        assert!(quantize("w", 128.0).is_err());
        assert!(quantize("w", f32::NAN).is_err());
        assert_eq!(quantize("w", -128.0).unwrap() as i64, PARAM_MIN);
        assert_eq!(rescale(128), 1);
        assert_eq!(rescale(127), 0);
        assert_eq!(rescale(-128), 0);
        assert_eq!(rescale(-129), -1);
        assert_eq!(pixel_to_fixed(16), 256);
    }

    proptest! {
        #[test]
        fn quantize_error_is_half_ulp(v in -127.9f32..127.9f32) {
            let q = quantize("w", v).unwrap();
            prop_assert!((dequantize(q as i64) - v as f64).abs() <= 0.5 / SCALE as f64 + 1e-9);
        }

        #[test]
        fn rescale_error_is_half_ulp(acc in -(1i64 << 31)..(1i64 << 31)) {
            let exact = acc as f64 / SCALE as f64;
            prop_assert!((rescale(acc) as f64 - exact).abs() <= 0.5);
        }
    }
}
