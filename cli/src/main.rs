//! `lineage` — datanets, attribution proofs, the chain and the demo.

use clap::Parser;

fn main() -> eyre::Result<()> {
    lineage::init_tracing();
    lineage::Cli::parse().run()
}
