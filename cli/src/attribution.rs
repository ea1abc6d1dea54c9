//! `lineage attribution eval`: how well each attribution method tracks
//! retraining on the digits datanet (see `lineage_inference::eval`).

use clap::{Args, Subcommand};
use lineage_inference::eval::{self, EvalConfig, EvalReport};
use lineage_inference::TrainConfig;
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum AttributionCommand {
    /// Measure every method (and two trivial baselines) against retraining:
    /// LDS, leave-one-contributor-out Spearman with noise ceilings,
    /// mislabel detection, fixed point against float, time per query.
    Eval(EvalArgs),
}

fn learning_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(format!("{s:?}: a learning rate in (0, 1]")),
    }
}

fn positive(max: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..=max)
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Seeds of the leave-one-contributor-out truth (each retrains once per contributor).
    #[arg(long, default_value_t = 100, value_parser = positive(10_000))]
    pub loco_seeds: usize,
    /// Random halves of the datanet for the LDS truth.
    #[arg(long, default_value_t = 100, value_parser = positive(10_000))]
    pub subsets: usize,
    /// Seeds per half (each retrains once per half).
    #[arg(long, default_value_t = 10, value_parser = positive(10_000))]
    pub lds_seeds: usize,
    /// Seeds of the recipe's stability check.
    #[arg(long, default_value_t = 20, value_parser = positive(10_000))]
    pub stability_seeds: usize,
    /// Held-out queries (the first N; at most the 359 held-out images).
    #[arg(long, default_value_t = 359, value_parser = positive(359))]
    pub queries: usize,
    /// Training epochs of every model (the recipe's).
    #[arg(long, default_value_t = TrainConfig::default().epochs, value_parser = positive(100_000))]
    pub epochs: usize,
    /// Peak learning rate of every model (the recipe's).
    #[arg(long, default_value_t = TrainConfig::default().learning_rate, value_parser = learning_rate)]
    pub learning_rate: f64,
    /// TracIn checkpoints (evenly spaced; the last is the final model).
    #[arg(long, default_value_t = EvalConfig::default().checkpoints, value_parser = positive(1_000))]
    pub checkpoints: usize,
    /// Print one JSON object (the whole report) as the last line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: AttributionCommand) -> eyre::Result<()> {
    match cmd {
        AttributionCommand::Eval(a) => run_eval(a),
    }
}

fn run_eval(a: EvalArgs) -> eyre::Result<()> {
    let datanet = lineage_inference::digits_datanet()?;
    let heldout = lineage_inference::digits_heldout()?;
    let cfg = EvalConfig {
        train: TrainConfig { epochs: a.epochs, learning_rate: a.learning_rate, ..Default::default() },
        stability_seeds: a.stability_seeds,
        loco_seeds: a.loco_seeds,
        subsets: a.subsets,
        lds_seeds: a.lds_seeds,
        queries: a.queries,
        checkpoints: a.checkpoints,
        mislabel_fraction: 0.1,
    };
    let t = Instant::now();
    let report = eval::run(&datanet, &heldout, &cfg, &|step| eprintln!("[{:>6.1} s] {step}", t.elapsed().as_secs_f64()));
    print_table(&report);
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}

fn print_table(r: &EvalReport) {
    println!(
        "digits datanet: {} examples, {} contributors; {} held-out queries; recipe: full-batch Adam, lr {}, {} epochs",
        r.examples, r.contributors, r.queries, r.learning_rate, r.epochs
    );
    println!(
        "stability over {} seeds: held-out accuracy min {:.3}, median {:.3}, max {:.3}",
        r.stability.seeds, r.stability.min_accuracy, r.stability.median_accuracy, r.stability.max_accuracy
    );
    println!(
        "truth: LOCO over {} seeds (noise ceiling {:.3}); LDS over {} halves × {} seeds (noise ceiling {:.3}); {} trainings, {:.1} ms each",
        r.config.loco_seeds, r.loco_ceiling, r.config.subsets, r.config.lds_seeds, r.lds_ceiling, r.trainings, r.ms_per_training
    );
    println!();
    println!("{:<12} {:>7} {:>9} {:>9} {:>9} {:>12} {:>11} {:>12} {:>12} {:>9}", "method", "LDS", "LOCO ρ", "1-seed ρ", "ens. ρ", "payout ρ", "mislabel", "fixed top10", "fixed err", "ms/query");
    let opt = |v: Option<f64>, p: usize| v.map(|x| format!("{x:.p$}")).unwrap_or_else(|| "—".into());
    // fixed err: the largest |fixed − float| score
    for m in &r.methods {
        println!(
            "{:<12} {:>7.3} {:>9.3} {:>9.3} {:>9.3} {:>12.3} {:>11.3} {:>12} {:>12} {:>9.3}",
            m.method.name(),
            m.lds,
            m.spearman_loco,
            m.spearman_loco_paired,
            m.spearman_loco_ensemble,
            m.payout_spearman_loco,
            m.mislabel_auc,
            opt(m.fixed_float_top10, 3),
            opt(m.max_fixed_error, 4),
            m.ms_per_query
        );
    }
    println!("(baselines' mislabel column: ranking by training loss; ρ: Spearman, mean over queries; {:.0} s in all)", r.seconds);
}
