//! The inference circuit: the MLP's forward pass alone, for one query.
//!
//! Visibility is EZKL's default, so the peer benchmark compares like with
//! like: the model's parameters are constants of the circuit (halo2-base's
//! constants column, so the proving and verifying keys fix the model, as
//! EZKL's "fixed" parameters do), the query is a private witness (EZKL's
//! "private" input: not committed), and the outputs — the ten fixed-point
//! logits and their argmax — are public. Claims never use this circuit: the
//! per-query circuit binds its query by a Poseidon commitment (whose two
//! permutations would be half of this circuit's cells) and reads the
//! model from the feature table.
//!
//! Public instance column: `[f_0, …, f_9, predicted_class]` (logits at scale
//! 2^16, negatives as field negatives).

use crate::{
    chips::forward::{ForwardChip, ForwardInstructions, LayerWeights},
    stage::build_stage,
    table::TableCircuit,
    Error, Result,
};
use halo2_base::gates::circuit::CircuitBuilderStage;
use lineage_core::{
    field::{fr_from_i128, Fr},
    model::QuantizedModel,
};
use lineage_gadgets::fixed::FixedPointInstructions;

/// Number of public inputs.
pub const INFERENCE_INSTANCES: usize = lineage_core::model::OUTPUT + 1;

/// Smallest `k` accepted.
pub const MIN_INFERENCE_K: u32 = 9;

/// `k` of the inference circuit: 10. Measured on the digits MLP with the
/// weights as constants (2026-11-26, `LINEAGE_BENCH_K=… cargo bench -p
/// lineage-benches --bench inference`): k = 10, 6 advice columns, 0.162 s
/// to prove, a 2,912-byte proof; k = 11, 3 columns, 0.210 s, 1,984 bytes.
pub fn inference_k() -> u32 {
    10
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
    if !(MIN_INFERENCE_K..=crate::MAX_K).contains(&k) {
        return Err(Error::Shape(format!("k = {k} is outside {MIN_INFERENCE_K}..={}", crate::MAX_K)));
    }
    let weights = LayerWeights::constants(model);
    let (builder, ()) = build_stage(stage, k, k as usize - 1, prover_config, |builder| {
        let range = builder.range_chip();
        let ctx = builder.main(0);
        let fwd = ForwardChip::new(&range);
        let px = fwd.fp.load_pixels(ctx, query);
        let h = fwd.hidden(ctx, &weights, &px);
        let logits = fwd.logits(ctx, &weights, &h);
        let (class, _) = fwd.classify(ctx, &logits, predicted);
        builder.assigned_instances[0].extend(logits);
        builder.assigned_instances[0].push(class);
        Ok(())
    })?;
    // no feature table: the model is in the constants
    Ok(TableCircuit { builder, column: Vec::new(), k })
}
