//! Linear systems: a dense LU solver (f64) and the fixed-point
//! specification of "`u` solves `M u = g`" that a circuit checks instead of
//! computing an inverse.
//!
//! # The fixed-point check
//!
//! `M` (`n × n`, row-major) and `g` are at scale `2^FRAC_BITS` (see
//! [`crate::fixed`]); the claimed solution `u` is at the finer scale
//! `2^(FRAC_BITS + REFINE_BITS)`. The residual of row `i` is the exact
//! integer
//!
//! ```text
//!   e_i = Σ_j M_ij · u_j − g_i · 2^(FRAC_BITS + REFINE_BITS)
//! ```
//!
//! and `u` is accepted iff every `u_j` lies in
//! `[−2^(SOLUTION_BITS − 1), 2^(SOLUTION_BITS − 1))` and every `g_i` in
//! `[−2^(RHS_BITS − 1), 2^(RHS_BITS − 1))` (the circuit's signed range
//! checks, exactly), every `|M_ij| < 2^(MATRIX_BITS − 1)`, and every
//! row's residual is within its own bound: `|2·e_i| ≤ B_i` with
//! `B_i = Σ_j |M_ij| + 2` ([`row_bounds`]), i.e. `|e_i| ≤ ½ Σ_j |M_ij| + 1`.
//! If `u*` is the exact real solution of the fixed-point system,
//! `u = round(u* · 2^F)` is within ½ of `u* · 2^F` entrywise, so
//! `|e_i| ≤ ½ Σ_j |M_ij|`: rounding the true solution always passes
//! ([`solve_fixed`] does this; the `+ 1` absorbs the float solver's last
//! bit). Conversely an accepted `u` differs from the exact
//! `u* · 2^(F + R)` by at most `‖M⁻¹‖_∞ · max_i B_i / 2` units per entry
//! (the bound a verifier can compute from `M`), which for an ill-conditioned
//! matrix is many units: that is why the solution is checked at the finer
//! scale and then rounded ([`coarse`]) to the scale `2^F` its users
//! compute with. For the digits datanet's first-layer factor the bound is
//! about 12,800 fine units, a fifth of a coarse unit, so the rounded
//! solution is the honest one except within a fifth of a unit of a
//! rounding tie, where it may be one unit off. The bound is per row and
//! needs only `|M_ij|`, so a circuit computes it from matrix cells it has
//! itself derived (`lineage_gadgets::linear`).
//!
//! Magnitudes: with `|M_ij| < 2^31` ([`MATRIX_BITS`]: room for the
//! influence factors at scale `2^16`, `crate::kfac`), `|u_j| < 2^55`,
//! `|g_i| < 2^39` and `n ≤ MAX_UNKNOWNS`,
//! `|e_i| < 2^(31 + 55 + 11) + 2^(39 + 24)` and `B_i < 2^43`, far below the
//! BN254 modulus, so field arithmetic equals integer arithmetic and the
//! range checks are sound.

use crate::fixed::SCALE;

/// Signed bits of a matrix entry (`|M_ij| < 2^31`).
pub const MATRIX_BITS: u32 = 32;
/// Extra bits of a solution's scale beyond the system's: solutions are at
/// scale `2^(FRAC_BITS + REFINE_BITS)`.
pub const REFINE_BITS: u32 = 16;
/// Signed bits of a solution entry (at the fine scale).
pub const SOLUTION_BITS: u32 = 56;
/// Signed bits of a right-hand side entry.
pub const RHS_BITS: u32 = 40;
/// The most unknowns a checked system may have.
pub const MAX_UNKNOWNS: usize = 2048;

/// Why a fixed-point system was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinearError {
    #[error("expected {n} × {n} entries (and {n} per vector), found {found}")]
    Shape { n: usize, found: usize },
    #[error("{n} unknowns, more than the {MAX_UNKNOWNS} allowed")]
    TooLarge { n: usize },
    #[error("the matrix is singular")]
    Singular,
    #[error("{what} entry {index} ({value}) is outside its signed range (matrix (−2^{m}, 2^{m}), solution [−2^{u}, 2^{u}), right-hand side [−2^{g}, 2^{g}))", m = MATRIX_BITS - 1, u = SOLUTION_BITS - 1, g = RHS_BITS - 1)]
    Range { what: &'static str, index: usize, value: i128 },
    #[error("row {row}: twice the residual {residual} exceeds the row's bound {bound}")]
    Residual { row: usize, residual: i128, bound: i128 },
}

/// An LU factorisation with partial pivoting of a dense square matrix (f64).
#[derive(Clone, Debug)]
pub struct Lu {
    n: usize,
    lu: Vec<f64>,
    perm: Vec<usize>,
}

impl Lu {
    /// Factor `m` (row-major `n × n`).
    pub fn new(mut m: Vec<f64>, n: usize) -> Result<Self, LinearError> {
        if n > MAX_UNKNOWNS {
            return Err(LinearError::TooLarge { n });
        }
        if m.len() != n * n {
            return Err(LinearError::Shape { n, found: m.len() });
        }
        let mut perm: Vec<usize> = (0..n).collect();
        for c in 0..n {
            let p = (c..n).max_by(|x, y| m[*x * n + c].abs().total_cmp(&m[*y * n + c].abs())).ok_or(LinearError::Singular)?;
            if m[p * n + c] == 0.0 || !m[p * n + c].is_finite() {
                return Err(LinearError::Singular);
            }
            if p != c {
                for k in 0..n {
                    m.swap(c * n + k, p * n + k);
                }
                perm.swap(c, p);
            }
            let d = m[c * n + c];
            let (top, bottom) = m.split_at_mut((c + 1) * n);
            let pivot_row = &top[c * n..];
            for r in bottom.chunks_exact_mut(n) {
                let f = r[c] / d;
                r[c] = f;
                if f != 0.0 {
                    for k in c + 1..n {
                        r[k] -= f * pivot_row[k];
                    }
                }
            }
        }
        Ok(Self { n, lu: m, perm })
    }

    /// The number of unknowns.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Solve `M u = b` (`b` of length `n`).
    pub fn solve(&self, b: &[f64]) -> Result<Vec<f64>, LinearError> {
        let n = self.n;
        if b.len() != n {
            return Err(LinearError::Shape { n, found: b.len() });
        }
        let mut y: Vec<f64> = self.perm.iter().map(|p| b[*p]).collect();
        for i in 0..n {
            let s: f64 = self.lu[i * n..i * n + i].iter().zip(&y[..i]).map(|(a, b)| a * b).sum();
            y[i] -= s;
        }
        for i in (0..n).rev() {
            let s: f64 = self.lu[i * n + i + 1..(i + 1) * n].iter().zip(&y[i + 1..]).map(|(a, b)| a * b).sum();
            y[i] = (y[i] - s) / self.lu[i * n + i];
        }
        Ok(y)
    }
}

fn shape(m: &[i64], n: usize) -> Result<(), LinearError> {
    if n > MAX_UNKNOWNS {
        return Err(LinearError::TooLarge { n });
    }
    if m.len() != n * n {
        return Err(LinearError::Shape { n, found: m.len() });
    }
    Ok(())
}

/// The scale of a solution's right-hand side in the residual: `2^(F + R)`.
const RHS_SCALE: i128 = (SCALE as i128) << REFINE_BITS;

/// A fine solution entry rounded to the system's scale `2^F`:
/// `⌊(u + 2^(R−1)) / 2^R⌋`.
pub fn coarse(u: i64) -> i64 {
    (u + (1 << (REFINE_BITS - 1))).div_euclid(1 << REFINE_BITS)
}

fn in_range(what: &'static str, v: &[i64], bits: u32) -> Result<(), LinearError> {
    let bound = 1i64 << (bits - 1);
    match v.iter().position(|x| *x < -bound || *x >= bound) {
        Some(index) => Err(LinearError::Range { what, index, value: v[index] as i128 }),
        None => Ok(()),
    }
}

/// Every row's bound `B_i = Σ_j |M_ij| + 2` (the check is `|2·e_i| ≤ B_i`);
/// the matrix must be in range.
pub fn row_bounds(m: &[i64], n: usize) -> Result<Vec<i128>, LinearError> {
    shape(m, n)?;
    let bound = 1i64 << (MATRIX_BITS - 1);
    if let Some(index) = m.iter().position(|v| v.unsigned_abs() >= bound as u64) {
        return Err(LinearError::Range { what: "matrix", index, value: m[index] as i128 });
    }
    Ok(m.chunks(n.max(1)).take(n).map(|row| row.iter().map(|v| (*v as i128).abs()).sum::<i128>() + 2).collect())
}

/// The residuals `e_i = Σ_j M_ij u_j − g_i · 2^F` (exact integers; `u`,
/// `g` and `M` must be in range, as the check needs).
pub fn residuals(m: &[i64], u: &[i64], g: &[i64], n: usize) -> Result<Vec<i128>, LinearError> {
    row_bounds(m, n)?;
    if u.len() != n || g.len() != n {
        return Err(LinearError::Shape { n, found: u.len().min(g.len()) });
    }
    in_range("solution", u, SOLUTION_BITS)?;
    in_range("right-hand side", g, RHS_BITS)?;
    Ok((0..n).map(|i| (0..n).map(|j| m[i * n + j] as i128 * u[j] as i128).sum::<i128>() - g[i] as i128 * RHS_SCALE).collect())
}

/// The check a circuit makes: `M`, `u` and `g` in range and every
/// residual within its row's bound (`|2·e_i| ≤ B_i`, [`row_bounds`]).
pub fn check(m: &[i64], u: &[i64], g: &[i64], n: usize) -> Result<(), LinearError> {
    let bounds = row_bounds(m, n)?;
    for (row, (residual, bound)) in residuals(m, u, g, n)?.into_iter().zip(bounds).enumerate() {
        if 2 * residual.abs() > bound {
            return Err(LinearError::Residual { row, residual, bound });
        }
    }
    Ok(())
}

/// Solve a fixed-point system: `u = round(u* · 2^(F + R))` with `u*` the
/// real solution of `(M / 2^F) u* = g / 2^F` (the fine scale; [`coarse`]
/// rounds it to `2^F`), checked ([`check`]) before it is returned.
pub fn solve_fixed(m: &[i64], g: &[i64], n: usize) -> Result<Vec<i64>, LinearError> {
    shape(m, n)?;
    if g.len() != n {
        return Err(LinearError::Shape { n, found: g.len() });
    }
    let lu = Lu::new(m.iter().map(|v| *v as f64).collect(), n)?;
    let rhs: Vec<f64> = g.iter().map(|v| *v as f64 * RHS_SCALE as f64).collect();
    let u: Vec<f64> = lu.solve(&rhs)?;
    let bound = (1i64 << (SOLUTION_BITS - 1)) as f64;
    if let Some(index) = u.iter().position(|v| !v.is_finite() || v.abs() >= bound) {
        return Err(LinearError::Range { what: "solution", index, value: u[index] as i128 });
    }
    let u: Vec<i64> = u.iter().map(|v| v.round() as i64).collect();
    check(m, &u, g, n)?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lu_solves_a_small_system_and_refuses_a_singular_one() {
        // [[0, 2], [3, 1]] u = [4, 5] → u = [1, 2] (needs a pivot)
        let lu = Lu::new(vec![0.0, 2.0, 3.0, 1.0], 2).unwrap();
        let u = lu.solve(&[4.0, 5.0]).unwrap();
        assert_eq!(lu.solve(&[4.0]), Err(LinearError::Shape { n: 2, found: 1 }));
        assert!((u[0] - 1.0).abs() < 1e-12 && (u[1] - 2.0).abs() < 1e-12, "{u:?}");
        assert_eq!(Lu::new(vec![1.0, 2.0, 2.0, 4.0], 2).unwrap_err(), LinearError::Singular);
        assert_eq!(Lu::new(vec![1.0; 3], 2).unwrap_err(), LinearError::Shape { n: 2, found: 3 });
    }

    #[test]
    fn fixed_point_check_by_hand() {
        // M = [[2, 0], [0, 4]] (scale 256: entries 512, 1024), g = [1, 1] (256)
        let m = [512, 0, 0, 1024];
        let g = [256, 256];
        assert_eq!(row_bounds(&m, 2).unwrap(), vec![514, 1026]);
        // u* = [0.5, 0.25] → [2^23, 2^22] at the fine scale 2^24, residuals exactly zero
        let u = solve_fixed(&m, &g, 2).unwrap();
        assert_eq!(u, vec![1 << 23, 1 << 22]);
        assert_eq!(u.iter().map(|v| coarse(*v)).collect::<Vec<_>>(), vec![128, 64]);
        assert_eq!(residuals(&m, &u, &g, 2).unwrap(), vec![0, 0]);
        // one unit off in u[1]: residual 1024, twice that > 1026
        assert_eq!(check(&m, &[1 << 23, (1 << 22) + 1], &g, 2), Err(LinearError::Residual { row: 1, residual: 1024, bound: 1026 }));
        // the bound's `+ 2`: M = [1] (B = 3) accepts residuals −1, 0, 1 and no more
        let one = 1i64 << 24;
        assert!(check(&[1], &[one + 1], &[1], 1).is_ok() && check(&[1], &[one - 1], &[1], 1).is_ok());
        assert_eq!(check(&[1], &[one + 2], &[1], 1), Err(LinearError::Residual { row: 0, residual: 2, bound: 3 }));
        assert!(matches!(check(&m, &[1 << 56, 0], &g, 2), Err(LinearError::Range { what: "solution", index: 0, .. })));
        assert_eq!(row_bounds(&m, 3), Err(LinearError::Shape { n: 3, found: 4 }));
        // the circuit's signed ranges, exactly: u ∈ [−2^55, 2^55), g ∈ [−2^39, 2^39)
        assert!(check(&[256], &[-(1 << 55)], &[-(1 << 39)], 1).is_ok());
        assert!(matches!(check(&[256], &[1 << 55], &[1 << 31], 1), Err(LinearError::Range { what: "solution", .. })));
        assert!(matches!(check(&[256], &[0], &[1 << 39], 1), Err(LinearError::Range { what: "right-hand side", .. })));
        // matrix entries: |M| < 2^31 (the circuit range-checks |M| to 31 bits)
        assert!(check(&[-(1 << 31) + 1], &[one], &[-(1 << 31) + 1], 1).is_ok());
        assert!(matches!(check(&[-(1 << 31)], &[0], &[0], 1), Err(LinearError::Range { what: "matrix", .. })));
        assert!(matches!(check(&[1 << 31], &[0], &[0], 1), Err(LinearError::Range { what: "matrix", .. })));
        // rounding to the coarse scale: ties up, floors on negatives
        assert_eq!([coarse(1 << 15), coarse((1 << 15) - 1), coarse(-(1 << 15)), coarse(-(1 << 15) - 1)], [1, 0, 0, -1]);
        // hostile shapes are errors, not panics
        assert_eq!(solve_fixed(&m, &[256], 2), Err(LinearError::Shape { n: 2, found: 1 }));
        assert_eq!(Lu::new(vec![], usize::MAX).unwrap_err(), LinearError::TooLarge { n: usize::MAX });
    }

    proptest! {
        /// Rounding the true solution always passes; so does any system of
        /// random diagonally dominant matrices.
        #[test]
        fn rounded_solutions_pass(n in 1usize..12, seed in any::<u64>()) {
            let mut s = seed;
            let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
            let mut m: Vec<i64> = (0..n * n).map(|_| (next() % 2001) as i64 - 1000).collect();
            for i in 0..n {
                m[i * n + i] = 20_000 + (next() % 5000) as i64;
            }
            let g: Vec<i64> = (0..n).map(|_| (next() % 100_001) as i64 - 50_000).collect();
            let u = solve_fixed(&m, &g, n).unwrap();
            prop_assert!(check(&m, &u, &g, n).is_ok());
        }
    }
}
