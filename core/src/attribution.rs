//! Native reference of the attribution the circuit proves.
//!
//! Influence is TracIn at one checkpoint, restricted to the last layer
//! (`W2`, `b2`), with the training loss the model was trained with — squared
//! error on the logits against one-hot targets, `L(z) = ½‖f(z) − y_z‖²` —
//! and the query's test function the predicted-class logit `f_c(q)`:
//!
//! `influence(z, q) = ⟨∇_{W2,b2} f_c(q), −∇_{W2,b2} L(z)⟩
//!                  = (y_z[c] − f_c(z)) · (⟨h_q, h_z⟩ + 1)`.
//!
//! In fixed point (see [`crate::fixed`]) with `S = 2^8`:
//! `score(z) = (y_z[c]·S² − f_c(z)) · (⟨h_q, h_z⟩ + S²)`, an exact integer at
//! scale `S⁴`; no rounding happens after the forward pass. Scores are summed
//! per contributor (net influence, signed) and a negative net counts as zero:
//! the clamp is per contributor, not per example.

use crate::{
    datanet::{Datanet, DigitPayload},
    fixed::{self, SCALE},
    model::{QuantizedModel, HIDDEN, INPUT, OUTPUT},
    Error, Result,
};
use alloy_primitives::Address;

/// The first layer's accumulators (scale 2^16, before rescale and ReLU)
/// of an image: `b1·2^8 + Σ w·pixel`.
pub fn accumulators(model: &QuantizedModel, pixels: &[u8]) -> [i64; HIDDEN] {
    let mut acc = [0i64; HIDDEN];
    for (j, a) in acc.iter_mut().enumerate() {
        *a = model.b1[j] as i64 * SCALE;
        for (w, p) in model.w1[j * INPUT..(j + 1) * INPUT].iter().zip(pixels) {
            *a += *w as i64 * fixed::pixel_to_fixed(*p);
        }
    }
    acc
}

/// Hidden activations (scale 2^8) of an image.
pub fn hidden(model: &QuantizedModel, pixels: &[u8]) -> [i64; HIDDEN] {
    accumulators(model, pixels).map(|acc| fixed::relu(fixed::rescale(acc)))
}

/// Logits (scale 2^16) from hidden activations.
pub fn logits(model: &QuantizedModel, h: &[i64; HIDDEN]) -> [i64; OUTPUT] {
    let mut f = [0i64; OUTPUT];
    for (k, fk) in f.iter_mut().enumerate() {
        *fk = model.b2[k] as i64 * SCALE
            + (0..HIDDEN).map(|j| model.w2[k * HIDDEN + j] as i64 * h[j]).sum::<i64>();
    }
    f
}

/// Argmax; ties go to the lowest index.
pub fn argmax(f: &[i64; OUTPUT]) -> usize {
    let mut best = 0;
    for k in 1..OUTPUT {
        if f[k] > f[best] {
            best = k;
        }
    }
    best
}

/// Predict a class.
pub fn predict(model: &QuantizedModel, pixels: &[u8]) -> usize {
    argmax(&logits(model, &hidden(model, pixels)))
}

/// Influence score of one training example on a query with hidden
/// activations `hq` and predicted class `class`.
pub fn score(model: &QuantizedModel, hq: &[i64; HIDDEN], class: usize, example: &DigitPayload) -> i128 {
    let hz = hidden(model, &example.pixels);
    let fz = logits(model, &hz);
    let s2 = (SCALE * SCALE) as i128;
    let target = if example.label as usize == class { s2 } else { 0 };
    let coeff = target - fz[class] as i128;
    let dot: i128 = (0..HIDDEN).map(|j| hq[j] as i128 * hz[j] as i128).sum::<i128>() + s2;
    coeff * dot
}

/// Attribution of a query over one aligned window of a datanet.
#[derive(Clone, Debug)]
pub struct Attribution {
    /// Window start index in the datanet.
    pub start: usize,
    /// Window size.
    pub size: usize,
    pub predicted: usize,
    pub logits: [i64; OUTPUT],
    pub hidden: [i64; HIDDEN],
    /// One score per example in the window.
    pub scores: Vec<i128>,
    /// Distinct contributors of the window, ascending, each with its net
    /// influence (the sum of its examples' scores) clamped at zero.
    pub totals: Vec<(Address, u128)>,
}

/// Attribute a query over `datanet[start .. start + size]`.
pub fn attribute(
    model: &QuantizedModel,
    datanet: &Datanet,
    start: usize,
    size: usize,
    query: &[u8],
) -> Result<Attribution> {
    crate::datanet::check_pixels(query).map_err(|reason| Error::Contribution { index: 0, reason })?;
    datanet.tree.window_root(start, size)?; // validates the window
    let hq = hidden(model, query);
    let fq = logits(model, &hq);
    let predicted = argmax(&fq);
    let window = &datanet.contributions[start..start + size];
    let scores: Vec<i128> = window.iter().map(|c| score(model, &hq, predicted, &c.payload)).collect();
    // each contributor's net influence over the window, clamped at zero
    let net: Vec<(Address, i128)> = window.iter().zip(&scores).map(|(c, s)| (c.contributor, *s)).collect();
    let totals = crate::payout::net_totals(&net)?;
    Ok(Attribution { start, size, predicted, logits: fq, hidden: hq, scores, totals })
}
