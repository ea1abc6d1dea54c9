//! `lineage register`: a model owner puts the digits model's whole-datanet
//! key on a chain (the datanet, its example count, the per-query key with
//! every feature-chunk proof), so that prover nodes can answer its
//! requests. Shared with `lineage demo`.

use crate::rpc_chain::{RpcChain, TxReceipt};
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use clap::Args;
use eyre::{bail, WrapErr};
use lineage_chain::precompile::attribution::{IAttribution, ADDRESS};
use lineage_core::{datanet::Datanet, field::fr_to_be_bytes, model::QuantizedModel};
use lineage_prover::{srs, ProverClient};
use std::path::{Path, PathBuf};

#[derive(Debug, Args, Clone)]
pub struct RegisterArgs {
    /// JSON-RPC URL of the node.
    #[arg(long)]
    pub rpc: String,
    /// File holding the model owner's private key (hex, one line), or
    /// `dev:N` for a development account.
    #[arg(long)]
    pub key: PathBuf,
    /// Examples of the datanet the key covers: its first N (default: all 1,438).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=lineage_circuits::query::MAX_CAPACITY as u64))]
    pub examples: Option<usize>,
    /// Training epochs of the digits model (1 to 100,000).
    #[arg(long, default_value_t = lineage_inference::DEFAULT_EPOCHS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub epochs: usize,
    /// Where the SRS, feature proofs and proving keys are cached (default: $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// Read a private key file: hex, with or without `0x`, surrounding
/// whitespace ignored. `dev:N` names the development mnemonic's account N
/// instead (`lineage node --dev` prefunds accounts 0 to 9; account 0 governs).
pub fn read_key(path: &Path) -> eyre::Result<PrivateKeySigner> {
    if let Some(n) = path.to_str().and_then(|s| s.strip_prefix("dev:")) {
        let n: u32 = n.parse().map_err(|_| eyre::eyre!("dev:N names a development account by its number, not {n:?}"))?;
        if n >= 100 {
            bail!("dev:N takes N below 100");
        }
        return Ok(lineage_chain::dev_signers(n + 1)?.pop().expect("n + 1 signers"));
    }
    let text = std::fs::read_to_string(path).wrap_err_with(|| format!("reading the key file {}", path.display()))?;
    text.trim().parse::<PrivateKeySigner>().map_err(|_| eyre::eyre!("{} does not hold a hex secp256k1 private key", path.display()))
}

/// The digits datanet's first `examples` contributions and the model
/// trained on all of it (deterministic: the same commitment every run).
pub fn digits_model(examples: Option<usize>, epochs: usize) -> eyre::Result<(Datanet, QuantizedModel)> {
    let datanet = lineage_inference::digits_datanet()?;
    let cfg = lineage_inference::TrainConfig { epochs, ..Default::default() };
    let model = lineage_inference::train(&datanet, &cfg, &candle_core::Device::Cpu)?.quantize()?;
    let n = examples.unwrap_or(datanet.contributions.len()).min(datanet.contributions.len());
    let part = Datanet::new(datanet.name.clone(), datanet.contributions[..n].to_vec())?;
    Ok((part, model))
}

pub fn b32(x: &lineage_core::Fr) -> B256 {
    B256::from(fr_to_be_bytes(x))
}

/// Put each key hash on the chain's allowlist that is not on it yet; only
/// the governor (dev account 0 on a dev node) can.
pub fn allowlist(chain: &RpcChain, governor: &PrivateKeySigner, hashes: &[B256]) -> eyre::Result<()> {
    for h in hashes {
        let on = chain.view(ADDRESS, IAttribution::isKeyAllowedCall { vkHash: *h })?;
        if !on {
            let r = chain.transact(governor, ADDRESS, IAttribution::setKeyAllowedCall { vkHash: *h, allowed: true }.abi_encode(), U256::ZERO, 100_000)?;
            if !r.status {
                bail!("allowlisting key {h} failed (only the chain's governor can; ask governance for proposeKeyAllowed): {}", describe(&r));
            }
        }
    }
    Ok(())
}

/// Register `datanet` (once per root), its example count, and the model's
/// whole-datanet key from `whole`; returns the key registration's gas (0
/// when this model already has this key).
pub fn register_whole_key(
    chain: &RpcChain,
    owner: &PrivateKeySigner,
    model: &QuantizedModel,
    datanet: &Datanet,
    whole: &crate::whole::WholeSetup,
) -> eyre::Result<u64> {
    let model_c = b32(&model.commitment());
    let root = b32(&datanet.root());
    let known = chain.view(ADDRESS, IAttribution::isDatanetRegisteredCall { owner: owner.address(), root })?;
    if !known {
        let r = chain.transact(owner, ADDRESS, IAttribution::registerDatanetCall { root }.abi_encode(), U256::ZERO, 200_000)?;
        if !r.status {
            bail!("registering the datanet failed: {}", describe(&r));
        }
    }
    let n = u64::try_from(datanet.contributions.len())?;
    let held = chain.view(ADDRESS, IAttribution::wholeKeyOfCall { owner: owner.address(), modelCommitment: model_c })?;
    if held.keyHash != B256::ZERO {
        if held.examples != n || held.keyHash != whole.query_file.hash {
            bail!("this chain already holds another whole-datanet key for the model ({} over {} examples, not {} over {n}): use a fresh node", held.keyHash, held.examples, whole.query_file.hash);
        }
        return Ok(0);
    }
    let r = chain.transact(owner, ADDRESS, IAttribution::setDatanetExamplesCall { root, examples: n }.abi_encode(), U256::ZERO, 200_000)?;
    if !r.status && !describe(&r).contains("already set") {
        bail!("setting the example count failed: {}", describe(&r));
    }
    let call = IAttribution::registerWholeKeyCall {
        modelCommitment: model_c,
        datanetOwner: owner.address(),
        datanetRoot: root,
        k: whole.shape.k,
        queryKey: whole.query_file.to_bytes().into(),
        chunkKeys: whole.features.chunks.iter().map(|c| Bytes::from(c.0.to_bytes())).collect(),
        chunkPublics: whole
            .features
            .chunks
            .iter()
            .map(|c| c.1.to_instances().iter().map(b32).collect::<Vec<_>>().try_into().expect("five public inputs"))
            .collect(),
        chunkProofs: whole.features.chunks.iter().map(|c| Bytes::from(c.2.clone())).collect(),
    };
    // calldata costs up to 40 gas a byte under Prague's floor pricing (EIP-7623)
    let gas = lineage_chain::precompile::whole::register_gas(&call) + 40 * call.abi_encode().len() as u64 + 200_000;
    let r = chain.transact(owner, ADDRESS, call.abi_encode(), U256::ZERO, gas)?;
    if !r.status {
        bail!("the per-query key was refused: {}", describe(&r));
    }
    Ok(r.gas_used)
}

/// The metadata URI the digits datanet's first `n` examples are registered under.
pub fn digits_uri(n: usize) -> String {
    format!("lineage:data/digits-datanet.json#first={n}")
}

/// Record the datanet version (root, count, licences) and the model that
/// was trained on it in the registry (`0x…4c4e0002`), where regulators
/// read provenance; returns (datanet id, version, model id). What the
/// owner registered before is reused.
pub fn register_provenance(chain: &RpcChain, owner: &PrivateKeySigner, model: &QuantizedModel, datanet: &Datanet) -> eyre::Result<(U256, u32, U256)> {
    use lineage_chain::precompile::registry::{IRegistry, ADDRESS as REGISTRY};
    let root = b32(&datanet.root());
    let model_c = b32(&model.commitment());
    let mut found = None;
    let count = chain.view(REGISTRY, IRegistry::datanetCountCall {})?;
    let mut i = U256::ZERO;
    while i < count && found.is_none() {
        let d = chain.view(REGISTRY, IRegistry::datanetOfCall { datanetId: i })?;
        if d.owner == owner.address() {
            for v in 0..d.versions {
                let ver = chain.view(REGISTRY, IRegistry::versionOfCall { datanetId: i, version: v })?;
                if ver.root == root {
                    found = Some((i, v));
                }
            }
        }
        i += U256::from(1);
    }
    let (id, version) = match found {
        Some(x) => x,
        None => {
            let mut licences: Vec<&str> = datanet.contributions.iter().map(|c| c.licence.as_str()).collect();
            licences.sort_unstable();
            licences.dedup();
            let call = IRegistry::registerDatanetCall {
                root,
                contributions: datanet.contributions.len() as u64,
                licence: format!("{} (per contribution)", licences.join(", ")),
                metadataUri: digits_uri(datanet.contributions.len()),
            };
            let r = chain.transact(owner, REGISTRY, call.abi_encode(), U256::ZERO, 1_000_000)?;
            if !r.status {
                bail!("registering the datanet in the registry failed: {}", describe(&r));
            }
            (IRegistry::registerDatanetCall::abi_decode_returns(&r.output)?, 0)
        }
    };
    let models = chain.view(REGISTRY, IRegistry::modelCountCall {})?;
    let mut i = U256::ZERO;
    while i < models {
        let m = chain.view(REGISTRY, IRegistry::modelOfCall { modelId: i })?;
        if m.owner == owner.address() && m.commitment == model_c {
            return Ok((id, version, i));
        }
        i += U256::from(1);
    }
    let call = IRegistry::registerModelCall { commitment: model_c, datanetIds: vec![id], versions: vec![version], metadataUri: "lineage:digits MLP 64-16-10, fixed point".into() };
    let r = chain.transact(owner, REGISTRY, call.abi_encode(), U256::ZERO, 1_000_000)?;
    if !r.status {
        bail!("registering the model in the registry failed: {}", describe(&r));
    }
    Ok((id, version, IRegistry::registerModelCall::abi_decode_returns(&r.output)?))
}

/// The key hashes a whole-datanet key needs allowlisted: the per-query
/// template and every chunk's.
pub fn whole_templates(whole: &crate::whole::WholeSetup) -> Vec<B256> {
    let mut v = vec![whole.query_file.template_hash()];
    v.extend(whole.features.chunks.iter().map(|c| c.0.template_hash()));
    v.dedup();
    v
}

pub fn run(args: RegisterArgs) -> eyre::Result<()> {
    let owner = read_key(&args.key)?;
    let chain = RpcChain::connect(&args.rpc)?;
    let cache = args.cache_dir.clone().unwrap_or_else(srs::default_cache_dir);
    println!("training the digits model ({} epochs)…", args.epochs);
    let (datanet, model) = digits_model(args.examples, args.epochs)?;
    let shape = lineage_circuits::query::QueryShape::new(datanet.contributions.len())?;
    let params = srs::cached_dev_srs(&cache, shape.k)?;
    println!("feature proof and per-query key for {} examples (k = {}; cached under {})…", datanet.contributions.len(), shape.k, cache.display());
    let whole = crate::whole::prepare(&ProverClient::builder().cpu().build()?, &params, &datanet, &model, None, &cache)?;
    let governor: Address = chain.view(ADDRESS, IAttribution::governorCall {})?;
    if governor == owner.address() {
        allowlist(&chain, &owner, &whole_templates(&whole))?;
    }
    let gas = register_whole_key(&chain, &owner, &model, &datanet, &whole)?;
    let (datanet_id, version, model_id) = register_provenance(&chain, &owner, &model, &datanet)?;
    println!("registry: datanet #{datanet_id} version {version}, model #{model_id}");
    println!(
        "registered: owner {} model {} datanet root {} ({} examples) per-query key {}{}",
        owner.address(),
        b32(&model.commitment()),
        b32(&datanet.root()),
        datanet.contributions.len(),
        whole.query_file.hash,
        if gas == 0 { " (already on chain)".to_string() } else { format!(" (gas {gas})") }
    );
    Ok(())
}

pub fn describe(r: &TxReceipt) -> String {
    if r.status {
        format!("PAID (gas {})", r.gas_used)
    } else {
        let reason = <alloy_sol_types::Revert as alloy_sol_types::SolError>::abi_decode(&r.output).map(|e| e.reason).unwrap_or_else(|_| r.outcome.clone());
        format!("REJECTED — {reason} (gas {})", r.gas_used)
    }
}
