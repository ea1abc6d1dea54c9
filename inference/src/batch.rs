//! The fixed-point forward pass and TracIn influence of many images at once
//! on a candle device — the CPU, or a CUDA GPU with the `cuda` feature.
//!
//! Exact by construction: every intermediate value of the fixed-point
//! specification (`lineage_core::fixed`) is an integer of magnitude below
//! 2^53 — layer-1 accumulators < 2^31, hidden activations < 2^24, logits
//! < 2^48, and `⟨h_q, h_z⟩ + S²` < 2^53 — so f64 tensors hold them exactly and
//! any summation order gives the same result; the layer-1 rescale
//! `floor((acc + 2^7) / 2^8)` is exact in f64 too. Hidden activations,
//! logits and predictions therefore equal the native reference bit for
//! bit. Only the final product `(y_z[c]·S² − f_c(z)) · (⟨h_q,h_z⟩ + S²)`
//! (up to 2^101) is rounded, once, to f64: each score is within a relative
//! 2^-53 of the exact integer ([`SCORE_REL_BOUND`] allows for it).

use crate::Result;
use candle_core::{Device, Tensor};
use lineage_core::{
    fixed::{self, SCALE},
    model::{QuantizedModel, HIDDEN, INPUT, OUTPUT},
};

/// Largest relative difference allowed between a score computed here and
/// the exact integer score: one f64 rounding of the final product (2^-53),
/// with margin.
pub const SCORE_REL_BOUND: f64 = 1.0 / (1u64 << 50) as f64;

/// A quantised model's parameters as f64 tensors on a device.
pub struct BatchModel {
    w1t: Tensor,
    b1: Tensor,
    w2t: Tensor,
    b2: Tensor,
    device: Device,
}

/// Fixed-point pixels (`p · 2^(F−4)`) of images, as an `N × 64` f64 tensor.
/// Pixels must lie in the spec's `0..=16` (the exactness bounds rest on it).
pub fn pixel_tensor(images: &[&[u8]], device: &Device) -> Result<Tensor> {
    for (index, im) in images.iter().enumerate() {
        lineage_core::datanet::check_pixels(im).map_err(|reason| lineage_core::Error::Contribution { index, reason })?;
    }
    let data: Vec<f64> = images.iter().flat_map(|im| im.iter().map(|p| fixed::pixel_to_fixed(*p) as f64)).collect();
    Ok(Tensor::from_vec(data, (images.len(), INPUT), device)?)
}

impl BatchModel {
    pub fn new(model: &QuantizedModel, device: &Device) -> Result<Self> {
        let f = |v: &[i32]| v.iter().map(|x| *x as f64).collect::<Vec<_>>();
        let s = SCALE as f64;
        let w1t = Tensor::from_vec(f(&model.w1), (HIDDEN, INPUT), device)?.t()?.contiguous()?;
        let w2t = Tensor::from_vec(f(&model.w2), (OUTPUT, HIDDEN), device)?.t()?.contiguous()?;
        let b1 = (Tensor::from_vec(f(&model.b1), (1, HIDDEN), device)? * s)?;
        let b2 = (Tensor::from_vec(f(&model.b2), (1, OUTPUT), device)? * s)?;
        Ok(Self { w1t, b1, w2t, b2, device: device.clone() })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Hidden activations (`N × 16`, scale 2^8) and logits (`N × 10`, scale
    /// 2^16) of `N × 64` fixed-point pixels — the native `hidden` and
    /// `logits`, exactly.
    pub fn forward(&self, pixels: &Tensor) -> Result<(Tensor, Tensor)> {
        let s = SCALE as f64;
        let acc = pixels.matmul(&self.w1t)?.broadcast_add(&self.b1)?;
        let h = ((acc + s / 2.0)? / s)?.floor()?.relu()?;
        let f = h.matmul(&self.w2t)?.broadcast_add(&self.b2)?;
        Ok((h, f))
    }

    /// Predicted classes (ties to the lowest index, as the native argmax).
    pub fn predict(&self, pixels: &Tensor) -> Result<Vec<usize>> {
        let (_, f) = self.forward(pixels)?;
        Ok(f.to_vec2::<f64>()?.iter().map(|row| argmax(row)).collect())
    }
}

fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for k in 1..row.len() {
        if row[k] > row[best] {
            best = k;
        }
    }
    best
}

/// The training side of influence, computed once per (model, datanet):
/// hidden activations, `Y·S² − F` and the contributor membership matrix.
pub struct Examples {
    /// `N × 16` hidden activations.
    hidden_t: Tensor,
    /// `N × 10`: `y_z[k]·S² − f_k(z)`.
    residual: Tensor,
    /// `N × C`: one-hot contributor of each example.
    membership: Tensor,
    pub len: usize,
}

impl Examples {
    /// `images[i]` with label `labels[i]` from contributor index `owners[i] < contributors`.
    pub fn new(model: &BatchModel, images: &[&[u8]], labels: &[u8], owners: &[usize], contributors: usize) -> Result<Self> {
        let dev = model.device();
        let n = images.len();
        if labels.len() != n || owners.len() != n {
            return Err(lineage_core::Error::ModelShape(format!("{n} images, {} labels, {} owners", labels.len(), owners.len())).into());
        }
        if let Some(i) = (0..n).find(|&i| labels[i] as usize >= OUTPUT || owners[i] >= contributors) {
            let reason = format!("label {} or owner {} out of range", labels[i], owners[i]);
            return Err(lineage_core::Error::Contribution { index: i, reason }.into());
        }
        let (h, f) = model.forward(&pixel_tensor(images, dev)?)?;
        let s2 = (SCALE * SCALE) as f64;
        let mut y = vec![0f64; n * OUTPUT];
        let mut m = vec![0f64; n * contributors];
        for i in 0..n {
            y[i * OUTPUT + labels[i] as usize] = s2;
            m[i * contributors + owners[i]] = 1.0;
        }
        let residual = (Tensor::from_vec(y, (n, OUTPUT), dev)? - f)?;
        let membership = Tensor::from_vec(m, (n, contributors), dev)?;
        Ok(Self { hidden_t: h.t()?.contiguous()?, residual, membership, len: n })
    }
}

/// Influence of every example on each of `Q` queries.
pub struct Influence {
    /// Predicted class of each query.
    pub predicted: Vec<usize>,
    /// `Q × N` scores (scale S⁴), on the device.
    pub scores: Tensor,
    /// `Q × C` per-contributor totals under the payout rule: each
    /// contributor's net influence clamped at zero (scale S⁴).
    pub totals: Vec<Vec<f64>>,
}

/// Scores `(y_z[c_q]·S² − f_{c_q}(z)) · (⟨h_q, h_z⟩ + S²)` for all queries
/// and examples, summed per contributor and clamped at zero (the payout
/// rule, `lineage_core::payout::net_totals`).
pub fn influence(model: &BatchModel, examples: &Examples, queries: &Tensor) -> Result<Influence> {
    let dev = model.device();
    let (hq, fq) = model.forward(queries)?;
    let predicted: Vec<usize> = fq.to_vec2::<f64>()?.iter().map(|r| argmax(r)).collect();
    let q = predicted.len();
    let mut onehot = vec![0f64; OUTPUT * q];
    for (j, c) in predicted.iter().enumerate() {
        onehot[c * q + j] = 1.0;
    }
    let onehot = Tensor::from_vec(onehot, (OUTPUT, q), dev)?;
    // N × Q coefficients, transposed to Q × N
    let coeff = examples.residual.matmul(&onehot)?.t()?;
    let dot = (hq.matmul(&examples.hidden_t)? + (SCALE * SCALE) as f64)?;
    let scores = (coeff * dot)?;
    let totals = scores.matmul(&examples.membership)?.relu()?.to_vec2::<f64>()?;
    Ok(Influence { predicted, scores, totals })
}

/// The device the `cuda` feature selects (GPU 0), or an error saying why not.
pub fn cuda_device() -> Result<Device> {
    Ok(Device::new_cuda(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lineage_core::attribution;

    /// The candle CPU path equals the native reference: forward pass and
    /// predictions exactly, scores and per-contributor totals within the bound.
    #[test]
    fn batched_influence_matches_the_native_reference() {
        let datanet = crate::digits_datanet().unwrap();
        let cfg = crate::TrainConfig { epochs: 60, ..Default::default() };
        let model = crate::train(&datanet, &cfg, &Device::Cpu).unwrap().quantize().unwrap();
        let bm = BatchModel::new(&model, &Device::Cpu).unwrap();
        let images: Vec<&[u8]> = datanet.contributions.iter().map(|c| c.payload.pixels.as_slice()).collect();
        let pixels = pixel_tensor(&images, &Device::Cpu).unwrap();
        let (h, _) = bm.forward(&pixels).unwrap();
        let h = h.to_vec2::<f64>().unwrap();
        for (i, im) in images.iter().enumerate() {
            let native = attribution::hidden(&model, im);
            assert!(native.iter().zip(&h[i]).all(|(a, b)| *a as f64 == *b), "hidden of image {i}");
        }
        let predicted = bm.predict(&pixels).unwrap();
        assert!(images.iter().zip(&predicted).all(|(im, p)| attribution::predict(&model, im) == *p));

        let contributors = datanet.contributors();
        let owners: Vec<usize> = datanet.contributions.iter().map(|c| contributors.binary_search(&c.contributor).unwrap()).collect();
        let labels: Vec<u8> = datanet.contributions.iter().map(|c| c.payload.label).collect();
        let ex = Examples::new(&bm, &images, &labels, &owners, contributors.len()).unwrap();
        let queries = [0usize, 500, 1400];
        let q_images: Vec<&[u8]> = queries.iter().map(|i| images[*i]).collect();
        let inf = influence(&bm, &ex, &pixel_tensor(&q_images, &Device::Cpu).unwrap()).unwrap();
        let scores = inf.scores.to_vec2::<f64>().unwrap();
        for (qi, qimg) in q_images.iter().enumerate() {
            let hq = attribution::hidden(&model, qimg);
            let c = attribution::predict(&model, qimg);
            assert_eq!(inf.predicted[qi], c);
            let mut totals = vec![0f64; contributors.len()];
            let mut magnitude = vec![0f64; contributors.len()];
            for (z, ex) in datanet.contributions.iter().enumerate() {
                let exact = attribution::score(&model, &hq, c, &ex.payload);
                let got = scores[qi][z];
                assert!((got - exact as f64).abs() <= exact.unsigned_abs() as f64 * SCORE_REL_BOUND, "query {qi} example {z}: {got} vs {exact}");
                totals[owners[z]] += exact as f64;
                magnitude[owners[z]] += exact.unsigned_abs() as f64;
            }
            for ((a, b), m) in totals.iter().zip(&inf.totals[qi]).zip(&magnitude) {
                assert!((a.max(0.0) - b).abs() <= m * 1e-12, "{a} vs {b}");
            }
            assert!(inf.totals[qi].iter().all(|t| *t >= 0.0));
        }
    }
}
