//! The attribution precompile.
//!
//! Address [`ADDRESS`] (`0x…4c4e0001`, outside Ethereum's precompile range
//! `0x01..=0x11` and RIP-7212's `0x100`). ABI: [`IAttribution`].
//!
//! * `registerVerifyingKey(bytes vkFile)` stores a `lineage-vk` file in the
//!   precompile's storage and returns its keccak256 hash.
//! * `registerDatanet(bytes32 root)`, `registerModel(model, datanetRoot, vkHash)`
//!   bind a model commitment to a registered datanet root and verifying key.
//! * `escrowFee(model, query)` (payable) escrows an inference fee for a query
//!   answered by a registered model.
//! * `submitClaim(...)` verifies a halo2 proof natively against the model's
//!   registered verifying key, with the public inputs rebuilt from the claim
//!   (payout commitment recomputed here), and on success pays every
//!   contributor's share out of the escrow — which must equal the claimed
//!   pool — and marks the (model, query) pair paid.
//!
//! Outcomes, following EIP-4844's precompile convention:
//! * malformed input (undecodable ABI, unknown selector, non-canonical
//!   field element, mismatched array lengths, amounts ≥ 2^128, an
//!   unparsable key file) **halts and consumes all the call's gas**;
//! * well-formed but invalid requests — a proof that does not verify, an
//!   unknown key or model, a pool that is not the escrow, a pair already
//!   paid — **revert** with a reason and pay nothing;
//! * every outcome depends only on the input and chain state.

use alloy_primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};
use lineage_verifier::KzgParams;
use lineage_core::{field::fr_from_be_bytes, payout::Payout};
use lineage_verifier::{Claim, VerifyingKeyFile};
use revm::{
    context_interface::{ContextTr, JournalTr},
    handler::precompile_output_to_interpreter_result,
    interpreter::{CallInputs, InterpreterResult},
    precompile::{PrecompileHalt, PrecompileOutput},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Address of the attribution precompile.
pub const ADDRESS: Address = address!("000000000000000000000000000000004c4e0001");

/// Gas of a proof verification (two pairings plus the SHPLONK MSM).
pub const VERIFY_BASE_GAS: u64 = 450_000;
/// Gas per payout transfer.
pub const PER_PAYOUT_GAS: u64 = 9_000;
/// Gas to register a verifying key, plus [`STORE_WORD_GAS`] per 32-byte word.
pub const REGISTER_VK_BASE_GAS: u64 = 50_000;
/// Gas per stored 32-byte word.
pub const STORE_WORD_GAS: u64 = 20_000;
/// Gas of a datanet or model registration.
pub const REGISTER_GAS: u64 = 45_000;
/// Gas of an escrow deposit.
pub const ESCROW_GAS: u64 = 25_000;
/// Gas of a read.
pub const VIEW_GAS: u64 = 2_600;

sol! {
    /// The attribution precompile's interface.
    interface IAttribution {
        function registerVerifyingKey(bytes vkFile) external returns (bytes32 vkHash);
        function registerDatanet(bytes32 root) external;
        function registerModel(bytes32 modelCommitment, bytes32 datanetRoot, bytes32 vkHash) external;
        function escrowFee(bytes32 modelCommitment, bytes32 queryCommitment) external payable;
        function escrowOf(bytes32 modelCommitment, bytes32 queryCommitment) external view returns (uint256 amount);
        function submitClaim(
            bytes32 vkHash,
            bytes32 datanetRoot,
            bytes32 modelCommitment,
            bytes32 queryCommitment,
            uint64 predictedClass,
            uint64 windowIndex,
            uint256 pool,
            address[] contributors,
            uint256[] amounts,
            bytes proof
        ) external returns (uint256 paid);
    }
}

/// The precompile's native state: verifier parameters (from genesis) and a
/// cache of parsed verifying keys (derived from storage; never authoritative).
pub struct AttributionPrecompile {
    params: KzgParams,
    vk_cache: Mutex<HashMap<B256, Arc<VerifyingKeyFile>>>,
}

enum Outcome {
    Ok { gas: u64, output: Bytes },
    Revert { gas: u64, reason: String },
    Halt(String),
}

type DbResult<T> = Result<T, String>;

fn slot(tag: &str, parts: &[&[u8]]) -> U256 {
    let mut buf = tag.as_bytes().to_vec();
    for p in parts {
        buf.extend_from_slice(p);
    }
    U256::from_be_bytes(keccak256(buf).0)
}

fn revert_data(reason: &str) -> Bytes {
    // Error(string), as Solidity's require() produces
    let mut out = vec![0x08, 0xc3, 0x79, 0xa0];
    out.extend_from_slice(&alloy_sol_types::SolValue::abi_encode(&(reason.to_string(),)));
    Bytes::from(out)
}

impl AttributionPrecompile {
    pub fn new(params: KzgParams) -> Self {
        Self { params, vk_cache: Mutex::new(HashMap::new()) }
    }

    /// Entry point from the precompile provider.
    pub fn run<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> Result<InterpreterResult, String> {
        let input = inputs.input.as_bytes(ctx).to_vec();
        let outcome = self.dispatch(ctx, inputs, &input)?;
        let out = match outcome {
            Outcome::Ok { gas, output } if gas <= inputs.gas_limit => PrecompileOutput::new(gas, output, inputs.reservoir),
            Outcome::Revert { gas, reason } if gas <= inputs.gas_limit => {
                PrecompileOutput::revert(gas, revert_data(&reason), inputs.reservoir)
            }
            Outcome::Halt(reason) => PrecompileOutput::halt(PrecompileHalt::other(reason), inputs.reservoir),
            _ => PrecompileOutput::halt(PrecompileHalt::OutOfGas, inputs.reservoir),
        };
        Ok(precompile_output_to_interpreter_result(out, inputs.gas_limit))
    }

    fn dispatch<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs, input: &[u8]) -> DbResult<Outcome> {
        use IAttribution::IAttributionCalls as C;
        let call = match C::abi_decode(input) {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::Halt(format!("malformed input: {e}"))),
        };
        let value = inputs.value.get();
        let payable = matches!(call, C::escrowFee(_));
        if !payable && !value.is_zero() {
            return Ok(Outcome::Revert { gas: VIEW_GAS, reason: "function is not payable".into() });
        }
        let writes = !matches!(call, C::escrowOf(_));
        if writes && inputs.is_static {
            return Ok(Outcome::Revert { gas: VIEW_GAS, reason: "state change in a static call".into() });
        }
        match call {
            C::registerVerifyingKey(c) => self.register_vk(ctx, &c.vkFile),
            C::registerDatanet(c) => {
                if let Err(h) = canonical_all(&[&c.root]) {
                    return Ok(h);
                }
                let s = slot("datanet", &[c.root.as_slice()]);
                if !self.sload(ctx, s)?.is_zero() {
                    return Ok(Outcome::Revert { gas: REGISTER_GAS, reason: "datanet already registered".into() });
                }
                self.sstore(ctx, s, U256::from_be_slice(inputs.caller.as_slice()).max(U256::from(1)))?;
                Ok(Outcome::Ok { gas: REGISTER_GAS, output: Bytes::new() })
            }
            C::registerModel(c) => {
                if let Err(h) = canonical_all(&[&c.modelCommitment, &c.datanetRoot]) {
                    return Ok(h);
                }
                if self.sload(ctx, slot("datanet", &[c.datanetRoot.as_slice()]))?.is_zero() {
                    return Ok(Outcome::Revert { gas: REGISTER_GAS, reason: "unknown datanet".into() });
                }
                if self.sload(ctx, slot("vk.len", &[c.vkHash.as_slice()]))?.is_zero() {
                    return Ok(Outcome::Revert { gas: REGISTER_GAS, reason: "unknown verifying key".into() });
                }
                let ms = slot("model.datanet", &[c.modelCommitment.as_slice()]);
                if !self.sload(ctx, ms)?.is_zero() {
                    return Ok(Outcome::Revert { gas: REGISTER_GAS, reason: "model already registered".into() });
                }
                self.sstore(ctx, ms, U256::from_be_bytes(c.datanetRoot.0))?;
                self.sstore(ctx, slot("model.vk", &[c.modelCommitment.as_slice()]), U256::from_be_bytes(c.vkHash.0))?;
                Ok(Outcome::Ok { gas: REGISTER_GAS, output: Bytes::new() })
            }
            C::escrowFee(c) => {
                if let Err(h) = canonical_all(&[&c.modelCommitment, &c.queryCommitment]) {
                    return Ok(h);
                }
                if self.sload(ctx, slot("model.vk", &[c.modelCommitment.as_slice()]))?.is_zero() {
                    return Ok(Outcome::Revert { gas: ESCROW_GAS, reason: "unknown model".into() });
                }
                let key = [c.modelCommitment.as_slice(), c.queryCommitment.as_slice()];
                if !self.sload(ctx, slot("paid", &key))?.is_zero() {
                    return Ok(Outcome::Revert { gas: ESCROW_GAS, reason: "query already paid".into() });
                }
                if value.is_zero() || value >= U256::from(1u8) << 128 {
                    return Ok(Outcome::Revert { gas: ESCROW_GAS, reason: "escrow must be in (0, 2^128) wei".into() });
                }
                let es = slot("escrow", &key);
                let cur = self.sload(ctx, es)?;
                let next = cur + value;
                if next >= U256::from(1u8) << 128 {
                    return Ok(Outcome::Revert { gas: ESCROW_GAS, reason: "escrow must stay below 2^128 wei".into() });
                }
                self.sstore(ctx, es, next)?;
                Ok(Outcome::Ok { gas: ESCROW_GAS, output: Bytes::new() })
            }
            C::escrowOf(c) => {
                let key = [c.modelCommitment.as_slice(), c.queryCommitment.as_slice()];
                let v = self.sload(ctx, slot("escrow", &key))?;
                Ok(Outcome::Ok { gas: VIEW_GAS, output: Bytes::from(IAttribution::escrowOfCall::abi_encode_returns(&v)) })
            }
            C::submitClaim(c) => self.submit_claim(ctx, c),
        }
    }

    fn sload<CTX: ContextTr>(&self, ctx: &mut CTX, s: U256) -> DbResult<U256> {
        ctx.journal_mut().sload(ADDRESS, s).map(|l| l.data).map_err(|e| e.to_string())
    }

    fn sstore<CTX: ContextTr>(&self, ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
        ctx.journal_mut().sstore(ADDRESS, s, v).map(|_| ()).map_err(|e| e.to_string())
    }

    fn register_vk<CTX: ContextTr>(&self, ctx: &mut CTX, file: &Bytes) -> DbResult<Outcome> {
        let vk = match VerifyingKeyFile::from_bytes(file) {
            Ok(vk) => vk,
            Err(e) => return Ok(Outcome::Halt(format!("malformed verifying key: {e}"))),
        };
        let words = file.len().div_ceil(32) as u64;
        let gas = REGISTER_VK_BASE_GAS + STORE_WORD_GAS * (words + 1);
        let len_slot = slot("vk.len", &[vk.hash.as_slice()]);
        if !self.sload(ctx, len_slot)?.is_zero() {
            return Ok(Outcome::Revert { gas: REGISTER_VK_BASE_GAS, reason: "verifying key already registered".into() });
        }
        self.sstore(ctx, len_slot, U256::from(file.len()))?;
        let base = slot("vk.data", &[vk.hash.as_slice()]);
        for (i, chunk) in file.chunks(32).enumerate() {
            let mut w = [0u8; 32];
            w[..chunk.len()].copy_from_slice(chunk);
            self.sstore(ctx, base + U256::from(i), U256::from_be_bytes(w))?;
        }
        let hash = vk.hash;
        self.vk_cache.lock().expect("vk cache lock").insert(hash, Arc::new(vk));
        Ok(Outcome::Ok { gas, output: Bytes::copy_from_slice(hash.as_slice()) })
    }

    fn load_vk<CTX: ContextTr>(&self, ctx: &mut CTX, hash: B256) -> DbResult<Option<Arc<VerifyingKeyFile>>> {
        if let Some(vk) = self.vk_cache.lock().expect("vk cache lock").get(&hash) {
            return Ok(Some(vk.clone()));
        }
        let len = self.sload(ctx, slot("vk.len", &[hash.as_slice()]))?;
        if len.is_zero() {
            return Ok(None);
        }
        let len: usize = len.to();
        let base = slot("vk.data", &[hash.as_slice()]);
        let mut bytes = Vec::with_capacity(len);
        for i in 0..len.div_ceil(32) {
            bytes.extend_from_slice(&self.sload(ctx, base + U256::from(i))?.to_be_bytes::<32>());
        }
        bytes.truncate(len);
        let vk = VerifyingKeyFile::from_bytes(&bytes).map_err(|e| format!("stored verifying key {hash} is corrupt: {e}"))?;
        let vk = Arc::new(vk);
        self.vk_cache.lock().expect("vk cache lock").insert(hash, vk.clone());
        Ok(Some(vk))
    }

    fn submit_claim<CTX: ContextTr>(&self, ctx: &mut CTX, c: IAttribution::submitClaimCall) -> DbResult<Outcome> {
        // ---- well-formedness: anything wrong here halts --------------------
        let frs = match canonical_all(&[&c.datanetRoot, &c.modelCommitment, &c.queryCommitment]) {
            Ok(frs) => frs,
            Err(h) => return Ok(h),
        };
        if c.contributors.len() != c.amounts.len() {
            return Ok(Outcome::Halt("contributors and amounts differ in length".into()));
        }
        let small = |v: &U256| (*v < U256::from(1u8) << 128).then(|| v.to::<u128>());
        let Some(pool) = small(&c.pool) else {
            return Ok(Outcome::Halt("pool is not below 2^128".into()));
        };
        let mut payouts = Vec::with_capacity(c.amounts.len());
        for (a, v) in c.contributors.iter().zip(&c.amounts) {
            let Some(v) = small(v) else {
                return Ok(Outcome::Halt("payout amount is not below 2^128".into()));
            };
            payouts.push(Payout { contributor: *a, amount_wei: v });
        }
        let gas = VERIFY_BASE_GAS + PER_PAYOUT_GAS * payouts.len() as u64;
        let revert = |reason: &str| Ok(Outcome::Revert { gas, reason: reason.into() });

        // ---- registry and escrow ------------------------------------------
        let registered_vk = self.sload(ctx, slot("model.vk", &[c.modelCommitment.as_slice()]))?;
        if registered_vk.is_zero() {
            return revert("unknown model");
        }
        if B256::from(registered_vk.to_be_bytes::<32>()) != c.vkHash {
            return revert("claim's verifying key is not the model's registered key");
        }
        let registered_root = self.sload(ctx, slot("model.datanet", &[c.modelCommitment.as_slice()]))?;
        if B256::from(registered_root.to_be_bytes::<32>()) != c.datanetRoot {
            return revert("claim's datanet root is not the model's registered datanet");
        }
        let key = [c.modelCommitment.as_slice(), c.queryCommitment.as_slice()];
        let paid_slot = slot("paid", &key);
        if !self.sload(ctx, paid_slot)?.is_zero() {
            return revert("claim already paid");
        }
        let escrow_slot = slot("escrow", &key);
        let escrow = self.sload(ctx, escrow_slot)?;
        if escrow != c.pool {
            return revert("pool does not equal the escrowed fee");
        }
        let Some(vk) = self.load_vk(ctx, c.vkHash)? else {
            return revert("unknown verifying key");
        };

        // ---- the proof -----------------------------------------------------
        let claim = Claim {
            vk_hash: c.vkHash,
            datanet_root: frs[0],
            model_commitment: frs[1],
            query_commitment: frs[2],
            predicted_class: c.predictedClass,
            window_index: c.windowIndex,
            pool_wei: pool,
            payouts,
            proof: c.proof.to_vec(),
        };
        if let Err(e) = claim.verify(&self.params, &vk) {
            return revert(&format!("claim rejected: {e}"));
        }

        // ---- pay -------------------------------------------------------------
        self.sstore(ctx, escrow_slot, U256::ZERO)?;
        self.sstore(ctx, paid_slot, U256::from(1))?;
        let mut paid = U256::ZERO;
        for p in claim.payouts.iter().filter(|p| p.amount_wei > 0) {
            let amount = U256::from(p.amount_wei);
            match ctx.journal_mut().transfer(ADDRESS, p.contributor, amount).map_err(|e| e.to_string())? {
                None => paid += amount,
                Some(e) => return Err(format!("escrow transfer failed: {e:?}")),
            }
        }
        Ok(Outcome::Ok { gas, output: Bytes::from(IAttribution::submitClaimCall::abi_encode_returns(&paid)) })
    }
}

/// Each bytes32 must be a canonical BN254 scalar; otherwise the input is
/// malformed (the first offender halts the call).
fn canonical_all(fields: &[&B256]) -> Result<Vec<lineage_core::Fr>, Outcome> {
    fields
        .iter()
        .map(|b| fr_from_be_bytes(&b.0).map_err(|_| Outcome::Halt(format!("{b} is not a canonical BN254 scalar"))))
        .collect()
}
