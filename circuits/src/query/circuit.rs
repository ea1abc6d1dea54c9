//! The per-query circuit: halo2-base stages plus one fixed feature column.

use super::{QueryInput, QueryShape};
use crate::{
    chips::{
        factors::{FactorStageChip, FactorStageInstructions},
        forward::{ForwardChip, ForwardInstructions},
        score::{ScoreChip, ScoreInstructions},
        segments::{SegmentChip, SegmentInstructions},
    },
    stage::build_stage,
    table::{feature_value, TableCircuit},
    Error, Result,
};
use halo2_base::{
    gates::{
        circuit::{builder::BaseCircuitBuilder, CircuitBuilderStage},
        GateInstructions, RangeInstructions,
    },
    AssignedValue,
    QuantumCell::{Constant, Existing},
};
use lineage_core::{
    features::{column_len, sums_offset, FeatureTable, ADDRESS_OFFSET, END_OFFSET, WIDTH},
    field::{fr_from_i128, Fr},
    fixed::SCALE,
    kfac::{FINE_BITS, H1, INPUT_CENTRE_FIXED, SUMS_LEN, X1},
    linear::{REFINE_BITS, SOLUTION_BITS},
    model::{HIDDEN, NUM_PARAMS, OUTPUT},
};
use lineage_gadgets::{
    factor::{FactorChip, FactorInstructions},
    hash::HashChip,
};

/// Cells of interest, for tests and diagnostics.
#[derive(Clone, Debug)]
pub struct QueryHandles {
    /// Every example's score.
    pub scores: Vec<AssignedValue<Fr>>,
    /// Every row's running segment total (the segment's total on its end row).
    pub totals: Vec<AssignedValue<Fr>>,
    /// The solution cells `u`, `a`, `b` at the fine scale (the witnesses).
    pub solutions: [Vec<AssignedValue<Fr>>; 3],
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
    let fine = &input.attribution.solutions.fine;
    if fine[0].len() != H1 || fine[1].len() != HIDDEN || fine[2].len() != X1 {
        return Err(Error::Shape(format!("solutions of lengths {}, {}, {}", fine[0].len(), fine[1].len(), fine[2].len())));
    }
    let range = builder.range_chip();
    let gate = range.gate();
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range);
    let factor_stage = FactorStageChip::new(&range);
    let scorer = ScoreChip::new(&range);
    let segmenter = SegmentChip::new(&range);

    // 1. forward pass, with the parameters from the table
    let feature = |i: usize| feature_value(column, i);
    let params = (0..NUM_PARAMS).map(|p| feature(WIDTH * shape.capacity + p)).collect();
    let model = fwd.model_from_params(ctx, params);
    let q = fwd.query(ctx, &hasher, &model, &input.query, input.predicted, true);

    // 2. the factors from the table's sums, and the query's three systems:
    //    A₂ u = h̃_q, S a = 2^8·(W2[c] ⊙ m_q), A₁ b = 2^8·x̃_q
    let at = sums_offset(shape.capacity);
    let sums: Vec<_> = (at..at + SUMS_LEN).map(feature).collect();
    let factors = factor_stage.factors(ctx, &sums, &model.w2);
    let load = |ctx: &mut halo2_base::Context<Fr>, v: &[i64]| ctx.assign_witnesses(v.iter().map(|x| fr_from_i128(*x as i128)));
    // the solutions at the fine scale 2^24, checked, then rounded to 2^8
    let (u, a, b) = (load(ctx, &fine[0]), load(ctx, &fine[1]), load(ctx, &fine[2]));
    let mut hq = q.fine.clone();
    hq.push(ctx.load_constant(Fr::from(1u64 << FINE_BITS)));
    factor_stage.check(ctx, &factors.a2, &u, &hq);
    let s256 = Constant(Fr::from(SCALE as u64));
    let vq: Vec<_> = (0..HIDDEN)
        .map(|j| {
            let w = gate.select_by_indicator(ctx, (0..OUTPUT).map(|k| Existing(model.w2[k * HIDDEN + j])), q.indicator.iter().copied());
            let dead = gate.is_zero(ctx, q.fine[j]);
            let masked = gate.sub_mul(ctx, w, dead, w);
            gate.mul(ctx, masked, s256)
        })
        .collect();
    factor_stage.check(ctx, &factors.s, &a, &vq);
    let img = q.pixels.clone();
    let mut xq: Vec<_> = img
        .iter()
        .map(|p| {
            // 2^8·(16·p − C)
            let x = gate.mul_add(ctx, *p, Constant(Fr::from(16u64)), Constant(fr_from_i128(-(INPUT_CENTRE_FIXED as i128))));
            gate.mul(ctx, x, s256)
        })
        .collect();
    xq.push(ctx.load_constant(Fr::from((SCALE * SCALE) as u64)));
    factor_stage.check(ctx, &factors.a1, &b, &xq);

    let rounding = FactorChip::new(&range);
    let coarse = |ctx: &mut halo2_base::Context<Fr>, v: &[AssignedValue<Fr>]| -> Vec<AssignedValue<Fr>> {
        v.iter().map(|x| rounding.mean(ctx, *x, 1 << REFINE_BITS, SOLUTION_BITS as usize)).collect()
    };
    let (cu, ca, cb) = (coarse(ctx, &u), coarse(ctx, &a), coarse(ctx, &b));

    // 3. scores of every row, from the fixed feature column
    let terms = scorer.prepare(ctx, &cu, &ca, &cb, &q.indicator);
    let mut scores = Vec::with_capacity(shape.capacity);
    let mut addresses = Vec::with_capacity(shape.capacity);
    let mut ends = Vec::with_capacity(shape.capacity);
    for i in 0..shape.capacity {
        let row: Vec<_> = (WIDTH * i..WIDTH * (i + 1)).map(feature).collect();
        let s = scorer.score(ctx, &terms, &row);
        scores.push(s);
        addresses.push(row[ADDRESS_OFFSET]);
        ends.push(row[END_OFFSET]);
    }

    // 4. segment totals and their digest
    let challenge = ctx.load_witness(input.challenge);
    let out = segmenter.segments(ctx, challenge, &scores, &addresses, &ends);

    let instances = vec![q.commitment, q.class, challenge, out.digest];
    builder.assigned_instances[0].extend(instances.iter().copied());
    Ok(QueryHandles { scores, totals: out.totals, solutions: [u, a, b], instances })
}
