//! Keys and proofs of the whole-datanet circuits: the feature chunks (proven
//! once per datanet version and model) and the per-query circuit.
//!
//! The feature table is a fixed column of both, so keys are generated once
//! per (datanet version, model) pair and reused for every query.

use crate::{Error, ProverClient, Result};
use halo2_base::{
    gates::{
        circuit::{BaseCircuitParams, CircuitBuilderStage},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        plonk::{create_proof, keygen_pk, keygen_vk, ProvingKey, VerifyingKey},
        poly::{
            commitment::Params,
            kzg::{commitment::{KZGCommitmentScheme, ParamsKZG}, multiopen::ProverSHPLONK},
        },
        transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer},
    },
};
use lineage_circuits::{
    chunk::{self, ChunkInput, ChunkPublic, ChunkShape},
    query::{QueryInput, QueryPublic, QueryShape},
    table::TableCircuit,
    Bn256, G1Affine,
};
use lineage_core::{datanet::Datanet, features::FeatureTable, model::QuantizedModel};
use lineage_verifier::{TableKeyFile, TableKind, VerifierParams};
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// Keys of one table circuit (a feature chunk or the per-query circuit).
pub struct TableKeys {
    pub params: ParamsKZG<Bn256>,
    pub pk: ProvingKey<G1Affine>,
    pub vk: VerifyingKey<G1Affine>,
    pub circuit_params: BaseCircuitParams,
    pub break_points: MultiPhaseThreadBreakPoints,
    pub verifier_params: VerifierParams,
    pub keygen_time: Duration,
    /// The parameters in the GPU crate's type, made on the first GPU proof.
    #[cfg(feature = "gpu")]
    pub gpu_params: std::sync::OnceLock<crate::gpu::GpuParams>,
}

impl TableKeys {
    /// Generate keys for a key-generation circuit.
    fn generate(circuit: &TableCircuit, params: ParamsKZG<Bn256>) -> Result<Self> {
        let start = Instant::now();
        let vk = keygen_vk(&params, circuit).map_err(|e| Error::Halo2(format!("keygen_vk: {e:?}")))?;
        let pk = keygen_pk(&params, vk.clone(), circuit).map_err(|e| Error::Halo2(format!("keygen_pk: {e:?}")))?;
        Ok(Self {
            verifier_params: VerifierParams::from_srs(&params),
            params,
            pk,
            vk,
            circuit_params: circuit.builder.config_params.clone(),
            break_points: circuit.builder.break_points(),
            keygen_time: start.elapsed(),
            #[cfg(feature = "gpu")]
            gpu_params: std::sync::OnceLock::new(),
        })
    }

    /// The parameters and break points the prover stage needs.
    pub fn prover_config(&self) -> Option<(BaseCircuitParams, MultiPhaseThreadBreakPoints)> {
        Some((self.circuit_params.clone(), self.break_points.clone()))
    }

    /// Indices of the feature columns among the key's fixed commitments.
    pub fn feature_column_indices(&self) -> [usize; lineage_circuits::table::FEATURE_COLUMNS] {
        lineage_circuits::table::feature_column_indices(&self.circuit_params)
    }

    /// A SHPLONK proof of a prover-stage circuit, on `backend`.
    fn prove(&self, backend: crate::Backend, circuit: TableCircuit, instances: &[lineage_circuits::Fr]) -> Result<Vec<u8>> {
        let rng = rand_chacha::ChaCha20Rng::from_entropy();
        #[cfg(feature = "gpu")]
        if backend == crate::Backend::Gpu {
            if self.gpu_params.get().is_none() {
                let _ = self.gpu_params.set(crate::gpu::GpuParams::from_cpu(&self.params)?);
            }
            let params = self.gpu_params.get().expect("set above");
            return crate::gpu::prove(params, &self.pk, circuit, instances, rng);
        }
        #[cfg(not(feature = "gpu"))]
        let _ = backend;
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, Challenge255<_>, _, _, _>(
            &self.params,
            &self.pk,
            &[circuit],
            &[&[instances]],
            rng,
            &mut transcript,
        )
        .map_err(|e| Error::Halo2(format!("create_proof: {e:?}")))?;
        Ok(transcript.finalize())
    }
}

/// Keys of the per-query circuit of one feature table.
pub struct QueryKeys {
    pub shape: QueryShape,
    pub keys: TableKeys,
}

impl QueryKeys {
    /// The verifying-key file an auditor or the chain receives.
    pub fn file(&self) -> TableKeyFile {
        self.keys.vk_file(TableKind::Query(self.shape))
    }
}

/// Keys of one feature chunk.
pub struct ChunkKeys {
    pub shape: ChunkShape,
    pub keys: TableKeys,
}

impl ChunkKeys {
    /// The verifying-key file an auditor or the chain receives.
    pub fn file(&self) -> TableKeyFile {
        self.keys.vk_file(TableKind::Chunk(self.shape))
    }
}

/// A per-query proof with its public inputs.
#[derive(Clone, Debug)]
pub struct QueryProof {
    pub bytes: Vec<u8>,
    pub public: QueryPublic,
    pub prove_time: Duration,
}

/// A feature-chunk proof with its public inputs.
#[derive(Clone, Debug)]
pub struct ChunkProof {
    pub bytes: Vec<u8>,
    pub public: ChunkPublic,
    pub prove_time: Duration,
}

impl ProverClient {
    /// Generate the per-query keys of `table` over `params` (an SRS of
    /// exactly `shape.k`).
    pub fn keygen_query(&self, shape: &QueryShape, table: &FeatureTable, params: ParamsKZG<Bn256>) -> Result<QueryKeys> {
        let circuit = lineage_circuits::query::keygen_circuit(shape, table)?;
        Ok(QueryKeys { shape: *shape, keys: TableKeys::generate(&circuit, params)? })
    }

    /// Prove one query's attribution over every example of `table` (the
    /// table the keys were generated for), on this client's backend.
    pub fn prove_query(&self, keys: &QueryKeys, table: &FeatureTable, input: &QueryInput) -> Result<QueryProof> {
        let start = Instant::now();
        let public = input.public()?;
        let (circuit, _) =
            lineage_circuits::query::build(CircuitBuilderStage::Prover, &keys.shape, table, input, keys.keys.prover_config())?;
        let bytes = keys.keys.prove(self.backend, circuit, &public.to_instances())?;
        Ok(QueryProof { bytes, public, prove_time: start.elapsed() })
    }

    /// Generate the inference-circuit keys of `model` (its parameters are
    /// the key's fixed column) over `params` (an SRS of `k` at least
    /// `lineage_circuits::inference::inference_k()`; the circuit takes its `k`).
    pub fn keygen_inference(&self, model: &QuantizedModel, params: ParamsKZG<Bn256>) -> Result<TableKeys> {
        let predicted = lineage_core::attribution::predict(model, &[0; 64]);
        let circuit =
            lineage_circuits::inference::build_with_k(CircuitBuilderStage::Keygen, params.k(), model, &[0; 64], predicted, None)?;
        TableKeys::generate(&circuit, params)
    }

    /// Prove the forward pass of `model` on `query`; returns the proof and
    /// its public inputs (the logits and the predicted class).
    pub fn prove_inference(&self, keys: &TableKeys, model: &QuantizedModel, query: &[u8]) -> Result<(Vec<u8>, Vec<lineage_circuits::Fr>)> {
        let predicted = lineage_core::attribution::predict(model, query);
        let public = lineage_circuits::inference::public_inputs(model, query)?;
        let k = keys.params.k();
        let circuit = lineage_circuits::inference::build_with_k(CircuitBuilderStage::Prover, k, model, query, predicted, keys.prover_config())?;
        Ok((keys.prove(self.backend, circuit, &public)?, public))
    }

    /// Generate the keys of chunk `shape.index` of `table` (its share of the
    /// feature column is part of the key).
    pub fn keygen_chunk(&self, shape: &ChunkShape, table: &FeatureTable, params: ParamsKZG<Bn256>) -> Result<ChunkKeys> {
        let circuit = chunk::keygen_circuit(shape, chunk::chunk_column(shape, table)?)?;
        Ok(ChunkKeys { shape: *shape, keys: TableKeys::generate(&circuit, params)? })
    }

    /// Prove chunk `keys.shape.index` of `datanet` under `model`.
    pub fn prove_chunk(&self, keys: &ChunkKeys, table: &FeatureTable, datanet: &Datanet, model: &QuantizedModel) -> Result<ChunkProof> {
        let start = Instant::now();
        let input = ChunkInput::new(&keys.shape, model, datanet)?;
        let public = input.public(&keys.shape)?;
        let column = chunk::chunk_column(&keys.shape, table)?;
        let circuit = chunk::build(CircuitBuilderStage::Prover, &keys.shape, column, &input, keys.keys.prover_config())?;
        let bytes = keys.keys.prove(self.backend, circuit, &public.to_instances())?;
        Ok(ChunkProof { bytes, public, prove_time: start.elapsed() })
    }
}
