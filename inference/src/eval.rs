//! How well each attribution method tracks what the data actually did:
//! measured against retraining, on held-out queries only.
//!
//! * **Stability.** The recipe trained with `stability_seeds` seeds on the
//!   whole datanet; held-out accuracy of each (float).
//! * **LOCO.** For each of `loco_seeds` seeds, the full model and one model
//!   per contributor left out, all from the same initialisation (same seed):
//!   the truth is `f_c(q; full) − f_c(q; without contributor)` averaged over
//!   seeds. What pairs the two is the shared initialisation: from the same
//!   start, the retrained model differs from the full one by the data's
//!   effect plus far less noise than between seeds (which at this size
//!   dwarfs one contributor's effect). A method predicts it with the sum of
//!   its scores over the contributor's examples; the payout rule with the
//!   contributor's share.
//! * **LDS** (linear datamodeling score). `subsets` random halves of the
//!   examples, each retrained with `lds_seeds` seeds (each seed the same
//!   initialisation for every half): truth `f_c(q; half) − f_c(q; full)` averaged over
//!   seeds; a method predicts it with the sum of its scores over the half.
//! * **Noise ceilings.** The truth's own seed noise bounds any method: the
//!   seeds are split in two halves (even and odd; one more in the even half
//!   for an odd count), the Spearman between the two halves' truths (mean
//!   over queries) is stepped up to the full count (Spearman–Brown), and its
//!   square root is the best Spearman a perfect method could reach.
//! * **Mislabelled data.** 10 % of the labels flipped (to another class,
//!   seeded), the model retrained, examples ranked by self-influence: AUC of
//!   finding the flipped ones, beside ranking by training loss.
//!
//! Every Spearman is computed per query, over the queries' predicted class
//! under the reference model (`TrainConfig::seed`), then averaged.

use crate::influence::{contributor_index, payout_shares, per_contributor, Attributor, Method};
use crate::native::{self, forward, TrainSet};
use crate::{FloatModel, TrainConfig};
use lineage_core::datanet::{Datanet, QuerySet};
use lineage_core::model::{INPUT, OUTPUT};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Seeds of the per-seed (paired) LOCO diagnostic.
const PAIRED_SEEDS: usize = 10;

/// Average ranks (ties share the mean of their positions), 1-based.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
    let mut r = vec![0f64; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Spearman's rank correlation (Pearson on average ranks); 0 when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

/// Area under the ROC curve of `scores` for finding the `positive` ones
/// (Mann–Whitney, ties counted half).
pub fn auc(scores: &[f64], positive: &[bool]) -> f64 {
    let r = ranks(scores);
    let np = positive.iter().filter(|p| **p).count() as f64;
    let nn = positive.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return 0.5;
    }
    let sum: f64 = r.iter().zip(positive).filter(|(_, p)| **p).map(|(r, _)| r).sum();
    (sum - np * (np + 1.0) / 2.0) / (np * nn)
}

/// The epochs at which TracIn's checkpoints are saved: `count` evenly
/// spaced, the last one the final epoch (fewer when `count` exceeds the
/// epochs: an epoch is saved once).
pub fn checkpoint_epochs(epochs: usize, count: usize) -> Vec<usize> {
    let count = count.max(1);
    (1..=count).map(|i| (epochs * i).div_ceil(count).max(1)).collect()
}

/// Settings of an eval run.
#[derive(Clone, Debug, Serialize)]
pub struct EvalConfig {
    #[serde(skip)]
    pub train: TrainConfig,
    /// Seeds for the stability check (each trains the whole datanet).
    pub stability_seeds: usize,
    /// Seeds of the leave-one-contributor-out truth.
    pub loco_seeds: usize,
    /// Random halves of the LDS truth.
    pub subsets: usize,
    /// Seeds per half.
    pub lds_seeds: usize,
    /// Held-out queries (the first N of the held-out set).
    pub queries: usize,
    /// TracIn checkpoints (evenly spaced epochs, the last one the final model).
    pub checkpoints: usize,
    /// Fraction of labels flipped for the mislabel check.
    pub mislabel_fraction: f64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            train: TrainConfig::default(),
            stability_seeds: 20,
            loco_seeds: 100,
            subsets: 100,
            lds_seeds: 10,
            queries: 359,
            checkpoints: 5,
            mislabel_fraction: 0.1,
        }
    }
}

/// One method's figures.
#[derive(Clone, Debug, Serialize)]
pub struct MethodReport {
    pub method: Method,
    /// Mean over queries of the LDS Spearman.
    pub lds: f64,
    /// Mean over queries of the Spearman against leave-one-contributor-out.
    pub spearman_loco: f64,
    /// Spearman of the method on one seed's own full model against that
    /// seed's own leave-one-contributor-out effects (no averaging over
    /// seeds), mean over the first seeds (at most 10) and the queries.
    pub spearman_loco_paired: f64,
    /// Spearman against the LOCO truth of the method's contributor sums
    /// added over the same seeds' full models (an ensemble; not what is paid).
    pub spearman_loco_ensemble: f64,
    /// The same for the payout rule's shares (each contributor's net
    /// influence clamped at zero, normalised).
    pub payout_spearman_loco: f64,
    /// AUC of finding flipped labels by self-influence (for a baseline:
    /// by training loss).
    pub mislabel_auc: f64,
    /// Top-10 agreement of the fixed-point scores with float (None where no
    /// fixed-point form exists yet).
    pub fixed_float_top10: Option<f64>,
    /// Largest |fixed − float| score over every example and query.
    pub max_fixed_error: Option<f64>,
    /// Scores of the whole datanet for one query, mean milliseconds (one
    /// thread below 4,096 examples).
    pub ms_per_query: f64,
}

/// Stability of the recipe across seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Stability {
    pub seeds: usize,
    pub min_accuracy: f64,
    pub median_accuracy: f64,
    pub max_accuracy: f64,
}

/// The whole eval.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub config: EvalConfig,
    pub epochs: usize,
    pub learning_rate: f64,
    pub examples: usize,
    pub contributors: usize,
    pub queries: usize,
    pub stability: Stability,
    /// Best Spearman a perfect method could reach on each truth.
    pub lds_ceiling: f64,
    pub loco_ceiling: f64,
    /// Loss-only mislabel baseline.
    pub loss_auc: f64,
    pub methods: Vec<MethodReport>,
    pub trainings: usize,
    pub ms_per_training: f64,
    pub seconds: f64,
}

/// The predicted-class logit of each query under a model.
fn logits_of(m: &FloatModel, queries: &[[f32; INPUT]], classes: &[usize]) -> Vec<f64> {
    queries.iter().zip(classes).map(|(q, c)| forward(m, q).1[*c] as f64).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

/// The truth averaged over a set of seeds: `effects[seed][query][item]`.
fn mean_over(effects: &[Vec<Vec<f64>>], seeds: impl Iterator<Item = usize> + Clone) -> Vec<Vec<f64>> {
    let k = seeds.clone().count().max(1) as f64;
    let (nq, ni) = (effects[0].len(), effects[0].first().map_or(0, Vec::len));
    let mut out = vec![vec![0f64; ni]; nq];
    for s in seeds {
        for q in 0..nq {
            for i in 0..ni {
                out[q][i] += effects[s][q][i] / k;
            }
        }
    }
    out
}

/// Split-half noise ceiling: sqrt of the Spearman–Brown stepped-up
/// correlation between the truths of even and odd seeds (mean over
/// queries); NaN with fewer than two seeds or no query.
fn ceiling(effects: &[Vec<Vec<f64>>]) -> f64 {
    let s = effects.len();
    if s < 2 || effects[0].is_empty() {
        return f64::NAN;
    }
    let even = mean_over(effects, (0..s).step_by(2));
    let odd = mean_over(effects, (1..s).step_by(2));
    let r: f64 = even.iter().zip(&odd).map(|(a, b)| spearman(a, b)).sum::<f64>() / even.len() as f64;
    let full = (2.0 * r / (1.0 + r)).max(0.0);
    full.sqrt()
}

/// Run the eval on a datanet and its held-out queries.
pub fn run(datanet: &Datanet, heldout: &QuerySet, cfg: &EvalConfig, progress: &(dyn Fn(&str) + Sync)) -> EvalReport {
    let t0 = Instant::now();
    let set = TrainSet::from_datanet(datanet);
    let n = set.len();
    let (contributors, owners) = contributor_index(&datanet.contributions.iter().map(|c| c.contributor).collect::<Vec<_>>());
    let nc = contributors.len();
    let queries: Vec<&[u8]> = heldout.queries.iter().take(cfg.queries).map(|q| q.pixels.as_slice()).collect();
    let qx: Vec<[f32; INPUT]> = queries.iter().map(|p| native::input(p)).collect();
    let seed_cfg = |s: usize| TrainConfig { seed: cfg.train.seed.wrapping_add(1000 + s as u64), ..cfg.train.clone() };
    let epochs = cfg.train.epochs;
    let cps = checkpoint_epochs(epochs, cfg.checkpoints);

    // the reference model: what the methods attribute with
    progress("reference model and checkpoints");
    let reference = native::train(&set, &cfg.train, None, &cps);
    let checkpoints = reference.tracin_checkpoints(&cfg.train);
    let attributor = Attributor::new(&reference.model, &checkpoints, &set);
    let classes: Vec<usize> = queries.iter().map(|q| attributor.predict(q)).collect();

    // full models per seed (stability, and the pair of every retrained model)
    let full_seeds = cfg.loco_seeds.max(cfg.lds_seeds).max(cfg.stability_seeds);
    progress(&format!("{full_seeds} full models"));
    // time spent training, summed over threads (idle threads not counted)
    let train_nanos = AtomicU64::new(0);
    let timed_train = |c: &TrainConfig, keep: Option<&[bool]>, checkpoints: &[usize]| {
        let t = Instant::now();
        let out = native::train(&set, c, keep, checkpoints);
        train_nanos.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    };
    // checkpoints only where the per-seed diagnostic uses them
    let full_runs: Vec<native::Trained> =
        (0..full_seeds).into_par_iter().map(|s| timed_train(&seed_cfg(s), None, if s < PAIRED_SEEDS { &cps } else { &[] })).collect();
    let full: Vec<FloatModel> = full_runs.iter().map(|t| t.model.clone()).collect();
    let mut trainings = full_seeds + 1;
    let mut accs: Vec<f64> = full[..cfg.stability_seeds]
        .iter()
        .map(|m| native::accuracy(m, heldout.queries.iter().map(|q| (q.pixels.as_slice(), q.label))))
        .collect();
    let stability = Stability {
        seeds: accs.len(),
        min_accuracy: accs.iter().cloned().fold(f64::INFINITY, f64::min),
        max_accuracy: accs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        median_accuracy: median(&mut accs),
    };
    let full_logits: Vec<Vec<f64>> = full.iter().map(|m| logits_of(m, &qx, &classes)).collect();

    // LOCO: effects[seed][query][contributor] = f(full) − f(without contributor)
    progress(&format!("leave-one-contributor-out: {} seeds × {nc} contributors", cfg.loco_seeds));
    let loco: Vec<Vec<Vec<f64>>> = (0..cfg.loco_seeds)
        .into_par_iter()
        .map(|s| {
            let mut e = vec![vec![0f64; nc]; qx.len()];
            for c in 0..nc {
                let keep: Vec<bool> = owners.iter().map(|o| *o != c).collect();
                let m = timed_train(&seed_cfg(s), Some(&keep), &[]).model;
                for (q, v) in logits_of(&m, &qx, &classes).into_iter().enumerate() {
                    e[q][c] = full_logits[s][q] - v;
                }
            }
            e
        })
        .collect();
    trainings += cfg.loco_seeds * nc;

    // LDS: effects[seed][query][subset] = f(half) − f(full)
    progress(&format!("LDS: {} halves × {} seeds", cfg.subsets, cfg.lds_seeds));
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.train.seed ^ 0x4c44_5300);
    let halves: Vec<Vec<bool>> = (0..cfg.subsets)
        .map(|_| {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(&mut rng);
            let mut keep = vec![false; n];
            for i in &idx[..n / 2] {
                keep[*i] = true;
            }
            keep
        })
        .collect();
    let lds_runs: Vec<Vec<Vec<f64>>> = (0..cfg.lds_seeds)
        .into_par_iter()
        .map(|s| {
            let mut e = vec![vec![0f64; halves.len()]; qx.len()];
            for (j, keep) in halves.iter().enumerate() {
                let m = timed_train(&seed_cfg(s), Some(keep), &[]).model;
                for (q, v) in logits_of(&m, &qx, &classes).into_iter().enumerate() {
                    e[q][j] = v - full_logits[s][q];
                }
            }
            e
        })
        .collect();
    trainings += cfg.subsets * cfg.lds_seeds;
    let ms_per_training = train_nanos.load(Ordering::Relaxed) as f64 / 1e6 / (trainings - 1).max(1) as f64;
    let loco_truth = if loco.is_empty() { vec![vec![0.0; nc]; qx.len()] } else { mean_over(&loco, 0..loco.len()) };
    let lds_truth = if lds_runs.is_empty() { vec![vec![0.0; halves.len()]; qx.len()] } else { mean_over(&lds_runs, 0..lds_runs.len()) };

    // mislabelled data: flip a fraction of labels, retrain, rank by self-influence
    progress("mislabel detection");
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.train.seed ^ 0x4d49_534c);
    let mut flipped_set = set.clone();
    let mut flipped = vec![false; n];
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    for i in &idx[..((n as f64 * cfg.mislabel_fraction).round() as usize).min(n)] {
        let old = flipped_set.labels[*i];
        flipped_set.labels[*i] = ((old as usize + rng.gen_range(1..OUTPUT)) % OUTPUT) as u8;
        flipped[*i] = true;
    }
    let noisy = native::train(&flipped_set, &cfg.train, None, &cps);
    trainings += 1;
    let noisy_at = Attributor::new(&noisy.model, &noisy.tracin_checkpoints(&cfg.train), &flipped_set);
    let loss_auc = auc(&noisy_at.self_influence(Method::Uniform), &flipped);

    // fixed point: the quantised reference model's TracIn (what the window circuit
    // proves) and the fixed-point specification of influence and K-FAC (what
    // the whole-datanet circuit proves)
    let quantised = reference.model.quantize().ok();
    let fixed_factors = quantised.as_ref().and_then(|qm| {
        let table = lineage_core::features::FeatureTable::build(qm, datanet).ok()?;
        lineage_core::kfac::Factors::build(qm, &table).ok()
    });

    progress("scoring");
    // each paired seed's attributor, built once for every method (the
    // whole-network matrix makes one cost about a quarter second)
    let paired_seeds = cfg.loco_seeds.min(PAIRED_SEEDS);
    let paired: Vec<Attributor> = (0..paired_seeds).map(|s| Attributor::new(&full[s], &full_runs[s].tracin_checkpoints(&cfg.train), &set)).collect();
    let methods: Vec<MethodReport> = Method::ALL
        .iter()
        .map(|&method| {
            let t = Instant::now();
            let scores: Vec<Vec<f64>> = queries.iter().zip(&classes).map(|(q, c)| attributor.scores_for(method, q, *c).examples).collect();
            let ms_per_query = t.elapsed().as_secs_f64() * 1e3 / queries.len().max(1) as f64;
            let mean = |f: &dyn Fn(usize) -> f64| (0..queries.len()).map(f).sum::<f64>() / queries.len().max(1) as f64;
            let spearman_loco = mean(&|q| spearman(&per_contributor(&scores[q], &owners, nc), &loco_truth[q]));
            let payout_spearman_loco = mean(&|q| spearman(&payout_shares(&scores[q], &owners, nc), &loco_truth[q]));
            let lds = mean(&|q| {
                let pred: Vec<f64> = halves.iter().map(|keep| scores[q].iter().zip(keep).filter(|(_, k)| **k).map(|(s, _)| s).sum()).collect();
                spearman(&pred, &lds_truth[q])
            });
            // the same method on each seed's own full model, against that seed's own effects
            let mut ensemble = vec![vec![0f64; nc]; queries.len()];
            let spearman_loco_paired = (0..paired_seeds)
                .map(|s| {
                    let at = &paired[s];
                    let per: Vec<Vec<f64>> =
                        (0..queries.len()).map(|q| per_contributor(&at.scores_for(method, queries[q], classes[q]).examples, &owners, nc)).collect();
                    for (e, p) in ensemble.iter_mut().zip(&per) {
                        for (a, b) in e.iter_mut().zip(p) {
                            *a += b;
                        }
                    }
                    mean(&|q| spearman(&per[q], &loco[s][q]))
                })
                .sum::<f64>()
                / paired_seeds.max(1) as f64;
            let spearman_loco_ensemble = mean(&|q| spearman(&ensemble[q], &loco_truth[q]));
            let mislabel_auc = if method.is_baseline() { loss_auc } else { auc(&noisy_at.self_influence(method), &flipped) };
            let s4 = (1u64 << 32) as f64;
            let s5 = (1u64 << lineage_core::kfac::SCORE_SCALE_BITS) as f64;
            let fixed = |q: usize| -> Option<Vec<f64>> {
                let qm = quantised.as_ref()?;
                let kind = match method {
                    Method::TracIn => {
                        let hq = lineage_core::attribution::hidden(qm, queries[q]);
                        return Some(datanet.contributions.iter().map(|e| lineage_core::attribution::score(qm, &hq, classes[q], &e.payload) as f64 / s4).collect());
                    }
                    Method::Influence => lineage_core::kfac::Kind::LastLayer,
                    Method::InfluenceKfac => lineage_core::kfac::Kind::Kfac,
                    _ => return None,
                };
                let factors = fixed_factors.as_ref()?;
                let (_, v) = lineage_core::kfac::scores(qm, factors, queries[q], Some(classes[q]), kind)
                    .map_err(|e| progress(&format!("{method}: no fixed-point scores for query {q}: {e}")))
                    .ok()?;
                Some(v.into_iter().map(|x| x as f64 / s5).collect())
            };
            let (fixed_float_top10, max_fixed_error) = match fixed_vs_float(queries.len(), &fixed, &scores) {
                Some((top, err)) => (Some(top), Some(err)),
                None => (None, None),
            };
            MethodReport { method, lds, spearman_loco, spearman_loco_paired, spearman_loco_ensemble, payout_spearman_loco, mislabel_auc, fixed_float_top10, max_fixed_error, ms_per_query }
        })
        .collect();

    EvalReport {
        config: cfg.clone(),
        epochs,
        learning_rate: cfg.train.learning_rate,
        examples: n,
        contributors: nc,
        queries: queries.len(),
        stability,
        lds_ceiling: ceiling(&lds_runs),
        loco_ceiling: ceiling(&loco),
        loss_auc,
        methods,
        trainings,
        ms_per_training,
        seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Top-10 agreement (mean over queries of |top10(fixed) ∩ top10(float)| / 10)
/// and the largest |fixed − float| score, of a method's fixed-point form on
/// the quantised model (`fixed(q)`, `None` where it has none) against its
/// float form on the float model.
fn fixed_vs_float(queries: usize, fixed: &dyn Fn(usize) -> Option<Vec<f64>>, float: &[Vec<f64>]) -> Option<(f64, f64)> {
    let (mut agree, mut max_err) = (0.0, 0f64);
    for (q, fl) in float.iter().enumerate().take(queries) {
        let fx = fixed(q)?;
        for (a, b) in fx.iter().zip(fl) {
            max_err = max_err.max((a - b).abs());
        }
        let top = |v: &[f64]| {
            let mut i: Vec<usize> = (0..v.len()).collect();
            i.sort_by(|a, b| v[*b].total_cmp(&v[*a]));
            i.truncate(10);
            i
        };
        let (tf, tl) = (top(&fx), top(fl));
        agree += tf.iter().filter(|i| tl.contains(i)).count() as f64 / 10.0;
    }
    Some((agree / queries.max(1) as f64, max_err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_statistics_by_hand() {
        assert_eq!(ranks(&[3.0, 1.0, 2.0, 1.0]), vec![4.0, 1.5, 3.0, 1.5]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        assert_eq!(auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]), 1.0);
        assert_eq!(auc(&[0.1, 0.2, 0.9, 0.8], &[true, true, false, false]), 0.0);
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
    }

    /// Over the whole datanet (the training set) the payout rule pays for
    /// every held-out query: some contributor's net influence is positive.
    #[test]
    fn every_heldout_query_pays_over_the_whole_datanet() {
        let d = crate::digits_datanet().unwrap();
        let h = crate::digits_heldout().unwrap();
        let trained = native::train(&TrainSet::from_datanet(&d), &TrainConfig::default(), None, &[]);
        let qm = trained.model.quantize().unwrap();
        let table = lineage_core::features::FeatureTable::build(&qm, &d).unwrap();
        let unpaid: Vec<u32> = h
            .queries
            .iter()
            .filter(|q| lineage_core::features::attribute(&qm, &table, &q.pixels).unwrap().payouts(1_000_000).is_err())
            .map(|q| q.index)
            .collect();
        assert!(unpaid.is_empty(), "queries nobody is paid for: {unpaid:?}");
    }

    #[test]
    fn a_small_eval_runs_and_the_truth_is_not_noise() {
        let d = crate::digits_datanet().unwrap();
        let h = crate::digits_heldout().unwrap();
        let cfg = EvalConfig {
            train: TrainConfig { epochs: 60, ..Default::default() },
            stability_seeds: 2,
            loco_seeds: 4,
            subsets: 8,
            lds_seeds: 2,
            queries: 5,
            checkpoints: 2,
            mislabel_fraction: 0.1,
        };
        let r = run(&d, &h, &cfg, &|_| {});
        assert_eq!(r.methods.len(), Method::ALL.len());
        assert_eq!(r.contributors, 24);
        assert_eq!(r.trainings, 1 + 4 + 4 * 24 + 8 * 2 + 1);
        // flipped labels are found far better than chance by loss alone
        assert!(r.loss_auc > 0.8, "{}", r.loss_auc);
        let tracin = r.methods.iter().find(|m| m.method == Method::TracIn).unwrap();
        assert!(tracin.fixed_float_top10.unwrap() > 0.5);
        // the fixed-point specifications of influence and K-FAC track their float forms
        for m in [Method::Influence, Method::InfluenceKfac] {
            let m = r.methods.iter().find(|x| x.method == m).unwrap();
            assert!(m.fixed_float_top10.unwrap() > 0.5, "{:?}", m);
        }
        assert!(r.methods.iter().find(|x| x.method == Method::DataInf).unwrap().fixed_float_top10.is_none());
        // the spec's input centring is training's, rounded to scale 2^8
        assert_eq!(lineage_core::kfac::INPUT_CENTRE_FIXED, (crate::INPUT_CENTRE as f64 * 256.0).round() as i64);
        assert!(r.loco_ceiling > 0.0);
    }
}
