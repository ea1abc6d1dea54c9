//! halo2-base chips for Lineage.
//!
//! * [`fixed::FixedPointChip`] — the fixed-point specification of
//!   `lineage_core::fixed` as constraints: parameter loading with 16-bit
//!   range checks, pixel loading, bit packing, rescale + ReLU, positive part.
//! * [`hash::HashChip`] — the Poseidon sponge of `lineage_core::poseidon`
//!   and the Merkle window gadget of `lineage_core::merkle`.
//! * [`linear::LinearSystemChip`] — the check that `u` solves `M u = g`
//!   within the fixed-point tolerance of `lineage_core::linear`.
//! * [`factor::FactorChip`] — the rounded means and the damping of
//!   `lineage_core::kfac`'s factors (signed floor division by a constant).
//!
//! All chips work on a single halo2-base `Context`: every value is a cell of
//! the flex gate's advice column, whose one custom gate is
//!
//! ```text
//!   | a | b | c | d |   q · (a + b·c − d) = 0
//! ```
//!
//! and range checks go through the lookup table of `RangeChip`
//! (`lookup_bits`-bit limbs).

pub mod factor;
pub mod fixed;
pub mod hash;
pub mod linear;

pub use halo2_base;
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
