//! A halo2-base circuit with one more column: the fixed **feature column**
//! (folded into [`FEATURE_COLUMNS`] fixed columns)
//! (`lineage_core::features`, vertical layout), equality-enabled so that
//! halo2-base cells can be copy-constrained to its rows.
//!
//! The per-query circuit reads the column; a feature-chunk circuit writes
//! it (every row it covers equals a computed feature, every other row of
//! the table is zero). Because the column is fixed, its KZG commitment is in
//! the verifying key, and commitments add: the per-query key's feature
//! commitment must equal the sum of the chunk keys' ones.
//!
//! Cells of the column enter halo2-base as external cells
//! ([`feature_value`]); [`TableCircuit::synthesize`] assigns the column and
//! binds each external cell to its fixed cell before halo2-base lays out its
//! own region and copy constraints.

use halo2_base::{
    gates::circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, BaseConfig},
    halo2_proofs::{
        circuit::{Layouter, SimpleFloorPlanner},
        plonk::{Assigned, Circuit, Column, ConstraintSystem, Error as PlonkError, Fixed},
    },
    utils::halo2::raw_assign_fixed,
    virtual_region::copy_constraints::EXTERNAL_CELL_TYPE_ID,
    AssignedValue, ContextCell,
};
use lineage_core::field::Fr;

/// Context id of the feature column's cells in halo2-base's copy manager
/// (distinct from the id 0 that `load_external_cell` uses).
const FEATURE_CONTEXT: usize = 0x4645_4154; // "FEAT"

/// Fixed columns the feature column is folded into: element `i` of a
/// column of `len` elements sits in column `i / R`, row `i % R`,
/// `R = ⌈len / FEATURE_COLUMNS⌉` ([`feature_position`]). Two columns halve
/// the rows a table needs, and so the circuits' `k`.
pub const FEATURE_COLUMNS: usize = 2;

/// Rows the feature columns need for a column of `len` elements.
pub fn feature_rows(len: usize) -> usize {
    len.div_ceil(FEATURE_COLUMNS)
}

/// (fixed column, row) of element `i` of a column of `len` elements.
pub fn feature_position(len: usize, i: usize) -> (usize, usize) {
    let r = feature_rows(len).max(1);
    (i / r, i % r)
}

/// Indices of the feature columns among the fixed commitments of a
/// verifying key of a circuit with these parameters (selectors, compressed
/// at key generation, come after every fixed column).
pub fn feature_column_indices(params: &BaseCircuitParams) -> [usize; FEATURE_COLUMNS] {
    let mut cs = ConstraintSystem::<Fr>::default();
    let config = TableCircuit::configure_with_params(&mut cs, params.clone());
    config.features.map(|c| c.index())
}

/// The external cell of row `i` of the feature column.
pub fn feature_cell(i: usize) -> ContextCell {
    ContextCell::new(EXTERNAL_CELL_TYPE_ID, FEATURE_CONTEXT, i)
}

/// Row `i` of `column` as a halo2-base value bound to the fixed cell.
pub fn feature_value(column: &[Fr], i: usize) -> AssignedValue<Fr> {
    AssignedValue { value: Assigned::Trivial(column[i]), cell: Some(feature_cell(i)) }
}

/// The configuration: halo2-base's columns plus the feature column.
#[derive(Clone, Debug)]
pub struct TableConfig {
    pub base: BaseConfig<Fr>,
    pub features: [Column<Fixed>; FEATURE_COLUMNS],
}

/// A halo2-base circuit plus the feature column.
#[derive(Clone, Debug)]
pub struct TableCircuit {
    pub builder: BaseCircuitBuilder<Fr>,
    /// The feature column's values, from row 0.
    pub column: Vec<Fr>,
    /// log2 of the number of rows.
    pub k: u32,
}

impl Circuit<Fr> for TableCircuit {
    type Config = TableConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = BaseCircuitParams;

    fn params(&self) -> Self::Params {
        self.builder.config_params.clone()
    }

    fn without_witnesses(&self) -> Self {
        unimplemented!("a table circuit is always built with its witness and feature column")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        let base = BaseConfig::configure(meta, params);
        let features = [(); FEATURE_COLUMNS].map(|_| {
            let c = meta.fixed_column();
            meta.enable_equality(c);
            c
        });
        TableConfig { base, features }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("a table circuit is configured with parameters")
    }

    fn synthesize(&self, config: Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), PlonkError> {
        let witness_only = self.builder.witness_gen_only();
        layouter.assign_region(
            || "feature table",
            |mut region| {
                let copy_manager = self.builder.core().copy_manager.clone();
                let mut cm = copy_manager.lock().map_err(|_| PlonkError::Synthesis)?;
                let len = self.column.len();
                for (i, v) in self.column.iter().enumerate() {
                    let (c, row) = feature_position(len, i);
                    let cell = raw_assign_fixed(&mut region, config.features[c], row, *v);
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
