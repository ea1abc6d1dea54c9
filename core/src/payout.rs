//! Splitting a reward pool into integer wei shares, and the payout commitment.
//!
//! Contributors of a batch are listed in ascending address order, each with
//! its positive-influence total `t_j` — its net influence (the sum of its
//! examples' signed scores) clamped at zero ([`net_totals`]); `T = Σ t_j > 0`. With cumulative sums
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
//!
//! A whole-datanet claim pays by *pull*: the claim transaction records a
//! [`PayoutTree`] root over its positive payouts, and anyone may then release
//! them, all at once or one by one with a Merkle path, so a claim's gas does
//! not grow with transfers to hundreds of contributors.
//!
//! Leaf `i` (of `n`) is `keccak256("LINEAGE-PAYOUT" ‖ i ‖ contributor ‖
//! amount)` (`i` as 4 big-endian bytes, the amount as 16). Interior nodes are
//! `keccak256(left ‖ right)`, a lone node pairing with 32 zero bytes; the tree
//! has depth `⌈log₂ n⌉`. The root the chain stores is `keccak256(n ‖ top)`
//! (`n` as 4 bytes), so a path's length is fixed by `n`.

use crate::{
    field::{fr_from_address, Fr},
    poseidon, Error, Result,
};
use alloy_primitives::{keccak256, Address, B256, U512};
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
    // in 512 bits: no list of u128 totals (at most 2^64 of them) overflows
    // its sum (< 2^192) or the pool times a partial sum (< 2^320)
    let t: U512 = totals.iter().map(|(_, t)| U512::from(*t)).sum();
    if t.is_zero() {
        return Err(Error::NoPositiveInfluence);
    }
    let p = U512::from(pool);
    let mut cum = U512::ZERO;
    let mut prev = U512::ZERO;
    let mut out = Vec::with_capacity(totals.len());
    for (addr, tj) in totals {
        cum += U512::from(*tj);
        let floor = p * cum / t;
        out.push(Payout { contributor: *addr, amount_wei: (floor - prev).to::<u128>() });
        prev = floor;
    }
    Ok(out)
}

/// [`split`], keeping only the payouts of at least 1 wei (the leaves of a
/// [`PayoutTree`]).
pub fn split_positive(pool: u128, totals: &[(Address, u128)]) -> Result<Vec<Payout>> {
    Ok(split(pool, totals)?.into_iter().filter(|p| p.amount_wei > 0).collect())
}

/// Each contributor's net influence over `segments` (signed totals, any
/// order, a contributor possibly in several), clamped at zero, in ascending
/// address order. This is the payout rule's "positive influence only": the
/// clamp applies to what a contributor did in sum, not to each example.
pub fn net_totals(segments: &[(Address, i128)]) -> Result<Vec<(Address, u128)>> {
    let mut net: std::collections::BTreeMap<Address, i128> = std::collections::BTreeMap::new();
    for (a, t) in segments {
        let e = net.entry(*a).or_insert(0);
        *e = e.checked_add(*t).ok_or_else(|| Error::Segments(format!("the net total of {a} overflows 128 bits")))?;
    }
    Ok(net.into_iter().map(|(a, t)| (a, t.max(0) as u128)).collect())
}

/// The whole-datanet payout rule: [`split`] of `pool` over
/// [`net_totals`]`(segments)`, keeping the payouts of at least 1 wei
/// (ascending addresses). Fails with [`Error::NoPositiveInfluence`] when no
/// contributor's net influence is positive.
pub fn split_net(pool: u128, segments: &[(Address, i128)]) -> Result<Vec<Payout>> {
    split_positive(pool, &net_totals(segments)?)
}

/// Domain tag of payout-tree leaves.
pub const PAYOUT_LEAF_TAG: &[u8] = b"LINEAGE-PAYOUT";

/// Most leaves of a payout tree (one per example at most).
pub const MAX_PAYOUT_LEAVES: usize = 1 << 24;

/// Leaf `index` of a payout tree.
pub fn payout_leaf(index: u32, p: &Payout) -> B256 {
    let mut b = Vec::with_capacity(PAYOUT_LEAF_TAG.len() + 40);
    b.extend_from_slice(PAYOUT_LEAF_TAG);
    b.extend_from_slice(&index.to_be_bytes());
    b.extend_from_slice(p.contributor.as_slice());
    b.extend_from_slice(&p.amount_wei.to_be_bytes());
    keccak256(&b)
}

fn node(l: &B256, r: &B256) -> B256 {
    let mut b = [0u8; 64];
    b[..32].copy_from_slice(l.as_slice());
    b[32..].copy_from_slice(r.as_slice());
    keccak256(b)
}

fn seal(n: u32, top: &B256) -> B256 {
    let mut b = [0u8; 36];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[4..].copy_from_slice(top.as_slice());
    keccak256(b)
}

/// Depth of a payout tree of `n` leaves: `⌈log₂ n⌉`.
pub fn payout_depth(n: u32) -> usize {
    (n.max(1) as u64).next_power_of_two().trailing_zeros() as usize
}

/// The Merkle tree of a claim's payouts (see the module docs).
#[derive(Clone, Debug)]
pub struct PayoutTree {
    layers: Vec<Vec<B256>>,
}

impl PayoutTree {
    /// The tree over `payouts`, in order; at least one, at most
    /// [`MAX_PAYOUT_LEAVES`].
    pub fn new(payouts: &[Payout]) -> Result<Self> {
        if payouts.is_empty() || payouts.len() > MAX_PAYOUT_LEAVES {
            return Err(Error::PayoutTree(format!("{} payouts (1 to {MAX_PAYOUT_LEAVES} allowed)", payouts.len())));
        }
        let mut layers = vec![payouts.iter().enumerate().map(|(i, p)| payout_leaf(i as u32, p)).collect::<Vec<_>>()];
        while layers.last().map_or(0, Vec::len) > 1 {
            let below = layers.last().expect("non-empty");
            let up = below.chunks(2).map(|c| node(&c[0], c.get(1).unwrap_or(&B256::ZERO))).collect();
            layers.push(up);
        }
        Ok(Self { layers })
    }

    /// Leaves.
    pub fn len(&self) -> u32 {
        self.layers[0].len() as u32
    }

    /// Never true: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The root the chain stores: `keccak256(n ‖ top)`.
    pub fn root(&self) -> B256 {
        seal(self.len(), &self.layers.last().expect("non-empty")[0])
    }

    /// The sibling path of leaf `index`, bottom up.
    pub fn path(&self, index: u32) -> Option<Vec<B256>> {
        let mut i = index as usize;
        if i >= self.layers[0].len() {
            return None;
        }
        let mut out = Vec::with_capacity(self.layers.len() - 1);
        for layer in &self.layers[..self.layers.len() - 1] {
            out.push(*layer.get(i ^ 1).unwrap_or(&B256::ZERO));
            i /= 2;
        }
        Some(out)
    }
}

/// The root implied by payout `index` of `n` and its sibling path, or `None`
/// when the index is out of range or the path's length is not the tree's depth.
pub fn payout_root_from_path(n: u32, index: u32, p: &Payout, path: &[B256]) -> Option<B256> {
    if n == 0 || index >= n || path.len() != payout_depth(n) {
        return None;
    }
    let mut h = payout_leaf(index, p);
    let mut i = index;
    for s in path {
        h = if i & 1 == 0 { node(&h, s) } else { node(s, &h) };
        i >>= 1;
    }
    Some(seal(n, &h))
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
    use alloy_primitives::U256;
    use proptest::prelude::*;

    #[test]
    fn exact_sum_and_rounding() {
        let a = |b| Address::with_last_byte(b);
        let s = split(10, &[(a(1), 1), (a(2), 1), (a(3), 1)]).unwrap();
        assert_eq!(s.iter().map(|p| p.amount_wei).collect::<Vec<_>>(), vec![3, 3, 4]);
        assert!(matches!(split(10, &[(a(1), 0)]), Err(Error::NoPositiveInfluence)));
    }

    fn payouts(n: usize) -> Vec<Payout> {
        (0..n).map(|i| Payout { contributor: Address::with_last_byte(i as u8 + 1), amount_wei: 1000 + i as u128 }).collect()
    }

    #[test]
    fn payout_paths_verify_and_bind_every_field() {
        for n in [1usize, 2, 3, 5, 8, 24] {
            let ps = payouts(n);
            let t = PayoutTree::new(&ps).unwrap();
            assert_eq!(t.path(0).unwrap().len(), payout_depth(n as u32));
            for (i, p) in ps.iter().enumerate() {
                let path = t.path(i as u32).unwrap();
                assert_eq!(payout_root_from_path(n as u32, i as u32, p, &path), Some(t.root()), "n={n} i={i}");
                let more = Payout { amount_wei: p.amount_wei + 1, ..*p };
                assert_ne!(payout_root_from_path(n as u32, i as u32, &more, &path), Some(t.root()));
                let other = Payout { contributor: Address::with_last_byte(200), ..*p };
                assert_ne!(payout_root_from_path(n as u32, i as u32, &other, &path), Some(t.root()));
                // another index, another count, a longer or shorter path
                if n > 1 {
                    assert_ne!(payout_root_from_path(n as u32, (i as u32 + 1) % n as u32, p, &path), Some(t.root()));
                }
                assert_ne!(payout_root_from_path(n as u32 + 1, i as u32, p, &path), Some(t.root()));
                let mut long = path.clone();
                long.push(B256::ZERO);
                assert_eq!(payout_root_from_path(n as u32, i as u32, p, &long), None);
                if !path.is_empty() {
                    assert_eq!(payout_root_from_path(n as u32, i as u32, p, &path[1..]), None);
                }
            }
            assert!(t.path(n as u32).is_none());
            assert_eq!(payout_root_from_path(n as u32, n as u32, &ps[0], &t.path(0).unwrap()), None);
        }
        // the count is sealed in: 3 leaves and 4 leaves (the last padding-like) differ
        let mut four = payouts(3);
        four.push(Payout { contributor: Address::ZERO, amount_wei: 0 });
        assert_ne!(PayoutTree::new(&payouts(3)).unwrap().root(), PayoutTree::new(&four).unwrap().root());
        assert!(PayoutTree::new(&[]).is_err());
        assert!(split_positive(10, &[(Address::with_last_byte(1), 0), (Address::with_last_byte(2), 5)]).unwrap().len() == 1);
    }

    #[test]
    fn net_rule_clamps_per_contributor() {
        let a = |b| Address::with_last_byte(b);
        // a: +7 and −3 in two segments → 4; b: −5 → 0 (paid nothing); c: +4
        let segs = [(a(3), 4i128), (a(1), 7), (a(2), -5), (a(1), -3)];
        assert_eq!(net_totals(&segs).unwrap(), vec![(a(1), 4), (a(2), 0), (a(3), 4)]);
        let p = split_net(10, &segs).unwrap();
        assert_eq!(p, vec![Payout { contributor: a(1), amount_wei: 5 }, Payout { contributor: a(3), amount_wei: 5 }]);
        // per example it would have been 7 : 4; negative influence alone earns nothing
        assert!(matches!(split_net(10, &[(a(1), -1), (a(2), 0)]), Err(Error::NoPositiveInfluence)));
        assert!(matches!(split_net(10, &[(a(1), i128::MAX), (a(1), 1)]), Err(Error::Segments(_))));
        // huge totals do not overflow the split
        let big = split(u128::MAX, &[(a(1), u128::MAX), (a(2), u128::MAX)]).unwrap();
        assert_eq!(big.iter().map(|p| U256::from(p.amount_wei)).sum::<U256>(), U256::from(u128::MAX));
    }

    proptest! {
        #[test]
        fn net_split_sums_to_pool(pool in any::<u128>(), segs in proptest::collection::vec((1u8..8, -(1i128 << 100)..(1i128 << 100)), 1..40)) {
            let segs: Vec<(Address, i128)> = segs.into_iter().map(|(a, t)| (Address::with_last_byte(a), t)).collect();
            match split_net(pool, &segs) {
                Ok(p) => {
                    prop_assert_eq!(p.iter().map(|p| U256::from(p.amount_wei)).sum::<U256>(), U256::from(pool));
                    // only contributors with positive net influence are paid
                    for x in &p {
                        let net: i128 = segs.iter().filter(|(a, _)| *a == x.contributor).map(|(_, t)| *t).sum();
                        prop_assert!(net > 0);
                    }
                }
                Err(Error::NoPositiveInfluence) => {
                    prop_assert!(net_totals(&segs).unwrap().iter().all(|(_, t)| *t == 0));
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }

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
