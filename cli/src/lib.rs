//! The `lineage` command line: one clap `Args` struct per subcommand.

pub mod attribute;
pub mod attribution;
pub mod audit;
pub mod datanet;
pub mod demo;
pub mod node;
pub mod plot;
pub mod progress;
pub mod prover;
pub mod query;
pub mod register;
pub mod report;
pub mod report_html;
pub mod rpc_chain;
pub mod scores;
pub mod verify;
pub mod verify_whole;
pub mod whole;

use clap::{Parser, Subcommand};

/// Verifiable AI attribution: datanets, influence proofs and on-chain payouts.
#[derive(Debug, Parser)]
#[command(name = "lineage", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole path on an embedded chain: datanet → model → influence → proof → payout.
    Demo(demo::DemoArgs),
    /// Attribute a held-out query over every example of the digits datanet,
    /// with the one-time feature proof and a per-query proof (off-chain).
    Attribute(attribute::AttributeArgs),
    /// Attribution quality: measure every method against retraining.
    #[command(subcommand)]
    Attribution(attribution::AttributionCommand),
    /// Datanet tools.
    #[command(subcommand)]
    Datanet(datanet::DatanetCommand),
    /// Run the chain as a node with Ethereum JSON-RPC over HTTP.
    Node(node::NodeArgs),
    /// Verify a proof bundle independently and print its provenance report.
    Verify(verify::VerifyArgs),
    /// Re-check a whole-datanet claim (and its feature proof) independently.
    VerifyWhole(verify_whole::VerifyWholeArgs),
    /// Re-verify every paid claim and list every slash on a chain, over JSON-RPC.
    Audit(audit::AuditArgs),
    /// Run a proving node: accept a model's public queries, prove, claim the fee.
    Prover(prover::ProverArgs),
    /// Register the digits model's whole-datanet key on a chain (as its owner).
    Register(register::RegisterArgs),
    /// Write a regulator's provenance report (HTML) for a model or a query.
    Report(report::ReportArgs),
    /// Post public queries (held-out digits images) with their fees, and wait for them to settle.
    Query(query::QueryArgs),
}

impl Cli {
    pub fn run(self) -> eyre::Result<()> {
        match self.command {
            Command::Demo(a) => demo::run(a),
            Command::Attribute(a) => attribute::run(a),
            Command::Attribution(c) => attribution::run(c),
            Command::Datanet(c) => datanet::run(c),
            Command::Node(a) => node::run(a),
            Command::Verify(a) => verify::run(a),
            Command::VerifyWhole(a) => verify_whole::run(a),
            Command::Audit(a) => audit::run(a),
            Command::Prover(a) => prover::run(a),
            Command::Register(a) => register::run(a),
            Command::Query(a) => query::run(a),
            Command::Report(a) => report::run(a),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
