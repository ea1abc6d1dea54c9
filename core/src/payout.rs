//! Splitting a reward pool into integer wei shares, and the payout commitment.
//!
//! Contributors of a batch are listed in ascending address order, each with
//! its positive-influence total `t_j`; `T = Σ t_j > 0`. With cumulative sums
//! `c_j = t_1 + … + t_j` (`c_0 = 0`), contributor `j` receives
//!
//! `share_j = ⌊P·c_j / T⌋ − ⌊P·c_{j−1} / T⌋`.
//!
//! The shares telescope to `⌊P·T/T⌋ = P`: they sum exactly to the pool, each
//! is within 1 wei of the exact proportional share `P·t_j/T`, and the result
//! depends only on the data (no tie-breaking choices).
//!
//! Commitment: `poseidon(PAYOUT_TAG, P, a_1, s_1, …, a_C, s_C)` over the `C`
//! payout slots of the circuit, unused slots being `(0, 0)` at the end.

use crate::{
    field::{fr_from_address, Fr},
    poseidon, Error, Result,
};
use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// Domain tag of payout commitments.
pub const PAYOUT_TAG: u64 = 0x5041_5920; // "PAY "

/// One payout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub contributor: Address,
    #[serde(with = "u128_string")]
    pub amount_wei: u128,
}

/// Split `pool` over `totals` (ascending addresses).
pub fn split(pool: u128, totals: &[(Address, u128)]) -> Result<Vec<Payout>> {
    let total: u128 = totals.iter().map(|(_, t)| *t).sum();
    if total == 0 {
        return Err(Error::NoPositiveInfluence);
    }
    let p = U256::from(pool);
    let t = U256::from(total);
    let mut cum = 0u128;
    let mut prev = U256::ZERO;
    let mut out = Vec::with_capacity(totals.len());
    for (addr, tj) in totals {
        cum += tj;
        let floor = p * U256::from(cum) / t;
        out.push(Payout { contributor: *addr, amount_wei: (floor - prev).to::<u128>() });
        prev = floor;
    }
    Ok(out)
}

/// The payout commitment over `slots` slots.
pub fn commitment(pool: u128, payouts: &[Payout], slots: usize) -> Result<Fr> {
    if payouts.len() > slots {
        return Err(Error::TooManyContributors { found: payouts.len(), slots });
    }
    let mut inputs = vec![Fr::from(PAYOUT_TAG), crate::field::fr_from_u128(pool)];
    for i in 0..slots {
        match payouts.get(i) {
            Some(p) => {
                inputs.push(fr_from_address(&p.contributor));
                inputs.push(crate::field::fr_from_u128(p.amount_wei));
            }
            None => inputs.extend([Fr::from(0), Fr::from(0)]),
        }
    }
    Ok(poseidon::hash(&inputs))
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_sum_and_rounding() {
        let a = |b| Address::with_last_byte(b);
        let s = split(10, &[(a(1), 1), (a(2), 1), (a(3), 1)]).unwrap();
        assert_eq!(s.iter().map(|p| p.amount_wei).collect::<Vec<_>>(), vec![3, 3, 4]);
        assert!(matches!(split(10, &[(a(1), 0)]), Err(Error::NoPositiveInfluence)));
    }

    proptest! {
        #[test]
        fn sums_to_pool(pool in any::<u128>(), ts in proptest::collection::vec(0u128..(1u128 << 105), 1..40)) {
            prop_assume!(ts.iter().any(|t| *t > 0));
            let totals: Vec<_> = ts.iter().enumerate().map(|(i, t)| (Address::with_last_byte(i as u8), *t)).collect();
            let s = split(pool, &totals).unwrap();
            let sum: U256 = s.iter().map(|p| U256::from(p.amount_wei)).sum();
            prop_assert_eq!(sum, U256::from(pool));
            let total: u128 = ts.iter().sum();
            for (p, t) in s.iter().zip(&ts) {
                let exact = U256::from(pool) * U256::from(*t) / U256::from(total);
                let diff = if U256::from(p.amount_wei) > exact { U256::from(p.amount_wei) - exact } else { exact - U256::from(p.amount_wei) };
                prop_assert!(diff <= U256::from(1));
            }
        }
    }
}
