//! The feature table: everything per training example that a query does not
//! change, computed once per (datanet version, model) — and the whole-datanet
//! attribution and segment digest computed from it.
//!
//! The attribution is `influence-kfac` ([`crate::kfac`]): the method the
//! eval ranks best among those a circuit can check per query (ATTRIBUTION.md).
//! Row `i` of the table describes example `i` of the datanet (file order),
//! in the notation of [`crate::kfac`]:
//!
//! | entries | meaning | bound |
//! |---|---|---|
//! | `h[0..16]` | fine hidden activations `h̃` (ReLU'd accumulators, scale 2^16) | `0 ≤ h < 2^31` |
//! | `r[0..10]` | residual vector `r_k = [y = k]·2^16 − f_k(z)` (scale 2^16) | `|r| < 2^48` |
//! | `δ[0..16]` | first-layer error `δ = m ⊙ rescale₁₆(W2ᵀ r)` (scale 2^8) | `|δ| < 2^52` |
//! | `p[0..64]` | pixels | `0 ≤ p ≤ 16` |
//! | `a` | contributor address as an integer | `0 < a < 2^160` |
//! | `e` | 1 if the example ends its contributor's segment, else 0 | bit |
//!
//! A *segment* is a maximal run of consecutive examples with one
//! contributor; `e_i = 1` iff `i = n − 1` or `a_{i+1} ≠ a_i`. A datanet
//! sorted by contributor has exactly one segment per contributor.
//!
//! The table is laid out *vertically*, [`WIDTH`] field elements per example
//! ([`FeatureTable::column`]): entry `j` of example `i` is element
//! `WIDTH·i + j`, in the order `h, r, δ, p, a, e`; negative values are
//! field negatives. After `capacity` examples (zero rows past the datanet)
//! come the model's [`NUM_PARAMS`] signed parameters in
//! `QuantizedModel::params` order, then the [`kfac::Sums`] of every row (the
//! count and the sums of outer products the factors are the means of): the
//! per-query circuit reads its weights and its factors from the table too,
//! so the table fixes the model and the factors as well as the data. The
//! sums are additive, so the feature chunks each write their own rows' sums
//! to the same place and the commitments add up to the whole table's.
//!
//! **Score** of example `i` for a query: [`crate::kfac::scores`] with
//! [`kfac::Kind::Kfac`], an exact integer at scale `2^40`.
//!
//! **Segment totals**: `t_s = Σ s_i` over the rows of segment `s`, signed
//! (net influence). The proof outputs the list `(a_s, t_s)` in row order;
//! the payouts are a public function of the list and the pool that the chain
//! and the auditor compute natively ([`crate::payout::split_net`]): each
//! contributor's net influence (the sum of its segments), clamped at zero,
//! then the cumulative-floor split. The clamp is per contributor, not per
//! example: a contributor whose examples push the answer both ways is paid
//! for what they did in sum.
//!
//! **Digest**: the list, with each segment's end row `i_s`, is bound to a
//! claim by `D(γ) = Σ_s a_s·γ^{2i_s+1} + t_s·γ^{2i_s+2}` at a challenge `γ`
//! that hashes the list itself, the pool and the request
//! ([`segment_challenge`]); a negative total is its field negative. Two
//! different lists (addresses nonzero, totals in `[−2^127, 2^127)`, end rows strictly increasing and below the capacity) are
//! different polynomials in `γ` of degree at most `2·capacity`, so they agree
//! at a challenge derived from one of them only with probability
//! `≤ 2·capacity/r`.

use crate::{
    attribution,
    datanet::Datanet,
    field::{fr_from_address, fr_from_i128, Fr},
    fixed::SCALE,
    kfac,
    model::{QuantizedModel, HIDDEN, INPUT, NUM_PARAMS, OUTPUT},
    Error, Result,
};
use alloy_primitives::{keccak256, Address, U256};
use ff::Field;

/// Offset of the residual vector in a row.
pub const RESIDUAL_OFFSET: usize = HIDDEN;
/// Offset of the first-layer error `δ` in a row.
pub const DELTA_OFFSET: usize = HIDDEN + OUTPUT;
/// Offset of the pixels in a row.
pub const PIXEL_OFFSET: usize = 2 * HIDDEN + OUTPUT;
/// Offset of the contributor address in a row.
pub const ADDRESS_OFFSET: usize = PIXEL_OFFSET + INPUT;
/// Offset of the end-of-segment flag in a row.
pub const END_OFFSET: usize = ADDRESS_OFFSET + 1;
/// Field elements per example in the vertical layout.
pub const WIDTH: usize = END_OFFSET + 1;
/// Domain tag of the segment challenge.
pub const CHALLENGE_TAG: &[u8] = b"lineage-segment-digest-v1";

/// The query-independent features of one example.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureRow {
    /// `h̃` without its bias entry (scale `2^16`).
    pub hidden: [i64; HIDDEN],
    pub residual: [i64; OUTPUT],
    pub delta: [i64; HIDDEN],
    pub pixels: [u8; INPUT],
    pub contributor: Address,
    pub end: bool,
}

impl FeatureRow {
    /// The row's [`WIDTH`] field elements.
    pub fn to_fields(&self) -> [Fr; WIDTH] {
        let mut v = [Fr::ZERO; WIDTH];
        let signed = |x: i64| fr_from_i128(x as i128);
        for j in 0..HIDDEN {
            v[j] = signed(self.hidden[j]);
            v[DELTA_OFFSET + j] = signed(self.delta[j]);
        }
        for (k, r) in self.residual.iter().enumerate() {
            v[RESIDUAL_OFFSET + k] = signed(*r);
        }
        for (a, p) in self.pixels.iter().enumerate() {
            v[PIXEL_OFFSET + a] = Fr::from(*p as u64);
        }
        v[ADDRESS_OFFSET] = fr_from_address(&self.contributor);
        v[END_OFFSET] = Fr::from(self.end as u64);
        v
    }
}

/// The feature table of a (datanet, model) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureTable {
    pub rows: Vec<FeatureRow>,
    /// The model's parameters, in `QuantizedModel::params` order.
    pub params: Vec<i32>,
}

/// Offset of the factor sums in a column of `capacity` examples.
pub fn sums_offset(capacity: usize) -> usize {
    WIDTH * capacity + NUM_PARAMS
}

/// Length of the column of a table of `capacity` examples.
pub fn column_len(capacity: usize) -> usize {
    sums_offset(capacity) + kfac::SUMS_LEN
}

impl FeatureTable {
    /// Compute the table of `datanet` under `model`.
    pub fn build(model: &QuantizedModel, datanet: &Datanet) -> Result<Self> {
        model.validate()?;
        let s2 = SCALE * SCALE;
        let n = datanet.contributions.len();
        let rows = datanet
            .contributions
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // h̃ without its bias entry; the forward pass's activations are its rescale
                let fine = kfac::hidden_fine(model, &c.payload.pixels);
                let hidden: [i64; HIDDEN] = std::array::from_fn(|j| fine[j]);
                let f = attribution::logits(model, &hidden.map(crate::fixed::rescale));
                let mut residual = [0i64; OUTPUT];
                for k in 0..OUTPUT {
                    residual[k] = if c.payload.label as usize == k { s2 } else { 0 } - f[k];
                }
                let delta = kfac::delta(model, &hidden, &residual).ok_or(Error::ScoreOverflow(i))?;
                let pixels: [u8; INPUT] = c.payload.pixels.as_slice().try_into().map_err(|_| Error::Contribution { index: i, reason: "not 64 pixels".into() })?;
                let end = i + 1 == n || datanet.contributions[i + 1].contributor != c.contributor;
                Ok(FeatureRow { hidden, residual, delta, pixels, contributor: c.contributor, end })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { rows, params: model.params().collect() })
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The vertical column: [`WIDTH`] elements per example, zeros up to
    /// `capacity` examples, then the model's parameters, then the factor
    /// sums of every row ([`column_len`]`(capacity)` elements).
    pub fn column(&self, capacity: usize) -> Result<Vec<Fr>> {
        self.column_of(capacity, 0..self.rows.len(), true)
    }

    /// The column with only `rows`' entries and their sums (and the
    /// parameters if `params`), zero elsewhere: a feature chunk's share, so
    /// that the shares of a partition of the rows add up to [`Self::column`].
    pub fn column_of(&self, capacity: usize, rows: std::ops::Range<usize>, params: bool) -> Result<Vec<Fr>> {
        if self.rows.len() > capacity {
            return Err(Error::DatanetFormat(format!("{} examples exceed the capacity of {capacity}", self.rows.len())));
        }
        if self.params.len() != NUM_PARAMS {
            return Err(Error::ModelShape(format!("{} parameters, expected {NUM_PARAMS}", self.params.len())));
        }
        let rows = rows.start.min(self.rows.len())..rows.end.min(self.rows.len());
        let mut v = vec![Fr::ZERO; column_len(capacity)];
        for i in rows.clone() {
            v[WIDTH * i..WIDTH * (i + 1)].copy_from_slice(&self.rows[i].to_fields());
        }
        if params {
            for (p, q) in self.params.iter().enumerate() {
                v[WIDTH * capacity + p] = fr_from_i128(*q as i128);
            }
        }
        let sums = kfac::Sums::of_rows(&self.rows[rows]);
        v[sums_offset(capacity)..].copy_from_slice(&sums.to_fields());
        Ok(v)
    }

    /// Number of segments (payout entries of every claim).
    pub fn segments(&self) -> usize {
        self.rows.iter().filter(|r| r.end).count()
    }
}

/// A query's attribution over every example of a feature table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WholeAttribution {
    pub predicted: usize,
    pub hidden: [i64; HIDDEN],
    pub logits: [i64; OUTPUT],
    /// One score per example.
    pub scores: Vec<i128>,
    /// Per segment, in row order: its contributor and net-influence total.
    pub segments: Vec<(Address, i128)>,
    /// Per segment, its end row.
    pub ends: Vec<usize>,
    /// The query's solutions of the factors' systems (the per-query
    /// circuit's witnesses).
    pub solutions: kfac::QuerySolutions,
}

impl WholeAttribution {
    /// The payout of `pool` wei under this attribution (the chain's rule:
    /// [`crate::payout::split_net`]).
    pub fn payouts(&self, pool: u128) -> Result<Vec<crate::payout::Payout>> {
        crate::payout::split_net(pool, &self.segments)
    }
}

/// Attribute `query` over every example of `table` (model `model`) by
/// `influence-kfac` ([`crate::kfac`]).
pub fn attribute(model: &QuantizedModel, table: &FeatureTable, query: &[u8]) -> Result<WholeAttribution> {
    crate::datanet::check_pixels(query).map_err(|reason| Error::Contribution { index: 0, reason })?;
    let hq = attribution::hidden(model, query);
    let fq = attribution::logits(model, &hq);
    let factors = kfac::Factors::build(model, table)?;
    let solutions = factors.solve(model, query, None)?;
    let scores = factors.scores_of(&solutions, kfac::Kind::Kfac)?;
    let mut segments = Vec::new();
    let mut ends = Vec::new();
    let mut acc = 0i128;
    for (i, (row, s)) in table.rows.iter().zip(&scores).enumerate() {
        acc = acc.checked_add(*s).ok_or(Error::ScoreOverflow(i))?;
        if row.end {
            segments.push((row.contributor, acc));
            ends.push(i);
            acc = 0;
        }
    }
    Ok(WholeAttribution { predicted: solutions.class, hidden: hq, logits: fq, scores, segments, ends, solutions })
}

/// One segment of a claim: its contributor, its net total and its end row.
pub type Segment = (Address, i128, u32);

/// The segments of an attribution, as a claim lists them.
pub fn claim_segments(a: &WholeAttribution) -> Vec<Segment> {
    a.segments.iter().zip(&a.ends).map(|((addr, t), e)| (*addr, *t, *e as u32)).collect()
}

/// Check a claim's segment list before hashing or digesting it: at least
/// one segment, end rows strictly increasing and below `capacity`,
/// addresses nonzero. Without this, one true entry `(a, t, i)` could be
/// split into `(A, t₁, i)` and `(a − A, t − t₁, i)` with the same digest.
pub fn validate_segments(segments: &[Segment], capacity: usize) -> Result<()> {
    let bad = |reason: String| Err(Error::Segments(reason));
    if segments.is_empty() {
        return bad("no segments".into());
    }
    let mut prev: Option<u32> = None;
    for (s, (a, _, e)) in segments.iter().enumerate() {
        if a.is_zero() {
            return bad(format!("segment {s} pays address 0"));
        }
        if *e as usize >= capacity {
            return bad(format!("segment {s} ends at row {e}, beyond the {capacity} examples"));
        }
        if prev.is_some_and(|p| *e <= p) {
            return bad(format!("segment {s} ends at row {e}, not after the previous segment"));
        }
        prev = Some(*e);
    }
    Ok(())
}

/// The challenge `γ` of a claim: keccak256 of `CHALLENGE_TAG ‖ request_id
/// (32 B) ‖ pool (32 B) ‖ (address (20 B) ‖ total (32 B, two's complement)
/// ‖ end row (4 B))*`,
/// top three bits cleared (so it is a canonical field element).
pub fn segment_challenge(request_id: U256, pool: u128, segments: &[Segment]) -> Fr {
    let mut bytes = Vec::with_capacity(CHALLENGE_TAG.len() + 64 + segments.len() * 56);
    bytes.extend_from_slice(CHALLENGE_TAG);
    bytes.extend_from_slice(&request_id.to_be_bytes::<32>());
    bytes.extend_from_slice(&U256::from(pool).to_be_bytes::<32>());
    for (a, t, e) in segments {
        bytes.extend_from_slice(a.as_slice());
        bytes.extend_from_slice(&i128_word(*t));
        bytes.extend_from_slice(&e.to_be_bytes());
    }
    let mut h = keccak256(&bytes).0;
    h[0] &= 0x1f;
    crate::field::fr_from_be_bytes(&h).expect("below 2^253")
}

/// The segment digest `D(γ) = Σ_s a_s·γ^{2i_s+1} + t_s·γ^{2i_s+2}` (`i_s`
/// the end row of segment `s`).
pub fn segment_digest(challenge: Fr, segments: &[Segment]) -> Fr {
    let mut d = Fr::ZERO;
    for (a, t, e) in segments {
        let w = challenge.pow_vartime([2 * *e as u64 + 1]);
        d += fr_from_address(a) * w + fr_from_i128(*t) * w * challenge;
    }
    d
}

/// `t` as a 32-byte big-endian two's-complement word (its ABI `int128`
/// encoding).
pub fn i128_word(t: i128) -> [u8; 32] {
    let mut b = if t < 0 { [0xff; 32] } else { [0; 32] };
    b[16..].copy_from_slice(&t.to_be_bytes());
    b
}

/// A deterministic model and datanet for this crate's tests.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::{
        datanet::{Contribution, Datanet, DigitPayload},
        model::QuantizedModel,
    };
    use alloy_primitives::Address;

    /// A model with every parameter in [−100, 100].
    pub fn model() -> QuantizedModel {
        let w = |n: usize, m: i32| (0..n).map(|i| ((i as i32 * 37 + m) % 201) - 100).collect::<Vec<_>>();
        QuantizedModel { w1: w(1024, 3), b1: w(16, 5), w2: w(160, 7), b2: w(10, 11) }
    }

    /// `n` examples, consecutive runs of `per` to one contributor.
    pub fn datanet(n: usize, per: usize) -> Datanet {
        let c = (0..n)
            .map(|i| Contribution {
                contributor: Address::with_last_byte(1 + (i / per) as u8),
                licence: "CC0-1.0".into(),
                payload: DigitPayload { label: (i % 10) as u8, pixels: (0..64).map(|p| ((p * 7 + i * 3) % 17) as u8).collect() },
                index: None,
            })
            .collect();
        Datanet::new("t".into(), c).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> QuantizedModel {
        fixture::model()
    }

    fn datanet() -> Datanet {
        fixture::datanet(12, 5)
    }

    #[test]
    fn table_scores_equal_the_reference_scores() {
        let (m, d) = (model(), datanet());
        let t = FeatureTable::build(&m, &d).unwrap();
        assert_eq!(t.segments(), 3);
        assert_eq!(t.rows.iter().map(|r| r.end).collect::<Vec<_>>().iter().filter(|e| **e).count(), 3);
        assert!(t.rows[4].end && t.rows[9].end && t.rows[11].end);
        let q: Vec<u8> = (0..64).map(|p| (p % 17) as u8).collect();
        let a = attribute(&m, &t, &q).unwrap();
        // the scores are influence-kfac's, and the segments their sums
        let f = kfac::Factors::build(&m, &t).unwrap();
        let (c, want) = kfac::scores(&m, &f, &q, None, kfac::Kind::Kfac).unwrap();
        assert_eq!((a.predicted, &a.scores), (c, &want));
        assert_eq!(a.segments[0].1, want[..5].iter().sum::<i128>());
        assert_eq!(a.solutions, f.solve(&m, &q, None).unwrap());
        assert_eq!(a.ends, vec![4, 9, 11]);
        // the rows: δ from h̃ and r, the coarse forward pass from h̃
        for (row, c) in t.rows.iter().zip(&d.contributions) {
            assert_eq!(row.hidden, kfac::hidden_fine(&m, &c.payload.pixels)[..HIDDEN]);
            assert_eq!(Some(row.delta), kfac::delta(&m, &row.hidden, &row.residual));
            assert_eq!(row.pixels.as_slice(), c.payload.pixels.as_slice());
        }
        let col = t.column(16).unwrap();
        assert_eq!(col.len(), column_len(16));
        assert_eq!(col[WIDTH * 11 + END_OFFSET], Fr::ONE);
        assert_eq!(col[WIDTH * 3 + PIXEL_OFFSET + 5], Fr::from(d.contributions[3].payload.pixels[5] as u64));
        assert_eq!(col[WIDTH * 12], Fr::ZERO);
        assert_eq!(col[WIDTH * 16], fr_from_i128(m.w1[0] as i128));
        assert_eq!(col[sums_offset(16)..], kfac::Sums::of_rows(&t.rows).to_fields()[..]);
        // chunk shares add up to the column: rows, parameters once, sums
        let parts = [t.column_of(16, 0..8, true).unwrap(), t.column_of(16, 8..16, false).unwrap()];
        let added: Vec<Fr> = parts[0].iter().zip(&parts[1]).map(|(a, b)| *a + b).collect();
        assert_eq!(added, col);
        assert!(t.column(11).is_err());
    }

    #[test]
    fn digest_binds_every_entry() {
        let a = |b| Address::with_last_byte(b);
        let list = vec![(a(1), 5i128, 3u32), (a(2), 7, 9)];
        let g = segment_challenge(U256::from(1), 12, &list);
        let d = segment_digest(g, &list);
        // (the list is a set of end rows: claims list them strictly increasing)
        let mut swapped = list.clone();
        (swapped[0].1, swapped[1].1) = (swapped[1].1, swapped[0].1);
        assert_ne!(segment_digest(g, &swapped), d);
        let mut more = list.clone();
        more[1].1 += 1;
        assert_ne!(segment_digest(g, &more), d);
        let mut moved = list.clone();
        moved[1].2 += 1;
        assert_ne!(segment_digest(g, &moved), d);
        assert_ne!(segment_challenge(U256::from(2), 12, &list), g);
        // a list that splits one entry at a repeated end row is refused
        validate_segments(&list, 10).unwrap();
        let split = vec![(a(1), 5i128, 3u32), (a(3), 3, 9), (a(2), 4, 9)];
        assert!(validate_segments(&split, 10).is_err());
        assert!(validate_segments(&[(a(1), 5, 3), (a(2), 7, 2)], 10).is_err());
        assert!(validate_segments(&[(Address::ZERO, 5, 3)], 10).is_err());
        assert!(validate_segments(&[(a(1), 5, 10)], 10).is_err());
        assert!(validate_segments(&[], 10).is_err());
        assert_ne!(segment_challenge(U256::from(1), 13, &list), g);
        // signed totals: a negated total changes the challenge and the digest
        let mut neg = list.clone();
        neg[0].1 = -neg[0].1;
        assert_ne!(segment_challenge(U256::from(1), 12, &neg), g);
        assert_ne!(segment_digest(g, &neg), d);
        assert_eq!(i128_word(-1), [0xff; 32]);
        assert_eq!(i128_word(5)[31], 5);
        assert_eq!(&i128_word(i128::MIN)[..17], &[0xff; 16].iter().chain(&[0x80]).copied().collect::<Vec<u8>>()[..]);
    }
}
