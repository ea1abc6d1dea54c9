//! The circuit stages, one chip each (`…Instructions` + `…Chip`):
//!
//! * [`forward`]: model commitment, image commitments, the fixed-point MLP
//!   and the argmax;
//! * [`factors`]: the damped K-FAC factors from the table's sums, and the
//!   linear-system checks of the query's solutions;
//! * [`score`]: one example's influence score from its committed features;
//! * [`segments`]: per-contributor segment totals of net influence and
//!   their digest (the payouts are their public split).

pub mod factors;
pub mod forward;
pub mod score;
pub mod segments;
