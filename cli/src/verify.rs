//! `lineage verify` — what an auditor runs.
//!
//! The auditor never trusts the files a prover hands over: the verifier
//! parameters and the verifying key are each checked against a hash the
//! auditor pins — given on the command line, or read from a chain's genesis
//! and key allowlist — before anything in them is used.

use alloy_primitives::B256;
use clap::{ArgGroup, Args};
use eyre::{bail, WrapErr};
use lineage_chain::{precompile::attribution::slots, Chain, ATTRIBUTION_PRECOMPILE};
use lineage_verifier::{ClaimBundle, ProvenanceReport, Verifier, MAX_BUNDLE_BYTES, MAX_VK_FILE_BYTES, PARAMS_BYTES};
use std::{io::Read, path::PathBuf};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("trust").required(true).args(["params_hash", "chain"])))]
pub struct VerifyArgs {
    /// Proof bundle (`lineage-proof-bundle` JSON).
    #[arg(long)]
    pub bundle: PathBuf,
    /// Verifying-key file (`lineage-vk`).
    #[arg(long)]
    pub vk: PathBuf,
    /// Verifier parameters (`LNVPARAM` file). With `--chain`, defaults to the
    /// parameters in the chain's genesis.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// keccak256 of the verifier parameters you trust (e.g. from the chain's
    /// genesis); any other file is refused.
    #[arg(long, requires = "vk_hash")]
    pub params_hash: Option<B256>,
    /// keccak256 of the verifying key you trust; any other key is refused.
    #[arg(long)]
    pub vk_hash: Option<B256>,
    /// Take the trusted parameters from this chain data directory's genesis
    /// and accept only a key on its allowlist. Use your own node's data
    /// directory: `--genesis-hash` pins genesis, but the allowlist is later
    /// state, so for a directory someone handed you, also give `--vk-hash`.
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// With `--chain`: the genesis block hash you trust; a data directory
    /// with another genesis is refused.
    #[arg(long, requires = "chain")]
    pub genesis_hash: Option<B256>,
    /// Name of the datanet, shown in the report.
    #[arg(long)]
    pub datanet_name: Option<String>,
}

/// Read at most `max` bytes of a file; larger files are refused before they are read whole.
pub(crate) fn read_bounded(path: &PathBuf, max: usize, what: &str) -> eyre::Result<Vec<u8>> {
    let f = std::fs::File::open(path).wrap_err_with(|| format!("reading {what} {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(max as u64 + 1).read_to_end(&mut buf).wrap_err_with(|| format!("reading {what} {}", path.display()))?;
    if buf.len() > max {
        bail!("{what} {} is larger than {max} bytes; refusing it", path.display());
    }
    Ok(buf)
}

pub(crate) fn rejected(e: impl std::fmt::Display) -> eyre::Report {
    eyre::eyre!("REJECTED: {e}")
}

pub fn run(a: VerifyArgs) -> eyre::Result<()> {
    let vk_bytes = read_bounded(&a.vk, MAX_VK_FILE_BYTES, "verifying key")?;
    let read_params = |p: &PathBuf| read_bounded(p, PARAMS_BYTES, "verifier parameters");
    // what to trust: the parameter file, its pinned hash, and the pinned key hash
    let (params, params_hash, vk_hash) = if let Some(dir) = &a.chain {
        let chain = Chain::open(dir).wrap_err_with(|| format!("opening chain {}", dir.display()))?;
        if let Some(expected) = a.genesis_hash {
            let found = chain.genesis_hash()?;
            if found != expected {
                bail!("REJECTED: the chain at {} has genesis {found}, not the pinned {expected}", dir.display());
            }
        }
        let genesis_params = chain.genesis().verifier_params_bytes()?;
        let pinned = alloy_primitives::keccak256(&genesis_params);
        let params = match &a.params {
            Some(p) => read_params(p)?,
            None => genesis_params,
        };
        let vk_hash = a.vk_hash.unwrap_or_else(|| alloy_primitives::keccak256(&vk_bytes));
        if chain.storage(ATTRIBUTION_PRECOMPILE, slots::key_allowed(&vk_hash))?.is_zero() {
            bail!("REJECTED: verifying key {vk_hash} is not on the allowlist of the chain at {}", dir.display());
        }
        (params, pinned, vk_hash)
    } else {
        let (Some(params_hash), Some(vk_hash)) = (a.params_hash, a.vk_hash) else {
            bail!("pin what you trust: give --params-hash and --vk-hash, or --chain");
        };
        let Some(p) = &a.params else {
            bail!("--params is required without --chain");
        };
        (read_params(p)?, params_hash, vk_hash)
    };
    let verifier = Verifier::from_pinned_bytes(&params, &params_hash).map_err(rejected)?;
    let vk = verifier.parse_pinned_key(&vk_bytes, &vk_hash).map_err(rejected)?;
    let bundle = read_bounded(&a.bundle, MAX_BUNDLE_BYTES, "proof bundle")?;
    let text = String::from_utf8(bundle).wrap_err("bundle is not UTF-8")?;
    let claim = ClaimBundle::from_json(&text).and_then(|b| b.to_claim()).map_err(rejected)?;
    match verifier.verify(&claim, &vk) {
        Ok(verified) => {
            print!("{}", ProvenanceReport { verified, datanet_name: a.datanet_name, window_size: vk.shape.batch });
            println!("  pinned   verifier parameters {}", verifier.params_hash());
            Ok(())
        }
        Err(e) => Err(rejected(e)),
    }
}
