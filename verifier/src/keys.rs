//! Verifier parameters, verifying keys and raw proof verification.

use crate::{Error, Result};
use alloy_primitives::{keccak256, B256};
use lineage_circuits::{
    halo2_proofs::{
        halo2curves::{
            bn256::{G2Affine},
            group::{prime::PrimeCurveAffine, GroupEncoding},
        },
        plonk::{verify_proof as halo2_verify, VerifyingKey},
        poly::kzg::{commitment::{KZGCommitmentScheme, ParamsKZG}, multiopen::VerifierSHPLONK, strategy::SingleStrategy},
        transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer},
        SerdeFormat,
    },
    BaseCircuitBuilder, BaseCircuitParams, Bn256, CircuitShape, Fr, G1Affine, NUM_INSTANCES,
};
use serde::{Deserialize, Serialize};

/// Verifier-parameter file magic and version.
const PARAMS_MAGIC: &[u8; 8] = b"LNVPARAM";
const PARAMS_VERSION: u32 = 1;
/// Verifying-key file format tag and version.
pub const VK_FORMAT: &str = "lineage-vk";
pub const VK_VERSION: u32 = 1;

/// The part of a KZG SRS a SHPLONK verifier needs: `k`, `[1]₁`, the Lagrange
/// bases of the public-input rows, `[1]₂` and `[τ]₂`.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifierParams {
    pub k: u32,
    g0: G1Affine,
    lagrange: Vec<G1Affine>,
    g2: G2Affine,
    s_g2: G2Affine,
}

impl VerifierParams {
    /// Extract from a full SRS.
    pub fn from_srs(params: &ParamsKZG<Bn256>) -> Self {
        use lineage_circuits::halo2_proofs::poly::commitment::Params;
        let mut g = Vec::new();
        let mut lag = Vec::new();
        // ParamsKZG has no getters for its bases: read them back from its
        // serialisation (k, then g[0..n], then g_lagrange[0..n], 64 bytes each).
        let mut buf = Vec::new();
        params.write_custom(&mut buf, SerdeFormat::RawBytesUnchecked).expect("write to memory");
        let n = 1usize << params.k();
        let point = 64usize; // uncompressed G1, unchecked raw form
        let read_g1 = |i: usize| -> G1Affine {
            let off = 4 + i * point;
            <G1Affine as lineage_circuits::halo2_proofs::halo2curves::serde::SerdeObject>::from_raw_bytes_unchecked(&buf[off..off + point])
        };
        g.push(read_g1(0));
        for i in 0..NUM_INSTANCES {
            lag.push(read_g1(n + i));
        }
        Self { k: params.k(), g0: g[0], lagrange: lag, g2: params.g2(), s_g2: params.s_g2() }
    }

    /// Rebuild a `ParamsKZG` usable by the SHPLONK verifier. Lagrange bases
    /// past the public-input rows are the identity: the verifier multiplies
    /// them by zero instance values.
    pub fn to_kzg(&self) -> ParamsKZG<Bn256> {
        let n = 1usize << self.k;
        let mut lagrange = self.lagrange.clone();
        lagrange.resize(n, G1Affine::identity());
        // `from_parts` is a method: read a throwaway k = 0 instance (one point
        // of each kind) and replace all of its contents.
        let mut seed = Vec::new();
        seed.extend_from_slice(&0u32.to_le_bytes());
        seed.extend_from_slice(self.g0.to_bytes().as_ref());
        seed.extend_from_slice(self.g0.to_bytes().as_ref());
        seed.extend_from_slice(self.g2.to_bytes().as_ref());
        seed.extend_from_slice(self.s_g2.to_bytes().as_ref());
        let base = ParamsKZG::<Bn256>::read_custom(&mut seed.as_slice(), SerdeFormat::Processed)
            .expect("points were validated when parsed");
        base.from_parts(self.k, vec![self.g0], Some(lagrange), self.g2, self.s_g2)
    }

    /// Versioned byte encoding (compressed points).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(PARAMS_MAGIC);
        out.extend_from_slice(&PARAMS_VERSION.to_le_bytes());
        out.extend_from_slice(&self.k.to_le_bytes());
        out.extend_from_slice(&(self.lagrange.len() as u32).to_le_bytes());
        out.extend_from_slice(self.g0.to_bytes().as_ref());
        for p in &self.lagrange {
            out.extend_from_slice(p.to_bytes().as_ref());
        }
        out.extend_from_slice(self.g2.to_bytes().as_ref());
        out.extend_from_slice(self.s_g2.to_bytes().as_ref());
        out
    }

    /// Parse [`VerifierParams::to_bytes`]; rejects bad magic, versions,
    /// off-curve or non-canonical points, and wrong lengths.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |r: &str| Error::malformed("verifier parameters", r);
        if bytes.len() < 20 || &bytes[..8] != PARAMS_MAGIC {
            return Err(bad("missing LNVPARAM header"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        let version = u32_at(8);
        if version != PARAMS_VERSION {
            return Err(Error::Version { what: "verifier parameters", found: version, expected: PARAMS_VERSION });
        }
        let k = u32_at(12);
        let nl = u32_at(16) as usize;
        if !(1..=28).contains(&k) || nl != NUM_INSTANCES {
            return Err(bad("unsupported k or instance count"));
        }
        let expected = 20 + 32 * (1 + nl) + 64 * 2;
        if bytes.len() != expected {
            return Err(bad(&format!("{} bytes, expected {expected}", bytes.len())));
        }
        let g1 = |o: usize| -> Result<G1Affine> {
            let mut repr = <G1Affine as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(&bytes[o..o + 32]);
            Option::from(G1Affine::from_bytes(&repr)).ok_or_else(|| bad("invalid G1 point"))
        };
        let g2 = |o: usize| -> Result<G2Affine> {
            let mut repr = <G2Affine as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(&bytes[o..o + 64]);
            Option::from(G2Affine::from_bytes(&repr)).ok_or_else(|| bad("invalid G2 point"))
        };
        let g0 = g1(20)?;
        let lagrange = (0..nl).map(|i| g1(52 + 32 * i)).collect::<Result<Vec<_>>>()?;
        let o = 52 + 32 * nl;
        Ok(Self { k, g0, lagrange, g2: g2(o)?, s_g2: g2(o + 64)? })
    }
}

/// A verifying key with the circuit shape and halo2-base parameters needed to read it.
#[derive(Clone, Debug)]
pub struct VerifyingKeyFile {
    pub shape: CircuitShape,
    pub circuit_params: BaseCircuitParams,
    pub vk: VerifyingKey<G1Affine>,
    /// keccak256 of [`VerifyingKeyFile::to_bytes`].
    pub hash: B256,
}

#[derive(Serialize, Deserialize)]
struct VkFileJson {
    format: String,
    version: u32,
    shape: CircuitShape,
    circuit_params: BaseCircuitParams,
    vk: String,
}

impl VerifyingKeyFile {
    pub fn new(shape: CircuitShape, circuit_params: BaseCircuitParams, vk: VerifyingKey<G1Affine>) -> Self {
        let mut f = Self { shape, circuit_params, vk, hash: B256::ZERO };
        f.hash = keccak256(f.to_bytes());
        f
    }

    /// Versioned JSON with the key in halo2's compressed (`Processed`) form.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&VkFileJson {
            format: VK_FORMAT.into(),
            version: VK_VERSION,
            shape: self.shape,
            circuit_params: self.circuit_params.clone(),
            vk: hex::encode(self.vk.to_bytes(SerdeFormat::Processed)),
        })
        .expect("vk file serialises")
    }

    /// Parse and check a verifying-key file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let f: VkFileJson = serde_json::from_slice(bytes).map_err(|e| Error::malformed("verifying key", e))?;
        if f.format != VK_FORMAT {
            return Err(Error::malformed("verifying key", format!("format {:?}", f.format)));
        }
        if f.version != VK_VERSION {
            return Err(Error::Version { what: "verifying key", found: f.version, expected: VK_VERSION });
        }
        let raw = hex::decode(&f.vk).map_err(|e| Error::malformed("verifying key", e))?;
        let mut reader = raw.as_slice();
        let vk = VerifyingKey::<G1Affine>::read::<_, BaseCircuitBuilder<Fr>>(&mut reader, SerdeFormat::Processed, f.circuit_params.clone())
            .map_err(|e| Error::malformed("verifying key", e))?;
        if !reader.is_empty() {
            return Err(Error::malformed("verifying key", format!("{} trailing bytes", reader.len())));
        }
        if vk.cs().num_instance_columns() != 1 {
            return Err(Error::malformed("verifying key", "expected one instance column"));
        }
        Ok(Self { shape: f.shape, circuit_params: f.circuit_params, vk, hash: keccak256(bytes) })
    }
}

/// Counts the bytes the transcript consumes.
struct CountingReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl std::io::Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.bytes.len() - self.pos);
        buf[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Verify a SHPLONK proof over one instance column. Rejects proofs with
/// trailing bytes; truncated proofs fail inside the transcript.
pub fn verify_proof(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<()> {
    let mut reader = CountingReader { bytes: proof, pos: 0 };
    let strategy = SingleStrategy::new(params);
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<G1Affine>>::init(&mut reader);
    halo2_verify::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params,
        vk,
        strategy,
        &[&[instances]],
        &mut transcript,
    )
    .map_err(|e| Error::ProofRejected(format!("{e:?}")))?;
    if reader.pos != proof.len() {
        return Err(Error::TrailingBytes { extra: proof.len() - reader.pos });
    }
    Ok(())
}
