//! Keys and proofs of the per-query (whole-datanet) circuit.
//!
//! The feature table is a fixed column, so keys are generated once per
//! (datanet version, model) pair and reused for every query.

use crate::{Error, ProverClient, Result};
use halo2_base::{
    gates::{
        circuit::{BaseCircuitParams, CircuitBuilderStage},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        plonk::{create_proof, keygen_pk, keygen_vk, ProvingKey, VerifyingKey},
        poly::kzg::{commitment::{KZGCommitmentScheme, ParamsKZG}, multiopen::ProverSHPLONK},
        transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer},
    },
};
use lineage_circuits::{
    query::{QueryCircuit, QueryInput, QueryPublic, QueryShape},
    Bn256, G1Affine,
};
use lineage_core::features::FeatureTable;
use lineage_verifier::VerifierParams;
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// Keys of the per-query circuit of one feature table.
pub struct QueryKeys {
    pub shape: QueryShape,
    pub params: ParamsKZG<Bn256>,
    pub pk: ProvingKey<G1Affine>,
    pub vk: VerifyingKey<G1Affine>,
    pub circuit_params: BaseCircuitParams,
    pub break_points: MultiPhaseThreadBreakPoints,
    pub verifier_params: VerifierParams,
    pub keygen_time: Duration,
}

/// A per-query proof with its public inputs.
#[derive(Clone, Debug)]
pub struct QueryProof {
    pub bytes: Vec<u8>,
    pub public: QueryPublic,
    pub prove_time: Duration,
}

impl ProverClient {
    /// Generate the per-query keys of `table` over `params` (an SRS of
    /// exactly `shape.k`).
    pub fn keygen_query(&self, shape: &QueryShape, table: &FeatureTable, params: ParamsKZG<Bn256>) -> Result<QueryKeys> {
        let start = Instant::now();
        let circuit = lineage_circuits::query::keygen_circuit(shape, table)?;
        let vk = keygen_vk(&params, &circuit).map_err(|e| Error::Halo2(format!("keygen_vk: {e:?}")))?;
        let pk = keygen_pk(&params, vk.clone(), &circuit).map_err(|e| Error::Halo2(format!("keygen_pk: {e:?}")))?;
        Ok(QueryKeys {
            shape: *shape,
            verifier_params: VerifierParams::from_srs(&params),
            params,
            pk,
            vk,
            circuit_params: circuit.builder.config_params.clone(),
            break_points: circuit.builder.break_points(),
            keygen_time: start.elapsed(),
        })
    }

    /// Prove one query's attribution over every example of `table` (the
    /// table the keys were generated for). CPU only for now.
    pub fn prove_query(&self, keys: &QueryKeys, table: &FeatureTable, input: &QueryInput) -> Result<QueryProof> {
        let start = Instant::now();
        let public = input.public()?;
        let (circuit, _) = lineage_circuits::query::build(
            CircuitBuilderStage::Prover,
            &keys.shape,
            table,
            input,
            Some((keys.circuit_params.clone(), keys.break_points.clone())),
        )?;
        let instances = public.to_instances();
        let rng = rand_chacha::ChaCha20Rng::from_entropy();
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, Challenge255<_>, _, _, _>(
            &keys.params,
            &keys.pk,
            &[circuit],
            &[&[&instances]],
            rng,
            &mut transcript,
        )
        .map_err(|e| Error::Halo2(format!("create_proof: {e:?}")))?;
        Ok(QueryProof { bytes: transcript.finalize(), public, prove_time: start.elapsed() })
    }
}
