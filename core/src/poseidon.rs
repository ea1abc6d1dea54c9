//! Native Poseidon over BN254's scalar field — the exact sponge that
//! `halo2-base`'s `PoseidonHasher::hash_fix_len_array` constrains in-circuit.
//!
//! Parameters: width `T = 3`, rate 2, `R_F = 8` full rounds, `R_P = 57`
//! partial rounds, x^5 S-box, round constants and MDS from the reference
//! Grain LFSR generation (`poseidon-primitives`, secure-MDS index 0).
//! Sponge: initial state `[2^64, 0, 0]`; inputs are absorbed two at a time by
//! adding into state words 1..; a partial final chunk is padded with a single
//! 1; if the input length is a multiple of the rate, one more permutation
//! absorbs just the padding 1. The digest is state word 1.

use crate::field::Fr;
use ff::Field;
use poseidon_primitives::poseidon::primitives::Spec;
use std::sync::OnceLock;

/// Sponge width.
pub const T: usize = 3;
/// Sponge rate.
pub const RATE: usize = 2;
/// Full rounds.
pub const R_F: usize = 8;
/// Partial rounds.
pub const R_P: usize = 57;

#[derive(Debug)]
struct LineageSpec;

impl Spec<Fr, T, RATE> for LineageSpec {
    fn full_rounds() -> usize {
        R_F
    }
    fn partial_rounds() -> usize {
        R_P
    }
    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }
    fn secure_mds() -> usize {
        0
    }
}

struct Constants {
    rc: Vec<[Fr; T]>,
    mds: [[Fr; T]; T],
}

fn constants() -> &'static Constants {
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(|| {
        let (rc, mds, _) = LineageSpec::constants();
        Constants { rc, mds }
    })
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The Poseidon permutation.
pub fn permute(state: &mut [Fr; T]) {
    let c = constants();
    let half = R_F / 2;
    for (round, rc) in c.rc.iter().enumerate() {
        for (s, k) in state.iter_mut().zip(rc.iter()) {
            *s += k;
        }
        if round < half || round >= half + R_P {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let old = *state;
        for (i, s) in state.iter_mut().enumerate() {
            *s = (0..T).fold(Fr::ZERO, |acc, j| acc + c.mds[i][j] * old[j]);
        }
    }
}

/// Hash a fixed-length sequence of field elements.
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut state = [crate::field::fr_from_u128(1u128 << 64), Fr::ZERO, Fr::ZERO];
    for chunk in inputs.chunks(RATE) {
        for (i, x) in chunk.iter().enumerate() {
            state[1 + i] += x;
        }
        if chunk.len() < RATE {
            state[1 + chunk.len()] += Fr::ONE;
        }
        permute(&mut state);
    }
    if inputs.len().is_multiple_of(RATE) {
        state[1] += Fr::ONE;
        permute(&mut state);
    }
    state[1]
}

/// Hash two elements (a Merkle node).
pub fn hash2(a: Fr, b: Fr) -> Fr {
    hash(&[a, b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_lengths_distinct_digests() {
        let a = hash(&[]);
        let b = hash(&[Fr::ZERO]);
        let c = hash(&[Fr::ZERO, Fr::ZERO]);
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_ne!(a, c);
        assert_eq!(hash2(Fr::ONE, Fr::from(2)), hash(&[Fr::ONE, Fr::from(2)]));
    }
}
