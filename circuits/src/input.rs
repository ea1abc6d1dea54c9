//! Circuit shape, witness input and public inputs.

use crate::{Error, Result};
use lineage_core::{
    attribution::Attribution,
    datanet::{query_commitment, Contribution, Datanet},
    field::{fr_from_address, Fr},
    model::QuantizedModel,
    payout::{self, Payout},
};
use serde::{Deserialize, Serialize};

/// Number of public inputs.
pub const NUM_INSTANCES: usize = 6;

/// Most training examples one proof may cover (the digits datanet's size,
/// rounded up to a power of two).
pub const MAX_BATCH: usize = 2048;
/// Most payout slots (distinct contributors) one proof may have.
pub const MAX_SLOTS: usize = 256;
/// Deepest datanet Merkle tree (2^32 contributions).
pub const MAX_DEPTH: usize = 32;
/// Largest `k` any shape uses (`CircuitShape::new` picks at most 21; 22 is
/// kept for GPU measurements).
pub const MAX_K: u32 = 22;

/// Everything that fixes the circuit's constraint system (and so its keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// Training examples per proof (`N`, a power of two).
    pub batch: usize,
    /// Payout slots (`C`): the most distinct contributors a window may have.
    pub slots: usize,
    /// Depth of the datanet's Merkle tree.
    pub depth: usize,
    /// log2 of the number of rows.
    pub k: u32,
    /// Bits of the range-check lookup table.
    pub lookup_bits: usize,
}

impl CircuitShape {
    /// A shape for `batch` examples over a tree of `depth`, with a `k` that fits.
    pub fn new(batch: usize, slots: usize, depth: usize) -> Result<Self> {
        if !batch.is_power_of_two() || batch < 2 {
            return Err(Error::Shape(format!("batch {batch} is not a power of two ≥ 2")));
        }
        if batch.trailing_zeros() as usize > depth {
            return Err(Error::Shape(format!("batch {batch} is larger than a tree of depth {depth}")));
        }
        if batch > MAX_BATCH {
            return Err(Error::Shape(format!("batch {batch} exceeds the maximum of {MAX_BATCH}")));
        }
        if depth > MAX_DEPTH {
            return Err(Error::Shape(format!("tree depth {depth} exceeds the maximum of {MAX_DEPTH}")));
        }
        if slots == 0 || slots > MAX_SLOTS {
            return Err(Error::Shape(format!("{slots} payout slots is outside 1..={MAX_SLOTS}")));
        }
        // Measured (BENCHMARKS.md): about 20k advice cells per example, so
        // N = 64 fills 10 advice columns at k = 17 and N = 256 fills 9 at
        // k = 19. Sizes above 256 are untested.
        let k = match batch {
            0..=8 => 15,
            9..=64 => 17,
            65..=256 => 19,
            _ => 21,
        };
        Ok(Self { batch, slots, depth, k, lookup_bits: (k - 1) as usize })
    }

    /// The same shape at a larger `k` (more rows, fewer columns): for
    /// measuring how proving scales. `k` must be at least the derived one
    /// and at most [`MAX_K`].
    pub fn with_k(self, k: u32) -> Result<Self> {
        if k < self.k || k > MAX_K {
            return Err(Error::Shape(format!("k = {k} is outside {}..={MAX_K} for batch {}", self.k, self.batch)));
        }
        Ok(Self { k, lookup_bits: (k - 1) as usize, ..self })
    }

    /// Merkle levels between the window's subtree root and the datanet root.
    pub fn path_len(&self) -> usize {
        self.depth - self.batch.trailing_zeros() as usize
    }
}

/// The public inputs of one attribution proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    pub datanet_root: Fr,
    pub model_commitment: Fr,
    pub query_commitment: Fr,
    pub predicted_class: u64,
    pub payout_commitment: Fr,
    pub window_index: u64,
}

impl PublicInputs {
    /// The instance column: `[datanet_root, model_commitment,
    /// query_commitment, predicted_class, payout_commitment, window_index]`.
    pub fn to_instances(&self) -> Vec<Fr> {
        vec![
            self.datanet_root,
            self.model_commitment,
            self.query_commitment,
            Fr::from(self.predicted_class),
            self.payout_commitment,
            Fr::from(self.window_index),
        ]
    }

    /// Parse an instance column (exactly [`NUM_INSTANCES`] values; the two
    /// integer entries must be small integers).
    pub fn from_instances(v: &[Fr]) -> Option<Self> {
        if v.len() != NUM_INSTANCES {
            return None;
        }
        let small = |x: &Fr| lineage_core::field::fr_to_u128(x).and_then(|u| u64::try_from(u).ok());
        Some(Self {
            datanet_root: v[0],
            model_commitment: v[1],
            query_commitment: v[2],
            predicted_class: small(&v[3])?,
            payout_commitment: v[4],
            window_index: small(&v[5])?,
        })
    }
}

/// The full witness of one proof.
#[derive(Clone, Debug)]
pub struct AttributionInput {
    pub model: QuantizedModel,
    pub query: Vec<u8>,
    pub window_index: u64,
    pub examples: Vec<Contribution>,
    /// Bottom-first Merkle siblings from the window's subtree root.
    pub path: Vec<Fr>,
    pub datanet_root: Fr,
    pub predicted: usize,
    pub pool: u128,
    /// Per-contributor net influence clamped at zero, ascending by address.
    pub totals: Vec<(alloy_primitives::Address, u128)>,
    pub payouts: Vec<Payout>,
}

impl AttributionInput {
    /// Assemble the witness from a native attribution.
    pub fn new(
        shape: &CircuitShape,
        model: &QuantizedModel,
        datanet: &Datanet,
        attribution: &Attribution,
        query: &[u8],
        pool: u128,
    ) -> Result<Self> {
        if attribution.size != shape.batch {
            return Err(Error::Shape(format!("window has {} examples, circuit takes {}", attribution.size, shape.batch)));
        }
        if datanet.tree.depth() != shape.depth {
            return Err(Error::Shape(format!("datanet depth {} != circuit depth {}", datanet.tree.depth(), shape.depth)));
        }
        if attribution.totals.len() > shape.slots {
            return Err(lineage_core::Error::TooManyContributors { found: attribution.totals.len(), slots: shape.slots }.into());
        }
        let payouts = payout::split(pool, &attribution.totals)?;
        Ok(Self {
            model: model.clone(),
            query: query.to_vec(),
            window_index: (attribution.start / attribution.size) as u64,
            examples: datanet.contributions[attribution.start..attribution.start + attribution.size].to_vec(),
            path: datanet.tree.window_path(attribution.start, attribution.size)?,
            datanet_root: datanet.root(),
            predicted: attribution.predicted,
            pool,
            totals: attribution.totals.clone(),
            payouts,
        })
    }

    /// The public inputs this witness proves.
    pub fn public_inputs(&self, shape: &CircuitShape) -> Result<PublicInputs> {
        Ok(PublicInputs {
            datanet_root: self.datanet_root,
            model_commitment: self.model.commitment(),
            query_commitment: query_commitment(&self.query)?,
            predicted_class: self.predicted as u64,
            payout_commitment: payout::commitment(self.pool, &self.payouts, shape.slots)?,
            window_index: self.window_index,
        })
    }

    /// A structurally valid input used only to fix the constraint system
    /// during key generation (its values are never proven).
    pub fn keygen_placeholder(shape: &CircuitShape) -> Self {
        let model = QuantizedModel {
            w1: vec![0; 1024],
            b1: vec![0; 16],
            w2: vec![0; 160],
            b2: vec![0; 10],
        };
        let ex = Contribution {
            contributor: alloy_primitives::Address::with_last_byte(1),
            licence: "CC0-1.0".into(),
            payload: lineage_core::datanet::DigitPayload { label: 0, pixels: vec![0; 64] },
            index: None,
        };
        Self {
            model,
            query: vec![0; 64],
            window_index: 0,
            examples: vec![ex; shape.batch],
            path: vec![Fr::zero(); shape.path_len()],
            datanet_root: Fr::zero(),
            predicted: 0,
            pool: 0,
            totals: vec![],
            payouts: vec![],
        }
    }

    /// Slot addresses as field elements, padded with zeros.
    pub(crate) fn slot_addresses(&self, slots: usize) -> Vec<Fr> {
        let mut v: Vec<Fr> = self.totals.iter().map(|(a, _)| fr_from_address(a)).collect();
        v.resize(slots, Fr::zero());
        v
    }
}
