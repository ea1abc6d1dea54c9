//! The inference circuit: the MLP's forward pass alone, for one query.
//!
//! Visibility is EZKL's default, so the peer benchmark compares like with
//! like: the model's parameters are the table circuit's fixed column (EZKL's
//! "fixed" parameters: a key fixes the model), the query is a private
//! witness (EZKL's "private" input: not committed), and the outputs — the
//! ten fixed-point logits and their argmax — are public. Claims never use
//! this circuit: the per-query circuit binds its query by a Poseidon
//! commitment (whose two permutations would be half of this circuit's
//! cells).
//!
//! Public instance column: `[f_0, …, f_9, predicted_class]` (logits at scale
//! 2^16, negatives as field negatives).

use crate::{
    chips::forward::{ForwardChip, ForwardInstructions},
    stage::build_stage,
    table::{feature_rows, feature_value, TableCircuit},
    Error, Result,
};
use halo2_base::gates::circuit::CircuitBuilderStage;
use lineage_core::{
    field::{fr_from_i128, Fr},
    model::{QuantizedModel, NUM_PARAMS},
};
use lineage_gadgets::fixed::FixedPointInstructions;

/// Number of public inputs.
pub const INFERENCE_INSTANCES: usize = lineage_core::model::OUTPUT + 1;

/// `k` of the inference circuit: 11 (measured on the digits MLP: about 6.3k
/// cells over 3 advice columns, 0.23 s to prove and a 1,984-byte proof; at
/// k = 10 it proves in 0.19 s but needs 7 columns and a 3,136-byte proof).
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

/// The public inputs of an inference proof of `model` on `query`.
pub fn public_inputs(model: &QuantizedModel, query: &[u8]) -> Result<Vec<Fr>> {
    lineage_core::datanet::check_pixels(query).map_err(|e| Error::Shape(format!("query: {e}")))?;
    let f = lineage_core::attribution::logits(model, &lineage_core::attribution::hidden(model, query));
    let mut v: Vec<Fr> = f.iter().map(|x| fr_from_i128(*x as i128)).collect();
    v.push(Fr::from(lineage_core::attribution::argmax(&f) as u64));
    Ok(v)
}

/// Build the inference circuit of `model` for `query` (predicted class
/// `predicted`) for `stage`, at [`inference_k`].
pub fn build(
    stage: CircuitBuilderStage,
    model: &QuantizedModel,
    query: &[u8],
    predicted: usize,
    prover_config: Option<crate::stage::ProverConfig>,
) -> Result<TableCircuit> {
    build_with_k(stage, inference_k(), model, query, predicted, prover_config)
}

/// [`build`] at an explicit `k` (for measurements; at least [`inference_k`]).
pub fn build_with_k(
    stage: CircuitBuilderStage,
    k: u32,
    model: &QuantizedModel,
    query: &[u8],
    predicted: usize,
    prover_config: Option<crate::stage::ProverConfig>,
) -> Result<TableCircuit> {
    lineage_core::datanet::check_pixels(query).map_err(|e| Error::Shape(format!("query: {e}")))?;
    if k > crate::MAX_K || (1usize << k) < feature_rows(NUM_PARAMS) + 64 {
        return Err(Error::Shape(format!("k = {k} cannot hold the model's parameters")));
    }
    let column = model_column(model);
    let (builder, ()) = build_stage(stage, k, k as usize - 1, prover_config, |builder| {
        let range = builder.range_chip();
        let ctx = builder.main(0);
        let fwd = ForwardChip::new(&range);
        let params = (0..NUM_PARAMS).map(|p| feature_value(&column, p)).collect();
        let loaded = fwd.model_from_params(ctx, params);
        let px = fwd.fp.load_pixels(ctx, query);
        let h = fwd.hidden(ctx, &loaded, &px);
        let logits = fwd.logits(ctx, &loaded, &h);
        let (class, _) = fwd.classify(ctx, &logits, predicted);
        builder.assigned_instances[0].extend(logits);
        builder.assigned_instances[0].push(class);
        Ok(())
    })?;
    Ok(TableCircuit { builder, column, k })
}
