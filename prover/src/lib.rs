//! Key generation and SHPLONK proving for the Lineage attribution circuit.
//!
//! ```no_run
//! # use lineage_prover::*;
//! let client = ProverClient::builder().cpu().build().unwrap();
//! ```
//!
//! The structured reference string is a **development SRS** generated from a
//! fixed public seed ([`srs::DEV_SRS_SEED`]): anyone can recompute its
//! trapdoor, so proofs under it are sound only for testing and demos. A
//! deployment loads a ceremony SRS instead ([`srs::load_srs`]).

#[cfg(feature = "gpu")]
pub mod gpu;
pub mod pipeline;
pub mod pk_file;
pub mod query;
pub mod srs;

use halo2_base::{
    gates::{
        circuit::{BaseCircuitParams, CircuitBuilderStage},
        flex_gate::MultiPhaseThreadBreakPoints,
    },
    halo2_proofs::{
        plonk::{create_proof, keygen_pk, keygen_vk, ProvingKey},
        poly::kzg::{commitment::{KZGCommitmentScheme, ParamsKZG}, multiopen::ProverSHPLONK},
        transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer},
    },
};
use lineage_circuits::{build_circuit, keygen_circuit, AttributionInput, Bn256, CircuitShape, G1Affine, PublicInputs};
use lineage_verifier::{Claim, VerifierParams, VerifyingKeyFile};
use rand::SeedableRng;
use std::time::{Duration, Instant};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Prover errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Circuit(#[from] lineage_circuits::Error),
    #[error("halo2: {0}")]
    Halo2(String),
    #[error("the GPU backend was requested but this binary was built without the `gpu` feature")]
    GpuNotCompiled,
    #[error("the GPU backend was requested but no usable GPU was found: {0}")]
    GpuUnavailable(String),
    #[error("SRS: {0}")]
    Srs(String),
    #[error("the witness does not satisfy the circuit: {0}")]
    Unsatisfied(String),
    #[error("proving-key file: {0}")]
    KeyFile(String),
}

/// Where proving runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    Gpu,
}

/// Builder for a [`ProverClient`].
#[derive(Debug, Default)]
pub struct ProverClientBuilder {
    backend: Option<Backend>,
}

impl ProverClientBuilder {
    /// Prove on the CPU (always available).
    pub fn cpu(mut self) -> Self {
        self.backend = Some(Backend::Cpu);
        self
    }
    /// Prove on a CUDA GPU (requires the `gpu` feature).
    pub fn gpu(mut self) -> Self {
        self.backend = Some(Backend::Gpu);
        self
    }
    pub fn build(self) -> Result<ProverClient> {
        match self.backend.unwrap_or(Backend::Cpu) {
            Backend::Cpu => Ok(ProverClient { backend: Backend::Cpu }),
            #[cfg(not(feature = "gpu"))]
            Backend::Gpu => Err(Error::GpuNotCompiled),
            #[cfg(feature = "gpu")]
            Backend::Gpu => {
                gpu::device_check()?;
                Ok(ProverClient { backend: Backend::Gpu })
            }
        }
    }
}

/// Proving and verifying keys of one circuit shape.
pub struct Keys {
    pub shape: CircuitShape,
    pub params: ParamsKZG<Bn256>,
    pub pk: ProvingKey<G1Affine>,
    pub circuit_params: BaseCircuitParams,
    pub break_points: MultiPhaseThreadBreakPoints,
    pub vk_file: VerifyingKeyFile,
    pub verifier_params: VerifierParams,
    pub keygen_time: Duration,
    /// The SRS in the GPU crate's type, converted on first GPU proof.
    #[cfg(feature = "gpu")]
    gpu_params: std::sync::OnceLock<gpu::GpuParams>,
}

/// A proof with its public inputs.
#[derive(Clone, Debug)]
pub struct Proof {
    pub bytes: Vec<u8>,
    pub public: PublicInputs,
    pub prove_time: Duration,
}

impl Proof {
    /// The claim this proof supports: its public inputs, the witness's pool
    /// and payouts, and the verifying key's hash.
    pub fn claim(&self, keys: &Keys, input: &AttributionInput) -> Claim {
        let p = &self.public;
        Claim {
            vk_hash: keys.vk_file.hash,
            datanet_root: p.datanet_root,
            model_commitment: p.model_commitment,
            query_commitment: p.query_commitment,
            predicted_class: p.predicted_class,
            window_index: p.window_index,
            pool_wei: input.pool,
            payouts: input.payouts.clone(),
            proof: self.bytes.clone(),
        }
    }
}

/// The prover.
#[derive(Clone, Debug)]
pub struct ProverClient {
    backend: Backend,
}

impl ProverClient {
    pub fn builder() -> ProverClientBuilder {
        ProverClientBuilder::default()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Generate keys for `shape` over `params` (an SRS of at least `shape.k`).
    pub fn keygen(&self, shape: &CircuitShape, params: ParamsKZG<Bn256>) -> Result<Keys> {
        let start = Instant::now();
        let builder = keygen_circuit(shape)?;
        let vk = keygen_vk(&params, &builder).map_err(|e| Error::Halo2(format!("keygen_vk: {e:?}")))?;
        let pk = keygen_pk(&params, vk.clone(), &builder).map_err(|e| Error::Halo2(format!("keygen_pk: {e:?}")))?;
        let circuit_params = builder.config_params.clone();
        let break_points = builder.break_points();
        let verifier_params = VerifierParams::from_srs(&params);
        let vk_file = VerifyingKeyFile::new(*shape, circuit_params.clone(), verifier_params.hash(), vk);
        Ok(Keys {
            shape: *shape,
            params,
            pk,
            circuit_params,
            break_points,
            vk_file,
            verifier_params,
            keygen_time: start.elapsed(),
            #[cfg(feature = "gpu")]
            gpu_params: std::sync::OnceLock::new(),
        })
    }

    /// Prove one attribution.
    pub fn prove(&self, keys: &Keys, input: &AttributionInput) -> Result<Proof> {
        let start = Instant::now();
        let public = input.public_inputs(&keys.shape)?;
        let (builder, _) = build_circuit(
            CircuitBuilderStage::Prover,
            &keys.shape,
            input,
            Some((keys.circuit_params.clone(), keys.break_points.clone())),
        )?;
        let instances = public.to_instances();
        let rng = rand_chacha::ChaCha20Rng::from_entropy();
        #[cfg(feature = "gpu")]
        if self.backend == Backend::Gpu {
            if keys.gpu_params.get().is_none() {
                let p = gpu::GpuParams::from_cpu(&keys.params)?;
                let _ = keys.gpu_params.set(p);
            }
            let params = keys.gpu_params.get().expect("set above");
            let bytes = gpu::prove(params, &keys.pk, builder, &instances, rng)?;
            return Ok(Proof { bytes, public, prove_time: start.elapsed() });
        }
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, Challenge255<_>, _, _, _>(
            &keys.params,
            &keys.pk,
            &[builder],
            &[&[&instances]],
            rng,
            &mut transcript,
        )
        .map_err(|e| Error::Halo2(format!("create_proof: {e:?}")))?;
        Ok(Proof { bytes: transcript.finalize(), public, prove_time: start.elapsed() })
    }

    /// Check a witness with halo2's MockProver (debugging aid; slow).
    pub fn mock_check(&self, shape: &CircuitShape, input: &AttributionInput) -> Result<()> {
        let public = input.public_inputs(shape)?;
        let (builder, _) = build_circuit(CircuitBuilderStage::Mock, shape, input, None)?;
        halo2_base::halo2_proofs::dev::MockProver::run(shape.k, &builder, vec![public.to_instances()])
            .map_err(|e| Error::Halo2(format!("{e:?}")))?
            .verify()
            .map_err(|e| Error::Unsatisfied(format!("{} failures, first: {}", e.len(), e[0])))
    }
}
