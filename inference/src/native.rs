//! The native (plain Rust, f32) trainer of the 64-16-10 MLP: the recipe of
//! [`crate::TrainConfig`], which [`crate::train`] runs here on the CPU (and
//! in candle on other devices, [`crate::train_candle`]). Written for
//! retraining thousands of times in the attribution eval, where candle's
//! per-op overhead dominates a model this small.
//!
//! It also takes what leave-out experiments need: a mask of the examples to
//! keep (`None` keeps all), and the epochs at which to save checkpoints
//! (TracIn over checkpoints).
//!
//! Deterministic: the same data, seed and recipe give the same bits on one
//! machine (no threads inside one training; rayon runs trainings side by side).

use crate::{init, FloatModel, TrainConfig, ADAM_EPS, B1_INIT, INPUT_CENTRE, L2};
use lineage_core::model::{HIDDEN, INPUT, OUTPUT};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Training inputs: pixels / 16 (row-major, n × 64) and labels.
#[derive(Clone, Debug)]
pub struct TrainSet {
    pub x: Vec<f32>,
    pub labels: Vec<u8>,
}

impl TrainSet {
    /// From a datanet's examples.
    pub fn from_datanet(d: &lineage_core::datanet::Datanet) -> Self {
        Self::from_examples(d.contributions.iter().map(|c| (c.payload.pixels.as_slice(), c.payload.label)))
    }

    /// From (pixels, label) pairs.
    pub fn from_examples<'a>(examples: impl Iterator<Item = (&'a [u8], u8)>) -> Self {
        let (mut x, mut labels) = (Vec::new(), Vec::new());
        for (p, l) in examples {
            x.extend(p.iter().map(|v| *v as f32 / 16.0));
            labels.push(l);
        }
        Self { x, labels }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels (scaled) of example `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.x[i * INPUT..(i + 1) * INPUT]
    }
}

/// Dot product with eight independent accumulators (so the compiler can
/// vectorise a float reduction it may not reorder).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y += a · x`.
#[inline]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Adam state of one parameter vector (bias-corrected; the L2 penalty's
/// gradient `L2 · θ` is added to the loss's, as candle's does when the
/// penalty is part of the loss).
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Self {
        Self { m: vec![0.0; n], v: vec![0.0; n] }
    }

    fn step(&mut self, p: &mut [f32], g: &[f32], lr: f32, c1: f32, c2: f32) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        const EPS: f32 = ADAM_EPS as f32;
        const L2_: f32 = L2 as f32;
        for i in 0..p.len() {
            // the gradient of the objective: the mean loss's plus the penalty's
            let gi = g[i] + L2_ * p[i];
            self.m[i] = B1 * self.m[i] + (1.0 - B1) * gi;
            self.v[i] = B2 * self.v[i] + (1.0 - B2) * gi * gi;
            let mh = self.m[i] / c1;
            let vh = self.v[i] / c2;
            p[i] -= lr * mh / (vh.sqrt() + EPS);
        }
    }
}

/// A trained model and the checkpoints asked for.
#[derive(Clone, Debug)]
pub struct Trained {
    pub model: FloatModel,
    /// `(epoch, model after that many epochs)`, in epoch order (an epoch
    /// asked for twice is saved once).
    pub checkpoints: Vec<(usize, FloatModel)>,
}

impl Trained {
    /// The checkpoints as TracIn weighs them: each checkpoint stands for
    /// the epochs since the one before it, and its weight is the learning
    /// rate summed over those epochs (`cfg` must be the training's).
    pub fn tracin_checkpoints(&self, cfg: &TrainConfig) -> Vec<(f32, FloatModel)> {
        let mut previous = 0;
        self.checkpoints
            .iter()
            .map(|(epoch, m)| {
                let weight: f64 = (previous + 1..=*epoch).map(|e| cfg.learning_rate_at(e)).sum();
                previous = *epoch;
                (weight as f32, m.clone())
            })
            .collect()
    }
}

/// Hidden activations and logits of one input under a float model (f32).
pub fn forward(m: &FloatModel, x: &[f32]) -> ([f32; HIDDEN], [f32; OUTPUT]) {
    let mut h = [0f32; HIDDEN];
    for j in 0..HIDDEN {
        h[j] = (m.b1[j] + dot(&m.w1[j * INPUT..(j + 1) * INPUT], x)).max(0.0);
    }
    let mut f = [0f32; OUTPUT];
    for k in 0..OUTPUT {
        f[k] = m.b2[k] + dot(&m.w2[k * HIDDEN..(k + 1) * HIDDEN], &h);
    }
    (h, f)
}

/// Argmax of logits (ties to the lowest index).
pub fn argmax(f: &[f32]) -> usize {
    (1..f.len()).fold(0, |b, k| if f[k] > f[b] { k } else { b })
}

/// Train on the examples whose `keep` entry is true (all when `None`).
/// `checkpoints` lists epochs (1..=epochs) whose parameters to save.
pub fn train(set: &TrainSet, cfg: &TrainConfig, keep: Option<&[bool]>, checkpoints: &[usize]) -> Trained {
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let mut w1 = init(&mut rng, HIDDEN * INPUT, INPUT);
    let mut b1 = init(&mut rng, HIDDEN, INPUT);
    let mut w2 = init(&mut rng, OUTPUT * HIDDEN, HIDDEN);
    let mut b2 = init(&mut rng, OUTPUT, HIDDEN);
    b1.fill(B1_INIT);
    let rows: Vec<usize> = (0..set.len()).filter(|i| keep.is_none_or(|k| k[*i])).collect();
    let n = rows.len().max(1) as f32;
    let (mut a_w1, mut a_b1, mut a_w2, mut a_b2) = (Adam::new(w1.len()), Adam::new(b1.len()), Adam::new(w2.len()), Adam::new(b2.len()));
    let (mut g_w1, mut g_b1, mut g_w2, mut g_b2) = (vec![0f32; w1.len()], vec![0f32; b1.len()], vec![0f32; w2.len()], vec![0f32; b2.len()]);
    let mut saved = Vec::new();
    let mut loss = f32::NAN;
    let (mut c1, mut c2) = (1f32, 1f32);
    let mut h = [0f32; HIDDEN];
    let mut x = [0f32; INPUT];
    // the model in the unshifted inputs: b1 − INPUT_CENTRE · Σ_k W1[j][k]
    let fold = |w1: &[f32], b1: &[f32], w2: &[f32], b2: &[f32], loss: f32| {
        let b1 = (0..HIDDEN).map(|j| b1[j] - INPUT_CENTRE * w1[j * INPUT..(j + 1) * INPUT].iter().sum::<f32>()).collect();
        FloatModel { w1: w1.to_vec(), b1, w2: w2.to_vec(), b2: b2.to_vec(), loss }
    };
    for epoch in 1..=cfg.epochs {
        g_w1.fill(0.0);
        g_b1.fill(0.0);
        g_w2.fill(0.0);
        g_b2.fill(0.0);
        let mut total = 0f32;
        for &i in &rows {
            for (xk, v) in x.iter_mut().zip(set.row(i)) {
                *xk = v - INPUT_CENTRE;
            }
            for j in 0..HIDDEN {
                h[j] = (b1[j] + dot(&w1[j * INPUT..(j + 1) * INPUT], &x)).max(0.0);
            }
            // r = (f − y) / n: the gradient of the mean loss at the logits
            let mut r = [0f32; OUTPUT];
            for k in 0..OUTPUT {
                let f = b2[k] + dot(&w2[k * HIDDEN..(k + 1) * HIDDEN], &h);
                let e = f - if set.labels[i] as usize == k { 1.0 } else { 0.0 };
                total += 0.5 * e * e;
                r[k] = e / n;
            }
            let mut d1 = [0f32; HIDDEN];
            for k in 0..OUTPUT {
                axpy(&mut g_w2[k * HIDDEN..(k + 1) * HIDDEN], r[k], &h);
                g_b2[k] += r[k];
                axpy(&mut d1, r[k], &w2[k * HIDDEN..(k + 1) * HIDDEN]);
            }
            for j in 0..HIDDEN {
                if h[j] > 0.0 {
                    axpy(&mut g_w1[j * INPUT..(j + 1) * INPUT], d1[j], &x);
                    g_b1[j] += d1[j];
                }
            }
        }
        loss = total / n;
        c1 *= 0.9;
        c2 *= 0.999;
        let (k1, k2) = (1.0 - c1, 1.0 - c2);
        let lr = cfg.learning_rate_at(epoch) as f32;
        a_w1.step(&mut w1, &g_w1, lr, k1, k2);
        a_b1.step(&mut b1, &g_b1, lr, k1, k2);
        a_w2.step(&mut w2, &g_w2, lr, k1, k2);
        a_b2.step(&mut b2, &g_b2, lr, k1, k2);
        if checkpoints.contains(&epoch) {
            saved.push((epoch, fold(&w1, &b1, &w2, &b2, loss)));
        }
    }
    // the loss reported is the last epoch's, before its step (as candle's trainer reports it)
    Trained { model: fold(&w1, &b1, &w2, &b2, loss), checkpoints: saved }
}

/// The model's input of an image: pixels ÷ 16 (missing pixels read as 0).
pub fn input(pixels: &[u8]) -> [f32; INPUT] {
    let mut x = [0f32; INPUT];
    for (xi, p) in x.iter_mut().zip(pixels) {
        *xi = *p as f32 / 16.0;
    }
    x
}

/// Fraction of `(pixels, label)` pairs a float model classifies right.
pub fn accuracy<'a>(m: &FloatModel, examples: impl Iterator<Item = (&'a [u8], u8)>) -> f64 {
    let (mut right, mut total) = (0usize, 0usize);
    for (p, l) in examples {
        right += (argmax(&forward(m, &input(p)).1) == l as usize) as usize;
        total += 1;
    }
    right as f64 / total.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_training_matches_candle_and_is_deterministic() {
        let d = crate::digits_datanet().unwrap();
        let set = TrainSet::from_datanet(&d);
        // past the warm-up, so both learning-rate phases are compared
        let cfg = TrainConfig { epochs: 60, ..Default::default() };
        assert!(cfg.warmup_epochs() < 60);
        let a = train(&set, &cfg, None, &[30]);
        let b = train(&set, &cfg, None, &[]);
        assert_eq!(a.model.w1, b.model.w1, "same seed, same bits");
        assert_eq!(a.checkpoints.len(), 1);
        let c = crate::train_candle(&d, &cfg, &candle_core::Device::Cpu).unwrap();
        // the same recipe in candle: equal up to float summation order
        let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(max_diff(&a.model.w2, &c.w2) < 1e-3, "native vs candle w2 differ by {}", max_diff(&a.model.w2, &c.w2));
        // the first layer's biases carry the input shift and its folding
        assert!(max_diff(&a.model.b1, &c.b1) < 1e-3, "native vs candle b1 differ by {}", max_diff(&a.model.b1, &c.b1));
        assert!(max_diff(&a.model.w1, &c.w1) < 1e-3, "native vs candle w1 differ by {}", max_diff(&a.model.w1, &c.w1));
        assert!((a.model.loss - c.loss).abs() < 1e-4, "loss {} vs {}", a.model.loss, c.loss);
    }

    #[test]
    fn a_masked_example_changes_nothing_it_should_not() {
        let set = TrainSet::from_examples([([1u8; 64].as_slice(), 3u8), ([2u8; 64].as_slice(), 5u8)].into_iter());
        let only_first = TrainSet::from_examples([([1u8; 64].as_slice(), 3u8)].into_iter());
        let cfg = TrainConfig { epochs: 5, ..Default::default() };
        let masked = train(&set, &cfg, Some(&[true, false]), &[]);
        let alone = train(&only_first, &cfg, None, &[]);
        assert_eq!(masked.model.w1, alone.model.w1);
        assert_eq!(masked.model.b2, alone.model.b2);
    }
}
