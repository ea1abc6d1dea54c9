//! The inference circuit: the MLP's forward pass alone, for one query.
//!
//! The model's parameters are the table circuit's fixed column (as in the
//! per-query circuit, and as EZKL's "fixed" parameter visibility does), so
//! a key fixes the model; the query is private, committed by its public
//! Poseidon commitment; the public predicted class is the argmax of the
//! fixed-point logits. This is the circuit the peer benchmark compares with
//! EZKL on the same model.
//!
//! Public instance column: `[query_commitment, predicted_class]`.

use crate::{
    chips::forward::{ForwardChip, ForwardInstructions},
    table::{feature_rows, feature_value, TableCircuit},
    Error, Result,
};
use halo2_base::gates::{
    circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage},
    flex_gate::MultiPhaseThreadBreakPoints,
};
use lineage_core::{
    field::{fr_from_i128, Fr},
    model::{QuantizedModel, NUM_PARAMS},
};
use lineage_gadgets::hash::HashChip;

/// Number of public inputs.
pub const INFERENCE_INSTANCES: usize = 2;

/// `k` of the inference circuit: the parameters' rows, and the forward
/// pass's ~8k cells over a few columns.
pub fn inference_k() -> u32 {
    let mut k = 11;
    while (1usize << k) < feature_rows(NUM_PARAMS) + 64 {
        k += 1;
    }
    k
}

/// The fixed column of a model: its parameters in `QuantizedModel::params` order.
pub fn model_column(model: &QuantizedModel) -> Vec<Fr> {
    model.params().map(|q| fr_from_i128(q as i128)).collect()
}

/// The public inputs of an inference proof.
pub fn public_inputs(query: &[u8], predicted: usize) -> Result<Vec<Fr>> {
    Ok(vec![lineage_core::datanet::query_commitment(query)?, Fr::from(predicted as u64)])
}

/// Build the inference circuit of `model` for `query` (predicted class
/// `predicted`) for `stage`.
pub fn build(
    stage: CircuitBuilderStage,
    model: &QuantizedModel,
    query: &[u8],
    predicted: usize,
    prover_config: Option<(BaseCircuitParams, MultiPhaseThreadBreakPoints)>,
) -> Result<TableCircuit> {
    lineage_core::datanet::check_pixels(query).map_err(|e| Error::Shape(format!("query: {e}")))?;
    let k = inference_k();
    let column = model_column(model);
    let mut builder = match (stage, prover_config) {
        (CircuitBuilderStage::Prover, Some((params, bp))) => BaseCircuitBuilder::prover(params, bp),
        (CircuitBuilderStage::Prover, None) => {
            return Err(Error::Shape("the prover stage needs the keygen parameters and break points".into()))
        }
        (stage, _) => BaseCircuitBuilder::from_stage(stage).use_k(k as usize).use_lookup_bits(k as usize - 1).use_instance_columns(1),
    };
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range, &hasher);
    let params = (0..NUM_PARAMS).map(|p| feature_value(&column, p)).collect();
    let loaded = fwd.model_from_params(ctx, params);
    let q = fwd.query(ctx, &loaded, query, predicted);
    builder.assigned_instances[0].extend([q.commitment, q.class]);
    if stage != CircuitBuilderStage::Prover {
        builder.calculate_params(Some(20));
    }
    Ok(TableCircuit { builder, column, k })
}
