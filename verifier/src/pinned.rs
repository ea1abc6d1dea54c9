//! [`Verifier`]: verifier parameters an auditor or the chain trusts, and
//! proof verification under them.

use crate::{Claim, Error, Result, VerifiedClaim, VerifierParams, VerifyingKeyFile};
use alloy_primitives::B256;
use lineage_circuits::{
    halo2_proofs::{
        plonk::{verify_proof as halo2_verify, VerifyingKey},
        poly::kzg::{
            commitment::{KZGCommitmentScheme, ParamsKZG},
            multiopen::VerifierSHPLONK,
            strategy::{AccumulatorStrategy, SingleStrategy},
        },
        poly::VerificationStrategy,
        transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer},
    },
    Bn256, Fr, G1Affine,
};

/// Largest proof accepted, in bytes (attribution proofs are about 4 KB).
pub const MAX_PROOF_BYTES: usize = 64 * 1024;

/// KZG parameters over BN254, as the verifier uses them.
pub type KzgParams = ParamsKZG<Bn256>;

/// Trusted verifier parameters, ready to check proofs. Every key it accepts
/// names these parameters' hash and size.
#[derive(Clone, Debug)]
pub struct Verifier {
    params: VerifierParams,
    kzg: KzgParams,
    hash: B256,
}

impl Verifier {
    /// Trust `params` (the caller has pinned them).
    pub fn new(params: VerifierParams) -> Self {
        Self { kzg: params.to_kzg(), hash: params.hash(), params }
    }

    /// Trust a parameter file only if its keccak256 is `expected`.
    pub fn from_pinned_bytes(bytes: &[u8], expected: &B256) -> Result<Self> {
        Ok(Self::new(VerifierParams::from_pinned_bytes(bytes, expected)?))
    }

    pub fn params(&self) -> &VerifierParams {
        &self.params
    }

    /// keccak256 of the parameter file.
    pub fn params_hash(&self) -> B256 {
        self.hash
    }

    pub fn k(&self) -> u32 {
        self.params.k
    }

    /// The verifier for circuits of size `2^k` under the same SRS: the
    /// SHPLONK verifier reads only `[1]₁`, `[1]₂` and `[τ]₂`, which do not
    /// depend on `k`, so pinning one file pins them all. Its
    /// [`Verifier::params_hash`] is that of the file with `k` replaced.
    pub fn with_k(&self, k: u32) -> Result<Self> {
        if !(1..=lineage_circuits::MAX_K).contains(&k) {
            return Err(Error::KeyBounds(format!("k = {k} is outside 1..={}", lineage_circuits::MAX_K)));
        }
        let mut params = self.params.clone();
        params.k = k;
        Ok(Self::new(params))
    }

    /// Parse a verifying-key file for these parameters (bounds, canonical form).
    pub fn parse_key(&self, bytes: &[u8]) -> Result<VerifyingKeyFile> {
        VerifyingKeyFile::from_bytes(bytes, self.params.k, &self.hash)
    }

    /// Parse a verifying-key file only if its keccak256 is `expected`.
    pub fn parse_pinned_key(&self, bytes: &[u8], expected: &B256) -> Result<VerifyingKeyFile> {
        VerifyingKeyFile::from_pinned_bytes(bytes, expected, self.params.k, &self.hash)
    }

    /// Verify a claim against a verifying key parsed for these parameters.
    pub fn verify(&self, claim: &Claim, vk: &VerifyingKeyFile) -> Result<VerifiedClaim> {
        if claim.vk_hash != vk.hash {
            return Err(Error::VkMismatch { expected: claim.vk_hash.to_string(), found: vk.hash.to_string() });
        }
        claim.check_payouts(vk.shape.slots)?;
        let public_inputs = claim.public_inputs(vk.shape.slots)?;
        self.verify_proof(vk, &public_inputs.to_instances(), &claim.proof)?;
        Ok(VerifiedClaim { claim: claim.clone(), public_inputs })
    }

    /// Verify a SHPLONK proof over one instance column. Rejects keys for
    /// other parameters, oversized proofs and trailing bytes; truncated
    /// proofs fail inside the transcript.
    pub fn verify_proof(&self, vk: &VerifyingKeyFile, instances: &[Fr], proof: &[u8]) -> Result<()> {
        if vk.params_hash != self.hash {
            return Err(Error::KeyForOtherParams { expected: self.hash, found: vk.params_hash });
        }
        self.verify_with_key(&vk.vk, instances, proof)
    }

    /// Verify a SHPLONK proof against a halo2 verifying key already held in
    /// memory (one the caller generated or parsed and pinned itself). Checks
    /// the key's `k`, the proof's size bound and trailing bytes.
    pub fn verify_with_key(&self, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<()> {
        if vk.get_domain().k() != self.params.k {
            return Err(Error::KeyBounds(format!("key has k = {}, parameters have k = {}", vk.get_domain().k(), self.params.k)));
        }
        if proof.len() > MAX_PROOF_BYTES {
            return Err(Error::malformed("proof", format!("{} bytes exceeds the {MAX_PROOF_BYTES}-byte maximum", proof.len())));
        }
        let consumed = std::panic::catch_unwind(|| verify_raw(&self.kzg, vk, instances, proof))
            .map_err(|_| Error::ProofRejected("the halo2 verifier panicked on this proof".into()))??;
        if consumed != proof.len() {
            return Err(Error::TrailingBytes { extra: proof.len() - consumed });
        }
        Ok(())
    }
}

impl Verifier {
    /// Verify several proofs, each against its own key under these
    /// parameters, with **one** final pairing check: halo2's
    /// `AccumulatorStrategy` folds every proof's opening MSMs into one (each
    /// scaled by a fresh random factor) and checks the pairing once. Every
    /// proof must be exactly as long as its transcript. On failure the
    /// error does not say which proof failed; verify them one by one
    /// ([`Verifier::verify_with_key`]) to find out.
    pub fn verify_batch(&self, items: &[(&VerifyingKey<G1Affine>, &[Fr], &[u8])]) -> Result<()> {
        if items.is_empty() {
            return Err(Error::ProofRejected("an empty batch proves nothing".into()));
        }
        for (i, (vk, _, proof)) in items.iter().enumerate() {
            if vk.get_domain().k() != self.params.k {
                return Err(Error::KeyBounds(format!("key {i} has k = {}, parameters have k = {}", vk.get_domain().k(), self.params.k)));
            }
            if proof.len() > MAX_PROOF_BYTES {
                return Err(Error::malformed("proof", format!("proof {i}: {} bytes exceeds the {MAX_PROOF_BYTES}-byte maximum", proof.len())));
            }
        }
        let run = || -> Result<bool> {
            let mut strategy = AccumulatorStrategy::new(&self.kzg);
            for (i, (vk, instances, proof)) in items.iter().enumerate() {
                let mut reader = CountingReader { bytes: proof, pos: 0 };
                let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<G1Affine>>::init(&mut reader);
                strategy = halo2_verify::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                    &self.kzg,
                    vk,
                    strategy,
                    &[&[instances]],
                    &mut transcript,
                )
                .map_err(|e| Error::ProofRejected(format!("proof {i}: {e:?}")))?;
                if reader.pos != proof.len() {
                    return Err(Error::TrailingBytes { extra: proof.len() - reader.pos });
                }
            }
            Ok(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize(strategy))
        };
        match std::panic::catch_unwind(run) {
            Err(_) => Err(Error::ProofRejected("the halo2 verifier panicked on this batch".into())),
            Ok(Err(e)) => Err(e),
            Ok(Ok(false)) => Err(Error::ProofRejected(format!("the batch of {} proofs fails its pairing check", items.len()))),
            Ok(Ok(true)) => Ok(()),
        }
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

/// halo2's SHPLONK verification; returns how many proof bytes it read.
fn verify_raw(params: &KzgParams, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<usize> {
    let mut reader = CountingReader { bytes: proof, pos: 0 };
    let strategy = SingleStrategy::new(params);
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<G1Affine>>::init(&mut reader);
    halo2_verify::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(params, vk, strategy, &[&[instances]], &mut transcript)
        .map_err(|e| Error::ProofRejected(format!("{e:?}")))?;
    Ok(reader.pos)
}
