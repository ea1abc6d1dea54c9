//! `lineage datanet …`

use clap::{Args, Subcommand};
use eyre::WrapErr;
use lineage_core::{datanet::Datanet, field::fr_to_hex};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum DatanetCommand {
    /// Validate a contribution file, commit it with a Poseidon Merkle tree and print the root.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Contribution file (format `lineage-datanet`, version 1).
    pub file: PathBuf,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: DatanetCommand) -> eyre::Result<()> {
    match cmd {
        DatanetCommand::Build(a) => {
            let d = Datanet::load(&a.file).wrap_err_with(|| format!("building datanet from {}", a.file.display()))?;
            let root = fr_to_hex(&d.root());
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "name": d.name,
                        "contributions": d.contributions.len(),
                        "contributors": d.contributors().len(),
                        "depth": d.tree.depth(),
                        "root": root,
                    })
                );
            } else {
                println!("datanet      {}", d.name);
                println!("contributions {} from {} contributors", d.contributions.len(), d.contributors().len());
                println!("merkle depth {}", d.tree.depth());
                println!("root         {root}");
            }
            Ok(())
        }
    }
}
