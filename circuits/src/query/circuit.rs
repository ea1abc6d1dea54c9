//! The per-query circuit: halo2-base stages plus one fixed feature column.

use super::{QueryInput, QueryShape};
use crate::{
    chips::{
        forward::{ForwardChip, ForwardInstructions},
        score::{ScoreChip, ScoreInstructions},
        segments::{SegmentChip, SegmentInstructions},
    },
    stage::build_stage,
    table::{feature_value, TableCircuit},
    Error, Result,
};
use halo2_base::{
    gates::circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage},
    AssignedValue,
};
use lineage_core::{
    features::{column_len, FeatureTable, ADDRESS_OFFSET, END_OFFSET, WIDTH},
    model::NUM_PARAMS,
    field::Fr,
};
use lineage_gadgets::hash::HashChip;

/// Cells of interest, for tests and diagnostics.
#[derive(Clone, Debug)]
pub struct QueryHandles {
    /// Every example's score.
    pub scores: Vec<AssignedValue<Fr>>,
    /// Every row's running segment total (the segment's total on its end row).
    pub totals: Vec<AssignedValue<Fr>>,
    /// The public instance cells, in instance order.
    pub instances: Vec<AssignedValue<Fr>>,
}

/// The per-query circuit: the stages below over the feature column.
pub type QueryCircuit = TableCircuit;

/// Build the per-query circuit for `stage`. Keygen and mock stages compute
/// the parameters; the prover stage needs those recorded at key generation.
pub fn build(
    stage: CircuitBuilderStage,
    shape: &QueryShape,
    table: &FeatureTable,
    input: &QueryInput,
    prover_config: Option<crate::stage::ProverConfig>,
) -> Result<(QueryCircuit, QueryHandles)> {
    let column = table.column(shape.capacity)?;
    let (builder, handles) = build_stage(stage, shape.k, shape.lookup_bits, prover_config, |b| synthesize(b, shape, &column, input))?;
    Ok((TableCircuit { builder, column, k: shape.k }, handles))
}

/// The key-generation circuit of `table` (placeholder witness; the feature
/// column is real, since it is part of the key).
pub fn keygen_circuit(shape: &QueryShape, table: &FeatureTable) -> Result<QueryCircuit> {
    Ok(build(CircuitBuilderStage::Keygen, shape, table, &QueryInput::keygen_placeholder(), None)?.0)
}

/// Lay out the stages in `builder` and register the public instances. The
/// feature cells enter as external cells bound to the fixed column in
/// `TableCircuit`'s `synthesize`.
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, shape: &QueryShape, column: &[Fr], input: &QueryInput) -> Result<QueryHandles> {
    if column.len() != column_len(shape.capacity) {
        return Err(Error::Shape(format!("feature column has {} values, the shape takes {}", column.len(), column_len(shape.capacity))));
    }
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range);
    let scorer = ScoreChip::new(&range);
    let segmenter = SegmentChip::new(&range);

    // 1. forward pass, with the parameters from the table
    let feature = |i: usize| feature_value(column, i);
    let params = (0..NUM_PARAMS).map(|p| feature(WIDTH * shape.capacity + p)).collect();
    let model = fwd.model_from_params(ctx, params);
    let q = fwd.query(ctx, &hasher, &model, &input.query, input.predicted);

    // 2. scores of every row, from the fixed feature column
    let mut scores = Vec::with_capacity(shape.capacity);
    let mut addresses = Vec::with_capacity(shape.capacity);
    let mut ends = Vec::with_capacity(shape.capacity);
    for i in 0..shape.capacity {
        let row: Vec<_> = (WIDTH * i..WIDTH * (i + 1)).map(feature).collect();
        let s = scorer.score(ctx, &q.hidden, &q.indicator, &row);
        scores.push(s);
        addresses.push(row[ADDRESS_OFFSET]);
        ends.push(row[END_OFFSET]);
    }

    // 3. segment totals and their digest
    let challenge = ctx.load_witness(input.challenge);
    let out = segmenter.segments(ctx, challenge, &scores, &addresses, &ends);

    let instances = vec![q.commitment, q.class, challenge, out.digest];
    builder.assigned_instances[0].extend(instances.iter().copied());
    Ok(QueryHandles { scores, totals: out.totals, instances })
}
