//! Shared types and native reference arithmetic for Lineage.
//!
//! Everything the circuit proves has a native twin here: the fixed-point
//! specification ([`fixed`]), the Poseidon sponge ([`poseidon`]), the Merkle
//! tree ([`merkle`]), the datanet format ([`datanet`]), the quantised model
//! ([`model`]), attribution scores ([`attribution`]), the payout split
//! ([`payout`]) and fixed-point linear systems ([`linear`]). Inference, circuits, the verifier and the chain all use these
//! definitions, so there is exactly one specification of each.

pub mod attribution;
pub mod datanet;
pub mod error;
pub mod features;
pub mod field;
pub mod fixed;
pub mod kfac;
pub mod linear;
pub mod merkle;
pub mod model;
pub mod payout;
pub mod poseidon;

pub use error::{Error, Result};
pub use field::Fr;
