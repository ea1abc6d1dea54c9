//! The fixed-point specification of the influence functions `influence`
//! (last layer, exact damped Gauss–Newton) and `influence-kfac` (the last
//! layer as `influence`, the first layer by its K-FAC factors): the integer
//! arithmetic a circuit can check, in the notation of
//! `lineage_inference::influence` (whose float forms these follow).
//!
//! Every value is at scale `2^8` ([`crate::fixed`]) unless said otherwise.
//! Per example `z` (its feature row, [`crate::features`]):
//!
//! * `h̃_z = [acc_z; 2^16]` at the fine scale `2^16` ([`hidden_fine`]: the
//!   first layer's ReLU'd accumulator before the forward pass rescales it to
//!   `2^8`, where small activations keep only a few bits), the mask
//!   `m_z = [acc_z > 0]`, the residual `r_z = [y = k]·2^16 − f_k(z)` from
//!   the feature table (scale `2^16`, the sign of `y − f`);
//! * `x̃_z = [16·p − C; 2^8]` over its 64 pixels `p`, `C =`
//!   [`INPUT_CENTRE_FIXED`] (training's input centring, `0.3`, at scale
//!   `2^8`: the coordinates the float K-FAC uses);
//! * `δ_z = m_z ⊙ rescale₁₆(W2ᵀ r_z)` (`W2` at scale `2^8` times `r` at
//!   `2^16`, back to `2^8` by `⌊(v + 2^15) / 2^16⌋`).
//!
//! Per model, the factors at the finer scale `2^16` ([`FACTOR_BITS`]: at
//! `2^8` the input factor's small entries and eigenvalues would be a few
//! units, and the solutions noise), each entry a rounded mean
//! `⌊(Σ v + ⌊d/2⌋) / d⌋` over the `n` examples:
//!
//! * `A₂ = mean h̃ h̃ᵀ` (17 × 17; products at `2^32`, `d = n·2^16`),
//!   `S = mean (W2ᵀW2) ⊙ m mᵀ` (16 × 16; the `W2ᵀW2` entries are
//!   scale-`2^16` sums of products, `d = n`), `A₁ = mean x̃ x̃ᵀ` (65 × 65;
//!   products at `2^16`, `d = n`);
//! * each damped: `F + max(⌊tr(F) / (d·100)⌋, 1)·I` (`d` its size: 0.01 ×
//!   the mean eigenvalue, [`DAMPING_PERCENT`], and at least one unit of the
//!   last place so that the damping never rounds to nothing); a factor whose
//!   trace is not positive gets `2^16·I` added instead (its layer's
//!   gradients are zero anyway).
//!
//! Per query (pixels `q`, predicted class `c`): `h̃_q`, `v_q = W2[c] ⊙ m_q`
//! and `x̃_q`; the three solutions `u`, `a`, `b` of `A₂ u = h̃_q`,
//! `S a = 2^8·v_q`, `A₁ b = 2^8·x̃_q` in the sense of [`crate::linear`]
//! (matrix and right-hand side both at scale `2^16`, so the solutions are at
//! scale `2^8`, rounded, residuals within the tolerance). Scores, exact
//! integers at scale `2^40` ([`SCORE_SCALE_BITS`]):
//!
//! * `influence`: `s_z = r_z[c] · ⟨u, h̃_z⟩` (`2^16 · 2^8 · 2^16`);
//! * `influence-kfac`: `s_z = 2^8·(δ_z·a)(x̃_z·b) + r_z[c] · ⟨u, h̃_z⟩`
//!   (the first term at `2^32` before the shift).
//!
//! A score that would not fit 128 bits is an error, never a wrap (it cannot
//! happen for a trained model; the bound is on hostile tables).
//!
//! Positive means "including `z` raises `f_c(q)`", as in float.

use crate::{
    attribution,
    datanet::Datanet,
    features::FeatureTable,
    fixed::{self, SCALE},
    linear,
    model::{QuantizedModel, HIDDEN, INPUT, OUTPUT},
    Error, Result,
};

/// Rows of the last layer's factor (`h̃`).
pub const H1: usize = HIDDEN + 1;
/// Rows of the first layer's input factor (`x̃`).
pub const X1: usize = INPUT + 1;
/// Training's input centring (`0.3`) at scale `2^8`, rounded.
pub const INPUT_CENTRE_FIXED: i64 = 77;
/// The damping: this many hundredths of a factor's mean eigenvalue.
pub const DAMPING_PERCENT: i128 = 1;
/// Scale bits of the factors.
pub const FACTOR_BITS: u32 = 16;
/// Scale bits of the fine hidden activations `h̃` (see [`hidden_fine`]).
pub const FINE_BITS: u32 = 16;
/// Scale of a score: `2^40`.
pub const SCORE_SCALE_BITS: u32 = 40;

/// `x̃` of an image: `[16·p − C; 2^8]`.
pub fn centred(pixels: &[u8]) -> [i64; X1] {
    let mut x = [SCALE; X1];
    for (xi, p) in x.iter_mut().zip(pixels) {
        *xi = fixed::pixel_to_fixed(*p) - INPUT_CENTRE_FIXED;
    }
    x
}

/// `h̃` at the fine scale `2^16`: the first layer's accumulator before the
/// forward pass's rescale, ReLU'd, and `2^16` for the bias.
pub fn hidden_fine(model: &QuantizedModel, pixels: &[u8]) -> [i64; H1] {
    let mut v = [1 << FINE_BITS; H1];
    for (hj, acc) in v.iter_mut().zip(attribution::accumulators(model, pixels)) {
        *hj = fixed::relu(acc);
    }
    v
}

/// The per-model work of one (datanet, model) pair: the three damped
/// factors (row-major) and every example's quantities, computed once for
/// any number of queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factors {
    /// `A₂ + λ₂I`, 17 × 17 (scale `2^16`, as the others).
    pub a2: Vec<i64>,
    /// `S + λ_S I`, 16 × 16.
    pub s: Vec<i64>,
    /// `A₁ + λ₁I`, 65 × 65.
    pub a1: Vec<i64>,
    examples: Vec<Example>,
}

/// `⌊(v + ⌊d/2⌋) / d⌋` (`d > 0`): a sum's rounded mean, floor division on
/// negative values too (`gadgets::factor` constrains the same).
pub fn mean(v: i128, d: i128) -> i64 {
    (v + d / 2).div_euclid(d) as i64
}

/// The damping added to a `d × d` factor's diagonal whose trace is `tr`
/// (see [`damp`]).
pub fn damping(tr: i128, d: usize) -> i64 {
    if tr > 0 {
        ((tr * DAMPING_PERCENT).div_euclid(d as i128 * 100) as i64).max(1)
    } else {
        1 << FACTOR_BITS
    }
}

/// Damp a `d × d` factor: `+ max(⌊tr·DAMPING_PERCENT / (d·100)⌋, 1)·I`, or
/// `+ 2^16·I` when the trace is not positive.
pub fn damp(f: &mut [i64], d: usize) {
    let tr: i128 = (0..d).map(|i| f[i * d + i] as i128).sum();
    let lambda = damping(tr, d);
    (0..d).for_each(|i| f[i * d + i] += lambda);
}

/// The per-example quantities of the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Example {
    h: [i64; H1],
    r: [i64; OUTPUT],
    x: [i64; X1],
    delta: [i64; HIDDEN],
}

fn examples(model: &QuantizedModel, table: &FeatureTable, datanet: &Datanet) -> Result<Vec<Example>> {
    if table.rows.len() != datanet.contributions.len() {
        return Err(Error::DatanetFormat(format!("{} feature rows for {} examples", table.rows.len(), datanet.contributions.len())));
    }
    table
        .rows
        .iter()
        .zip(&datanet.contributions)
        .enumerate()
        .map(|(i, (row, c))| {
            let h = hidden_fine(model, &c.payload.pixels);
            let mut delta = [0i64; HIDDEN];
            for (j, d) in delta.iter_mut().enumerate() {
                if h[j] > 0 {
                    let v: i128 = (0..OUTPUT).map(|k| model.w2[k * HIDDEN + j] as i128 * row.residual[k] as i128).sum();
                    *d = i64::try_from((v + (1 << 15)).div_euclid(1 << 16)).map_err(|_| Error::ScoreOverflow(i))?;
                }
            }
            Ok(Example { h, r: row.residual, x: centred(&c.payload.pixels), delta })
        })
        .collect()
}

impl Factors {
    /// The factors of `table` (built from `datanet` under `model`).
    pub fn build(model: &QuantizedModel, table: &FeatureTable, datanet: &Datanet) -> Result<Self> {
        model.validate()?;
        let ex = examples(model, table, datanet)?;
        let n = ex.len().max(1) as i128;
        let mut a2 = vec![0i128; H1 * H1];
        let mut a1 = vec![0i128; X1 * X1];
        let mut co = vec![0i128; HIDDEN * HIDDEN]; // Σ m mᵀ
        for e in &ex {
            for i in 0..H1 {
                for j in 0..H1 {
                    a2[i * H1 + j] += e.h[i] as i128 * e.h[j] as i128;
                }
            }
            for i in 0..X1 {
                for j in 0..X1 {
                    a1[i * X1 + j] += e.x[i] as i128 * e.x[j] as i128;
                }
            }
            for i in 0..HIDDEN {
                for j in 0..HIDDEN {
                    co[i * HIDDEN + j] += ((e.h[i] > 0) & (e.h[j] > 0)) as i128;
                }
            }
        }
        // h̃ h̃ᵀ is at scale 2^32: its mean back to 2^16
        let mut a2: Vec<i64> = a2.into_iter().map(|v| mean(v, n << FINE_BITS)).collect();
        let mut a1: Vec<i64> = a1.into_iter().map(|v| mean(v, n)).collect();
        let mut s: Vec<i64> = (0..HIDDEN * HIDDEN)
            .map(|ij| {
                let (i, j) = (ij / HIDDEN, ij % HIDDEN);
                let w: i128 = (0..OUTPUT).map(|k| model.w2[k * HIDDEN + i] as i128 * model.w2[k * HIDDEN + j] as i128).sum();
                mean(w * co[ij], n)
            })
            .collect();
        damp(&mut a2, H1);
        damp(&mut s, HIDDEN);
        damp(&mut a1, X1);
        Ok(Self { a2, s, a1, examples: ex })
    }
}

/// One query's solutions `u`, `a`, `b` (scale `2^8`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySolutions {
    pub class: usize,
    pub u: Vec<i64>,
    pub a: Vec<i64>,
    pub b: Vec<i64>,
}

impl Factors {
    /// Solve the query's three systems for its predicted class, or for
    /// `class` when given (to compare with a float model whose prediction
    /// differs).
    pub fn solve(&self, model: &QuantizedModel, query: &[u8], class: Option<usize>) -> Result<QuerySolutions> {
        crate::datanet::check_pixels(query).map_err(|reason| Error::Contribution { index: 0, reason })?;
        let class = match class {
            Some(c) if c < OUTPUT => c,
            Some(c) => return Err(Error::ModelShape(format!("class {c} of {OUTPUT}"))),
            None => attribution::predict(model, query),
        };
        let up = |v: &[i64]| v.iter().map(|x| x * SCALE).collect::<Vec<i64>>();
        let hq = hidden_fine(model, query);
        let vq: Vec<i64> = (0..HIDDEN).map(|j| if hq[j] > 0 { model.w2[class * HIDDEN + j] as i64 } else { 0 }).collect();
        let u = linear::solve_fixed(&self.a2, &hq, H1)?;
        let a = linear::solve_fixed(&self.s, &up(&vq), HIDDEN)?;
        let b = linear::solve_fixed(&self.a1, &up(&centred(query)), X1)?;
        Ok(QuerySolutions { class, u, a, b })
    }
}

/// Which of the two methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The last layer only (`influence`).
    LastLayer,
    /// Both layers (`influence-kfac`).
    Kfac,
}

/// Every example's score (scale `2^40`) for `query`, explaining its
/// predicted class (or `class`, see [`Factors::solve`]); `factors` are
/// `model`'s.
pub fn scores(model: &QuantizedModel, factors: &Factors, query: &[u8], class: Option<usize>, kind: Kind) -> Result<(usize, Vec<i128>)> {
    let sol = factors.solve(model, query, class)?;
    let ex = &factors.examples;
    // every product of two i64 fits i128; the sums and the outer products are checked
    let dot = |a: &[i64], b: &[i64]| a.iter().zip(b).try_fold(0i128, |acc, (x, y)| acc.checked_add(*x as i128 * *y as i128));
    let s = ex
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let last = dot(&sol.u, &e.h).and_then(|d| d.checked_mul(e.r[sol.class] as i128));
            let s = match kind {
                Kind::LastLayer => last,
                Kind::Kfac => {
                    let first = dot(&e.delta, &sol.a).zip(dot(&e.x, &sol.b)).and_then(|(p, q)| p.checked_mul(q)).and_then(|v| v.checked_mul(1 << (SCORE_SCALE_BITS - 32)));
                    first.zip(last).and_then(|(f, l)| f.checked_add(l))
                }
            };
            s.ok_or(Error::ScoreOverflow(i))
        })
        .collect::<Result<Vec<i128>>>()?;
    Ok((sol.class, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::fixture;

    fn model() -> QuantizedModel {
        fixture::model()
    }

    fn datanet() -> Datanet {
        fixture::datanet(30, 7)
    }

    #[test]
    fn factors_follow_the_spec_by_hand_and_solutions_pass_the_check() {
        let (m, d) = (model(), datanet());
        let t = FeatureTable::build(&m, &d).unwrap();
        let f = Factors::build(&m, &t, &d).unwrap();
        // A₂'s bias corner: the mean of 2^8·2^8 is 2^16, plus the damping
        let tr: i128 = (0..H1).map(|i| {
            let s: i128 = d.contributions.iter().map(|c| hidden_fine(&m, &c.payload.pixels)[i] as i128 * hidden_fine(&m, &c.payload.pixels)[i] as i128).sum();
            mean(s, 30 << 16) as i128
        }).sum();
        assert_eq!(f.a2[H1 * H1 - 1] as i128, 65_536 + (tr / (17 * 100)).max(1));
        // symmetric factors
        for (v, k) in [(&f.a2, H1), (&f.s, HIDDEN), (&f.a1, X1)] {
            for i in 0..k {
                for j in 0..k {
                    assert_eq!(v[i * k + j], v[j * k + i]);
                }
            }
        }
        let q: Vec<u8> = (0..64).map(|p| (p % 17) as u8).collect();
        let sol = f.solve(&m, &q, None).unwrap();
        let up = |v: &[i64]| v.iter().map(|x| x * 256).collect::<Vec<i64>>();
        linear::check(&f.a2, &sol.u, &hidden_fine(&m, &q), H1).unwrap();
        // the fine activations are the forward pass's before its rescale
        let h8 = attribution::hidden(&m, &q);
        assert!((0..HIDDEN).all(|j| h8[j] == fixed::rescale(hidden_fine(&m, &q)[j])));
        linear::check(&f.a1, &sol.b, &up(&centred(&q)), X1).unwrap();
        // the scores: the last-layer part is the same in both, and differs from kfac by the first-layer term
        let (c1, last) = scores(&m, &f, &q, None, Kind::LastLayer).unwrap();
        let (c2, both) = scores(&m, &f, &q, None, Kind::Kfac).unwrap();
        assert_eq!(scores(&m, &f, &q, Some(c1), Kind::Kfac).unwrap().1, both);
        assert!(scores(&m, &f, &q, Some(10), Kind::Kfac).is_err());
        assert_eq!(c1, c2);
        assert_eq!(last.len(), 30);
        assert!(last.iter().zip(&both).any(|(a, b)| a != b));
        // a hostile table (residuals far beyond any trained model's) is an error, not a wrap
        let mut hostile = t.clone();
        hostile.rows.iter_mut().for_each(|r| r.residual = [i64::MAX; OUTPUT]);
        let big = QuantizedModel { w2: vec![i16::MAX as i32; 160], ..m.clone() };
        assert!(matches!(Factors::build(&big, &hostile, &d), Err(Error::ScoreOverflow(_))));
        // per-example values beyond 64 bits' products: the score is an error, not a wrap
        let mut g = f.clone();
        g.examples.iter_mut().for_each(|e| {
            e.h = [i64::MAX; H1];
            e.r = [i64::MAX; OUTPUT];
        });
        for kind in [Kind::LastLayer, Kind::Kfac] {
            assert!(matches!(scores(&m, &g, &q, None, kind), Err(Error::ScoreOverflow(0))));
        }
        // a table that is not this datanet's is refused
        let short = Datanet::new("s".into(), d.contributions[..5].to_vec()).unwrap();
        assert!(Factors::build(&m, &t, &short).is_err());
    }

    #[test]
    fn a_dead_layer_is_damped_to_the_identity() {
        let mut f = vec![0i64; 4];
        damp(&mut f, 2);
        assert_eq!(f, vec![65_536, 0, 0, 65_536]);
        let mut g = vec![10_000i64, 5, 5, 30_000];
        damp(&mut g, 2);
        assert_eq!(g, vec![10_200, 5, 5, 30_200]);
        assert_eq!(centred(&[16; 64])[0], 256 - 77);
        assert_eq!(centred(&[0; 64])[64], 256);
    }
}
