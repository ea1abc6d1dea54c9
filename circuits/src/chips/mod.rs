//! The circuit stages, one chip each (`…Instructions` + `…Chip`):
//!
//! * [`forward`]: model commitment, image commitments, the fixed-point MLP
//!   and the argmax;
//! * [`score`]: one example's influence score from its committed features;
//! * [`split`]: running positive-influence totals, the cumulative-floor
//!   split per contributor segment, and the payout digest.

pub mod forward;
pub mod score;
pub mod split;
