//! `lineage verify` — what an auditor runs.

use clap::Args;
use eyre::WrapErr;
use lineage_verifier::{ClaimBundle, ProvenanceReport, VerifierParams, VerifyingKeyFile};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Proof bundle (`lineage-proof-bundle` JSON).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Verifying-key file (`lineage-vk`).
    #[arg(long)]
    pub vk: PathBuf,
    /// Verifier parameters (`LNVPARAM` file).
    #[arg(long)]
    pub params: PathBuf,
    /// Name of the datanet, shown in the report.
    #[arg(long)]
    pub datanet_name: Option<String>,
}

pub fn run(a: VerifyArgs) -> eyre::Result<()> {
    let read = |p: &PathBuf| std::fs::read(p).wrap_err_with(|| format!("reading {}", p.display()));
    let params = VerifierParams::from_bytes(&read(&a.params)?)?.to_kzg();
    let vk = VerifyingKeyFile::from_bytes(&read(&a.vk)?)?;
    let text = String::from_utf8(read(&a.bundle)?).wrap_err("bundle is not UTF-8")?;
    let claim = ClaimBundle::from_json(&text)?.to_claim()?;
    match claim.verify(&params, &vk) {
        Ok(verified) => {
            print!("{}", ProvenanceReport { verified, datanet_name: a.datanet_name, window_size: vk.shape.batch });
            Ok(())
        }
        Err(e) => Err(eyre::eyre!("REJECTED: {e}")),
    }
}
