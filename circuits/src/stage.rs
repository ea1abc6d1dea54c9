//! Building a halo2-base circuit for one stage (key generation, mock, prover).

use crate::{Error, Result};
use halo2_base::gates::{
    circuit::{builder::BaseCircuitBuilder, BaseCircuitParams, CircuitBuilderStage},
    flex_gate::MultiPhaseThreadBreakPoints,
};
use lineage_core::field::Fr;

/// What the prover stage needs from key generation: the circuit's
/// parameters and the break points of its witness layout.
pub type ProverConfig = (BaseCircuitParams, MultiPhaseThreadBreakPoints);

/// Lay out a circuit with `synthesize` for `stage`. Keygen and mock stages
/// start from `k` and `lookup_bits` (one instance column) and compute the
/// circuit's parameters afterwards; the prover stage needs those recorded at
/// key generation.
pub fn build_stage<T>(
    stage: CircuitBuilderStage,
    k: u32,
    lookup_bits: usize,
    prover_config: Option<ProverConfig>,
    synthesize: impl FnOnce(&mut BaseCircuitBuilder<Fr>) -> Result<T>,
) -> Result<(BaseCircuitBuilder<Fr>, T)> {
    let mut builder = match (stage, prover_config) {
        (CircuitBuilderStage::Prover, Some((params, bp))) => BaseCircuitBuilder::prover(params, bp),
        (CircuitBuilderStage::Prover, None) => {
            return Err(Error::Shape("the prover stage needs the keygen parameters and break points".into()))
        }
        (stage, _) => BaseCircuitBuilder::from_stage(stage).use_k(k as usize).use_lookup_bits(lookup_bits).use_instance_columns(1),
    };
    let out = synthesize(&mut builder)?;
    if stage != CircuitBuilderStage::Prover {
        builder.calculate_params(Some(20));
    }
    Ok((builder, out))
}
