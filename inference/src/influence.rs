//! Gradient influence of every training example on a query, in float
//! (the reference the eval measures against retraining).
//!
//! Notation, per training example `z` with pixels `x_z` (÷16) and label
//! `y_z` under a float model: hidden `h_z`, logits `f_z`, `h̃_z = [h_z; 1]`,
//! `x̃_z = [x_z; 1]`, the loss `L(z) = ½‖f_z − y_z‖²` with residual
//! `r_z = f_z − y_z`, and the hidden-layer error `δ_z = (W2ᵀ r_z) ⊙ 1[h_z > 0]`.
//! The loss gradient is `r_z ⊗ h̃_z` for the last layer (`W2`, `b2`) and
//! `δ_z ⊗ x̃_z` for the first (`W1`, `b1`).
//!
//! The query's test function is its predicted-class logit `f_c(q)`, with
//! gradient `e_c ⊗ h̃_q` (last layer) and `v_q ⊗ x̃_q`,
//! `v_q = W2[c] ⊙ 1[h_q > 0]` (first layer).
//!
//! First-layer gradients are taken in the coordinates training stepped in:
//! `x̃ = [pixel/16 − INPUT_CENTRE; 1]` (see [`crate::INPUT_CENTRE`]).
//!
//! Every score is signed so that positive means "including `z` raises
//! `f_c(q)`" (it helped the answer):
//!
//! * [`Method::TracIn`]: `−⟨∇f_c(q), ∇L(z)⟩` over the last layer at the
//!   final weights, `−r_z[c]·⟨h̃_q, h̃_z⟩` — what the circuit proves today.
//! * [`Method::TracInCp`]: Σ over saved checkpoints of the learning rate
//!   summed over the epochs each checkpoint stands for ×
//!   `−⟨∇f_c(q), ∇L(z)⟩` over all layers
//!   ([`crate::native::Trained::tracin_checkpoints`]).
//! * [`Method::Influence`]: the influence function with the last layer's
//!   damped Gauss–Newton matrix, exactly. For this loss that matrix is
//!   `I₁₀ ⊗ A`, `A = (1/n) Σ_z h̃_z h̃_zᵀ` (17 × 17), so
//!   `−∇f_c(q)ᵀ (G + λI)⁻¹ ∇L(z) = −r_z[c]·⟨u, h̃_z⟩` with `u` the solution of
//!   `(A + λI) u = h̃_q`: one small linear system per query.
//! * [`Method::InfluenceFull`]: the influence function over the whole
//!   network (1,210 parameters): `−∇f_c(q)ᵀ (G + (L2 + λ) I)⁻¹ ∇L(z)`, with
//!   `G` the whole Gauss–Newton matrix (cross-layer blocks included,
//!   [`crate::hessian`]), the L2 penalty's curvature and damping
//!   `λ = FULL_DAMPING · tr(G)/1210`; one 1,210-square LU per model, one
//!   solve per query. The Hessian with its residual term is indefinite at
//!   this model and tracked worse (ATTRIBUTION.md).
//! * [`Method::InfluenceKfac`]: the whole network block-diagonally: the last
//!   layer exactly as [`Method::Influence`] (its damping, no L2 term), the
//!   first layer's block replaced by its K-FAC factors `S ⊗ A₁` (`S = mean (W2ᵀW2) ⊙ m mᵀ`,
//!   `A₁ = mean x̃x̃ᵀ`, each damped by [`DAMPING`] × its mean eigenvalue) and
//!   no cross-layer blocks: per query two small solves, `a = S⁻¹v_q` and
//!   `b = A₁⁻¹x̃_q`, and per example `−(δ_z·a)(x̃_z·b) − r_z[c]⟨u, h̃_z⟩` —
//!   the shape a circuit can check (three linear systems of 16, 65 and 17
//!   unknowns, then a few dot products per example).
//! * [`Method::DataInf`]: DataInf's closed form (Kwon et al., ICLR 2024) over
//!   both layers: per layer, `(G + λI)⁻¹ ≈ (1/λ)(I − (1/n) Σ_i L_i L_iᵀ / (λ + ‖L_i‖²))`,
//!   with the paper's `λ_l = 0.1 · mean_i ‖L_i‖² / d_l` (`d_l` the layer's
//!   parameter count: 170 and 1,040); a layer whose gradients are all zero
//!   adds nothing.
//!
//! Baselines: [`Method::ClassCount`] (1 for an example of the predicted
//! class, 0 otherwise) and [`Method::Uniform`] (1 for every example).

use crate::native::{forward, input as scaled, TrainSet};
use crate::{hessian, FloatModel};
use lineage_core::model::{HIDDEN, INPUT, OUTPUT};
use serde::Serialize;

use rayon::prelude::*;

/// Per-example work is split across rayon's threads in runs of at least
/// this many examples (below it, one thread: the split would cost more).
const PAR_MIN: usize = 4096;

/// `f(z)` for every example `z < n`, in parallel for large `n`.
fn per_example(n: usize, f: impl Fn(usize) -> f64 + Sync + Send) -> Vec<f64> {
    (0..n).into_par_iter().with_min_len(PAR_MIN).map(f).collect()
}

const H1: usize = HIDDEN + 1;
const X1: usize = INPUT + 1;

/// The influence function's damping, relative to the mean eigenvalue of
/// `A` (`λ = DAMPING · tr(A) / 17`).
pub const DAMPING: f64 = 0.01;
/// DataInf's damping per layer, relative to the mean squared gradient
/// entry `mean_i ‖L_i‖² / d_l` (the paper's 0.1).
pub const DATAINF_DAMPING: f64 = 0.1;

/// An attribution method (or a baseline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    TracIn,
    TracInCp,
    Influence,
    InfluenceFull,
    InfluenceKfac,
    DataInf,
    ClassCount,
    Uniform,
}

impl Method {
    /// Every method, the baselines last.
    pub const ALL: [Method; 8] = [Method::TracIn, Method::TracInCp, Method::Influence, Method::InfluenceFull, Method::InfluenceKfac, Method::DataInf, Method::ClassCount, Method::Uniform];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::TracIn => "tracin",
            Method::TracInCp => "tracin-cp",
            Method::Influence => "influence",
            Method::InfluenceFull => "influence-full",
            Method::InfluenceKfac => "influence-kfac",
            Method::DataInf => "datainf",
            Method::ClassCount => "class-count",
            Method::Uniform => "uniform",
        }
    }

    /// Parse a [`Method::name`].
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// A trivial baseline rather than a gradient method.
    pub fn is_baseline(self) -> bool {
        matches!(self, Method::ClassCount | Method::Uniform)
    }
}

/// In JSON: its [`Method::name`].
impl Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-example gradient factors of one model over a training set.
#[derive(Clone, Debug)]
struct Grads {
    model: FloatModel,
    /// `h̃_z`
    h: Vec<[f32; H1]>,
    /// `r_z = f_z − y_z`
    r: Vec<[f32; OUTPUT]>,
    /// `δ_z = (W2ᵀ r_z) ⊙ 1[h_z > 0]`
    d: Vec<[f32; HIDDEN]>,
}

impl Grads {
    fn new(model: &FloatModel, set: &TrainSet) -> Self {
        let n = set.len();
        let (mut h, mut r, mut d) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let (hz, fz) = forward(model, set.row(i));
            let mut ht = [1f32; H1];
            ht[..HIDDEN].copy_from_slice(&hz);
            let mut rz = fz;
            rz[set.labels[i] as usize] -= 1.0;
            let mut dz = [0f32; HIDDEN];
            for j in 0..HIDDEN {
                if hz[j] > 0.0 {
                    dz[j] = (0..OUTPUT).map(|k| model.w2[k * HIDDEN + j] * rz[k]).sum();
                }
            }
            h.push(ht);
            r.push(rz);
            d.push(dz);
        }
        Self { model: model.clone(), h, r, d }
    }

    /// The query's test-function gradient factors for class `c`: `h̃_q`, `v_q`.
    fn query(&self, x: &[f32; INPUT], c: usize) -> ([f32; H1], [f32; HIDDEN]) {
        let (hq, _) = forward(&self.model, x);
        let mut ht = [1f32; H1];
        ht[..HIDDEN].copy_from_slice(&hq);
        let mut v = [0f32; HIDDEN];
        for j in 0..HIDDEN {
            if hq[j] > 0.0 {
                v[j] = self.model.w2[c * HIDDEN + j];
            }
        }
        (ht, v)
    }
}

/// Scores of every training example for one query.
#[derive(Clone, Debug)]
pub struct Scores {
    /// The predicted class whose logit is the test function.
    pub class: usize,
    /// One score per training example, in the training set's order.
    pub examples: Vec<f64>,
}

/// Attribution over one trained model (and, for TracIn over checkpoints,
/// its checkpoints): the per-model work done once, then any number of
/// queries.
pub struct Attributor {
    /// The training labels (the class-count baseline).
    labels: Vec<u8>,
    /// `x̃_z` in training's coordinates (see the module doc)
    x: Vec<[f32; X1]>,
    final_: Grads,
    /// `(learning rate, gradients at that checkpoint)`
    checkpoints: Vec<(f32, Grads)>,
    /// `(A + λI)⁻¹` of the influence function.
    a_inv: [[f64; H1]; H1],
    /// DataInf: per layer `λ_l` and per example `‖L_i‖²`.
    lambda2: f64,
    lambda1: f64,
    norm2: Vec<f64>,
    norm1: Vec<f64>,
    /// The whole network's damped Hessian, factored (None if singular).
    full: Option<lineage_core::linear::Lu>,
    /// K-FAC factors of the first layer, damped and inverted: `S⁻¹` (16 × 16), `A₁⁻¹` (65 × 65).
    s_inv: [[f64; HIDDEN]; HIDDEN],
    a1_inv: Box<[[f64; X1]; X1]>,
}

fn dot64<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Invert a symmetric positive-definite matrix (Gauss–Jordan with partial
/// pivoting, f64).
fn invert<const N: usize>(m: [[f64; N]; N]) -> [[f64; N]; N] {
    let mut a = m;
    let mut inv = [[0f64; N]; N];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..N {
        let p = (col..N).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs())).unwrap_or(col);
        a.swap(col, p);
        inv.swap(col, p);
        let d = a[col][col];
        for k in 0..N {
            a[col][k] /= d;
            inv[col][k] /= d;
        }
        for r in 0..N {
            if r != col {
                let f = a[r][col];
                if f != 0.0 {
                    for k in 0..N {
                        a[r][k] -= f * a[col][k];
                        inv[r][k] -= f * inv[col][k];
                    }
                }
            }
        }
    }
    inv
}

impl Attributor {
    /// Prepare a model trained on `set` (and its checkpoints with the
    /// learning rate each stands for).
    pub fn new(model: &FloatModel, checkpoints: &[(f32, FloatModel)], set: &TrainSet) -> Self {
        let n = set.len();
        let x: Vec<[f32; X1]> = (0..n).map(|i| centred(set.row(i))).collect();
        let final_ = Grads::new(model, set);
        let checkpoints = checkpoints.iter().map(|(lr, m)| (*lr, Grads::new(m, set))).collect();
        // A = (1/n) Σ h̃ h̃ᵀ
        let mut a = [[0f64; H1]; H1];
        for h in &final_.h {
            for i in 0..H1 {
                for j in 0..H1 {
                    a[i][j] += h[i] as f64 * h[j] as f64;
                }
            }
        }
        let nf = n.max(1) as f64;
        let mut trace = 0.0;
        for (i, row) in a.iter_mut().enumerate() {
            for v in row.iter_mut() {
                *v /= nf;
            }
            trace += row[i];
        }
        let lambda = DAMPING * trace / H1 as f64;
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += lambda;
        }
        let a_inv = invert(a);
        let norm2: Vec<f64> = (0..n).map(|i| dot64(&final_.r[i], &final_.r[i]) * dot64(&final_.h[i], &final_.h[i])).collect();
        let norm1: Vec<f64> = (0..n).map(|i| dot64(&final_.d[i], &final_.d[i]) * dot64(&x[i], &x[i])).collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / nf;
        let lambda2 = DATAINF_DAMPING * mean(&norm2) / (OUTPUT * H1) as f64;
        let lambda1 = DATAINF_DAMPING * mean(&norm1) / (HIDDEN * X1) as f64;
        let full = full_hessian(&final_, &x);
        let (s_inv, a1_inv) = kfac(&final_, &x);
        Self { labels: set.labels.clone(), x, final_, checkpoints, a_inv, lambda2, lambda1, norm2, norm1, full, s_inv, a1_inv }
    }

    /// The training set's size.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The class the final model predicts for `pixels`.
    pub fn predict(&self, pixels: &[u8]) -> usize {
        crate::native::argmax(&forward(&self.final_.model, &scaled(pixels)).1)
    }

    /// Scores of every training example for a query (64 pixels, 0..=16)
    /// with the final model's predicted class as the test function.
    pub fn scores(&self, method: Method, pixels: &[u8]) -> Scores {
        let class = self.predict(pixels);
        self.scores_for(method, pixels, class)
    }

    /// Scores with the logit of `class` as the test function.
    pub fn scores_for(&self, method: Method, pixels: &[u8], class: usize) -> Scores {
        let xq = scaled(pixels);
        let xc = centred(&xq);
        let g = &self.final_;
        let n = self.len();
        let examples = match method {
            Method::Uniform => vec![1.0; n],
            Method::ClassCount => self.labels.iter().map(|l| (*l as usize == class) as u8 as f64).collect(),
            Method::TracIn => {
                let (hq, _) = g.query(&xq, class);
                per_example(n, |z| -(g.r[z][class] as f64) * dot64(&hq, &g.h[z]))
            }
            Method::TracInCp => {
                let q: Vec<_> = self.checkpoints.iter().map(|(lr, cp)| (*lr as f64, cp, cp.query(&xq, class))).collect();
                per_example(n, |z| {
                    q.iter()
                        .map(|(lr, cp, (hq, vq))| {
                            let last = cp.r[z][class] as f64 * dot64(hq, &cp.h[z]);
                            let first = dot64(vq, &cp.d[z]) * dot64(&xc, &self.x[z]);
                            -lr * (last + first)
                        })
                        .sum()
                })
            }
            Method::Influence => {
                let (hq, _) = g.query(&xq, class);
                let u = self.solve(&hq);
                per_example(n, |z| -(g.r[z][class] as f64) * (0..H1).map(|k| u[k] * g.h[z][k] as f64).sum::<f64>())
            }
            Method::InfluenceFull => match self.query_vector(method, pixels, class) {
                Some(u) => per_example(n, |z| -self.full_dot(&u, z)),
                None => vec![0.0; n],
            },
            Method::InfluenceKfac => {
                let (hq, vq) = g.query(&xq, class);
                let (u, a, b) = self.kfac_solve(&hq, &vq, &xc);
                per_example(n, |z| {
                    let da: f64 = (0..HIDDEN).map(|j| g.d[z][j] as f64 * a[j]).sum();
                    let xb: f64 = (0..X1).map(|k| self.x[z][k] as f64 * b[k]).sum();
                    -(da * xb + g.r[z][class] as f64 * (0..H1).map(|k| u[k] * g.h[z][k] as f64).sum::<f64>())
                })
            }
            Method::DataInf => self.datainf(&xq, &xc, class),
        };
        Scores { class, examples }
    }

    /// `⟨u, ∇L(z)⟩` over the whole network.
    fn full_dot(&self, u: &[f64], z: usize) -> f64 {
        let g = &self.final_;
        let mut s = 0.0;
        for j in 0..HIDDEN {
            if g.d[z][j] != 0.0 {
                let row = &u[hessian::first(j, 0)..hessian::first(j, 0) + X1];
                s += g.d[z][j] as f64 * row.iter().zip(&self.x[z]).map(|(a, b)| a * *b as f64).sum::<f64>();
            }
        }
        for k in 0..OUTPUT {
            let row = &u[hessian::last(k, 0)..hessian::last(k, 0) + H1];
            s += g.r[z][k] as f64 * row.iter().zip(&g.h[z]).map(|(a, b)| a * *b as f64).sum::<f64>();
        }
        s
    }

    /// The vector `w_q` with every score `−⟨w_q, ∇L(z)⟩` (whole-network
    /// coordinates of [`crate::hessian`]), for the methods that have one at
    /// the final model: `tracin` (`∇f_c(q)` over the last layer),
    /// `influence`, `influence-full` and `influence-kfac` (the preconditioned
    /// test gradient). `None` for the others.
    pub fn query_vector(&self, method: Method, pixels: &[u8], class: usize) -> Option<Vec<f64>> {
        let xq = scaled(pixels);
        let xc = centred(&xq);
        let (hq, vq) = self.final_.query(&xq, class);
        let mut w = vec![0f64; hessian::P];
        match method {
            Method::TracIn => {
                for j in 0..H1 {
                    w[hessian::last(class, j)] = hq[j] as f64;
                }
            }
            Method::Influence => {
                let u = self.solve(&hq);
                for j in 0..H1 {
                    w[hessian::last(class, j)] = u[j];
                }
            }
            Method::InfluenceFull => {
                for j in 0..HIDDEN {
                    for k in 0..X1 {
                        w[hessian::first(j, k)] = vq[j] as f64 * xc[k] as f64;
                    }
                }
                for j in 0..H1 {
                    w[hessian::last(class, j)] = hq[j] as f64;
                }
                // a singular system (never at this damping) scores nothing
                return Some(self.full.as_ref().and_then(|lu| lu.solve(&w).ok()).unwrap_or_else(|| vec![0.0; hessian::P]));
            }
            Method::InfluenceKfac => {
                let (u, a, b) = self.kfac_solve(&hq, &vq, &xc);
                for j in 0..HIDDEN {
                    for k in 0..X1 {
                        w[hessian::first(j, k)] = a[j] * b[k];
                    }
                }
                for j in 0..H1 {
                    w[hessian::last(class, j)] = u[j];
                }
            }
            _ => return None,
        }
        Some(w)
    }

    /// K-FAC's three solves for a query: `u = (A + λI)⁻¹ h̃_q`, `a = S⁻¹ v_q`, `b = A₁⁻¹ x̃_q`.
    fn kfac_solve(&self, hq: &[f32; H1], vq: &[f32; HIDDEN], xc: &[f32; X1]) -> ([f64; H1], Vec<f64>, Vec<f64>) {
        let a = (0..HIDDEN).map(|i| (0..HIDDEN).map(|j| self.s_inv[i][j] * vq[j] as f64).sum()).collect();
        let b = (0..X1).map(|i| (0..X1).map(|j| self.a1_inv[i][j] * xc[j] as f64).sum()).collect();
        (self.solve(hq), a, b)
    }

    /// `∇L(z)` over the whole network, as one vector.
    pub fn gradient(&self, z: usize) -> Vec<f64> {
        let g = &self.final_;
        let mut v = vec![0f64; hessian::P];
        for j in 0..HIDDEN {
            for k in 0..X1 {
                v[hessian::first(j, k)] = g.d[z][j] as f64 * self.x[z][k] as f64;
            }
        }
        for k in 0..OUTPUT {
            for j in 0..H1 {
                v[hessian::last(k, j)] = g.r[z][k] as f64 * g.h[z][j] as f64;
            }
        }
        v
    }

    /// `u = (A + λI)⁻¹ h̃_q`.
    pub fn solve(&self, hq: &[f32; H1]) -> [f64; H1] {
        let mut u = [0f64; H1];
        for (i, ui) in u.iter_mut().enumerate() {
            *ui = (0..H1).map(|k| self.a_inv[i][k] * hq[k] as f64).sum();
        }
        u
    }

    fn datainf(&self, xq: &[f32; INPUT], xc: &[f32; X1], c: usize) -> Vec<f64> {
        let g = &self.final_;
        let n = self.len();
        let nf = n.max(1) as f64;
        let (hq, vq) = g.query(xq, c);
        // vᵀL_i per layer
        let p2: Vec<f64> = (0..n).map(|i| g.r[i][c] as f64 * dot64(&hq, &g.h[i])).collect();
        let p1: Vec<f64> = (0..n).map(|i| dot64(&vq, &g.d[i]) * dot64(xc, &self.x[i])).collect();
        // M = (1/n) Σ a_i L_i with a_i = vᵀL_i / (λ + ‖L_i‖²), as matrices r⊗h̃ and δ⊗x̃
        let mut m2 = [[0f64; H1]; OUTPUT];
        let mut m1 = vec![[0f64; X1]; HIDDEN];
        for i in 0..n {
            let a2 = damped(p2[i], self.lambda2 + self.norm2[i]) / nf;
            if a2 != 0.0 {
                for k in 0..OUTPUT {
                    let f = a2 * g.r[i][k] as f64;
                    for (mj, hj) in m2[k].iter_mut().zip(&g.h[i]) {
                        *mj += f * *hj as f64;
                    }
                }
            }
            let a1 = damped(p1[i], self.lambda1 + self.norm1[i]) / nf;
            if a1 != 0.0 {
                for j in 0..HIDDEN {
                    let f = a1 * g.d[i][j] as f64;
                    if f != 0.0 {
                        for (mk, xk) in m1[j].iter_mut().zip(&self.x[i]) {
                            *mk += f * *xk as f64;
                        }
                    }
                }
            }
        }
        per_example(n, |z| {
                let mut cross2 = 0.0;
                for k in 0..OUTPUT {
                    cross2 += g.r[z][k] as f64 * (0..H1).map(|j| m2[k][j] * g.h[z][j] as f64).sum::<f64>();
                }
                let mut cross1 = 0.0;
                for j in 0..HIDDEN {
                    if g.d[z][j] != 0.0 {
                        cross1 += g.d[z][j] as f64 * (0..X1).map(|k| m1[j][k] * self.x[z][k] as f64).sum::<f64>();
                    }
                }
                -damped(p2[z] - cross2, self.lambda2) - damped(p1[z] - cross1, self.lambda1)
        })
    }

    /// Self-influence of every training example (how much each example's
    /// own loss depends on itself: large for mislabelled data), or, for a
    /// baseline, the training loss `½‖r_z‖²` (the loss-only ranking).
    pub fn self_influence(&self, method: Method) -> Vec<f64> {
        let g = &self.final_;
        let n = self.len();
        match method {
            Method::ClassCount | Method::Uniform => (0..n).map(|z| 0.5 * dot64(&g.r[z], &g.r[z])).collect(),
            Method::TracIn => self.norm2.clone(),
            Method::TracInCp => {
                let mut s = vec![0f64; n];
                for (lr, cp) in &self.checkpoints {
                    for (z, sz) in s.iter_mut().enumerate() {
                        let last = dot64(&cp.r[z], &cp.r[z]) * dot64(&cp.h[z], &cp.h[z]);
                        let first = dot64(&cp.d[z], &cp.d[z]) * dot64(&self.x[z], &self.x[z]);
                        *sz += *lr as f64 * (last + first);
                    }
                }
                s
            }
            Method::Influence => (0..n)
                .map(|z| {
                    let u = self.solve(&g.h[z]);
                    dot64(&g.r[z], &g.r[z]) * (0..H1).map(|k| u[k] * g.h[z][k] as f64).sum::<f64>()
                })
                .collect(),
            Method::InfluenceFull => match &self.full {
                Some(lu) => per_example_all(n, |z| {
                    let gz = self.gradient(z);
                    lu.solve(&gz).map_or(0.0, |u| u.iter().zip(&gz).map(|(a, b)| a * b).sum())
                }),
                None => vec![0.0; n],
            },
            Method::InfluenceKfac => (0..n)
                .map(|z| {
                    let u = self.solve(&g.h[z]);
                    let last = dot64(&g.r[z], &g.r[z]) * (0..H1).map(|k| u[k] * g.h[z][k] as f64).sum::<f64>();
                    let d = &g.d[z];
                    let sd: f64 = (0..HIDDEN).map(|i| d[i] as f64 * (0..HIDDEN).map(|j| self.s_inv[i][j] * d[j] as f64).sum::<f64>()).sum();
                    let xz = &self.x[z];
                    let ax: f64 = (0..X1).map(|i| xz[i] as f64 * (0..X1).map(|j| self.a1_inv[i][j] * xz[j] as f64).sum::<f64>()).sum();
                    last + sd * ax
                })
                .collect(),
            Method::DataInf => {
                let nf = n.max(1) as f64;
                (0..n)
                    .map(|z| {
                        // (1/λ)[‖L_z‖² − (1/n) Σ_i (L_z·L_i)² / (λ + ‖L_i‖²)] per layer
                        let (mut c2, mut c1) = (0.0, 0.0);
                        for i in 0..n {
                            let l2 = dot64(&g.r[z], &g.r[i]) * dot64(&g.h[z], &g.h[i]);
                            c2 += damped(l2 * l2, self.lambda2 + self.norm2[i]);
                            let l1 = dot64(&g.d[z], &g.d[i]) * dot64(&self.x[z], &self.x[i]);
                            c1 += damped(l1 * l1, self.lambda1 + self.norm1[i]);
                        }
                        damped(self.norm2[z] - c2 / nf, self.lambda2) + damped(self.norm1[z] - c1 / nf, self.lambda1)
                    })
                    .collect()
            }
        }
    }
}

/// `f(z)` for every example, split across rayon's threads from the first
/// (for per-example work that is itself heavy).
fn per_example_all(n: usize, f: impl Fn(usize) -> f64 + Sync + Send) -> Vec<f64> {
    (0..n).into_par_iter().map(f).collect()
}

/// K-FAC's factors of the first layer's Gauss–Newton block,
/// `E[(W2ᵀW2) ⊙ m mᵀ] ⊗ E[x̃ x̃ᵀ]` (`m` the active-unit mask), each damped by
/// [`DAMPING`] × its mean eigenvalue, inverted.
fn kfac(g: &Grads, x: &[[f32; X1]]) -> ([[f64; HIDDEN]; HIDDEN], Box<[[f64; X1]; X1]>) {
    let w = &g.model.w2;
    let mut c = [[0f64; HIDDEN]; HIDDEN];
    for i in 0..HIDDEN {
        for j in 0..HIDDEN {
            c[i][j] = (0..OUTPUT).map(|k| w[k * HIDDEN + i] as f64 * w[k * HIDDEN + j] as f64).sum();
        }
    }
    let mut s = [[0f64; HIDDEN]; HIDDEN];
    let mut a = Box::new([[0f64; X1]; X1]);
    for (z, xz) in x.iter().enumerate() {
        let h = &g.h[z];
        for i in 0..HIDDEN {
            if h[i] > 0.0 {
                for j in 0..HIDDEN {
                    if h[j] > 0.0 {
                        s[i][j] += c[i][j];
                    }
                }
            }
        }
        for i in 0..X1 {
            for j in 0..X1 {
                a[i][j] += xz[i] as f64 * xz[j] as f64;
            }
        }
    }
    let nf = x.len().max(1) as f64;
    let damp = DAMPING;
    // a factor that is all zero (every unit dead, or no examples) is damped
    // to a multiple of I instead: its layer's gradients are zero anyway
    let positive = |t: f64| if t > 0.0 { t } else { 1.0 };
    let ts = positive((0..HIDDEN).map(|i| s[i][i]).sum::<f64>() / nf / HIDDEN as f64);
    let ta = positive((0..X1).map(|i| a[i][i]).sum::<f64>() / nf / X1 as f64);
    for i in 0..HIDDEN {
        for j in 0..HIDDEN {
            s[i][j] /= nf;
        }
        s[i][i] += damp * ts;
    }
    for i in 0..X1 {
        for j in 0..X1 {
            a[i][j] /= nf;
        }
        a[i][i] += damp * ta;
    }
    (invert(s), Box::new(invert(*a)))
}

/// The whole network's damping beyond the L2 penalty, relative to the
/// Gauss–Newton matrix's mean diagonal (0.001, 0.01 and 0.1 measured:
/// ATTRIBUTION.md).
pub const FULL_DAMPING: f64 = 0.1;

/// The whole network's Gauss–Newton matrix at the final model, plus the L2
/// penalty's `L2 · I` and the damping, factored.
fn full_hessian(g: &Grads, x: &[[f32; X1]]) -> Option<lineage_core::linear::Lu> {
    let examples = (0..x.len()).map(|z| hessian::Example { x: &x[z], h: &g.h[z], r: &g.r[z] });
    let mut m = hessian::hessian(&g.model.w2, examples, true);
    let trace: f64 = (0..hessian::P).map(|i| m[i * hessian::P + i]).sum();
    let lambda = crate::L2 + FULL_DAMPING * trace / hessian::P as f64;
    for i in 0..hessian::P {
        m[i * hessian::P + i] += lambda;
    }
    lineage_core::linear::Lu::new(m, hessian::P).ok()
}

/// `num / den`, or 0 where `den` is 0: a DataInf layer whose gradients are
/// all zero (every unit dead, or a perfect fit) has `λ = 0` and adds nothing.
fn damped(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// `x̃` in training's coordinates: `[x − INPUT_CENTRE; 1]`.
fn centred(x: &[f32]) -> [f32; X1] {
    let mut v = [1f32; X1];
    for (vi, xi) in v.iter_mut().zip(x.iter().take(INPUT)) {
        *vi = xi - crate::INPUT_CENTRE;
    }
    v
}

/// Number contributors: their distinct addresses in order, and for each
/// example (in the given order) the index of its contributor among them.
pub fn contributor_index(examples: &[alloy_primitives::Address]) -> (Vec<alloy_primitives::Address>, Vec<usize>) {
    let mut addresses = examples.to_vec();
    addresses.sort();
    addresses.dedup();
    let owners = examples.iter().map(|a| addresses.binary_search(a).unwrap_or(0)).collect();
    (addresses, owners)
}

/// Sum per-example scores per contributor (`owners[z]` indexes the contributor).
pub fn per_contributor(scores: &[f64], owners: &[usize], contributors: usize) -> Vec<f64> {
    let mut out = vec![0f64; contributors];
    for (s, o) in scores.iter().zip(owners) {
        out[*o] += s;
    }
    out
}

/// The payout rule on float scores: positive influence only, normalised
/// over the query — each contributor's net influence (the sum of its
/// examples' scores) clamped at zero, divided by the total; the same rule as
/// `lineage_core::payout::split_net`, which the chain pays by. All zeros
/// when no contributor's net influence is positive.
pub fn payout_shares(scores: &[f64], owners: &[usize], contributors: usize) -> Vec<f64> {
    let sums: Vec<f64> = per_contributor(scores, owners, contributors).into_iter().map(|s| s.max(0.0)).collect();
    let total: f64 = sums.iter().sum();
    if total > 0.0 {
        sums.iter().map(|s| s / total).collect()
    } else {
        vec![0.0; contributors]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native;

    /// A hand-checkable model: identity-like first layer on two pixels,
    /// two hidden units used, logits read them directly.
    fn tiny() -> (FloatModel, TrainSet) {
        let mut w1 = vec![0f32; HIDDEN * INPUT];
        w1[0] = 1.0; // h0 = x0
        w1[INPUT + 1] = 1.0; // h1 = x1
        let mut w2 = vec![0f32; OUTPUT * HIDDEN];
        w2[0] = 1.0; // f0 = h0
        w2[HIDDEN + 1] = 1.0; // f1 = h1
        let m = FloatModel { w1, b1: vec![0.0; HIDDEN], w2, b2: vec![0.0; OUTPUT], loss: 0.0 };
        let mut a = [0u8; 64];
        a[0] = 8; // x0 = 0.5
        let mut b = [0u8; 64];
        b[1] = 16; // x1 = 1
        let set = TrainSet::from_examples([(a.as_slice(), 0u8), (b.as_slice(), 1u8)].into_iter());
        (m, set)
    }

    #[test]
    fn tracin_by_hand() {
        let (m, set) = tiny();
        let at = Attributor::new(&m, &[], &set);
        // query x0 = 1: h = (1, 0, …), f0 = 1 → class 0
        let mut q = [0u8; 64];
        q[0] = 16;
        let s = at.scores(Method::TracIn, &q);
        assert_eq!(s.class, 0);
        // example a: h = (0.5, 0, …), f0 = 0.5, r0 = −0.5: −r0 · (⟨h_q, h_a⟩ + 1) = 0.5 · 1.5
        assert!((s.examples[0] - 0.75).abs() < 1e-9, "{}", s.examples[0]);
        // example b: f0 = 0, label 1 → r0 = 0: no influence on class 0
        assert_eq!(s.examples[1], 0.0);
        assert_eq!(at.scores(Method::ClassCount, &q).examples, vec![1.0, 0.0]);
        assert_eq!(at.scores(Method::Uniform, &q).examples, vec![1.0, 1.0]);
    }

    #[test]
    fn influence_solves_the_damped_gauss_newton_system() {
        let (m, set) = tiny();
        let at = Attributor::new(&m, &[], &set);
        let mut q = [0u8; 64];
        q[0] = 16;
        let (hq, _) = at.final_.query(&scaled(&q), 0);
        let u = at.solve(&hq);
        // (A + λI) u = h̃_q, with A = ½(h̃_a h̃_aᵀ + h̃_b h̃_bᵀ)
        let mut a = [[0f64; H1]; H1];
        for h in &at.final_.h {
            for i in 0..H1 {
                for j in 0..H1 {
                    a[i][j] += 0.5 * h[i] as f64 * h[j] as f64;
                }
            }
        }
        let trace: f64 = (0..H1).map(|i| a[i][i]).sum();
        for i in 0..H1 {
            let lhs: f64 = (0..H1).map(|j| (a[i][j] + if i == j { DAMPING * trace / H1 as f64 } else { 0.0 }) * u[j]).sum();
            assert!((lhs - hq[i] as f64).abs() < 1e-9, "row {i}: {lhs} vs {}", hq[i]);
        }
        let s = at.scores(Method::Influence, &q);
        let expect = 0.5 * (0..H1).map(|k| u[k] * at.final_.h[0][k] as f64).sum::<f64>();
        assert!((s.examples[0] - expect).abs() < 1e-12);
    }

    /// Explicit loss gradients (last layer then first, 170 + 1040 values).
    fn dense_grad(g: &Grads, x: &[f32; X1], z: usize) -> (Vec<f64>, Vec<f64>) {
        let last = (0..OUTPUT).flat_map(|k| (0..H1).map(move |j| g.r[z][k] as f64 * g.h[z][j] as f64)).collect();
        let first = (0..HIDDEN).flat_map(|j| (0..X1).map(move |k| g.d[z][j] as f64 * x[k] as f64)).collect();
        (last, first)
    }

    fn dense_dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn datainf_matches_its_formula_on_explicit_gradients() {
        let d = crate::digits_datanet().unwrap();
        let set = TrainSet::from_examples(d.contributions.iter().step_by(60).map(|c| (c.payload.pixels.as_slice(), c.payload.label)));
        let cfg = crate::TrainConfig { epochs: 40, ..Default::default() };
        let t = native::train(&set, &cfg, None, &[]);
        let at = Attributor::new(&t.model, &[(0.5, t.model.clone())], &set);
        let q = &crate::digits_heldout().unwrap().queries[3].pixels;
        let c = at.predict(q);
        let g = &at.final_;
        let xq = scaled(q);
        let (hq, vq) = g.query(&xq, c);
        // first-layer gradients in training's coordinates: [x − INPUT_CENTRE; 1]
        let xc = centred(&xq);
        assert_eq!(xc[INPUT], 1.0);
        assert_eq!(xc[0], xq[0] - crate::INPUT_CENTRE);
        let v2: Vec<f64> = (0..OUTPUT).flat_map(|k| (0..H1).map(move |j| if k == c { hq[j] as f64 } else { 0.0 })).collect();
        let v1: Vec<f64> = (0..HIDDEN).flat_map(|j| (0..X1).map(move |k| vq[j] as f64 * xc[k] as f64)).collect();
        let grads: Vec<_> = (0..set.len()).map(|z| dense_grad(g, &at.x[z], z)).collect();
        let n = set.len() as f64;
        // the paper's damping: 0.1 × the mean squared gradient entry of the layer
        let lam2 = 0.1 * grads.iter().map(|(l, _)| dense_dot(l, l)).sum::<f64>() / (n * 170.0);
        let lam1 = 0.1 * grads.iter().map(|(_, f)| dense_dot(f, f)).sum::<f64>() / (n * 1040.0);
        assert_eq!((grads[0].0.len(), grads[0].1.len()), (170, 1040));
        let di = at.scores(Method::DataInf, q).examples;
        let cp = at.scores(Method::TracInCp, q).examples;
        for (z, (l2, l1)) in grads.iter().enumerate() {
            let layer = |v: &[f64], lz: &[f64], lam: f64, pick: &dyn Fn(&(Vec<f64>, Vec<f64>)) -> Vec<f64>| {
                let corr: f64 = grads.iter().map(|gi| {
                    let li = pick(gi);
                    dense_dot(v, &li) * dense_dot(&li, lz) / (lam + dense_dot(&li, &li))
                }).sum::<f64>() / n;
                -(dense_dot(v, lz) - corr) / lam
            };
            let want = layer(&v2, l2, lam2, &|g| g.0.clone()) + layer(&v1, l1, lam1, &|g| g.1.clone());
            assert!((di[z] - want).abs() <= 1e-6 * want.abs().max(1e-3), "example {z}: {} vs {want}", di[z]);
            // TracIn at one checkpoint of learning rate ½: −½⟨∇f_c(q), ∇L(z)⟩ over both layers
            let tc = -0.5 * (dense_dot(&v2, l2) + dense_dot(&v1, l1));
            assert!((cp[z] - tc).abs() <= 1e-6 * tc.abs().max(1e-3), "example {z}: {} vs {tc}", cp[z]);
        }
    }

    /// A small trained model, a query and its class.
    fn small() -> (Attributor, TrainSet, Vec<u8>, usize) {
        let d = crate::digits_datanet().unwrap();
        let set = TrainSet::from_examples(d.contributions.iter().step_by(120).map(|c| (c.payload.pixels.as_slice(), c.payload.label)));
        let cfg = crate::TrainConfig { epochs: 40, ..Default::default() };
        let t = native::train(&set, &cfg, None, &[]);
        let at = Attributor::new(&t.model, &[], &set);
        let q = crate::digits_heldout().unwrap().queries[5].pixels.clone();
        let c = at.predict(&q);
        (at, set, q, c)
    }

    #[test]
    fn influence_full_solves_the_whole_gauss_newton_system() {
        use crate::hessian::{first, last, P};
        use lineage_core::linear::Lu;
        let (at, set, q, c) = small();
        let g = &at.final_;
        let n = set.len();
        // explicit Jacobians J_z (10 × 1210) and G = (1/n) Σ J_zᵀ J_z
        let jac = |z: usize| -> Vec<Vec<f64>> {
            (0..OUTPUT)
                .map(|k| {
                    let mut row = vec![0f64; P];
                    for j in 0..HIDDEN {
                        if g.h[z][j] > 0.0 {
                            for i in 0..X1 {
                                row[first(j, i)] = g.model.w2[k * HIDDEN + j] as f64 * at.x[z][i] as f64;
                            }
                        }
                    }
                    for j in 0..H1 {
                        row[last(k, j)] = g.h[z][j] as f64;
                    }
                    row
                })
                .collect()
        };
        let mut m = vec![0f64; P * P];
        for z in 0..n {
            let jz = jac(z);
            for row in &jz {
                let nz: Vec<usize> = (0..P).filter(|i| row[*i] != 0.0).collect();
                for &a in &nz {
                    for &b in &nz {
                        m[a * P + b] += row[a] * row[b] / n as f64;
                    }
                }
            }
        }
        let trace: f64 = (0..P).map(|i| m[i * P + i]).sum();
        for i in 0..P {
            m[i * P + i] += crate::L2 + FULL_DAMPING * trace / P as f64;
        }
        let lu = Lu::new(m, P).unwrap();
        // the test function's gradient: row c of the query's Jacobian
        let (hq, vq) = g.query(&scaled(&q), c);
        let xc = centred(&scaled(&q));
        let mut gq = vec![0f64; P];
        for j in 0..HIDDEN {
            for i in 0..X1 {
                gq[first(j, i)] = vq[j] as f64 * xc[i] as f64;
            }
        }
        for j in 0..H1 {
            gq[last(c, j)] = hq[j] as f64;
        }
        let u = lu.solve(&gq).unwrap();
        let s = at.scores(Method::InfluenceFull, &q).examples;
        let si = at.self_influence(Method::InfluenceFull);
        for z in 0..n {
            // ∇L(z) = J_zᵀ r_z
            let jz = jac(z);
            let grad: Vec<f64> = (0..P).map(|i| (0..OUTPUT).map(|k| jz[k][i] * g.r[z][k] as f64).sum()).collect();
            let want = -dense_dot(&u, &grad);
            assert!((s[z] - want).abs() <= 1e-4 * want.abs().max(1e-3), "example {z}: {} vs {want}", s[z]);
            let self_want = dense_dot(&lu.solve(&grad).unwrap(), &grad);
            assert!((si[z] - self_want).abs() <= 1e-4 * self_want.abs().max(1e-3), "self {z}: {} vs {self_want}", si[z]);
        }
    }

    // (f32 factors against f64 sums: agreement to ~1e-5 relative)
    #[test]
    fn influence_kfac_is_its_kronecker_formula() {
        let (at, set, q, c) = small();
        let g = &at.final_;
        let n = set.len() as f64;
        // S = mean (W2ᵀW2) ⊙ m mᵀ, A₁ = mean x̃x̃ᵀ, each + DAMPING × mean diagonal
        let mut sm = vec![0f64; HIDDEN * HIDDEN];
        let mut am = vec![0f64; X1 * X1];
        for z in 0..set.len() {
            for i in 0..HIDDEN {
                for j in 0..HIDDEN {
                    if g.h[z][i] > 0.0 && g.h[z][j] > 0.0 {
                        sm[i * HIDDEN + j] += (0..OUTPUT).map(|k| (g.model.w2[k * HIDDEN + i] * g.model.w2[k * HIDDEN + j]) as f64).sum::<f64>() / n;
                    }
                }
            }
            for i in 0..X1 {
                for j in 0..X1 {
                    am[i * X1 + j] += (at.x[z][i] * at.x[z][j]) as f64 / n;
                }
            }
        }
        let ts = (0..HIDDEN).map(|i| sm[i * HIDDEN + i]).sum::<f64>() / HIDDEN as f64;
        let ta = (0..X1).map(|i| am[i * X1 + i]).sum::<f64>() / X1 as f64;
        (0..HIDDEN).for_each(|i| sm[i * HIDDEN + i] += DAMPING * ts);
        (0..X1).for_each(|i| am[i * X1 + i] += DAMPING * ta);
        let (hq, vq) = g.query(&scaled(&q), c);
        let xc = centred(&scaled(&q));
        let a = lineage_core::linear::Lu::new(sm, HIDDEN).unwrap().solve(&vq.map(|v| v as f64)).unwrap();
        let b = lineage_core::linear::Lu::new(am, X1).unwrap().solve(&xc.map(|v| v as f64)).unwrap();
        let u = at.solve(&hq);
        let s = at.scores(Method::InfluenceKfac, &q).examples;
        for z in 0..set.len() {
            // ⟨a ⊗ b, δ_z ⊗ x̃_z⟩ + the last layer's influence
            let (l2, l1) = dense_grad(g, &at.x[z], z);
            let first: f64 = (0..HIDDEN).flat_map(|j| (0..X1).map(move |i| (j, i))).zip(&l1).map(|((j, i), gz)| a[j] * b[i] * gz).sum();
            let last: f64 = (0..H1).map(|j| u[j] * l2[c * H1 + j]).sum();
            let want = -(first + last);
            assert!((s[z] - want).abs() <= 1e-4 * want.abs().max(1e-3), "example {z}: {} vs {want}", s[z]);
        }
    }

    #[test]
    fn contributors_are_numbered_in_address_order() {
        let (a, b) = (alloy_primitives::Address::repeat_byte(2), alloy_primitives::Address::repeat_byte(1));
        assert_eq!(contributor_index(&[a, b, a]), (vec![b, a], vec![1, 0, 1]));
    }

    #[test]
    fn shares_take_positive_influence_only_and_sum_to_one() {
        // contributor 1: net −4, paid nothing
        let s = payout_shares(&[2.0, -5.0, 1.0, 1.0], &[0, 1, 1, 2], 3);
        assert_eq!(s, vec![2.0 / 3.0, 0.0, 1.0 / 3.0]);
        // the clamp is per contributor: 0's examples +3 and −1 count as +2
        assert_eq!(payout_shares(&[3.0, -1.0, 2.0], &[0, 0, 1], 2), vec![0.5, 0.5]);
        assert_eq!(payout_shares(&[-1.0, 0.0], &[0, 1], 2), vec![0.0, 0.0]);
        assert_eq!(per_contributor(&[2.0, -5.0, 1.0], &[0, 1, 1], 2), vec![2.0, -4.0]);
    }
}
