//! Where the fixed-point influence scores part from float: the quantised
//! weights, or the fixed-point arithmetic. For `influence` and
//! `influence-kfac` over every held-out query, top-10 agreement and the
//! largest score error of
//!
//! * float on the float model against float on the *dequantised* model
//!   (the weights rounded to the spec's 2^-8: the quantisation alone),
//! * the fixed-point specification (`lineage_core::kfac`) against float on
//!   the dequantised model (the arithmetic alone),
//! * the fixed-point specification against float on the float model (both).
//!
//! `cargo run --release -p lineage-inference --example fixed_vs_float`

use lineage_core::kfac::{self, Kind};
use lineage_inference::{
    influence::{Attributor, Method},
    native::{self, TrainSet},
    FloatModel, TrainConfig,
};

fn top10(v: &[f64]) -> Vec<usize> {
    let mut i: Vec<usize> = (0..v.len()).collect();
    i.sort_by(|a, b| v[*b].total_cmp(&v[*a]));
    i.truncate(10);
    i
}

fn agreement(a: &[f64], b: &[f64]) -> f64 {
    let (ta, tb) = (top10(a), top10(b));
    ta.iter().filter(|i| tb.contains(i)).count() as f64 / 10.0
}

fn main() {
    let d = lineage_inference::digits_datanet().expect("digits datanet");
    let heldout = lineage_inference::digits_heldout().expect("held-out queries");
    let set = TrainSet::from_datanet(&d);
    let trained = native::train(&set, &TrainConfig::default(), None, &[]);
    let qm = trained.model.quantize().expect("quantise");
    let deq = |v: &[i32]| v.iter().map(|x| *x as f32 / 256.0).collect::<Vec<f32>>();
    let dequantised = FloatModel { w1: deq(&qm.w1), b1: deq(&qm.b1), w2: deq(&qm.w2), b2: deq(&qm.b2), loss: 0.0 };
    let float_at = Attributor::new(&trained.model, &[], &set);
    let deq_at = Attributor::new(&dequantised, &[], &set);
    let table = lineage_core::features::FeatureTable::build(&qm, &d).expect("feature table");
    let factors = kfac::Factors::build(&qm, &table).expect("factors");
    let scale = (1u64 << kfac::SCORE_SCALE_BITS) as f64;
    println!("method           quantisation (float vs dequantised)  arithmetic (fixed vs dequantised)  both (fixed vs float)   max |float score|");
    for (method, kind) in [(Method::Influence, Kind::LastLayer), (Method::InfluenceKfac, Kind::Kfac)] {
        let mut sums = [0f64; 3];
        let mut errs = [0f64; 3];
        let mut largest = 0f64;
        for q in &heldout.queries {
            let float = float_at.scores(method, &q.pixels);
            let dq = deq_at.scores_for(method, &q.pixels, float.class).examples;
            // the float model's class, so that a differing prediction does not count as a score error
            let (_, fixed) = kfac::scores(&qm, &factors, &q.pixels, Some(float.class), kind).expect("fixed scores");
            let fixed: Vec<f64> = fixed.iter().map(|v| *v as f64 / scale).collect();
            let fl = &float.examples;
            for (k, (a, b)) in [(fl, &dq), (&fixed, &dq), (&fixed, fl)].into_iter().enumerate() {
                sums[k] += agreement(a, b);
                errs[k] = a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(errs[k], f64::max);
            }
            largest = fl.iter().map(|v| v.abs()).fold(largest, f64::max);
        }
        let n = heldout.queries.len() as f64;
        println!(
            "{:<16} {:.4} (max err {:.4})                {:.4} (max err {:.4})              {:.4} (max err {:.4})   {largest:.1}",
            method.name(),
            sums[0] / n,
            errs[0],
            sums[1] / n,
            errs[1],
            sums[2] / n,
            errs[2]
        );
    }
}
