//! The Lineage attribution circuit (halo2-base on halo2-axiom, KZG/BN254).
//!
//! For one query and one aligned window of `N` training examples of a
//! datanet, the circuit proves:
//!
//! 1. the model parameters hash to the public **model commitment**
//!    (each parameter range-checked to 16 signed bits);
//! 2. the query pixels hash to the public **query commitment**;
//! 3. the fixed-point forward pass of the query, and that the public
//!    **predicted class** is its argmax (ties to the lowest index);
//! 4. every example's leaf hash, the window's subtree root, and the Merkle
//!    climb along the public **window index** to the public **datanet root**;
//! 5. every example's TracIn score (see `lineage_core::attribution`);
//! 6. the payout slots: the distinct contributors of the window in strictly
//!    ascending address order (zero slots only at the end, every nonzero slot
//!    used by at least one example, every example in exactly one slot), each
//!    slot's net influence (the sum of its examples' scores) clamped at zero,
//!    and the cumulative-floor split of the
//!    pool (`lineage_core::payout`), all hashed into the public **payout
//!    commitment**.
//!
//! Public instance column, in order: see [`PublicInputs::to_instances`].
//!
//! The [`query`] circuit is the whole-datanet successor of this window
//! circuit: it attributes one query over every example of a datanet version
//! from the version's committed feature table, by `influence-kfac` (the
//! method that tracks retraining best among those a circuit can check per
//! query); the window circuit keeps TracIn available.

mod attribution;
pub mod chips;
pub mod chunk;
pub mod inference;
mod error;
mod input;
pub mod stage;
pub mod query;
pub mod table;

pub use attribution::{build_circuit, keygen_circuit, synthesize, Handles};
pub use halo2_base::AssignedValue;
pub use error::{Error, Result};
pub use input::{AttributionInput, CircuitShape, PublicInputs, MAX_BATCH, MAX_DEPTH, MAX_K, MAX_SLOTS, NUM_INSTANCES};

pub use halo2_base;
pub use halo2_base::gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage};
pub use halo2_base::halo2_proofs;
pub use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
