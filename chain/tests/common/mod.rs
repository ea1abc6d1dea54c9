//! Shared test support: a real verifying key at a small shape, chains with
//! a genesis that pins its verifier parameters, signed calls and the
//! EscrowForger contract.
#![allow(dead_code)]

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use lineage_chain::{
    dev_signers,
    precompile::attribution::{IAttribution, ADDRESS},
    tx::{sign_call, sign_create},
    Chain, Genesis, Receipt,
};
use lineage_circuits::{
    halo2_proofs::{plonk::keygen_vk, poly::kzg::commitment::ParamsKZG},
    keygen_circuit, Bn256, CircuitShape,
};
use lineage_verifier::{VerifierParams, VerifyingKeyFile};
use rand::SeedableRng;
use std::sync::OnceLock;

pub const GAS_PRICE: u128 = 2_000_000_000;

/// Verifier parameters and a genuine verifying key of the attribution
/// circuit (batch 4, 4 slots, depth 11: k = 15).
pub struct KeyFixture {
    pub params: Vec<u8>,
    pub vk: VerifyingKeyFile,
    pub vk_bytes: Vec<u8>,
}

pub fn keys() -> &'static KeyFixture {
    static K: OnceLock<KeyFixture> = OnceLock::new();
    K.get_or_init(|| {
        let shape = CircuitShape::new(4, 4, 11).unwrap();
        let srs = ParamsKZG::<Bn256>::setup(shape.k, rand_chacha::ChaCha20Rng::from_seed([7; 32]));
        let builder = keygen_circuit(&shape).unwrap();
        let vk = keygen_vk(&srs, &builder).unwrap();
        let vp = VerifierParams::from_srs(&srs);
        let vk = VerifyingKeyFile::new(shape, builder.config_params.clone(), vp.hash(), vk);
        KeyFixture { params: vp.to_bytes(), vk_bytes: vk.to_bytes(), vk }
    })
}

pub fn signers() -> Vec<PrivateKeySigner> {
    dev_signers(6).unwrap()
}

/// A chain whose genesis pins the fixture's parameters and allows `allowed`.
pub fn new_chain(dir: &std::path::Path, allowed: Vec<B256>) -> Chain {
    Chain::init(dir, Genesis::dev(&keys().params, allowed).unwrap()).unwrap()
}

/// A fresh chain (in a temporary directory that lives as long as the first
/// element) with the dev signers.
pub fn fresh(allowed: Vec<B256>) -> (tempfile::TempDir, Chain, Vec<PrivateKeySigner>) {
    let dir = tempfile::tempdir().unwrap();
    let chain = new_chain(dir.path(), allowed);
    (dir, chain, signers())
}

/// Queue a signed call without mining.
pub fn queue(chain: &mut Chain, who: &PrivateKeySigner, to: Address, input: Vec<u8>, value: U256, gas: u64) -> B256 {
    let nonce = chain.nonce(who.address()).unwrap();
    let raw = sign_call(who, chain.chain_id(), nonce, to, value, input.into(), gas, GAS_PRICE).unwrap();
    chain.submit(&raw).unwrap()
}

/// One signed call in its own block; its receipt.
pub fn call_to(chain: &mut Chain, who: &PrivateKeySigner, to: Address, input: Vec<u8>, value: U256, gas: u64) -> Receipt {
    let h = queue(chain, who, to, input, value, gas);
    chain.mine().unwrap();
    chain.receipt(&h).unwrap().expect("included")
}

/// One signed call to the precompile in its own block.
pub fn call(chain: &mut Chain, who: &PrivateKeySigner, input: Vec<u8>, value: U256, gas: u64) -> Receipt {
    call_to(chain, who, ADDRESS, input, value, gas)
}

/// The revert reason of a receipt (Solidity `Error(string)`).
pub fn reason(r: &Receipt) -> String {
    <alloy_sol_types::Revert as alloy_sol_types::SolError>::abi_decode(&r.output).map(|e| e.reason).unwrap_or_else(|_| r.outcome.clone())
}

pub fn assert_reverts(r: &Receipt, needle: &str) {
    assert!(!r.status && r.outcome == "revert", "expected a revert, got {r:?}");
    assert!(reason(r).contains(needle), "revert reason {:?} lacks {needle:?}", reason(r));
}

pub fn assert_halts(r: &Receipt, gas: u64) {
    assert!(!r.status && r.outcome.starts_with("halt"), "expected a halt, got {r:?}");
    assert_eq!(r.gas_used, gas, "a halt consumes the call's gas: {r:?}");
}

/// A canonical field element (as bytes32) from a small integer.
pub fn fe(n: u8) -> B256 {
    B256::with_last_byte(n)
}

/// Register the fixture's key (governor = signer 0, key allowlisted at
/// genesis), a datanet and a model owned by `owner`. Returns (root, model).
pub fn register_model(chain: &mut Chain, owner: &PrivateKeySigner) -> (B256, B256) {
    let s = signers();
    let k = keys();
    let allowed = call(chain, &s[0], IAttribution::isKeyAllowedCall { vkHash: k.vk.hash }.abi_encode(), U256::ZERO, 100_000);
    assert!(IAttribution::isKeyAllowedCall::abi_decode_returns(&allowed.output).unwrap(), "fixture key must be allowlisted");
    let len = chain.storage(ADDRESS, lineage_chain::precompile::attribution::slots::key_len(&k.vk.hash)).unwrap();
    if len.is_zero() {
        let r = call(chain, owner, IAttribution::registerVerifyingKeyCall { vkFile: k.vk_bytes.clone().into() }.abi_encode(), U256::ZERO, 20_000_000);
        assert!(r.status, "{r:?}");
    }
    let (root, model) = (fe(1), fe(2));
    let r = call(chain, owner, IAttribution::registerDatanetCall { root }.abi_encode(), U256::ZERO, 200_000);
    assert!(r.status, "{r:?}");
    let r = call(chain, owner, IAttribution::registerModelCall { modelCommitment: model, datanetOwner: owner.address(), datanetRoot: root, vkHash: k.vk.hash }.abi_encode(), U256::ZERO, 200_000);
    assert!(r.status, "{r:?}");
    (root, model)
}

/// Calldata of an escrow for `owner`'s `model`, query `query`, due in `ttl` seconds.
pub fn escrow_input(chain: &Chain, owner: Address, model: B256, query: B256, ttl: u64) -> Vec<u8> {
    let deadline = chain.head().unwrap().timestamp + ttl;
    IAttribution::escrowFeeCall { modelOwner: owner, modelCommitment: model, queryCommitment: query, deadline }.abi_encode()
}

/// The shares a request fixed at escrow.
pub fn split_of(chain: &mut Chain, id: U256) -> IAttribution::splitOfReturn {
    view(chain, IAttribution::splitOfCall { requestId: id })
}

/// A read-only call of `C` at its contract's address (an `eth_call`).
pub fn view_at<C: SolCall>(chain: &Chain, to: Address, c: C) -> C::Return {
    let req = lineage_chain::CallRequest { to: Some(to), input: c.abi_encode().into(), ..Default::default() };
    match chain.call(&req, 10_000_000).unwrap() {
        lineage_chain::CallOutcome::Success { output, .. } => C::abi_decode_returns(&output).unwrap(),
        o => panic!("view failed: {o:?}"),
    }
}

/// A read-only call of the attribution precompile.
pub fn view<C: SolCall>(chain: &Chain, c: C) -> C::Return {
    view_at(chain, ADDRESS, c)
}

/// One signed call to `to` in its own block at `timestamp`.
pub fn call_at(chain: &mut Chain, who: &PrivateKeySigner, to: Address, input: Vec<u8>, value: U256, gas: u64, timestamp: u64) -> Receipt {
    let h = queue(chain, who, to, input, value, gas);
    chain.mine_at(timestamp).unwrap();
    chain.receipt(&h).unwrap().expect("included")
}

pub fn escrow_of(chain: &mut Chain, id: U256) -> U256 {
    let s = signers();
    let r = call(chain, &s[5], IAttribution::escrowOfCall { requestId: id }.abi_encode(), U256::ZERO, 100_000);
    IAttribution::escrowOfCall::abi_decode_returns(&r.output).unwrap()
}

// ---- the EscrowForger contract (source: tests/contracts/EscrowForger.sol) ----
alloy_sol_types::sol! {
    interface IEscrowForger {
        function viaCall(address target, bytes data) external payable returns (bytes memory);
        function viaCallcode(address target, bytes data) external payable returns (bytes memory);
        function viaDelegatecall(address target, bytes data) external payable returns (bytes memory);
    }
}

/// Deploy EscrowForger from `who`; its address.
pub fn deploy_forger(chain: &mut Chain, who: &PrivateKeySigner) -> Address {
    let hex = include_str!("../contracts/EscrowForger.bin");
    let code = Bytes::from(hex::decode(hex.trim()).unwrap());
    let nonce = chain.nonce(who.address()).unwrap();
    let raw = sign_create(who, chain.chain_id(), nonce, code, 2_000_000, GAS_PRICE).unwrap();
    let h = chain.submit(&raw).unwrap();
    chain.mine().unwrap();
    let r = chain.receipt(&h).unwrap().unwrap();
    assert!(r.status, "deploy failed: {r:?}");
    who.address().create(nonce)
}
