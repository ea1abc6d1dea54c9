//! `lineage attribute --method M`: one method's float scores for a held-out
//! query, per example and per contributor, from a model trained by the
//! recipe (optionally with a seed and examples or contributors left out).

use crate::attribute::{digits_prefix, heldout_query, AttributeArgs};
use alloy_primitives::Address;
use eyre::{bail, WrapErr};
use lineage_inference::{
    influence::{contributor_index, payout_shares, per_contributor, Attributor, Method},
    native::{self, TrainSet},
    TrainConfig,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON printed last with `--json`.
#[derive(Debug, Serialize)]
pub struct ScoresReport {
    /// The query's scikit-learn index.
    pub query: u32,
    pub method: Method,
    pub seed: u64,
    pub epochs: usize,
    /// The predicted class (whose logit the scores explain).
    pub class: usize,
    /// The query's ten logits under the trained model (compare two runs,
    /// with and without `--exclude`, at the same index — the first run's
    /// `class` — to get a leave-out effect: the class may change).
    pub logits: Vec<f32>,
    /// Example ids (scikit-learn indices) left out of training.
    pub excluded: Vec<u32>,
    /// Score of every training example, by example id.
    pub examples: BTreeMap<u32, f64>,
    /// Score summed per contributor, by address.
    pub contributors: BTreeMap<Address, f64>,
    /// Each contributor's share of a fee under the payout rule (its net
    /// influence clamped at zero, normalised over the query).
    pub shares: BTreeMap<Address, f64>,
}

pub fn run(args: &AttributeArgs, method: Method) -> eyre::Result<()> {
    let heldout = lineage_inference::digits_heldout()?;
    let query = heldout_query(&heldout, args.query_index)?;
    let (digits, n) = digits_prefix(args.examples)?;
    let examples = &digits.contributions[..n];
    let id = |i: usize| examples[i].index.unwrap_or(i as u32);
    // the exclusion list: example ids or contributor addresses, each of which must exist
    let mut keep = vec![true; n];
    for item in &args.exclude {
        let item = item.trim();
        if let Ok(address) = item.parse::<Address>() {
            let hits: Vec<usize> = (0..n).filter(|i| examples[*i].contributor == address).collect();
            if hits.is_empty() {
                bail!("--exclude {item}: no example of the datanet's first {n} is this contributor's");
            }
            hits.into_iter().for_each(|i| keep[i] = false);
        } else {
            let wanted: u32 = item.parse().wrap_err_with(|| format!("--exclude {item:?}: neither an example id nor a contributor address"))?;
            let Some(i) = (0..n).find(|i| id(*i) == wanted) else {
                bail!("--exclude {wanted}: no such example among the datanet's first {n} (held-out images are not training data)");
            };
            keep[i] = false;
        }
    }
    let kept: Vec<usize> = (0..n).filter(|i| keep[*i]).collect();
    if kept.is_empty() {
        bail!("--exclude leaves no training example");
    }
    let set = TrainSet::from_examples(kept.iter().map(|i| (examples[*i].payload.pixels.as_slice(), examples[*i].payload.label)));
    let cfg = TrainConfig { seed: args.seed.unwrap_or(TrainConfig::default().seed), epochs: args.epochs, ..Default::default() };
    let checkpoints = lineage_inference::eval::checkpoint_epochs(cfg.epochs, lineage_inference::eval::EvalConfig::default().checkpoints);
    let trained = native::train(&set, &cfg, None, &checkpoints);
    let attributor = Attributor::new(&trained.model, &trained.tracin_checkpoints(&cfg), &set);
    let scores = attributor.scores(method, &query.pixels);
    let logits = native::forward(&trained.model, &native::input(&query.pixels)).1.to_vec();

    let (addresses, owners) = contributor_index(&kept.iter().map(|i| examples[*i].contributor).collect::<Vec<_>>());
    let sums = per_contributor(&scores.examples, &owners, addresses.len());
    let shares = payout_shares(&scores.examples, &owners, addresses.len());
    let report = ScoresReport {
        query: query.index,
        method,
        seed: cfg.seed,
        epochs: cfg.epochs,
        class: scores.class,
        logits,
        excluded: (0..n).filter(|i| !keep[*i]).map(id).collect(),
        examples: kept.iter().zip(&scores.examples).map(|(i, s)| (id(*i), *s)).collect(),
        contributors: addresses.iter().cloned().zip(sums.iter().cloned()).collect(),
        shares: addresses.iter().cloned().zip(shares.iter().cloned()).collect(),
    };
    println!(
        "query    held-out image #{} (label {}) → class {}; method {method}, seed {}, {} of {n} examples trained on",
        query.index,
        query.label,
        scores.class,
        cfg.seed,
        kept.len()
    );
    let mut order: Vec<usize> = (0..addresses.len()).collect();
    order.sort_by(|a, b| sums[*b].total_cmp(&sums[*a]));
    println!("contributors by score (share of a fee under the payout rule):");
    for i in order.iter().take(10) {
        println!("    {}  {:>+12.5}  {:>6.2} %", addresses[*i], sums[*i], shares[*i] * 100.0);
    }
    if let Some(path) = &args.plot {
        let bars: Vec<crate::plot::Bar> =
            (0..addresses.len()).map(|i| crate::plot::Bar { contributor: addresses[i], share: shares[i], score: sums[i] }).collect();
        let title = format!("held-out image #{} → class {}: shares of the fee by {method}", query.index, scores.class);
        crate::plot::shares_png(path, &title, &bars)?;
        println!("plot     {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
