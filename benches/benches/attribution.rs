//! Scores per second of each attribution method against the datanet's
//! size N: one query scored over every example (float; one thread below
//! 4,096 examples, rayon's threads above), after
//! the per-model work (`Attributor::new`), which is done once per model.
//! N > 1,438 uses the augmented digits (`augmented_digits`).
//!
//! The per-model work itself is timed once, at N = 1,438.
//!
//! `cargo bench -p lineage-benches --bench attribution`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lineage_inference::{
    eval::{checkpoint_epochs, EvalConfig},
    influence::{Attributor, Method},
    native::{self, TrainSet},
    TrainConfig,
};
use std::time::Duration;

fn attribution(c: &mut Criterion) {
    let cfg = TrainConfig::default();
    let digits = lineage_inference::digits_datanet().unwrap();
    let trained = native::train(&TrainSet::from_datanet(&digits), &cfg, None, &checkpoint_epochs(cfg.epochs, EvalConfig::default().checkpoints));
    let cps = trained.tracin_checkpoints(&cfg);
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    let mut group = c.benchmark_group("attribution");
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for n in [256usize, 1438, 16_384] {
        let datanet = if n == 1438 { digits.clone() } else { lineage_inference::augmented_digits(n, 1).unwrap() };
        let at = Attributor::new(&trained.model, &cps, &TrainSet::from_datanet(&datanet));
        group.throughput(Throughput::Elements(n as u64));
        for method in [Method::TracIn, Method::TracInCp, Method::Influence, Method::InfluenceFull, Method::InfluenceKfac, Method::DataInf] {
            group.bench_with_input(BenchmarkId::new(method.name(), n), &n, |b, _| b.iter(|| at.scores(method, &query)));
        }
    }
    group.finish();
    // the per-model work, once per model: every method's factors, the
    // whole network's 1,210-square Gauss–Newton matrix and its LU
    let mut group = c.benchmark_group("attribution-per-model");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(10));
    let set = TrainSet::from_datanet(&digits);
    group.bench_function("Attributor::new/1438", |b| b.iter(|| Attributor::new(&trained.model, &cps, &set)));
    group.finish();
}

criterion_group!(benches, attribution);
criterion_main!(benches);
