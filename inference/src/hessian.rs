//! The whole network's loss Hessian (1,210 × 1,210): what [`crate::influence::Method::InfluenceFull`] inverts.
//!
//! Parameters in one vector, in training's coordinates (see
//! [`crate::influence`]): the first layer row by row, each row `W1[j]`
//! followed by its bias (`HIDDEN × (INPUT + 1)` = 1,040 values), then the
//! last layer row by row, each `W2[k]` followed by its bias
//! (`OUTPUT × (HIDDEN + 1)` = 170 values).
//!
//! For the loss `½‖f − y‖²` averaged over the training set, the Hessian is
//! the Gauss–Newton part `(1/n) Σ_z J_zᵀ J_z` (`J_z = ∂f_z/∂θ`) plus the
//! residual part `(1/n) Σ_z Σ_k r_z[k] ∇²f_k(z)`. With ReLU the logits'
//! second derivatives are zero except between `W2[k][j]` and the first
//! layer's row `j`: `1[h_j > 0] · x̃`.

use lineage_core::model::{HIDDEN, INPUT, OUTPUT};

pub const H1: usize = HIDDEN + 1;
pub const X1: usize = INPUT + 1;
/// First-layer parameters.
pub const P1: usize = HIDDEN * X1;
/// All parameters.
pub const P: usize = P1 + OUTPUT * H1;

/// Index of first-layer parameter (unit `j`, input `k`; `k = INPUT` the bias).
#[inline]
pub fn first(j: usize, k: usize) -> usize {
    j * X1 + k
}

/// Index of last-layer parameter (output `k`, hidden `j`; `j = HIDDEN` the bias).
#[inline]
pub fn last(k: usize, j: usize) -> usize {
    P1 + k * H1 + j
}

/// One training example's factors: `x̃`, `h̃`, `r = f − y`.
pub struct Example<'a> {
    pub x: &'a [f32; X1],
    pub h: &'a [f32; H1],
    pub r: &'a [f32; OUTPUT],
}

/// The mean loss Hessian (row-major `P × P`, symmetric) of a model with
/// last layer `w2` (`OUTPUT × HIDDEN`) over the examples; `gauss_newton`
/// leaves out the residual part.
pub fn hessian<'a>(w2: &[f32], examples: impl Iterator<Item = Example<'a>>, gauss_newton: bool) -> Vec<f64> {
    // S[j][j'] = Σ_z m_j m_j' x̃x̃ᵀ (j ≤ j'), B[j] = Σ_z m_j x̃ h̃ᵀ, R[k][j] = Σ_z r_k m_j x̃, A = Σ h̃h̃ᵀ
    let pairs = HIDDEN * (HIDDEN + 1) / 2;
    let pair = |j: usize, jj: usize| j * HIDDEN - j * (j + 1) / 2 + jj; // j ≤ jj
    let mut s = vec![0f64; pairs * X1 * X1];
    let mut b = vec![0f64; HIDDEN * X1 * H1];
    let mut res = vec![0f64; OUTPUT * HIDDEN * X1];
    let mut a = [[0f64; H1]; H1];
    let mut n = 0usize;
    let mut outer = vec![0f64; X1 * X1];
    for e in examples {
        n += 1;
        let x: Vec<f64> = e.x.iter().map(|v| *v as f64).collect();
        let h: Vec<f64> = e.h.iter().map(|v| *v as f64).collect();
        for p in 0..X1 {
            for q in 0..X1 {
                outer[p * X1 + q] = x[p] * x[q];
            }
        }
        let active: Vec<usize> = (0..HIDDEN).filter(|j| e.h[*j] > 0.0).collect();
        for (ai, &j) in active.iter().enumerate() {
            for &jj in &active[ai..] {
                let blk = &mut s[pair(j, jj) * X1 * X1..(pair(j, jj) + 1) * X1 * X1];
                for (t, o) in blk.iter_mut().zip(&outer) {
                    *t += o;
                }
            }
            let blk = &mut b[j * X1 * H1..(j + 1) * X1 * H1];
            for p in 0..X1 {
                for q in 0..H1 {
                    blk[p * H1 + q] += x[p] * h[q];
                }
            }
            for k in 0..OUTPUT {
                let rk = e.r[k] as f64;
                let blk = &mut res[(k * HIDDEN + j) * X1..(k * HIDDEN + j + 1) * X1];
                for p in 0..X1 {
                    blk[p] += rk * x[p];
                }
            }
        }
        for p in 0..H1 {
            for q in 0..H1 {
                a[p][q] += h[p] * h[q];
            }
        }
    }
    let nf = n.max(1) as f64;
    let mut m = vec![0f64; P * P];
    let w = |k: usize, j: usize| w2[k * HIDDEN + j] as f64;
    // first × first: (W2ᵀW2)[j][j'] S[j][j']
    for j in 0..HIDDEN {
        for jj in j..HIDDEN {
            let c: f64 = (0..OUTPUT).map(|k| w(k, j) * w(k, jj)).sum::<f64>() / nf;
            let blk = &s[pair(j, jj) * X1 * X1..(pair(j, jj) + 1) * X1 * X1];
            for p in 0..X1 {
                for q in 0..X1 {
                    let v = c * blk[p * X1 + q];
                    m[first(j, p) * P + first(jj, q)] = v;
                    m[first(jj, q) * P + first(j, p)] = v;
                }
            }
        }
    }
    // first × last: W2[k][j] B[j] (+ residual R[k][j] in column (k, j))
    for j in 0..HIDDEN {
        for k in 0..OUTPUT {
            for p in 0..X1 {
                for q in 0..H1 {
                    let mut v = w(k, j) * b[(j * X1 + p) * H1 + q] / nf;
                    if !gauss_newton && q == j {
                        v += res[(k * HIDDEN + j) * X1 + p] / nf;
                    }
                    m[first(j, p) * P + last(k, q)] = v;
                    m[last(k, q) * P + first(j, p)] = v;
                }
            }
        }
    }
    // last × last: I ⊗ A
    for k in 0..OUTPUT {
        for p in 0..H1 {
            for q in 0..H1 {
                m[last(k, p) * P + last(k, q)] = a[p][q] / nf;
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::{Rng, SeedableRng};

    /// Hidden (with the 1) and logits at parameters `t`.
    fn forward(t: &[f64], x: &[f32; X1]) -> ([f32; H1], [f32; OUTPUT]) {
        let mut h = [1f32; H1];
        for j in 0..HIDDEN {
            h[j] = ((0..X1).map(|k| t[first(j, k)] * x[k] as f64).sum::<f64>()).max(0.0) as f32;
        }
        let mut f = [0f32; OUTPUT];
        for k in 0..OUTPUT {
            f[k] = (0..H1).map(|j| t[last(k, j)] * h[j] as f64).sum::<f64>() as f32;
        }
        (h, f)
    }

    /// The mean loss gradient at `t` (f64 throughout).
    fn gradient(t: &[f64], data: &[([f32; X1], usize)]) -> Vec<f64> {
        let mut g = vec![0f64; P];
        for (x, y) in data {
            let mut z = [0f64; HIDDEN];
            for j in 0..HIDDEN {
                z[j] = (0..X1).map(|k| t[first(j, k)] * x[k] as f64).sum();
            }
            let h: Vec<f64> = z.iter().map(|v| v.max(0.0)).chain([1.0]).collect();
            for k in 0..OUTPUT {
                let f: f64 = (0..H1).map(|j| t[last(k, j)] * h[j]).sum();
                let r = f - (*y == k) as u8 as f64;
                for j in 0..H1 {
                    g[last(k, j)] += r * h[j];
                }
                for j in 0..HIDDEN {
                    if z[j] > 0.0 {
                        for i in 0..X1 {
                            g[first(j, i)] += r * t[last(k, j)] * x[i] as f64;
                        }
                    }
                }
            }
        }
        g.iter().map(|v| v / data.len() as f64).collect()
    }

    #[test]
    fn hessian_matches_finite_differences_of_the_gradient() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let t: Vec<f64> = (0..P).map(|_| rng.gen_range(-0.5..0.5)).collect();
        let data: Vec<([f32; X1], usize)> = (0..40)
            .map(|_| {
                let mut x = [1f32; X1];
                for v in x.iter_mut().take(INPUT) {
                    *v = rng.gen_range(-0.3f32..0.7);
                }
                (x, rng.gen_range(0..OUTPUT))
            })
            .collect();
        let factors: Vec<([f32; H1], [f32; OUTPUT])> = data
            .iter()
            .map(|(x, y)| {
                let (h, mut f) = forward(&t, x);
                f[*y] -= 1.0;
                (h, f)
            })
            .collect();
        let w2: Vec<f32> = (0..OUTPUT).flat_map(|k| (0..HIDDEN).map(move |j| (k, j))).map(|(k, j)| t[last(k, j)] as f32).collect();
        let ex = || data.iter().zip(&factors).map(|((x, _), (h, r))| Example { x, h, r });
        let exact = hessian(&w2, ex(), false);
        let gn = hessian(&w2, ex(), true);
        let v: Vec<f64> = (0..P).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let eps = 1e-5;
        let shifted = |s: f64| t.iter().zip(&v).map(|(a, b)| a + s * b).collect::<Vec<f64>>();
        let (gp, gm) = (gradient(&shifted(eps), &data), gradient(&shifted(-eps), &data));
        let fd: Vec<f64> = gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * eps)).collect();
        let hv = |m: &[f64]| (0..P).map(|i| (0..P).map(|j| m[i * P + j] * v[j]).sum::<f64>()).collect::<Vec<f64>>();
        let err = |a: &[f64]| a.iter().zip(&fd).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        let scale = fd.iter().map(|x| x.abs()).fold(0.0, f64::max);
        // f32 factors: agreement to ~1e-5 of the scale
        assert!(err(&hv(&exact)) < 1e-4 * scale, "exact Hessian off by {} (scale {scale})", err(&hv(&exact)));
        // the Gauss–Newton part alone misses the residual term
        assert!(err(&hv(&gn)) > 1e-2 * scale, "Gauss–Newton should differ: {}", err(&hv(&gn)));
        for i in 0..P {
            for j in 0..i {
                assert_eq!(exact[i * P + j], exact[j * P + i]);
            }
        }
    }
}
