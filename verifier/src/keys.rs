//! Verifier parameters and verifying keys: versioned files, validated
//! against explicit bounds before any halo2 call, and pinned by hash.

use crate::{Error, Result};
use alloy_primitives::{keccak256, B256};
use lineage_circuits::{
    halo2_proofs::{
        halo2curves::{
            bn256::{Fq, G2Affine},
            group::{prime::PrimeCurveAffine, GroupEncoding},
        },
        plonk::{Circuit, VerifyingKey},
        poly::{
            commitment::{Params, ParamsProver},
            kzg::commitment::ParamsKZG,
        },
        SerdeFormat,
    },
    BaseCircuitBuilder, BaseCircuitParams, Bn256, CircuitShape, Fr, G1Affine, MAX_K,
};
use serde::{Deserialize, Serialize};

/// Verifier-parameter file magic and version.
const PARAMS_MAGIC: &[u8; 8] = b"LNVPARAM";
/// Version 2 holds only what the SHPLONK verifier reads (version 1 also
/// carried Lagrange bases the verifier never used).
pub const PARAMS_VERSION: u32 = 2;
/// Size of a verifier-parameter file: magic, version, k, `[1]₁`, `[1]₂`, `[τ]₂`.
pub const PARAMS_BYTES: usize = 8 + 4 + 4 + 32 + 64 + 64;

/// Verifying-key file format tag and version.
pub const VK_FORMAT: &str = "lineage-vk";
/// Version 2 adds `params_hash` and is canonical (one key, one hash).
pub const VK_VERSION: u32 = 2;

/// Largest verifying-key file accepted, in bytes (the attribution circuit's
/// keys are a few kilobytes).
pub const MAX_VK_FILE_BYTES: usize = 64 * 1024;
/// Most advice columns a key's circuit may have.
pub const MAX_ADVICE_COLUMNS: usize = 64;
/// Most fixed columns a key's circuit may have.
pub const MAX_FIXED_COLUMNS: usize = 16;
/// Most lookup-enabled advice columns a key's circuit may have.
pub const MAX_LOOKUP_ADVICE_COLUMNS: usize = 16;
/// Phases halo2-base's `BaseCircuitBuilder` may list (it proves in the first only).
const MAX_PHASES: usize = 3;
/// halo2-axiom's verifying-key serialisation version byte.
const HALO2_VK_VERSION: u8 = 0x02;

/// The part of a KZG SRS the SHPLONK verifier reads: `k`, `[1]₁`, `[1]₂`
/// and `[τ]₂`. With KZG, instance values are hashed into the transcript
/// and evaluated directly, so no Lagrange bases are needed.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifierParams {
    pub k: u32,
    g0: G1Affine,
    g2: G2Affine,
    s_g2: G2Affine,
}

impl VerifierParams {
    /// Extract from a full SRS.
    pub fn from_srs(params: &ParamsKZG<Bn256>) -> Self {
        Self { k: params.k(), g0: params.get_g()[0], g2: params.g2(), s_g2: params.s_g2() }
    }

    /// A `ParamsKZG` usable by the SHPLONK verifier (no Lagrange bases: the
    /// KZG verifier never commits to instances).
    pub fn to_kzg(&self) -> ParamsKZG<Bn256> {
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
        base.from_parts(self.k, vec![self.g0], Some(vec![]), self.g2, self.s_g2)
    }

    /// Versioned byte encoding (compressed points), [`PARAMS_BYTES`] long.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PARAMS_BYTES);
        out.extend_from_slice(PARAMS_MAGIC);
        out.extend_from_slice(&PARAMS_VERSION.to_le_bytes());
        out.extend_from_slice(&self.k.to_le_bytes());
        out.extend_from_slice(self.g0.to_bytes().as_ref());
        out.extend_from_slice(self.g2.to_bytes().as_ref());
        out.extend_from_slice(self.s_g2.to_bytes().as_ref());
        out
    }

    /// keccak256 of [`VerifierParams::to_bytes`]: what genesis, key files
    /// and auditors pin.
    pub fn hash(&self) -> B256 {
        keccak256(self.to_bytes())
    }

    /// Parse [`VerifierParams::to_bytes`]. Rejects bad magic or version,
    /// wrong lengths, `k` outside `1..=MAX_K`, off-curve or non-canonical
    /// points, `[1]₁`/`[1]₂` other than the standard generators, and a
    /// trivial `[τ]₂` (identity or `±[1]₂`). This checks structure only:
    /// use [`VerifierParams::from_pinned_bytes`] to trust a file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = |r: &str| Error::malformed("verifier parameters", r);
        if bytes.len() < 16 || &bytes[..8] != PARAMS_MAGIC {
            return Err(bad("missing LNVPARAM header"));
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let version = u32_at(8);
        if version != PARAMS_VERSION {
            return Err(Error::Version { what: "verifier parameters", found: version, expected: PARAMS_VERSION });
        }
        if bytes.len() != PARAMS_BYTES {
            return Err(bad(&format!("{} bytes, expected {PARAMS_BYTES}", bytes.len())));
        }
        let k = u32_at(12);
        if !(1..=MAX_K).contains(&k) {
            return Err(bad(&format!("k = {k} is outside 1..={MAX_K}")));
        }
        let mut g1_repr = <G1Affine as GroupEncoding>::Repr::default();
        g1_repr.as_mut().copy_from_slice(&bytes[16..48]);
        let g0: G1Affine = Option::from(G1Affine::from_bytes(&g1_repr)).ok_or_else(|| bad("invalid G1 point"))?;
        let g2_at = |o: usize| -> Result<G2Affine> {
            let mut repr = <G2Affine as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(&bytes[o..o + 64]);
            // halo2curves' G2 decoding unwraps each Fq half (a panic on a
            // coordinate ≥ p): check both halves, flag bits cleared, first
            let mut x = [0u8; 64];
            x.copy_from_slice(&bytes[o..o + 64]);
            x[63] &= 0b0011_1111;
            let canonical = |h: &[u8]| bool::from(Fq::from_bytes(&h.try_into().expect("32 bytes")).is_some());
            if !canonical(&x[..32]) || !canonical(&x[32..]) {
                return Err(bad("non-canonical G2 coordinate"));
            }
            Option::from(G2Affine::from_bytes(&repr)).ok_or_else(|| bad("invalid G2 point"))
        };
        let (g2, s_g2) = (g2_at(48)?, g2_at(112)?);
        if g0 != G1Affine::generator() || g2 != G2Affine::generator() {
            return Err(bad("[1]₁ and [1]₂ must be the standard BN254 generators"));
        }
        if bool::from(s_g2.is_identity()) || s_g2 == g2 || s_g2 == -g2 {
            return Err(bad("[τ]₂ is trivial (identity or ±[1]₂)"));
        }
        let p = Self { k, g0, g2, s_g2 };
        if p.to_bytes() != bytes {
            return Err(bad("non-canonical point encoding"));
        }
        Ok(p)
    }

    /// Parse a file only if its keccak256 is `expected` (checked before
    /// anything else is read).
    pub fn from_pinned_bytes(bytes: &[u8], expected: &B256) -> Result<Self> {
        let found = keccak256(bytes);
        if found != *expected {
            return Err(Error::ParamsNotPinned { expected: *expected, found });
        }
        Self::from_bytes(bytes)
    }
}

/// A verifying key with the circuit shape and halo2-base parameters needed to read it.
#[derive(Clone, Debug)]
pub struct VerifyingKeyFile {
    pub shape: CircuitShape,
    pub circuit_params: BaseCircuitParams,
    /// Hash of the verifier parameters this key is for.
    pub params_hash: B256,
    pub vk: VerifyingKey<G1Affine>,
    /// keccak256 of [`VerifyingKeyFile::to_bytes`].
    pub hash: B256,
}

/// The file's JSON. Unknown fields anywhere are refused: at the top level by
/// serde, inside `shape` and `circuit_params` by the canonical re-encoding
/// check (an ignored field would not survive it).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VkFileJson {
    format: String,
    version: u32,
    params_hash: B256,
    shape: CircuitShape,
    circuit_params: BaseCircuitParams,
    vk: String,
}

impl VerifyingKeyFile {
    pub fn new(shape: CircuitShape, circuit_params: BaseCircuitParams, params_hash: B256, vk: VerifyingKey<G1Affine>) -> Self {
        let mut f = Self { shape, circuit_params, params_hash, vk, hash: B256::ZERO };
        f.hash = keccak256(f.to_bytes());
        f
    }

    /// Versioned JSON with the key in halo2's compressed (`Processed`) form.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&VkFileJson {
            format: VK_FORMAT.into(),
            version: VK_VERSION,
            params_hash: self.params_hash,
            shape: self.shape,
            circuit_params: self.circuit_params.clone(),
            vk: hex::encode(self.vk.to_bytes(SerdeFormat::Processed)),
        })
        .expect("vk file serialises")
    }

    /// Parse a verifying-key file for verifier parameters with hash
    /// `params_hash` and size `2^k`. Every field is checked against the
    /// bounds above before halo2 sees it; the file must be canonical (its
    /// re-encoding is byte-identical), so one key has one hash.
    pub fn from_bytes(bytes: &[u8], k: u32, params_hash: &B256) -> Result<Self> {
        if bytes.len() > MAX_VK_FILE_BYTES {
            return Err(Error::KeyBounds(format!("{} bytes exceeds the {MAX_VK_FILE_BYTES}-byte maximum", bytes.len())));
        }
        let f: VkFileJson = serde_json::from_slice(bytes).map_err(|e| Error::malformed("verifying key", e))?;
        if f.format != VK_FORMAT {
            return Err(Error::malformed("verifying key", format!("format {:?}", f.format)));
        }
        if f.version != VK_VERSION {
            return Err(Error::Version { what: "verifying key", found: f.version, expected: VK_VERSION });
        }
        if f.params_hash != *params_hash {
            return Err(Error::KeyForOtherParams { expected: *params_hash, found: f.params_hash });
        }
        check_bounds(&f.shape, &f.circuit_params, k)?;
        let (shape, circuit_params) = (f.shape, f.circuit_params);
        let vk = read_halo2_key::<BaseCircuitBuilder<Fr>>("verifying key", &f.vk, k, circuit_params.clone())?;
        let file = Self { shape, circuit_params, params_hash: f.params_hash, vk, hash: keccak256(bytes) };
        if file.to_bytes() != bytes {
            return Err(Error::malformed("verifying key", "not in canonical form (re-encoding differs)"));
        }
        Ok(file)
    }

    /// Parse a file only if its keccak256 is `expected` (checked first).
    pub fn from_pinned_bytes(bytes: &[u8], expected: &B256, k: u32, params_hash: &B256) -> Result<Self> {
        check_key_pin(bytes, expected)?;
        Self::from_bytes(bytes, k, params_hash)
    }
}

/// Check a key file's shape and circuit parameters against the documented
/// maxima and against each other.
fn check_bounds(s: &CircuitShape, c: &BaseCircuitParams, k: u32) -> Result<()> {
    let bad = |r: String| Err(Error::KeyBounds(r));
    if c.k != k as usize || s.k != k {
        return bad(format!("the key is for k = {} (shape k = {}), the verifier parameters have k = {k}", c.k, s.k));
    }
    let Some(lookup_bits) = c.lookup_bits else {
        return bad("the attribution circuit needs a range lookup (lookup_bits is null)".into());
    };
    if lookup_bits == 0 || lookup_bits >= c.k {
        return bad(format!("lookup_bits {lookup_bits} is not in 1..k (k = {})", c.k));
    }
    check_columns(c, MAX_ADVICE_COLUMNS)?;
    // the shape must be exactly the one the circuit derives, with the same k and lookup bits
    let shape = CircuitShape::new(s.batch, s.slots, s.depth).map_err(|e| Error::KeyBounds(e.to_string()))?;
    if shape != *s || lookup_bits != s.lookup_bits {
        return bad(format!(
            "shape (batch {}, slots {}, depth {}) implies k = {} and lookup_bits = {}, the key says k = {} and lookup_bits = {lookup_bits}",
            s.batch, s.slots, s.depth, shape.k, shape.lookup_bits, s.k
        ));
    }
    Ok(())
}

/// Refuse a key file whose keccak256 is not `expected` (checked before
/// anything in it is read).
pub(crate) fn check_key_pin(bytes: &[u8], expected: &B256) -> Result<()> {
    let found = keccak256(bytes);
    if found != *expected {
        return Err(Error::VkMismatch { expected: expected.to_string(), found: found.to_string() });
    }
    Ok(())
}

/// Check halo2-base column counts against the documented maxima: advice
/// columns in the first phase only (1 to `max_advice`), 1 to
/// [`MAX_LOOKUP_ADVICE_COLUMNS`] lookup-advice and 1 to
/// [`MAX_FIXED_COLUMNS`] fixed columns, one instance column.
pub fn check_columns(c: &BaseCircuitParams, max_advice: usize) -> Result<()> {
    let bad = |r: String| Err(Error::KeyBounds(r));
    let phase0_only = |v: &[usize]| !v.is_empty() && v.len() <= MAX_PHASES && v[1..].iter().all(|&n| n == 0);
    if !phase0_only(&c.num_advice_per_phase) || !phase0_only(&c.num_lookup_advice_per_phase) {
        return bad("advice columns must be listed for the first phase only (1 to 3 entries, later ones zero)".into());
    }
    let (advice, lookup) = (c.num_advice_per_phase[0], c.num_lookup_advice_per_phase[0]);
    if !(1..=max_advice).contains(&advice) {
        return bad(format!("{advice} advice columns is outside 1..={max_advice}"));
    }
    if !(1..=MAX_LOOKUP_ADVICE_COLUMNS).contains(&lookup) {
        return bad(format!("{lookup} lookup advice columns is outside 1..={MAX_LOOKUP_ADVICE_COLUMNS}"));
    }
    if !(1..=MAX_FIXED_COLUMNS).contains(&c.num_fixed) {
        return bad(format!("{} fixed columns is outside 1..={MAX_FIXED_COLUMNS}", c.num_fixed));
    }
    if c.num_instance_columns != 1 {
        return bad(format!("{} instance columns, expected 1", c.num_instance_columns));
    }
    Ok(())
}

/// Read the hex-encoded halo2 key of a key file (`what` names the file in
/// errors) for circuit `C` with `params`, at size `2^k`: the halo2 header
/// first (halo2 builds an evaluation domain of the key's own k before
/// reading anything else), then halo2's reader under `catch_unwind`, no
/// trailing bytes, and commitment counts that match the constraint system.
pub(crate) fn read_halo2_key<C: Circuit<Fr, Params = BaseCircuitParams>>(
    what: &'static str,
    hex_vk: &str,
    k: u32,
    params: BaseCircuitParams,
) -> Result<VerifyingKey<G1Affine>> {
    let raw = hex::decode(hex_vk).map_err(|e| Error::malformed(what, e))?;
    if raw.len() < 10 || raw[0] != HALO2_VK_VERSION {
        return Err(Error::malformed(what, "missing halo2 key header"));
    }
    let raw_k = u32::from_le_bytes([raw[1], raw[2], raw[3], raw[4]]);
    if raw_k != k {
        return Err(Error::KeyBounds(format!("the key's halo2 header has k = {raw_k}, the verifier parameters have k = {k}")));
    }
    let read = std::panic::catch_unwind(|| {
        let mut reader = raw.as_slice();
        let vk = VerifyingKey::<G1Affine>::read::<_, C>(&mut reader, SerdeFormat::Processed, params);
        (vk, reader.len())
    });
    let (vk, rest) = read.map_err(|_| Error::malformed(what, "halo2 could not read the key"))?;
    let vk = vk.map_err(|e| Error::malformed(what, e))?;
    if rest != 0 {
        return Err(Error::malformed(what, format!("{rest} trailing bytes")));
    }
    let cs = vk.cs();
    if cs.num_instance_columns() != 1
        || vk.fixed_commitments().len() != cs.num_fixed_columns()
        || vk.permutation().commitments().len() != cs.permutation().get_columns().len()
    {
        return Err(Error::malformed(what, "commitments do not match the constraint system"));
    }
    Ok(vk)
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::SeedableRng;

    fn sample() -> Vec<u8> {
        let srs = ParamsKZG::<Bn256>::setup(2, rand_chacha::ChaCha20Rng::from_seed([1; 32]));
        VerifierParams::from_srs(&srs).to_bytes()
    }

    /// Found by `fuzz_parsers`: halo2curves' G2 decoding panicked on a
    /// coordinate half ≥ p. Now it is a typed error.
    #[test]
    fn non_canonical_g2_coordinate_is_an_error_not_a_panic() {
        let good = sample();
        VerifierParams::from_bytes(&good).unwrap();
        for (start, end) in [(48, 80), (80, 112), (112, 144), (144, 176)] {
            let mut bad = good.clone();
            bad[start..end].fill(0xff);
            assert!(matches!(VerifierParams::from_bytes(&bad), Err(Error::Malformed { .. })), "{start}..{end}");
        }
    }
}
