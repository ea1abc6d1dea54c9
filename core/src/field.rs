//! The BN254 scalar field and its canonical byte encodings.
//!
//! Encoding used everywhere outside the circuit (files, calldata, JSON):
//! 32 bytes, **big-endian**, and strictly below the modulus `r`. A value
//! `x + r` is rejected ([`Error::NonCanonicalField`]), never reduced.

use crate::{Error, Result};
use alloy_primitives::Address;
use ff::{Field, PrimeField};
pub use halo2curves::bn256::Fr;

/// Signed integer to field element (negative values map to `r - |v|`).
pub fn fr_from_i128(v: i128) -> Fr {
    let mag = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// Unsigned integer to field element.
pub fn fr_from_u128(v: u128) -> Fr {
    Fr::from_u128(v)
}

/// A 20-byte address as a field element (its big-endian integer value).
pub fn fr_from_address(a: &Address) -> Fr {
    let mut be = [0u8; 32];
    be[12..].copy_from_slice(a.as_slice());
    fr_from_be_bytes(&be).expect("a 160-bit integer is always canonical")
}

/// Canonical 32-byte big-endian encoding.
pub fn fr_to_be_bytes(x: &Fr) -> [u8; 32] {
    let mut le = x.to_repr();
    le.as_mut().reverse();
    let mut out = [0u8; 32];
    out.copy_from_slice(le.as_ref());
    out
}

/// Decode a canonical 32-byte big-endian encoding; rejects values `>= r`.
pub fn fr_from_be_bytes(be: &[u8; 32]) -> Result<Fr> {
    let mut le = *be;
    le.reverse();
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&le);
    Option::from(Fr::from_repr(repr)).ok_or(Error::NonCanonicalField)
}

/// Decode from a byte slice that must be exactly 32 bytes.
pub fn fr_from_be_slice(bytes: &[u8]) -> Result<Fr> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Length { expected: 32, found: bytes.len() })?;
    fr_from_be_bytes(&arr)
}

/// `0x`-prefixed hex of the canonical encoding.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_be_bytes(x)))
}

/// Parse `0x`-prefixed (or bare) hex of a canonical encoding.
pub fn fr_from_hex(s: &str) -> Result<Fr> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let bytes = hex::decode(s).map_err(|e| Error::Hex(e.to_string()))?;
    fr_from_be_slice(&bytes)
}

/// Interpret a field element as a signed integer in (-2^127, 2^127), if it is one.
pub fn fr_to_i128(x: &Fr) -> Option<i128> {
    let be = fr_to_be_bytes(x);
    if be[..16].iter().all(|b| *b == 0) && be[16] & 0x80 == 0 {
        return Some(u128::from_be_bytes(be[16..].try_into().unwrap()) as i128);
    }
    let neg = fr_to_be_bytes(&(-*x));
    if neg[..16].iter().all(|b| *b == 0) && neg[16] & 0x80 == 0 {
        return Some(-(u128::from_be_bytes(neg[16..].try_into().unwrap()) as i128));
    }
    None
}

/// Interpret a field element as an unsigned 128-bit integer, if it is one.
pub fn fr_to_u128(x: &Fr) -> Option<u128> {
    let be = fr_to_be_bytes(x);
    be[..16]
        .iter()
        .all(|b| *b == 0)
        .then(|| u128::from_be_bytes(be[16..].try_into().unwrap()))
}

/// The BN254 scalar modulus `r`, big-endian.
pub fn modulus_be() -> [u8; 32] {
    let minus_one = fr_to_be_bytes(&(-Fr::ONE));
    let mut out = minus_one;
    // r = (r - 1) + 1; r - 1 ends in a nonzero byte so no carry beyond the last byte
    let (v, carry) = out[31].overflowing_add(1);
    out[31] = v;
    debug_assert!(!carry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_signed() {
        for v in [0i128, 1, -1, 12345, -(1 << 100), (1 << 126)] {
            let f = fr_from_i128(v);
            assert_eq!(fr_to_i128(&f), Some(v));
            assert_eq!(fr_from_be_bytes(&fr_to_be_bytes(&f)).unwrap(), f);
        }
        assert_eq!(fr_to_u128(&fr_from_u128(u128::MAX)), Some(u128::MAX));
    }

    #[test]
    fn rejects_non_canonical() {
        // x + r for x = 0 and x = 5
        let r = modulus_be();
        assert!(matches!(fr_from_be_bytes(&r), Err(Error::NonCanonicalField)));
        let mut r5 = r;
        r5[31] += 5;
        assert!(matches!(fr_from_be_bytes(&r5), Err(Error::NonCanonicalField)));
        assert!(matches!(fr_from_be_slice(&[0u8; 31]), Err(Error::Length { .. })));
        assert!(matches!(fr_from_be_slice(&[0u8; 33]), Err(Error::Length { .. })));
        assert!(fr_from_be_bytes(&[0xff; 32]).is_err());
    }
}
