//! The registry precompile: `DatanetRegistry` and `ModelRegistry` as one
//! native contract at [`ADDRESS`] (`0x…4c4e0002`). ABI: [`IRegistry`].
//!
//! * **Datanets.** `registerDatanet(root, contributions, licence, uri)`
//!   creates datanet `id` (ids count from 0) owned by the caller, at
//!   version 0. Its owner appends contributions with
//!   `appendContributions(id, newRoot, newCount)`, which adds a version: the
//!   count only grows, and every version stays readable (`versionOf`).
//! * **Models.** `registerModel(commitment, datanetIds, versions, uri)`
//!   records a model commitment, its owner (the caller) and the datanet
//!   versions it was trained on, each of which must exist.
//!
//! Every state change emits an event. Strings are bounded
//! ([`MAX_LICENCE_BYTES`], [`MAX_URI_BYTES`]) and so is a model's datanet
//! list ([`MAX_MODEL_DATANETS`]). Outcomes follow the attribution
//! precompile: gas is computed from the input alone and checked before any
//! work; malformed input halts and consumes the call's gas; a refusal
//! reverts with its reason; value is refused; only a plain `CALL` to this
//! address may change state.

use super::{
    attribution::slots::slot,
    native::{self, DbResult, Outcome},
};
use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use revm::{
    context_interface::{Block, ContextTr},
    interpreter::{CallInputs, CallScheme, InterpreterResult},
};

/// Address of the registry precompile.
pub const ADDRESS: Address = address!("000000000000000000000000000000004c4e0002");
/// Longest licence (an SPDX expression or policy text), bytes.
pub const MAX_LICENCE_BYTES: usize = 256;
/// Longest metadata URI, bytes.
pub const MAX_URI_BYTES: usize = 512;
/// Most datanet versions one model may name.
pub const MAX_MODEL_DATANETS: usize = 64;
/// Gas of a call before its storage: decoding, checks, the event.
pub const BASE_GAS: u64 = 25_000;
/// Gas per new storage word (as `SSTORE` of a fresh slot).
pub const STORE_WORD_GAS: u64 = 20_000;
/// Gas per storage word read (as a cold `SLOAD`).
pub const READ_WORD_GAS: u64 = 2_100;

sol! {
    /// DatanetRegistry and ModelRegistry.
    interface IRegistry {
        function registerDatanet(bytes32 root, uint64 contributions, string licence, string metadataUri) external returns (uint256 datanetId);
        function appendContributions(uint256 datanetId, bytes32 newRoot, uint64 newCount) external returns (uint32 version);
        function datanetOf(uint256 datanetId) external view returns (address owner, string licence, string metadataUri, uint32 versions);
        function versionOf(uint256 datanetId, uint32 version) external view returns (bytes32 root, uint64 contributions, uint64 blockNumber);
        function datanetCount() external view returns (uint256);
        function registerModel(bytes32 commitment, uint256[] datanetIds, uint32[] versions, string metadataUri) external returns (uint256 modelId);
        function modelOf(uint256 modelId) external view returns (
            address owner,
            bytes32 commitment,
            string metadataUri,
            uint256[] datanetIds,
            uint32[] versions
        );
        function modelCount() external view returns (uint256);

        event DatanetRegistered(uint256 indexed datanetId, address indexed owner, bytes32 root, uint64 contributions, string licence, string metadataUri);
        event ContributionsAppended(uint256 indexed datanetId, uint32 indexed version, bytes32 root, uint64 contributions);
        event ModelRegistered(uint256 indexed modelId, address indexed owner, bytes32 indexed commitment, uint256[] datanetIds, uint32[] versions);
    }
}

mod s {
    use super::*;
    pub fn datanet_count() -> U256 {
        slot("reg.datanets", &[])
    }
    pub fn model_count() -> U256 {
        slot("reg.models", &[])
    }
    pub fn datanet(id: U256, f: &str) -> U256 {
        slot("reg.datanet", &[&id.to_be_bytes::<32>(), f.as_bytes()])
    }
    pub fn version(id: U256, v: u32, f: &str) -> U256 {
        slot("reg.version", &[&id.to_be_bytes::<32>(), &v.to_be_bytes(), f.as_bytes()])
    }
    pub fn model(id: U256, f: &str) -> U256 {
        slot("reg.model", &[&id.to_be_bytes::<32>(), f.as_bytes()])
    }
    pub fn model_entry(id: U256, i: u32) -> U256 {
        slot("reg.model.entry", &[&id.to_be_bytes::<32>(), &i.to_be_bytes()])
    }
}

fn words(len: usize) -> u64 {
    len.div_ceil(32) as u64
}

/// Gas of a call, from its input alone.
pub fn gas_of(call: &IRegistry::IRegistryCalls) -> u64 {
    use IRegistry::IRegistryCalls as C;
    let store = |w: u64| BASE_GAS.saturating_add(STORE_WORD_GAS.saturating_mul(w));
    let read = |w: u64| READ_WORD_GAS.saturating_mul(w).max(2_600);
    match call {
        // owner, licence and uri lengths, version count, root, count, block, strings
        C::registerDatanet(c) => store(7 + words(c.licence.len()) + words(c.metadataUri.len())),
        C::appendContributions(_) => store(4).saturating_add(read(3)),
        C::datanetOf(_) => read(4 + words(MAX_LICENCE_BYTES) + words(MAX_URI_BYTES)),
        C::versionOf(_) => read(4),
        C::datanetCount(_) | C::modelCount(_) => read(1),
        C::registerModel(c) => store(5 + words(c.metadataUri.len()) + c.datanetIds.len() as u64).saturating_add(read(2 * c.datanetIds.len() as u64)),
        C::modelOf(_) => read(5 + words(MAX_URI_BYTES) + MAX_MODEL_DATANETS as u64),
    }
}

/// The registry (stateless: everything lives in the chain's storage).
#[derive(Default, Debug)]
pub struct RegistryPrecompile;

fn sload<CTX: ContextTr>(ctx: &mut CTX, s: U256) -> DbResult<U256> {
    native::sload(ctx, ADDRESS, s)
}

fn sstore<CTX: ContextTr>(ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
    native::sstore(ctx, ADDRESS, s, v)
}

/// Store a string: its length at `base`, its bytes in the words after.
fn store_string<CTX: ContextTr>(ctx: &mut CTX, base: U256, v: &str) -> DbResult<()> {
    native::store_bytes(ctx, ADDRESS, base, base + U256::from(1), v.as_bytes())
}

fn load_string<CTX: ContextTr>(ctx: &mut CTX, base: U256, max: usize) -> DbResult<String> {
    let len = sload(ctx, base)?.saturating_to::<usize>();
    if len > max {
        return Err(format!("stored string longer than {max} bytes"));
    }
    let out = native::load_bytes(ctx, ADDRESS, base + U256::from(1), len)?;
    String::from_utf8(out).map_err(|_| "stored string is not UTF-8".to_string())
}

fn emit<CTX: ContextTr, E: SolEvent>(ctx: &mut CTX, e: &E) {
    native::emit(ctx, ADDRESS, e)
}

impl RegistryPrecompile {
    /// Entry point from the precompile provider.
    pub fn run<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> Result<InterpreterResult, String> {
        native::run_sol(ctx, inputs, gas_of, |ctx, c| self.dispatch(ctx, inputs, c))
    }

    fn dispatch<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs, call: IRegistry::IRegistryCalls) -> DbResult<Outcome> {
        use IRegistry::IRegistryCalls as C;
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        let view = matches!(call, C::datanetOf(_) | C::versionOf(_) | C::datanetCount(_) | C::modelOf(_) | C::modelCount(_));
        if !inputs.value.get().is_zero() {
            return revert("the registry is not payable");
        }
        if !view {
            if inputs.is_static {
                return revert("state change in a static call");
            }
            if inputs.scheme != CallScheme::Call || inputs.target_address != ADDRESS {
                return revert("state-changing calls must be a plain CALL to the registry (not CALLCODE or DELEGATECALL)");
            }
        }
        let caller = inputs.caller;
        let block = ctx.block().number().saturating_to::<u64>();
        match call {
            C::registerDatanet(c) => {
                if c.licence.is_empty() || c.licence.len() > MAX_LICENCE_BYTES || c.metadataUri.len() > MAX_URI_BYTES {
                    return Ok(Outcome::Halt(format!("malformed input: licence 1..={MAX_LICENCE_BYTES} bytes, URI ≤ {MAX_URI_BYTES} bytes")));
                }
                if c.contributions == 0 {
                    return revert("a datanet starts with at least one contribution");
                }
                let id = sload(ctx, s::datanet_count())?;
                sstore(ctx, s::datanet_count(), id + U256::from(1))?;
                sstore(ctx, s::datanet(id, "owner"), U256::from_be_slice(caller.as_slice()))?;
                sstore(ctx, s::datanet(id, "versions"), U256::from(1))?;
                store_string(ctx, s::datanet(id, "licence"), &c.licence)?;
                store_string(ctx, s::datanet(id, "uri"), &c.metadataUri)?;
                sstore(ctx, s::version(id, 0, "root"), U256::from_be_bytes(c.root.0))?;
                sstore(ctx, s::version(id, 0, "count"), U256::from(c.contributions))?;
                sstore(ctx, s::version(id, 0, "block"), U256::from(block))?;
                emit(
                    ctx,
                    &IRegistry::DatanetRegistered {
                        datanetId: id,
                        owner: caller,
                        root: c.root,
                        contributions: c.contributions,
                        licence: c.licence.clone(),
                        metadataUri: c.metadataUri.clone(),
                    },
                );
                Ok(Outcome::Ok(IRegistry::registerDatanetCall::abi_encode_returns(&id).into()))
            }
            C::appendContributions(c) => {
                let id = c.datanetId;
                let versions = sload(ctx, s::datanet(id, "versions"))?.saturating_to::<u32>();
                if versions == 0 {
                    return revert("unknown datanet");
                }
                if Address::from_word(B256::from(sload(ctx, s::datanet(id, "owner"))?)) != caller {
                    return revert("only the datanet's owner may append contributions");
                }
                let last = sload(ctx, s::version(id, versions - 1, "count"))?;
                if U256::from(c.newCount) <= last {
                    return revert("a new version must hold more contributions than the last");
                }
                if versions == u32::MAX {
                    return revert("too many versions");
                }
                sstore(ctx, s::version(id, versions, "root"), U256::from_be_bytes(c.newRoot.0))?;
                sstore(ctx, s::version(id, versions, "count"), U256::from(c.newCount))?;
                sstore(ctx, s::version(id, versions, "block"), U256::from(block))?;
                sstore(ctx, s::datanet(id, "versions"), U256::from(versions + 1))?;
                emit(ctx, &IRegistry::ContributionsAppended { datanetId: id, version: versions, root: c.newRoot, contributions: c.newCount });
                Ok(Outcome::Ok(IRegistry::appendContributionsCall::abi_encode_returns(&versions).into()))
            }
            C::datanetOf(c) => {
                let id = c.datanetId;
                let versions = sload(ctx, s::datanet(id, "versions"))?.saturating_to::<u32>();
                if versions == 0 {
                    return revert("unknown datanet");
                }
                let owner = Address::from_word(B256::from(sload(ctx, s::datanet(id, "owner"))?));
                let licence = load_string(ctx, s::datanet(id, "licence"), MAX_LICENCE_BYTES)?;
                let uri = load_string(ctx, s::datanet(id, "uri"), MAX_URI_BYTES)?;
                Ok(Outcome::Ok(IRegistry::datanetOfCall::abi_encode_returns_tuple(&(owner, licence, uri, versions)).into()))
            }
            C::versionOf(c) => {
                let versions = sload(ctx, s::datanet(c.datanetId, "versions"))?.saturating_to::<u32>();
                if c.version >= versions {
                    return revert("unknown datanet version");
                }
                let root = B256::from(sload(ctx, s::version(c.datanetId, c.version, "root"))?);
                let count = sload(ctx, s::version(c.datanetId, c.version, "count"))?.saturating_to::<u64>();
                let at = sload(ctx, s::version(c.datanetId, c.version, "block"))?.saturating_to::<u64>();
                Ok(Outcome::Ok(IRegistry::versionOfCall::abi_encode_returns_tuple(&(root, count, at)).into()))
            }
            C::datanetCount(_) => Ok(Outcome::Ok(IRegistry::datanetCountCall::abi_encode_returns(&sload(ctx, s::datanet_count())?).into())),
            C::modelCount(_) => Ok(Outcome::Ok(IRegistry::modelCountCall::abi_encode_returns(&sload(ctx, s::model_count())?).into())),
            C::registerModel(c) => {
                let n = c.datanetIds.len();
                if n == 0 || n > MAX_MODEL_DATANETS || c.versions.len() != n || c.metadataUri.len() > MAX_URI_BYTES {
                    return Ok(Outcome::Halt(format!(
                        "malformed input: 1..={MAX_MODEL_DATANETS} datanet versions, one version per datanet id, URI ≤ {MAX_URI_BYTES} bytes"
                    )));
                }
                for (d, v) in c.datanetIds.iter().zip(&c.versions) {
                    let versions = sload(ctx, s::datanet(*d, "versions"))?.saturating_to::<u32>();
                    if *v >= versions {
                        return revert(&format!("datanet {d} has no version {v}"));
                    }
                }
                let id = sload(ctx, s::model_count())?;
                sstore(ctx, s::model_count(), id + U256::from(1))?;
                sstore(ctx, s::model(id, "owner"), U256::from_be_slice(caller.as_slice()))?;
                sstore(ctx, s::model(id, "commitment"), U256::from_be_bytes(c.commitment.0))?;
                sstore(ctx, s::model(id, "n"), U256::from(n))?;
                store_string(ctx, s::model(id, "uri"), &c.metadataUri)?;
                for (i, (d, v)) in c.datanetIds.iter().zip(&c.versions).enumerate() {
                    // datanet id (≤ 2^224 in practice) and version packed in one word
                    sstore(ctx, s::model_entry(id, i as u32), (*d << 32) | U256::from(*v))?;
                }
                emit(
                    ctx,
                    &IRegistry::ModelRegistered {
                        modelId: id,
                        owner: caller,
                        commitment: c.commitment,
                        datanetIds: c.datanetIds.clone(),
                        versions: c.versions.clone(),
                    },
                );
                Ok(Outcome::Ok(IRegistry::registerModelCall::abi_encode_returns(&id).into()))
            }
            C::modelOf(c) => {
                let id = c.modelId;
                if id >= sload(ctx, s::model_count())? {
                    return revert("unknown model");
                }
                let owner = Address::from_word(B256::from(sload(ctx, s::model(id, "owner"))?));
                let commitment = B256::from(sload(ctx, s::model(id, "commitment"))?);
                let n = sload(ctx, s::model(id, "n"))?.saturating_to::<usize>().min(MAX_MODEL_DATANETS);
                let uri = load_string(ctx, s::model(id, "uri"), MAX_URI_BYTES)?;
                let mut ids = Vec::with_capacity(n);
                let mut versions = Vec::with_capacity(n);
                for i in 0..n {
                    let w = sload(ctx, s::model_entry(id, i as u32))?;
                    ids.push(w >> 32);
                    versions.push((w & U256::from(u32::MAX)).to::<u32>());
                }
                Ok(Outcome::Ok(IRegistry::modelOfCall::abi_encode_returns_tuple(&(owner, commitment, uri, ids, versions)).into()))
            }
        }
    }
}
