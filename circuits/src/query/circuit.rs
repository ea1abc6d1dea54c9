//! The per-query circuit: halo2-base stages plus one fixed feature column.

use super::{QueryInput, QueryShape};
use crate::{
    chips::{
        forward::{ForwardChip, ForwardInstructions},
        score::{ScoreChip, ScoreInstructions},
        segments::{SegmentChip, SegmentInstructions},
    },
    Error, Result,
};
use halo2_base::{
    gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, BaseConfig, CircuitBuilderStage},
    gates::flex_gate::MultiPhaseThreadBreakPoints,
    halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        plonk::{Assigned, Circuit, Column, ConstraintSystem, Error as PlonkError, Fixed},
    },
    utils::halo2::raw_assign_fixed,
    virtual_region::copy_constraints::EXTERNAL_CELL_TYPE_ID,
    AssignedValue, ContextCell,
};
use lineage_core::{
    features::{FeatureTable, ADDRESS_OFFSET, END_OFFSET, WIDTH},
    field::Fr,
};
use lineage_gadgets::hash::HashChip;

/// Context id of the feature column's cells in halo2-base's copy manager
/// (distinct from the id 0 that `load_external_cell` uses).
const FEATURE_CONTEXT: usize = 0x4645_4154; // "FEAT"

/// The configuration: halo2-base's columns plus the feature column.
#[derive(Clone, Debug)]
pub struct QueryConfig {
    pub base: BaseConfig<Fr>,
    pub features: Column<Fixed>,
}

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

/// The per-query circuit.
#[derive(Clone, Debug)]
pub struct QueryCircuit {
    pub builder: BaseCircuitBuilder<Fr>,
    /// The feature column's values (`WIDTH · capacity`).
    pub column: Vec<Fr>,
    pub shape: QueryShape,
}

fn feature_cell(i: usize) -> ContextCell {
    ContextCell::new(EXTERNAL_CELL_TYPE_ID, FEATURE_CONTEXT, i)
}

impl QueryCircuit {
    /// Build the circuit for `stage`. Keygen and mock stages compute the
    /// parameters; the prover stage needs those recorded at key generation.
    pub fn build(
        stage: CircuitBuilderStage,
        shape: &QueryShape,
        table: &FeatureTable,
        input: &QueryInput,
        prover_config: Option<(BaseCircuitParams, MultiPhaseThreadBreakPoints)>,
    ) -> Result<(Self, QueryHandles)> {
        let column = table.column(shape.capacity)?;
        let mut builder = match (stage, prover_config) {
            (CircuitBuilderStage::Prover, Some((params, bp))) => BaseCircuitBuilder::prover(params, bp),
            (CircuitBuilderStage::Prover, None) => {
                return Err(Error::Shape("the prover stage needs the keygen parameters and break points".into()))
            }
            (stage, _) => BaseCircuitBuilder::from_stage(stage)
                .use_k(shape.k as usize)
                .use_lookup_bits(shape.lookup_bits)
                .use_instance_columns(1),
        };
        let handles = synthesize(&mut builder, shape, &column, input)?;
        if stage != CircuitBuilderStage::Prover {
            builder.calculate_params(Some(20));
        }
        Ok((Self { builder, column, shape: *shape }, handles))
    }

    /// The key-generation circuit of `table` (placeholder witness; the
    /// feature column is real, since it is part of the key).
    pub fn keygen(shape: &QueryShape, table: &FeatureTable) -> Result<Self> {
        Ok(Self::build(CircuitBuilderStage::Keygen, shape, table, &QueryInput::keygen_placeholder(), None)?.0)
    }
}

/// Lay out the stages in `builder` and register the public instances. The
/// feature cells enter as external cells bound to the fixed column in
/// [`QueryCircuit::synthesize`].
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, shape: &QueryShape, column: &[Fr], input: &QueryInput) -> Result<QueryHandles> {
    if column.len() != WIDTH * shape.capacity {
        return Err(Error::Shape(format!("feature column has {} values, the shape takes {}", column.len(), WIDTH * shape.capacity)));
    }
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let hasher = HashChip::new(ctx);
    let fwd = ForwardChip::new(&range, &hasher);
    let scorer = ScoreChip::new(&range);
    let segmenter = SegmentChip::new(&range);

    // 1. forward pass
    let model = fwd.load_model(ctx, &input.model);
    let q = fwd.query(ctx, &model, &input.query, input.predicted);

    // 2. scores of every row, from the fixed feature column
    let feature = |i: usize| AssignedValue { value: Assigned::Trivial(column[i]), cell: Some(feature_cell(i)) };
    let mut scores = Vec::with_capacity(shape.capacity);
    let mut positives = Vec::with_capacity(shape.capacity);
    let mut addresses = Vec::with_capacity(shape.capacity);
    let mut ends = Vec::with_capacity(shape.capacity);
    for i in 0..shape.capacity {
        let row: Vec<_> = (WIDTH * i..WIDTH * (i + 1)).map(feature).collect();
        let s = scorer.score(ctx, &q.hidden, &q.indicator, &row);
        positives.push(scorer.positive_part(ctx, s));
        scores.push(s);
        addresses.push(row[ADDRESS_OFFSET]);
        ends.push(row[END_OFFSET]);
    }

    // 3. segment totals and their digest
    let challenge = ctx.load_witness(input.challenge);
    let out = segmenter.segments(ctx, challenge, &positives, &addresses, &ends);

    let instances = vec![model.commitment, q.commitment, q.class, challenge, out.digest];
    builder.assigned_instances[0].extend(instances.iter().copied());
    Ok(QueryHandles { scores, totals: out.totals, instances })
}

impl Circuit<Fr> for QueryCircuit {
    type Config = QueryConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = BaseCircuitParams;

    fn params(&self) -> Self::Params {
        self.builder.config_params.clone()
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("the per-query circuit is always built with its witness and feature column")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        let base = BaseConfig::configure(meta, params);
        let features = meta.fixed_column();
        meta.enable_equality(features);
        QueryConfig { base, features }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("the per-query circuit is configured with parameters")
    }

    fn synthesize(&self, config: Self::Config, mut layouter: impl Layouter<Fr>) -> std::result::Result<(), PlonkError> {
        let witness_only = self.builder.witness_gen_only();
        layouter.assign_region(
            || "feature table",
            |mut region| {
                let copy_manager = self.builder.core().copy_manager.clone();
                let mut cm = copy_manager.lock().map_err(|_| PlonkError::Synthesis)?;
                for (i, v) in self.column.iter().enumerate() {
                    let cell = raw_assign_fixed(&mut region, config.features, i, *v);
                    if !witness_only {
                        cm.assigned_advices.insert(feature_cell(i), cell);
                    }
                }
                Ok(())
            },
        )?;
        <BaseCircuitBuilder<Fr> as Circuit<Fr>>::synthesize(&self.builder, config.base, layouter)
    }
}
