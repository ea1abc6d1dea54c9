//! CUDA proving through `halo2-axiom-gpu` (feature `gpu`).
//!
//! `halo2-axiom-gpu` re-exports halo2-axiom's keys, `Circuit` trait and
//! transcripts, so the same `ProvingKey` and circuit builder serve both
//! backends, and GPU proofs verify with the CPU verifying key. Only its KZG
//! parameter type is its own: it is read from the CPU SRS's serialisation.

use crate::{Error, Result};
use halo2_axiom_gpu::{
    plonk::create_proof,
    poly::kzg::{
        commitment::{KZGCommitmentScheme, ParamsKZG as GpuParamsKZG},
        multiopen::ProverSHPLONK,
    },
    transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer},
    SerdeFormat,
};
use halo2_base::halo2_proofs::{plonk::ProvingKey, poly::kzg::commitment::ParamsKZG};
use lineage_circuits::{Bn256, Fr, G1Affine};

/// KZG parameters in the GPU crate's type.
pub struct GpuParams(GpuParamsKZG<Bn256>);

impl GpuParams {
    /// Convert a CPU SRS (same bytes, other type).
    pub fn from_cpu(params: &ParamsKZG<Bn256>) -> Result<Self> {
        let mut buf = Vec::new();
        params
            .write_custom(&mut buf, SerdeFormat::RawBytesUnchecked)
            .map_err(|e| Error::Srs(format!("serialising the SRS for the GPU: {e}")))?;
        let p = GpuParamsKZG::<Bn256>::read_custom(&mut buf.as_slice(), SerdeFormat::RawBytesUnchecked)
            .map_err(|e| Error::Srs(format!("reading the SRS for the GPU: {e}")))?;
        Ok(Self(p))
    }
}

/// Check that the CUDA driver loads and reports at least one device.
pub fn device_check() -> Result<usize> {
    use cuda_driver_sys::{cuDeviceGetCount, cuInit, cudaError_enum};
    // SAFETY: plain driver-API calls with a valid out-pointer.
    unsafe {
        let r = cuInit(0);
        if r != cudaError_enum::CUDA_SUCCESS {
            return Err(Error::GpuUnavailable(format!("cuInit failed: {r:?}")));
        }
        let mut n = 0;
        let r = cuDeviceGetCount(&mut n);
        if r != cudaError_enum::CUDA_SUCCESS {
            return Err(Error::GpuUnavailable(format!("cuDeviceGetCount failed: {r:?}")));
        }
        if n < 1 {
            return Err(Error::GpuUnavailable("the CUDA driver reports no device".into()));
        }
        Ok(n as usize)
    }
}

/// One GPU proof at a time: halo2-axiom-gpu drives the device through one
/// process-wide context and stream (`HALO2_GPU_CTX`, `HALO2_COMM_STREAM`),
/// so proofs from several threads (a prover node proves jobs concurrently)
/// take turns rather than interleave on that stream.
static DEVICE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Prove on the GPU: any halo2-axiom circuit (the attribution circuit's
/// builder, the feature-chunk and per-query table circuits).
pub fn prove<C: halo2_base::halo2_proofs::plonk::Circuit<Fr>>(
    params: &GpuParams,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    rng: impl rand::RngCore + Send,
) -> Result<Vec<u8>> {
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    // a proof that panicked on another thread poisoned nothing this one reads
    let _turn = DEVICE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, Challenge255<_>, _, _, _>(
        &params.0,
        pk,
        &[circuit],
        &[&[instances]],
        rng,
        &mut transcript,
    )
    .map_err(|e| Error::Halo2(format!("GPU create_proof: {e:?}")))?;
    Ok(transcript.finalize())
}
