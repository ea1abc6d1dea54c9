//! `lineage attribute`: attribute a held-out query over **every** example of
//! the digits datanet (or its first `--examples`), with real proofs: the
//! one-time feature proof in chunks, the per-query key's registration check
//! (what the chain's `registerWholeKey` runs), and the per-query proof,
//! verified from its key. Off-chain: `lineage demo` settles the same kind of
//! claim on its chain.

use crate::progress::Steps;
use alloy_primitives::U256;
use clap::Args;
use eyre::bail;
use lineage_circuits::query::{QueryInput, QueryShape};
use lineage_core::{datanet::Datanet, features, field::fr_to_hex};
use lineage_prover::{srs, ProverClient};
use lineage_verifier::{
    features::{check_registration, TableRegistration},
    Verifier, WholeClaim, WholeClaimBundle,
};
use serde::Serialize;
use std::{path::PathBuf, time::Instant};

#[derive(Debug, Args, Clone)]
pub struct AttributeArgs {
    /// Print one JSON object as the last line of output.
    #[arg(long)]
    pub json: bool,
    /// Use the datanet's first N examples (default: all 1,438; the one-time
    /// feature proof then takes about 10 minutes on two cores).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::query::MAX_CAPACITY as u64))]
    pub examples: Option<usize>,
    /// Examples per feature chunk (a power of two; default: 2^k / 1024, a
    /// chunk about as tall as the per-query circuit, within what k holds).
    /// The feature proof is cached under the cache directory by datanet,
    /// model and chunk size.
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::MAX_BATCH as u64))]
    pub chunk: Option<usize>,
    /// The query: a held-out digits image by its scikit-learn index (4 mod 5).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_QUERY_INDEX)]
    pub query_index: u32,
    /// Fee to split, in OPEN (1 to 1,000,000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub fee_open: u64,
    /// Training epochs (1 to 100,000).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_EPOCHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub epochs: usize,
    /// Where the development SRS is cached (default: $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Write what an auditor needs to re-check the claim here (`lineage
    /// verify-whole`): claim.json, query-vk.json, features.json,
    /// verifier-params.bin, templates.txt.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A ceremony SRS file in halo2's format (e.g. a Perpetual Powers of Tau
    /// transcript converted for halo2) instead of the insecure development
    /// SRS; needs `--srs-hash`.
    #[arg(long, requires = "srs_hash")]
    pub srs: Option<PathBuf>,
    /// keccak256 of the `--srs` file, from a source you trust: the file is
    /// refused unless it matches.
    #[arg(long, requires = "srs")]
    pub srs_hash: Option<alloy_primitives::B256>,
    /// Then prove the first N held-out queries back to back, as a prover
    /// node would, and report their rate (proving alone: the baseline a
    /// node's settled-requests rate is compared with; 0 to 10,000).
    #[arg(long, default_value_t = 0, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=10_000))]
    pub repeat: usize,
    /// Prove on a CUDA GPU (needs a binary built with the `gpu` feature and
    /// a CUDA device; refused before any work otherwise).
    #[arg(long)]
    pub gpu: bool,
    /// Instead of proving, print the float scores of one attribution method
    /// for the query, per example and per contributor (tracin, tracin-cp,
    /// influence, influence-full, influence-kfac, datainf, class-count,
    /// uniform; influence-full tracks retraining best; see `lineage attribution
    /// eval` for how well each tracks retraining). Without `--method`, the
    /// proof covers influence-kfac in fixed point.
    #[arg(long, value_parser = parse_method, conflicts_with_all = ["gpu", "out", "repeat", "srs"])]
    pub method: Option<lineage_inference::influence::Method>,
    /// Training seed (with `--method`; default: the recipe's, 7).
    #[arg(long, requires = "method")]
    pub seed: Option<u64>,
    /// Leave these out of training (with `--method`), comma-separated:
    /// example ids (scikit-learn digits indices) or contributor addresses.
    /// With `--seed`, enough to recompute a leave-out effect from the CLI:
    /// run with and without, and compare the query's logits in the JSON.
    #[arg(long, requires = "method", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Draw the contributors' shares under the payout rule as a bar chart
    /// to this PNG file (with `--method`).
    #[arg(long, requires = "method", value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
}

fn parse_method(s: &str) -> Result<lineage_inference::influence::Method, String> {
    lineage_inference::influence::Method::parse(s).ok_or_else(|| {
        let names: Vec<_> = lineage_inference::influence::Method::ALL.iter().map(|m| m.name()).collect();
        format!("unknown method {s:?}; one of {}", names.join(", "))
    })
}

/// The machine-readable result.
#[derive(Debug, Serialize)]
pub struct AttributeReport {
    pub verified: bool,
    /// The attribution method the proof covers.
    pub method: &'static str,
    pub examples_covered: usize,
    pub contributors_paid: usize,
    pub segments: usize,
    pub chunks: usize,
    pub chunk_size: usize,
    pub k: u32,
    pub predicted_class: usize,
    pub pool_wei: String,
    pub paid_wei: String,
    pub feature_proof_ms: u128,
    /// The registration check (every chunk proof verified, coverage, commitments).
    pub registration_check_ms: u128,
    pub prove_ms: u128,
    pub verify_ms: u128,
    pub proof_bytes: usize,
    pub datanet_root: String,
    pub model_commitment: String,
    /// keccak256 of the feature-proof file (every chunk's key, public
    /// inputs and proof, and the table's feature commitments).
    pub feature_proof_hash: String,
    /// keccak256 of the per-query verifying-key file.
    pub query_key_hash: String,
    /// `--repeat N`: proofs made back to back, and their wall time.
    pub repeat_proofs: usize,
    pub repeat_ms: u128,
}

/// What an auditor needs to re-check the claim (`lineage verify-whole`):
/// the verifier parameters, the per-query key, the feature proof, the claim,
/// and the key templates the feature proof was checked against.
fn write_artifacts(dir: &std::path::Path, verifier: &Verifier, whole: &crate::whole::WholeSetup, claim: &WholeClaim) -> eyre::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("verifier-params.bin"), verifier.params().to_bytes())?;
    std::fs::write(dir.join("query-vk.json"), whole.query_file.to_bytes())?;
    std::fs::write(dir.join("features.json"), whole.features.to_bytes())?;
    std::fs::write(dir.join("claim.json"), WholeClaimBundle::new(whole.query_file.hash, claim).to_bytes())?;
    let mut templates: Vec<String> = whole.features.chunks.iter().map(|c| c.0.template_hash().to_string()).collect();
    templates.push(whole.query_file.template_hash().to_string());
    std::fs::write(dir.join("templates.txt"), templates.join("\n") + "\n")?;
    println!("auditor files: {}/{{claim.json, query-vk.json, features.json, verifier-params.bin, templates.txt}}", dir.display());
    Ok(())
}

pub fn run(args: AttributeArgs) -> eyre::Result<()> {
    if let Some(method) = args.method {
        return crate::scores::run(&args, method);
    }
    let report = execute(&args)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if !report.verified || report.paid_wei != report.pool_wei {
        bail!("the attribution did not verify");
    }
    Ok(())
}

/// A held-out query by its scikit-learn index; a training image or an index
/// past the data set is refused, saying which.
pub fn heldout_query(heldout: &lineage_core::datanet::QuerySet, index: u32) -> eyre::Result<&lineage_core::datanet::HeldOutQuery> {
    match heldout.get(index) {
        Some(q) => Ok(q),
        None if index < 1797 => bail!(
            "image #{index} is training data (it is in the digits datanet), not a held-out query: held-out images are those whose index is 4 mod 5"
        ),
        None => bail!("there is no image #{index}: the digits data set has 1,797 (0 to 1,796); held-out ones are 4 mod 5"),
    }
}

/// The shipped digits datanet and how many of its first examples to use
/// (`--examples`, default all); more than it has is refused.
pub fn digits_prefix(examples: Option<usize>) -> eyre::Result<(Datanet, usize)> {
    let digits = lineage_inference::digits_datanet()?;
    let n = examples.unwrap_or(digits.contributions.len());
    if n > digits.contributions.len() {
        bail!("the digits datanet has {} examples, not {n}", digits.contributions.len());
    }
    Ok((digits, n))
}

/// Run the whole-datanet attribution and return its report.
pub fn execute(args: &AttributeArgs) -> eyre::Result<AttributeReport> {
    let heldout = lineage_inference::digits_heldout()?;
    let query = heldout_query(&heldout, args.query_index)?;
    let (digits, n) = digits_prefix(args.examples)?;
    let datanet = Datanet::new(digits.name.clone(), digits.contributions[..n].to_vec())?;
    let shape = QueryShape::new(n)?;
    // a GPU that cannot be had fails here, before any work (never a CPU proof under --gpu)
    let builder = ProverClient::builder();
    let client = if args.gpu { builder.gpu() } else { builder.cpu() }.build()?;
    let cache = args.cache_dir.clone().unwrap_or_else(srs::default_cache_dir);
    // the SRS before any work: a file that is not the pinned one fails fast
    let params = match (&args.srs, &args.srs_hash) {
        (Some(path), Some(hash)) => srs::load_pinned_srs(path, shape.k, hash)?,
        _ => srs::cached_dev_srs(&cache, shape.k)?,
    };
    let vp = lineage_verifier::VerifierParams::from_srs(&params);
    let verifier = Verifier::new(vp);
    let mut steps = Steps::new(6, false);

    let cfg = lineage_inference::TrainConfig { epochs: args.epochs, ..Default::default() };
    let model = steps.run("train and quantise the MLP", || Ok(lineage_inference::train(&digits, &cfg, &candle_core::Device::Cpu)?.quantize()?))?;

    // 1. the one-time feature proof (cached) and the per-query keys
    let whole = steps.run(&format!("prove the feature table once, in chunks (k = {}; cached)", shape.k), || {
        crate::whole::prepare(&client, &params, &datanet, &model, args.chunk, &cache)
    })?;
    let (table, size, chunks) = (&whole.table, whole.size, whole.features.chunks.len());
    let feature_proof_ms = whole.feature_ms;

    // 2. what registering the per-query key checks
    let t = Instant::now();
    steps.run("check the per-query key's registration", || {
        let file = &whole.query_file;
        // the templates an audited genesis would allowlist: this build's own shapes
        let mut allowed: Vec<_> = whole.features.chunks.iter().map(|c| c.0.template_hash()).collect();
        allowed.push(file.template_hash());
        let registration =
            TableRegistration { root: datanet.root(), examples: n, model: model.commitment(), query: file, chunks: &whole.features.chunks };
        check_registration(&verifier, |h| allowed.contains(h), &registration)?;
        Ok(())
    })?;
    let registration_check_ms = t.elapsed().as_millis();

    // 3. the per-query proof over every example
    let pool = args.fee_open as u128 * lineage_chain::genesis::OPEN;
    let request_id = U256::from(1);
    let input = QueryInput::new(&model, table, &query.pixels, pool, request_id)?;
    let proof = steps.run(&format!("prove the query's attribution over all {n} examples"), || {
        Ok(client.prove_query(&whole.query_keys, table, &input)?)
    })?;

    // 4. verify as the chain will (`Verifier::verify_whole_claim`: the segment list, its challenge
    //    and digest, one proof), and 5. the split over the proven totals
    let claim = WholeClaim {
        request_id,
        pool_wei: pool,
        query_commitment: lineage_core::datanet::query_commitment(&query.pixels)?,
        predicted_class: input.predicted as u64,
        segments: features::claim_segments(&input.attribution),
        proof: proof.bytes.clone(),
    };
    let t = Instant::now();
    let payouts = steps.run("verify the claim from the per-query key and split the fee", || Ok(verifier.verify_whole_claim(&whole.query_file, &claim)?))?;
    let verify_ms = t.elapsed().as_millis();
    let verified = true;
    if let Some(dir) = &args.out {
        write_artifacts(dir, &verifier, &whole, &claim)?;
    }
    let paid: u128 = payouts.iter().map(|p| p.amount_wei).sum();
    let mut top: Vec<_> = payouts.iter().filter(|p| p.amount_wei > 0).collect();
    top.sort_by_key(|p| std::cmp::Reverse(p.amount_wei));
    println!(
        "query    held-out image #{} (label {}) → class {}; every one of the {n} examples scored by {}, {} contributors",
        args.query_index,
        query.label,
        input.predicted,
        lineage_circuits::query::METHOD,
        table.segments()
    );
    println!("top contributors of {} OPEN:", args.fee_open);
    for p in top.iter().take(5) {
        println!("    {}  {:>24} wei", p.contributor, p.amount_wei);
    }
    let contributors_paid = payouts.len();
    // proving alone, back to back: what a prover node's rate is measured against
    let t = Instant::now();
    for (i, q) in heldout.queries.iter().take(args.repeat).enumerate() {
        let input = QueryInput::new(&model, table, &q.pixels, pool, U256::from(i))?;
        client.prove_query(&whole.query_keys, table, &input)?;
    }
    let repeat_ms = t.elapsed().as_millis();
    let repeat_proofs = args.repeat.min(heldout.queries.len());
    if repeat_proofs > 0 {
        println!(
            "repeat   {repeat_proofs} per-query proofs back to back in {:.1} s: {:.2} per minute",
            repeat_ms as f64 / 1000.0,
            repeat_proofs as f64 * 60_000.0 / repeat_ms.max(1) as f64
        );
    }
    Ok(AttributeReport {
        method: lineage_circuits::query::METHOD,
        repeat_proofs,
        repeat_ms,
        verified,
        examples_covered: input.attribution.scores.len(),
        contributors_paid,
        segments: table.segments(),
        chunks,
        chunk_size: size,
        k: shape.k,
        predicted_class: input.predicted,
        pool_wei: pool.to_string(),
        paid_wei: paid.to_string(),
        feature_proof_ms,
        registration_check_ms,
        prove_ms: proof.prove_time.as_millis(),
        verify_ms,
        proof_bytes: proof.bytes.len(),
        datanet_root: fr_to_hex(&datanet.root()),
        model_commitment: fr_to_hex(&model.commitment()),
        feature_proof_hash: whole.features.hash.to_string(),
        query_key_hash: whole.query_file.hash.to_string(),
    })
}
