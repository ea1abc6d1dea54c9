//! Shared fixture: a trained digits model and a small attribution.
#![allow(dead_code)]

use lineage_circuits::{AttributionInput, CircuitShape, PublicInputs};
use lineage_core::{attribution, datanet::Datanet, model::QuantizedModel};
use std::sync::OnceLock;

pub struct Fixture {
    pub datanet: Datanet,
    pub model: QuantizedModel,
    pub shape: CircuitShape,
    pub input: AttributionInput,
    pub public: PublicInputs,
}

pub const POOL: u128 = 1_000_000_000_000_000_000;

/// First window of `batch` examples (and a query from the end of the datanet)
/// with some positive influence.
pub fn fixture_for(batch: usize, slots: usize) -> Fixture {
    let datanet = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let shape = CircuitShape::new(batch, slots, datanet.tree.depth()).unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(1789).unwrap().pixels.clone();
    for w in 0.. {
        let a = attribution::attribute(&model, &datanet, w * batch, batch, &query).unwrap();
        if a.totals.iter().any(|(_, t)| *t > 0) && a.totals.len() <= slots {
            let input = AttributionInput::new(&shape, &model, &datanet, &a, &query, POOL).unwrap();
            let public = input.public_inputs(&shape).unwrap();
            return Fixture { datanet, model, shape, input, public };
        }
    }
    unreachable!()
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| fixture_for(4, 4))
}

/// A halo2 gate failure.
pub fn gate_failure(errs: &[lineage_circuits::halo2_proofs::dev::VerifyFailure]) -> bool {
    errs.iter().any(|e| matches!(e, lineage_circuits::halo2_proofs::dev::VerifyFailure::ConstraintNotSatisfied { .. }))
}

/// A broken copy between an advice cell and a fixed column (the feature
/// columns of the table circuits).
pub fn feature_copy_failure(errs: &[lineage_circuits::halo2_proofs::dev::VerifyFailure]) -> bool {
    errs.iter()
        .any(|e| matches!(e, lineage_circuits::halo2_proofs::dev::VerifyFailure::Permutation { .. }) && e.to_string().contains("Column('Fixed'"))
}

/// A broken copy of instance row `row`.
pub fn instance_failure(errs: &[lineage_circuits::halo2_proofs::dev::VerifyFailure], row: usize) -> bool {
    errs.iter().any(|e| {
        matches!(e, lineage_circuits::halo2_proofs::dev::VerifyFailure::Permutation { .. }) && {
            let s = e.to_string();
            s.contains("Column('Instance', 0") && s.ends_with(&format!("on row {row})"))
        }
    })
}
