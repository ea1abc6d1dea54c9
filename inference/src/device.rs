//! Scores on a candle device (CUDA with the `cuda` feature, or the CPU):
//! the methods whose score is `−⟨w_q, ∇L(z)⟩` at the final model for one
//! query vector `w_q` ([`Attributor::query_vector`]: `tracin`, `influence`,
//! `influence-full`, `influence-kfac`). The per-example gradients of the
//! whole network are one `N × 1,210` matrix, uploaded once per model; a
//! query is one matrix–vector product. The query vector itself (a small
//! solve) is computed on the CPU.

use crate::hessian::P;
use crate::influence::{Attributor, Method, Scores};
use candle_core::{DType, Device, Tensor};

/// Errors of device scoring.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{0} has no single query vector; device scoring covers tracin, influence, influence-full and influence-kfac")]
    Unsupported(Method),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}

/// The per-example gradients of one model on a device.
pub struct DeviceScorer {
    grads: Tensor,
    device: Device,
}

impl DeviceScorer {
    /// Upload every example's whole-network gradient (f32, `N × 1,210`).
    pub fn new(at: &Attributor, device: &Device) -> Result<Self, DeviceError> {
        let n = at.len();
        let mut flat = Vec::with_capacity(n * P);
        for z in 0..n {
            flat.extend(at.gradient(z).iter().map(|v| *v as f32));
        }
        Ok(Self { grads: Tensor::from_vec(flat, (n, P), device)?, device: device.clone() })
    }

    /// The device's scores of every example (in f32; the CPU path is the f64 reference).
    pub fn scores(&self, at: &Attributor, method: Method, pixels: &[u8]) -> Result<Scores, DeviceError> {
        let class = at.predict(pixels);
        let w = at.query_vector(method, pixels, class).ok_or(DeviceError::Unsupported(method))?;
        let w = Tensor::from_vec(w.iter().map(|v| -*v as f32).collect::<Vec<f32>>(), (P, 1), &self.device)?;
        let s = self.grads.matmul(&w)?.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        Ok(Scores { class, examples: s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::{self, TrainSet};

    fn check(device: &Device) {
        let d = crate::digits_datanet().unwrap();
        let set = TrainSet::from_datanet(&d);
        let cfg = crate::TrainConfig { epochs: 100, ..Default::default() };
        let t = native::train(&set, &cfg, None, &[]);
        let at = Attributor::new(&t.model, &[], &set);
        let scorer = DeviceScorer::new(&at, device).unwrap();
        let heldout = crate::digits_heldout().unwrap();
        for q in heldout.queries.iter().take(5) {
            for method in [Method::TracIn, Method::Influence, Method::InfluenceFull, Method::InfluenceKfac] {
                let cpu = at.scores(method, &q.pixels);
                let dev = scorer.scores(&at, method, &q.pixels).unwrap();
                assert_eq!(cpu.class, dev.class);
                let scale = cpu.examples.iter().map(|v| v.abs()).fold(0.0, f64::max);
                let err = cpu.examples.iter().zip(&dev.examples).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                // f32 on the device against the f64 reference
                assert!(err <= 1e-4 * scale, "{method}: largest difference {err} (scale {scale})");
            }
        }
        assert!(matches!(scorer.scores(&at, Method::DataInf, &heldout.queries[0].pixels), Err(DeviceError::Unsupported(Method::DataInf))));
    }

    #[test]
    fn device_scores_match_the_reference_on_the_cpu() {
        check(&Device::Cpu);
    }

    /// Needs an NVIDIA GPU: built only with the `cuda` feature.
    #[cfg(feature = "cuda")]
    #[test]
    fn device_scores_match_the_reference_on_cuda() {
        check(&Device::new_cuda(0).expect("a CUDA device"));
    }
}
