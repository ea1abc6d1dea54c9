//! The attribution precompile.
//!
//! Address [`ADDRESS`] (`0x…4c4e0001`, outside Ethereum's precompile range
//! `0x01..=0x11` and RIP-7212's `0x100`). ABI: [`IAttribution`].
//!
//! * **Keys.** Only verifying keys on a governed allowlist may pay: genesis
//!   sets the governor and the first allowed key hashes;
//!   `setKeyAllowed(hash, bool)` (governor only) changes the list.
//!   `registerVerifyingKey(bytes)` stores an allowlisted key file whose
//!   parameters hash and `k` are the chain's.
//! * **Datanets** are keyed by (registrant, root) and owned by their
//!   registrant, who may `grantDatanetUse` to a model owner; nobody can
//!   squat a root another curator publishes.
//! * **Models** are registered by their owner, keyed by (owner,
//!   commitment), so nobody can squat another owner's model; a model binds
//!   a datanet its owner may use and an allowlisted key. `modelOf` lets a
//!   user check the model's datanet and key before escrowing.
//! * **Requests.** `escrowFee(owner, model, query, deadline)` (payable) opens
//!   a request with its own payer, fee and deadline; nothing can change a
//!   pending request's fee. `submitClaim(requestId, …)` verifies a halo2
//!   proof natively against the model's key and pays every contributor's
//!   share of exactly that fee, up to the deadline; after the deadline
//!   `refund(requestId)` returns the fee to the payer. `escrowQuery(owner,
//!   model, pixels, deadline)` does the same for a public query: the chain
//!   computes its commitment and publishes the pixels in `QueryPosted`, so
//!   any prover node can answer it.
//!
//! Value: only a plain `CALL` whose target is this address may change
//! state. Under `CALLCODE` the caller pays itself and under `DELEGATECALL`
//! the value is only apparent, so both are refused; the fee credited is the
//! value revm transferred to this address. Invariant: the sum of open
//! request fees never exceeds this account's balance
//! ([`crate::Chain::escrow_invariant`]).
//!
//! Outcomes, following EIP-4844's precompile convention:
//! * the call's gas is computed from its size and checked **before any
//!   work**; too little gas halts with `OutOfGas`;
//! * malformed input (undecodable or non-canonical ABI, unknown selector,
//!   non-canonical field element, mismatched array lengths, amounts ≥ 2^128,
//!   more than [`MAX_PAYOUTS`] payouts, an oversized proof, a key file that
//!   fails its bounds) **halts and consumes all the call's gas**;
//! * well-formed but refused requests **revert** with a reason, charge the
//!   call's computed gas, and pay nothing;
//! * a panic inside halo2 is caught and halts the call; the node lives on;
//! * every outcome depends only on the input and chain state.

use alloy_primitives::{address, keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall, SolInterface};
use lineage_core::{field::fr_from_be_bytes, payout::Payout};
use lineage_verifier::{Claim, TableKeyFile, Verifier, VerifyingKeyFile, MAX_PROOF_BYTES, MAX_VK_FILE_BYTES};
use revm::{
    context_interface::{Block, ContextTr, JournalTr},
    interpreter::{CallInputs, InterpreterResult},
};
use std::{
    collections::HashMap,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
};

/// Address of the attribution precompile.
pub const ADDRESS: Address = address!("000000000000000000000000000000004c4e0001");

/// Gas of a proof verification (two pairings plus the SHPLONK MSM): 5.23 ms
/// measured at k = 17 (`benches/benches/window_claim.rs`) is 135k at
/// 25.86 gas/µs; the price keeps a margin of 3× for larger k.
pub const VERIFY_BASE_GAS: u64 = 450_000;
/// Gas of parsing a window verifying-key file, per row of the chain's `k`
/// (plus [`super::whole::KEY_PARSE_BASE_GAS`]): 40.05 ms measured at
/// k = 17 (`window_claim` bench) is 1.036M gas at 25.86 gas/µs, 7.9 a row.
pub const WINDOW_KEY_PARSE_GAS_PER_ROW: u64 = 9;
/// Gas per payout transfer.
pub const PER_PAYOUT_GAS: u64 = 9_000;
/// Gas to register a verifying key, plus [`STORE_WORD_GAS`] per 32-byte word.
pub const REGISTER_VK_BASE_GAS: u64 = 50_000;
/// Gas per stored 32-byte word.
pub const STORE_WORD_GAS: u64 = 20_000;
/// Gas of a datanet or model registration, a grant or a governance change.
pub const REGISTER_GAS: u64 = 45_000;
/// Gas of opening an escrowed request (ten new storage words, the split
/// read from governance).
pub const ESCROW_GAS: u64 = 205_000;
/// Extra gas of `escrowQuery`: the query's Poseidon commitment (measured
/// with the escrow in `benches/benches/system_contracts.rs`) and its
/// `QueryPosted` log (two topics, 128 bytes of data: 375 + 2 × 375 +
/// 128 × 8 = 2,149 gas at Ethereum's log prices).
pub const QUERY_POST_GAS: u64 = 4_000;
/// Gas of a refund.
pub const REFUND_GAS: u64 = 30_000;
/// Gas of a read (the least a view costs).
pub const VIEW_GAS: u64 = 2_600;
/// Gas per storage word a view reads (a cold `SLOAD`).
pub const READ_WORD_GAS: u64 = 2_100;
/// Gas of `registerModel`: the call, five words read, three written.
pub const REGISTER_MODEL_GAS: u64 = 5_000 + 5 * READ_WORD_GAS + 3 * STORE_WORD_GAS;
/// Most payouts one claim may list (the circuits' slot maximum).
pub const MAX_PAYOUTS: usize = lineage_verifier::MAX_SLOTS;
/// Longest a request may stay open, in seconds.
pub const MAX_REQUEST_TTL: u64 = 30 * 24 * 3600;
/// Parsed verifying keys kept in memory.
pub const MAX_CACHED_KEYS: usize = 8;

sol! {
    /// The attribution precompile's interface.
    interface IAttribution {
        function governor() external view returns (address);
        function setKeyAllowed(bytes32 vkHash, bool allowed) external;
        function isKeyAllowed(bytes32 vkHash) external view returns (bool);
        function registerVerifyingKey(bytes vkFile) external returns (bytes32 vkHash);
        function registerDatanet(bytes32 root) external;
        function grantDatanetUse(bytes32 root, address user) external;
        function isDatanetRegistered(address owner, bytes32 root) external view returns (bool);
        function registerModel(bytes32 modelCommitment, address datanetOwner, bytes32 datanetRoot, bytes32 vkHash) external;
        function modelOf(address owner, bytes32 modelCommitment) external view returns (
            address datanetOwner,
            bytes32 datanetRoot,
            bytes32 vkHash
        );
        function escrowFee(address modelOwner, bytes32 modelCommitment, bytes32 queryCommitment, uint64 deadline)
            external payable returns (uint256 requestId);
        function escrowOf(uint256 requestId) external view returns (uint256 amount);
        function requestOf(uint256 requestId) external view returns (
            address payer,
            address modelOwner,
            bytes32 modelCommitment,
            bytes32 queryCommitment,
            uint256 fee,
            uint64 deadline,
            uint8 status
        );
        function refund(uint256 requestId) external;

        /// Every state change emits one event.
        event KeyAllowed(bytes32 indexed vkHash, bool allowed);
        event KeyRegistered(bytes32 indexed vkHash, uint256 bytesStored);
        event DatanetRegistered(address indexed owner, bytes32 indexed root);
        event DatanetUseGranted(address indexed owner, bytes32 indexed root, address indexed user);
        event DatanetExamplesSet(address indexed owner, bytes32 indexed root, uint64 examples);
        event ModelRegistered(address indexed owner, bytes32 indexed modelCommitment, address datanetOwner, bytes32 datanetRoot, bytes32 vkHash);
        event RequestOpened(
            uint256 indexed requestId,
            address indexed payer,
            address indexed modelOwner,
            bytes32 modelCommitment,
            bytes32 queryCommitment,
            uint256 fee,
            uint64 deadline
        );
        event Refunded(uint256 indexed requestId, address indexed payer, uint256 fee);
        event ClaimPaid(uint256 indexed requestId, address indexed prover, uint256 paid, uint256 payouts);
        event WholeKeyRegistered(address indexed owner, bytes32 indexed modelCommitment, bytes32 keyHash, uint64 examples, uint32 k);
        event WholeClaimPaid(uint256 indexed requestId, address indexed prover, bytes32 payoutRoot, uint256 fee);
        event PayoutReleased(uint256 indexed requestId, address indexed contributor, uint32 index, uint256 amount);
        function submitClaim(
            uint256 requestId,
            uint64 predictedClass,
            uint64 windowIndex,
            address[] contributors,
            uint256[] amounts,
            bytes proof
        ) external returns (uint256 paid);
        function setDatanetExamples(bytes32 root, uint64 examples) external;
        function registerWholeKey(
            bytes32 modelCommitment,
            address datanetOwner,
            bytes32 datanetRoot,
            uint32 k,
            bytes queryKey,
            bytes[] chunkKeys,
            bytes32[5][] chunkPublics,
            bytes[] chunkProofs
        ) external returns (bytes32 keyHash);
        function wholeKeyOf(address owner, bytes32 modelCommitment) external view returns (bytes32 keyHash, uint64 examples);
        function submitWholeClaim(
            uint256 requestId,
            uint64 predictedClass,
            address[] contributors,
            int128[] totals,
            uint32[] endRows,
            bytes proof
        ) external returns (bytes32 payoutRoot);
        function payoutsOf(uint256 requestId) external view returns (bytes32 payoutRoot, uint256 unreleased);
        function releasePayouts(uint256 requestId, address[] contributors, uint128[] amounts) external returns (uint256 paid);
        function withdrawPayout(
            uint256 requestId,
            uint32 count,
            uint32 index,
            address contributor,
            uint128 amount,
            bytes32[] path
        ) external returns (uint256 paid);

        // ---- settlement: agents, the fee split, signed answers ----------------
        function acceptRequest(uint256 requestId) external;
        /// `escrowFee` with the only agent that may accept the request.
        function escrowFeeFor(address modelOwner, bytes32 modelCommitment, bytes32 queryCommitment, uint64 deadline, address agent)
            external payable returns (uint256 requestId);
        /// `escrowFee` for a public query: the chain commits to its 64
        /// pixels itself and publishes them (`QueryPosted`) for any agent.
        function escrowQuery(address modelOwner, bytes32 modelCommitment, bytes query, uint64 deadline)
            external payable returns (uint256 requestId);
        function splitOf(uint256 requestId) external view returns (uint256 contributors, uint256 owner, uint256 prover, uint256 protocol);
        function settlementOf(uint256 requestId) external view returns (
            address agent,
            uint256 stake,
            uint64 provenClass,
            bytes32 payoutDigest,
            uint64 challengeEnds,
            address prover,
            uint8 fault
        );
        function answerHash(uint256 requestId, uint64 predictedClass, bytes32 payoutDigest) external view returns (bytes32);
        function reportAnswer(uint256 requestId, uint64 predictedClass, bytes32 payoutDigest, bytes signature) external returns (uint256 slashId);
        function releaseStake(uint256 requestId) external;
        event RequestAccepted(uint256 indexed requestId, address indexed agent, uint256 stake);
        event FeeSplit(uint256 indexed requestId, uint256 contributors, uint256 owner, uint256 prover, uint256 protocol);
        event QueryPosted(uint256 indexed requestId, bytes query);
    }
}

/// Lifecycle of a request (`requestOf(..).status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestStatus {
    None = 0,
    Open = 1,
    Paid = 2,
    Refunded = 3,
}

/// Storage slots of the precompile's account. Every slot is
/// `keccak256(tag ‖ parts…)`.
pub mod slots {
    use super::*;

    pub fn slot(tag: &str, parts: &[&[u8]]) -> U256 {
        let mut buf = tag.as_bytes().to_vec();
        for p in parts {
            buf.extend_from_slice(p);
        }
        U256::from_be_bytes(keccak256(buf).0)
    }
    pub fn governor() -> U256 {
        slot("governor", &[])
    }
    pub fn key_allowed(h: &B256) -> U256 {
        slot("vk.allowed", &[h.as_slice()])
    }
    pub fn key_len(h: &B256) -> U256 {
        slot("vk.len", &[h.as_slice()])
    }
    pub fn key_data(h: &B256) -> U256 {
        slot("vk.data", &[h.as_slice()])
    }
    /// Nonzero once `owner` registered `root`.
    pub fn datanet(owner: &Address, root: &B256) -> U256 {
        slot("datanet", &[owner.as_slice(), root.as_slice()])
    }
    /// Nonzero once `owner` granted `user` the use of its datanet `root`.
    pub fn datanet_user(owner: &Address, root: &B256, user: &Address) -> U256 {
        slot("datanet.user", &[owner.as_slice(), root.as_slice(), user.as_slice()])
    }
    pub fn model_datanet(owner: &Address, m: &B256) -> U256 {
        slot("model.datanet", &[owner.as_slice(), m.as_slice()])
    }
    pub fn model_datanet_owner(owner: &Address, m: &B256) -> U256 {
        slot("model.datanet_owner", &[owner.as_slice(), m.as_slice()])
    }
    pub fn model_vk(owner: &Address, m: &B256) -> U256 {
        slot("model.vk", &[owner.as_slice(), m.as_slice()])
    }
    /// Number of requests ever opened (request ids are `0..count`).
    pub fn request_count() -> U256 {
        slot("req.count", &[])
    }
    /// Sum of the fees of open requests.
    pub fn escrow_total() -> U256 {
        slot("escrow.total", &[])
    }
    /// Sum of the payouts of whole-datanet claims not yet released.
    pub fn owed_total() -> U256 {
        slot("owed.total", &[])
    }
    /// Field `f` of request `id`: payer, owner, model, query, fee, deadline,
    /// status; for a paid whole-datanet claim also `payouts` (its payout
    /// root) and `released` (wei released so far).
    pub fn request(id: U256, f: &str) -> U256 {
        slot("req", &[&id.to_be_bytes::<32>(), f.as_bytes()])
    }
}
use slots::*;

/// The precompile's native state: the verifier with the genesis-pinned
/// parameters, a bounded cache of parsed verifying keys (derived from
/// storage; never authoritative), and a count of proof verifications.
pub struct AttributionPrecompile {
    verifier: Verifier,
    key_cache: Mutex<HashMap<B256, Arc<VerifyingKeyFile>>>,
    /// Parsed per-query keys (whole-datanet claims), by key hash.
    pub(super) whole_keys: Mutex<HashMap<B256, Arc<TableKeyFile>>>,
    verifications: AtomicU64,
    /// The warm ring of the last committed block: parsed keys this node
    /// never evicts (an `eth_call` or a reverted call sees a speculative
    /// ring, so eviction never trusts the journal's).
    pinned: Mutex<Vec<B256>>,
}

pub(super) use super::native::{DbResult, Outcome};
use super::native::{address_word, word_address as word_to_address};

fn word_to_b256(v: U256) -> B256 {
    B256::from(v.to_be_bytes::<32>())
}


/// Gas of parsing a window key at the chain's `k`.
pub fn window_key_parse_gas(k: u32) -> u64 {
    let rows = if (1..=lineage_verifier::MAX_K).contains(&k) { 1u64 << k } else { 0 };
    super::whole::KEY_PARSE_BASE_GAS + WINDOW_KEY_PARSE_GAS_PER_ROW * rows
}

/// The gas a call costs, from its decoded size alone (known before any work).
fn gas_of(call: &IAttribution::IAttributionCalls) -> u64 {
    use IAttribution::IAttributionCalls as C;
    // a view costs its words read as cold SLOADs, at least VIEW_GAS
    let read = |words: u64| (READ_WORD_GAS * words).max(VIEW_GAS);
    match call {
        C::governor(_) | C::isKeyAllowed(_) | C::isDatanetRegistered(_) | C::answerHash(_) => VIEW_GAS,
        C::modelOf(_) | C::payoutsOf(_) => read(3),
        C::escrowOf(_) | C::wholeKeyOf(_) => read(2),
        C::requestOf(_) => read(7),
        C::splitOf(_) => 2 * VIEW_GAS,
        // seven words read, as a cold SLOAD each
        C::settlementOf(_) => 7 * 2_100,
        C::acceptRequest(_) => super::settlement::ACCEPT_GAS,
        C::reportAnswer(_) => super::settlement::REPORT_GAS,
        C::releaseStake(_) => super::settlement::RELEASE_STAKE_GAS,
        // at most two words read and one written: the flat price covers them
        C::setKeyAllowed(_) | C::registerDatanet(_) | C::grantDatanetUse(_) | C::setDatanetExamples(_) => REGISTER_GAS,
        // five words read, three written
        C::registerModel(_) => REGISTER_MODEL_GAS,
        C::registerWholeKey(c) => super::whole::register_gas(c),
        C::submitWholeClaim(c) => super::whole::claim_gas(c),
        C::releasePayouts(c) => super::whole::release_gas(c.contributors.len()),
        C::withdrawPayout(c) => super::whole::withdraw_gas(c.path.len()),
        C::registerVerifyingKey(c) => {
            let words = c.vkFile.len().div_ceil(32) as u64;
            REGISTER_VK_BASE_GAS.saturating_add(STORE_WORD_GAS.saturating_mul(words + 1))
        }
        C::escrowFee(_) => ESCROW_GAS,
        C::escrowFeeFor(_) => ESCROW_GAS + STORE_WORD_GAS,
        C::escrowQuery(_) => ESCROW_GAS + QUERY_POST_GAS,
        C::refund(_) => REFUND_GAS,
        C::submitClaim(c) => VERIFY_BASE_GAS
            .saturating_add(PER_PAYOUT_GAS.saturating_mul(c.contributors.len() as u64))
            .saturating_add(super::settlement::SPLIT_GAS),
    }
}


/// Put a verifying key on the allowlist or take it off (the genesis
/// governor's `setKeyAllowed`, or an executed governance proposal).
pub fn set_key_allowed<CTX: ContextTr>(ctx: &mut CTX, vk_hash: B256, allowed: bool) -> DbResult<()> {
    super::native::sstore(ctx, ADDRESS, key_allowed(&vk_hash), U256::from(allowed as u8))?;
    super::native::emit(ctx, ADDRESS, &IAttribution::KeyAllowed { vkHash: vk_hash, allowed });
    Ok(())
}

impl AttributionPrecompile {
    pub fn new(verifier: Verifier) -> Self {
        Self { verifier, key_cache: Mutex::new(HashMap::new()), whole_keys: Mutex::new(HashMap::new()), verifications: AtomicU64::new(0), pinned: Mutex::new(Vec::new()) }
    }

    /// Pin the committed warm ring (the chain calls this after every block).
    pub fn pin_ring(&self, ring: Vec<B256>) {
        *self.pinned.lock().unwrap_or_else(PoisonError::into_inner) = ring;
    }

    /// The committed warm ring.
    pub(super) fn pinned_ring(&self) -> Vec<B256> {
        self.pinned.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The verifier with the chain's pinned parameters.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Proof verifications run so far (by this process).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Verifying keys held in the parsed-key cache.
    pub fn cached_keys(&self) -> usize {
        self.key_cache.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Entry point from the precompile provider.
    pub fn run<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> Result<InterpreterResult, String> {
        let (gas, outcome) = self.evaluate(ctx, inputs)?;
        Ok(super::native::finish(gas, outcome, inputs))
    }

    /// Decode (strictly), price, check gas, then do the work: the call's gas and outcome.
    fn evaluate<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> DbResult<(u64, Outcome)> {
        // reading the input is paid for before it is touched
        let pre = super::native::input_gas(inputs);
        if pre > inputs.gas_limit {
            return Ok((pre, Outcome::OutOfGas));
        }
        let input = inputs.input.as_bytes(ctx).to_vec();
        let call = match IAttribution::IAttributionCalls::abi_decode_validate(&input) {
            Ok(c) if c.abi_encode() == input => c,
            Ok(_) => return Ok((0, Outcome::Halt("malformed input: non-canonical ABI encoding".into()))),
            Err(e) => return Ok((0, Outcome::Halt(format!("malformed input: {e}")))),
        };
        // so are the state reads some prices need, before they are made
        let price_reads: u64 = match &call {
            IAttribution::IAttributionCalls::submitWholeClaim(_) => 9,
            IAttribution::IAttributionCalls::submitClaim(_) => 8,
            IAttribution::IAttributionCalls::refund(_) => 1,
            _ => 0,
        };
        let pre = pre.saturating_add(READ_WORD_GAS * price_reads);
        if pre > inputs.gas_limit {
            return Ok((pre, Outcome::OutOfGas));
        }
        let mut gas = gas_of(&call).saturating_add(pre);
        // a whole-datanet claim's key work scales with its key's k, which the chain holds
        if let IAttribution::IAttributionCalls::submitWholeClaim(c) = &call {
            let (k, key_hash, key_bytes) = super::whole::claim_key(self, ctx, c.requestId)?;
            let warm = self.is_warm(ctx, &key_hash)?;
            gas = gas.saturating_add(super::whole::claim_key_gas(k, warm, key_bytes));
        }
        // a window claim whose key is not in the warm ring pays its load and parse
        if let IAttribution::IAttributionCalls::submitClaim(c) = &call {
            gas = gas.saturating_add(self.window_cold_gas(ctx, c.requestId)?);
        }
        // registering a window key parses it (at the chain's k) and warms it
        if let IAttribution::IAttributionCalls::registerVerifyingKey(_) = &call {
            gas = gas.saturating_add(window_key_parse_gas(self.verifier.k())).saturating_add(super::whole::COLD_KEY_GAS);
        }
        // a refund also slashes the request's agent, if one accepted it
        if let IAttribution::IAttributionCalls::refund(c) = &call {
            if !self.sload(ctx, request(c.requestId, "agent"))?.is_zero() {
                gas = gas.saturating_add(super::settlement::UNANSWERED_GAS);
            }
        }
        if gas > inputs.gas_limit {
            return Ok((gas, Outcome::OutOfGas));
        }
        // last line of defence: a panic (in halo2 or here) halts this call, never the node
        let outcome = match catch_unwind(AssertUnwindSafe(|| self.dispatch(ctx, inputs, call))) {
            Ok(r) => r?,
            Err(_) => Outcome::Halt("internal error: the precompile panicked on this input".into()),
        };
        Ok((gas, outcome))
    }

    fn dispatch<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs, call: IAttribution::IAttributionCalls) -> DbResult<Outcome> {
        use IAttribution::IAttributionCalls as C;
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        let is_view = matches!(
            call,
            C::governor(_)
                | C::isKeyAllowed(_)
                | C::isDatanetRegistered(_)
                | C::modelOf(_)
                | C::escrowOf(_)
                | C::requestOf(_)
                | C::wholeKeyOf(_)
                | C::payoutsOf(_)
                | C::splitOf(_)
                | C::settlementOf(_)
                | C::answerHash(_)
        );
        let payable = matches!(call, C::escrowFee(_) | C::escrowFeeFor(_) | C::escrowQuery(_));
        if let Some(refused) = super::native::guard(inputs, ADDRESS, is_view, payable) {
            return Ok(refused);
        }
        let caller = inputs.caller;
        match call {
            C::governor(_) => {
                let g = word_to_address(self.sload(ctx, governor())?);
                Ok(Outcome::Ok(IAttribution::governorCall::abi_encode_returns(&g).into()))
            }
            C::isKeyAllowed(c) => {
                let a = !self.sload(ctx, key_allowed(&c.vkHash))?.is_zero();
                Ok(Outcome::Ok(IAttribution::isKeyAllowedCall::abi_encode_returns(&a).into()))
            }
            C::setKeyAllowed(c) => {
                let g = word_to_address(self.sload(ctx, governor())?);
                if g.is_zero() || g != caller {
                    return revert("only the governor may change the key allowlist (or a governance proposal)");
                }
                set_key_allowed(ctx, c.vkHash, c.allowed)?;
                Ok(Outcome::Ok(Bytes::new()))
            }
            C::registerVerifyingKey(c) => self.register_key(ctx, &c.vkFile),
            C::registerDatanet(c) => {
                if let Err(h) = canonical_all(&[&c.root]) {
                    return Ok(h);
                }
                // keyed by (registrant, root): a root someone else registered first is never blocked
                let s = datanet(&caller, &c.root);
                if !self.sload(ctx, s)?.is_zero() {
                    return revert("datanet already registered by this owner");
                }
                self.sstore(ctx, s, U256::from(1))?;
                Self::emit(ctx, &IAttribution::DatanetRegistered { owner: caller, root: c.root });
                Ok(Outcome::Ok(Bytes::new()))
            }
            C::grantDatanetUse(c) => {
                if self.sload(ctx, datanet(&caller, &c.root))?.is_zero() {
                    return revert("only the datanet's owner may grant its use");
                }
                self.sstore(ctx, datanet_user(&caller, &c.root, &c.user), U256::from(1))?;
                Self::emit(ctx, &IAttribution::DatanetUseGranted { owner: caller, root: c.root, user: c.user });
                Ok(Outcome::Ok(Bytes::new()))
            }
            C::isDatanetRegistered(c) => {
                let r = !self.sload(ctx, datanet(&c.owner, &c.root))?.is_zero();
                Ok(Outcome::Ok(IAttribution::isDatanetRegisteredCall::abi_encode_returns(&r).into()))
            }
            C::registerModel(c) => {
                if let Err(h) = canonical_all(&[&c.modelCommitment, &c.datanetRoot]) {
                    return Ok(h);
                }
                if self.sload(ctx, datanet(&c.datanetOwner, &c.datanetRoot))?.is_zero() {
                    return revert("unknown datanet (for this owner)");
                }
                if c.datanetOwner != caller && self.sload(ctx, datanet_user(&c.datanetOwner, &c.datanetRoot, &caller))?.is_zero() {
                    return revert("the datanet belongs to someone else, who has not granted you its use");
                }
                if self.sload(ctx, key_allowed(&c.vkHash))?.is_zero() {
                    return revert("verifying key is not on the allowlist");
                }
                if self.sload(ctx, key_len(&c.vkHash))?.is_zero() {
                    return revert("verifying key is not registered");
                }
                // the key slot, never zero once registered (a root may be 0)
                if !self.sload(ctx, model_vk(&caller, &c.modelCommitment))?.is_zero() {
                    return revert("model already registered by this owner");
                }
                let ms = model_datanet(&caller, &c.modelCommitment);
                self.sstore(ctx, ms, U256::from_be_bytes(c.datanetRoot.0))?;
                self.sstore(ctx, model_datanet_owner(&caller, &c.modelCommitment), address_word(&c.datanetOwner))?;
                self.sstore(ctx, model_vk(&caller, &c.modelCommitment), U256::from_be_bytes(c.vkHash.0))?;
                Self::emit(
                    ctx,
                    &IAttribution::ModelRegistered {
                        owner: caller,
                        modelCommitment: c.modelCommitment,
                        datanetOwner: c.datanetOwner,
                        datanetRoot: c.datanetRoot,
                        vkHash: c.vkHash,
                    },
                );
                Ok(Outcome::Ok(Bytes::new()))
            }
            C::modelOf(c) => {
                let downer = word_to_address(self.sload(ctx, model_datanet_owner(&c.owner, &c.modelCommitment))?);
                let root = word_to_b256(self.sload(ctx, model_datanet(&c.owner, &c.modelCommitment))?);
                let vk = word_to_b256(self.sload(ctx, model_vk(&c.owner, &c.modelCommitment))?);
                Ok(Outcome::Ok(IAttribution::modelOfCall::abi_encode_returns_tuple(&(downer, root, vk)).into()))
            }
            C::escrowFee(c) => self.escrow(ctx, inputs, c),
            C::escrowFeeFor(c) => {
                if c.agent.is_zero() {
                    return revert("the agent must be a nonzero address (escrowFee leaves the request open to any agent)");
                }
                let plain = IAttribution::escrowFeeCall { modelOwner: c.modelOwner, modelCommitment: c.modelCommitment, queryCommitment: c.queryCommitment, deadline: c.deadline };
                let out = self.escrow(ctx, inputs, plain)?;
                if let Outcome::Ok(ret) = &out {
                    let id = IAttribution::escrowFeeCall::abi_decode_returns(ret).map_err(|e| e.to_string())?;
                    self.sstore(ctx, request(id, "chosen"), address_word(&c.agent))?;
                }
                Ok(out)
            }
            C::escrowQuery(c) => {
                if c.query.len() != lineage_core::datanet::PIXELS {
                    return revert(&format!("a query is {} pixels, one byte each", lineage_core::datanet::PIXELS));
                }
                let commitment = match lineage_core::datanet::query_commitment(&c.query) {
                    Ok(q) => B256::from(lineage_core::field::fr_to_be_bytes(&q)),
                    Err(_) => return revert(&format!("a query's pixels are at most {}", lineage_core::fixed::PIXEL_MAX)),
                };
                let plain = IAttribution::escrowFeeCall { modelOwner: c.modelOwner, modelCommitment: c.modelCommitment, queryCommitment: commitment, deadline: c.deadline };
                let out = self.escrow(ctx, inputs, plain)?;
                if let Outcome::Ok(ret) = &out {
                    let id = IAttribution::escrowFeeCall::abi_decode_returns(ret).map_err(|e| e.to_string())?;
                    Self::emit(ctx, &IAttribution::QueryPosted { requestId: id, query: c.query.clone() });
                }
                Ok(out)
            }
            C::escrowOf(c) => {
                let open = self.sload(ctx, request(c.requestId, "status"))? == U256::from(RequestStatus::Open as u8);
                let v = if open { self.sload(ctx, request(c.requestId, "fee"))? } else { U256::ZERO };
                Ok(Outcome::Ok(IAttribution::escrowOfCall::abi_encode_returns(&v).into()))
            }
            C::requestOf(c) => {
                let id = c.requestId;
                let out = (
                    word_to_address(self.sload(ctx, request(id, "payer"))?),
                    word_to_address(self.sload(ctx, request(id, "owner"))?),
                    word_to_b256(self.sload(ctx, request(id, "model"))?),
                    word_to_b256(self.sload(ctx, request(id, "query"))?),
                    self.sload(ctx, request(id, "fee"))?,
                    self.sload(ctx, request(id, "deadline"))?.saturating_to::<u64>(),
                    self.sload(ctx, request(id, "status"))?.saturating_to::<u8>(),
                );
                Ok(Outcome::Ok(IAttribution::requestOfCall::abi_encode_returns_tuple(&out).into()))
            }
            C::refund(c) => self.refund(ctx, caller, c.requestId),
            C::submitClaim(c) => self.submit_claim(ctx, caller, c),
            C::acceptRequest(c) => self.accept(ctx, caller, c.requestId),
            C::splitOf(c) => self.split_view(ctx, c.requestId),
            C::settlementOf(c) => self.settlement_of(ctx, c.requestId),
            C::answerHash(c) => self.answer_hash_view(ctx, c),
            C::reportAnswer(c) => self.report_answer(ctx, caller, c),
            C::releaseStake(c) => self.release_stake(ctx, c.requestId),
            C::setDatanetExamples(c) => self.set_datanet_examples(ctx, caller, c),
            C::registerWholeKey(c) => self.register_whole_key(ctx, caller, c),
            C::wholeKeyOf(c) => self.whole_key_of(ctx, c),
            C::submitWholeClaim(c) => self.submit_whole_claim(ctx, caller, c),
            C::payoutsOf(c) => self.payouts_of(ctx, c.requestId),
            C::releasePayouts(c) => self.release_payouts(ctx, c),
            C::withdrawPayout(c) => self.withdraw_payout(ctx, c),
        }
    }

    pub(super) fn sload<CTX: ContextTr>(&self, ctx: &mut CTX, s: U256) -> DbResult<U256> {
        super::native::sload(ctx, ADDRESS, s)
    }

    pub(super) fn sstore<CTX: ContextTr>(&self, ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
        super::native::sstore(ctx, ADDRESS, s, v)
    }

    /// Append one of the interface's events to the call's logs (undone with
    /// the call's state if it reverts).
    pub(super) fn emit<CTX: ContextTr, E: alloy_sol_types::SolEvent>(ctx: &mut CTX, event: &E) {
        super::native::emit(ctx, ADDRESS, event)
    }

    pub(super) fn now<CTX: ContextTr>(ctx: &CTX) -> u64 {
        ctx.block().timestamp().saturating_to::<u64>()
    }

    fn register_key<CTX: ContextTr>(&self, ctx: &mut CTX, file: &Bytes) -> DbResult<Outcome> {
        if file.len() > MAX_VK_FILE_BYTES {
            return Ok(Outcome::Halt(format!("malformed verifying key: larger than {MAX_VK_FILE_BYTES} bytes")));
        }
        let hash = keccak256(file);
        // the allowlist is checked on the file's hash, before it is parsed
        if self.sload(ctx, key_allowed(&hash))?.is_zero() {
            return Ok(Outcome::Revert(format!("verifying key {hash} is not on the allowlist")));
        }
        let vk = match self.verifier.parse_key(file) {
            Ok(vk) => Arc::new(vk),
            Err(e) => return Ok(Outcome::Halt(format!("malformed verifying key: {e}"))),
        };
        if !self.sload(ctx, key_len(&hash))?.is_zero() {
            return Ok(Outcome::Revert("verifying key already registered".into()));
        }
        self.store_key_bytes(ctx, &hash, file)?;
        // parsed and paid for: warm by consensus, and kept parsed here
        self.warm_up(ctx, &hash, self.verifier.k())?;
        self.keep_window_key(hash, vk);
        Self::emit(ctx, &IAttribution::KeyRegistered { vkHash: hash, bytesStored: U256::from(file.len()) });
        Ok(Outcome::Ok(Bytes::copy_from_slice(hash.as_slice())))
    }

    /// Store a key file's bytes under its hash (length, then 32-byte words).
    pub(super) fn store_key_bytes<CTX: ContextTr>(&self, ctx: &mut CTX, hash: &B256, file: &[u8]) -> DbResult<()> {
        super::native::store_bytes(ctx, ADDRESS, key_len(hash), key_data(hash), file)
    }

    /// A stored key file's bytes (`None` if absent or longer than `max`).
    pub(super) fn load_key_bytes<CTX: ContextTr>(&self, ctx: &mut CTX, hash: &B256, max: usize) -> DbResult<Option<Vec<u8>>> {
        let len = self.sload(ctx, key_len(hash))?;
        if len.is_zero() {
            return Ok(None);
        }
        let len: usize = len.saturating_to();
        if len > max {
            tracing::error!("stored verifying key {hash} is corrupt: {len} bytes");
            return Ok(None);
        }
        Ok(Some(super::native::load_bytes(ctx, ADDRESS, key_data(hash), len)?))
    }

    /// The extra gas of a window claim on request `id` whose model's key is
    /// cold: its words loaded, its parse, the ring updated (zero for a warm
    /// key, or a request without a window model: such a claim reverts first).
    fn window_cold_gas<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<u64> {
        let owner = word_to_address(self.sload(ctx, request(id, "owner"))?);
        let model = word_to_b256(self.sload(ctx, request(id, "model"))?);
        let hash = word_to_b256(self.sload(ctx, model_vk(&owner, &model))?);
        if hash.is_zero() || self.is_warm(ctx, &hash)? {
            return Ok(0);
        }
        let len = self.sload(ctx, key_len(&hash))?.saturating_to::<u64>().min(MAX_VK_FILE_BYTES as u64);
        Ok(super::whole::COLD_KEY_GAS + super::whole::KEY_WORD_GAS * len.div_ceil(32) + window_key_parse_gas(self.verifier.k()))
    }

    /// Keep a parsed window key; the cache never evicts a warm-ring member.
    fn keep_window_key(&self, hash: B256, vk: Arc<VerifyingKeyFile>) {
        let ring = self.pinned_ring();
        let mut cache = self.key_cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= MAX_CACHED_KEYS && !cache.contains_key(&hash) {
            // at most WARM_KEYS (4) of the MAX_CACHED_KEYS (8) are committed ring members
            if let Some(k) = cache.keys().find(|h| !ring.contains(h)).copied() {
                cache.remove(&k);
            }
        }
        cache.insert(hash, vk);
    }

    /// Count proof verifications run (by this process).
    pub(super) fn count_verifications(&self, n: u64) {
        self.verifications.fetch_add(n, Ordering::Relaxed);
    }

    /// A registered key, parsed (and cached) on first use by a claim.
    fn load_key<CTX: ContextTr>(&self, ctx: &mut CTX, hash: B256) -> DbResult<Option<Arc<VerifyingKeyFile>>> {
        if let Some(vk) = self.key_cache.lock().unwrap_or_else(PoisonError::into_inner).get(&hash) {
            return Ok(Some(vk.clone()));
        }
        let Some(bytes) = self.load_key_bytes(ctx, &hash, MAX_VK_FILE_BYTES)? else {
            return Ok(None);
        };
        // keys were parsed within bounds when registered; one that no longer
        // parses (a stricter future parser) pays nothing, deterministically
        let vk = match self.verifier.parse_key(&bytes) {
            Ok(vk) => Arc::new(vk),
            Err(e) => {
                tracing::error!("stored verifying key {hash} no longer parses: {e}");
                return Ok(None);
            }
        };
        // (which entry is evicted only affects speed, never an outcome or a price)
        self.keep_window_key(hash, vk.clone());
        Ok(Some(vk))
    }

    fn escrow<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs, c: IAttribution::escrowFeeCall) -> DbResult<Outcome> {
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        if let Err(h) = canonical_all(&[&c.modelCommitment, &c.queryCommitment]) {
            return Ok(h);
        }
        // dispatch admits only a plain CALL to this address, so this is what revm moved here
        let Some(value) = super::native::transferred_value(inputs, ADDRESS) else {
            return revert("escrow must be a plain CALL that transfers its value");
        };
        if value.is_zero() || value >= U256::from(1u8) << 128 {
            return revert("escrow must be in (0, 2^128) wei");
        }
        let window_model = !self.sload(ctx, model_vk(&c.modelOwner, &c.modelCommitment))?.is_zero();
        let whole_model = !self.sload(ctx, super::whole::whole_slots::whole_key(&c.modelOwner, &c.modelCommitment))?.is_zero();
        if !window_model && !whole_model {
            return revert("unknown model (for this owner)");
        }
        let now = Self::now(ctx);
        if c.deadline <= now || c.deadline - now > MAX_REQUEST_TTL {
            return revert("deadline must be after this block and within 30 days of it");
        }
        let id = self.sload(ctx, request_count())?;
        self.sstore(ctx, request_count(), id + U256::from(1))?;
        let fields = [
            ("payer", address_word(&inputs.caller)),
            ("owner", address_word(&c.modelOwner)),
            ("model", U256::from_be_bytes(c.modelCommitment.0)),
            ("query", U256::from_be_bytes(c.queryCommitment.0)),
            ("fee", value),
            ("deadline", U256::from(c.deadline)),
            ("status", U256::from(RequestStatus::Open as u8)),
        ];
        for (f, v) in fields {
            self.sstore(ctx, request(id, f), v)?;
        }
        let total = self.sload(ctx, escrow_total())?;
        self.sstore(ctx, escrow_total(), total + value)?;
        self.fix_split(ctx, id)?;
        Self::emit(
            ctx,
            &IAttribution::RequestOpened {
                requestId: id,
                payer: inputs.caller,
                modelOwner: c.modelOwner,
                modelCommitment: c.modelCommitment,
                queryCommitment: c.queryCommitment,
                fee: value,
                deadline: c.deadline,
            },
        );
        Ok(Outcome::Ok(IAttribution::escrowFeeCall::abi_encode_returns(&id).into()))
    }

    /// Close an open request (paid or refunded): returns its fee.
    pub(super) fn close<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, status: RequestStatus) -> DbResult<U256> {
        let fee = self.sload(ctx, request(id, "fee"))?;
        self.sstore(ctx, request(id, "status"), U256::from(status as u8))?;
        let total = self.sload(ctx, escrow_total())?;
        self.sstore(ctx, escrow_total(), total.saturating_sub(fee))?;
        Ok(fee)
    }

    fn refund<CTX: ContextTr>(&self, ctx: &mut CTX, caller: Address, id: U256) -> DbResult<Outcome> {
        if self.sload(ctx, request(id, "status"))? != U256::from(RequestStatus::Open as u8) {
            return Ok(Outcome::Revert("no open request with this id".into()));
        }
        let deadline = self.sload(ctx, request(id, "deadline"))?.saturating_to::<u64>();
        if Self::now(ctx) <= deadline {
            return Ok(Outcome::Revert("the request's deadline has not passed".into()));
        }
        let payer = word_to_address(self.sload(ctx, request(id, "payer"))?);
        // an agent that accepted the request and let it lapse is slashed; the caller reports it
        self.slash_unanswered(ctx, id, caller)?;
        let fee = self.close(ctx, id, RequestStatus::Refunded)?;
        self.pay(ctx, payer, fee)?;
        Self::emit(ctx, &IAttribution::Refunded { requestId: id, payer, fee });
        Ok(Outcome::Ok(Bytes::new()))
    }

    pub(super) fn pay<CTX: ContextTr>(&self, ctx: &mut CTX, to: Address, amount: U256) -> DbResult<()> {
        match ctx.journal_mut().transfer(ADDRESS, to, amount).map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(e) => Err(format!("escrow transfer failed: {e:?}")),
        }
    }

    fn submit_claim<CTX: ContextTr>(&self, ctx: &mut CTX, ctx_caller: Address, c: IAttribution::submitClaimCall) -> DbResult<Outcome> {
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        // ---- well-formedness: anything wrong here halts --------------------
        if c.contributors.len() != c.amounts.len() {
            return Ok(Outcome::Halt("contributors and amounts differ in length".into()));
        }
        if c.contributors.len() > MAX_PAYOUTS {
            return Ok(Outcome::Halt(format!("more than {MAX_PAYOUTS} payouts")));
        }
        if c.proof.len() > MAX_PROOF_BYTES {
            return Ok(Outcome::Halt(format!("proof longer than {MAX_PROOF_BYTES} bytes")));
        }
        let mut payouts = Vec::with_capacity(c.amounts.len());
        for (a, v) in c.contributors.iter().zip(&c.amounts) {
            if *v >= U256::from(1u8) << 128 {
                return Ok(Outcome::Halt("payout amount is not below 2^128".into()));
            }
            payouts.push(Payout { contributor: *a, amount_wei: v.to::<u128>() });
        }

        // ---- the request ---------------------------------------------------
        let id = c.requestId;
        match self.sload(ctx, request(id, "status"))?.saturating_to::<u8>() {
            s if s == RequestStatus::Open as u8 => {}
            s if s == RequestStatus::Paid as u8 => return revert("claim already paid"),
            s if s == RequestStatus::Refunded as u8 => return revert("the request was refunded"),
            _ => return revert("no request with this id (nothing is escrowed)"),
        }
        if Self::now(ctx) > self.sload(ctx, request(id, "deadline"))?.saturating_to::<u64>() {
            return revert("the request's deadline has passed");
        }
        if let Some(refused) = self.claimant_refusal(ctx, id, ctx_caller)? {
            return Ok(refused);
        }
        let owner = word_to_address(self.sload(ctx, request(id, "owner"))?);
        let model = word_to_b256(self.sload(ctx, request(id, "model"))?);
        let query = word_to_b256(self.sload(ctx, request(id, "query"))?);
        let fee = self.sload(ctx, request(id, "fee"))?;
        // the proof covers the contributors' share of the fee
        let pool = self.split_of(ctx, id)?.shares(fee).contributors;
        let vk_hash = word_to_b256(self.sload(ctx, model_vk(&owner, &model))?);
        let root = word_to_b256(self.sload(ctx, model_datanet(&owner, &model))?);
        if self.sload(ctx, key_allowed(&vk_hash))?.is_zero() {
            return revert("the model's verifying key is no longer on the allowlist");
        }
        let Some(vk) = self.load_key(ctx, vk_hash)? else {
            return revert("the model's verifying key is not registered or no longer parses");
        };
        // stored values were canonical when written; re-check rather than trust
        let frs = match canonical_all(&[&root, &model, &query]) {
            Ok(frs) => frs,
            Err(h) => return Ok(h),
        };

        // ---- the proof -----------------------------------------------------
        let claim = Claim {
            vk_hash,
            datanet_root: frs[0],
            model_commitment: frs[1],
            query_commitment: frs[2],
            predicted_class: c.predictedClass,
            window_index: c.windowIndex,
            pool_wei: pool.saturating_to::<u128>(),
            payouts,
            proof: c.proof.to_vec(),
        };
        self.count_verifications(1);
        if let Err(e) = self.verifier.verify(&claim, &vk) {
            return revert(&format!("claim rejected: {e}"));
        }
        // the claim paid for its key's load and parse if it was cold: now warm
        self.warm_up(ctx, &vk_hash, self.verifier.k())?;

        // ---- pay -------------------------------------------------------------
        self.close(ctx, id, RequestStatus::Paid)?;
        let mut paid = U256::ZERO;
        for p in claim.payouts.iter().filter(|p| p.amount_wei > 0) {
            let amount = U256::from(p.amount_wei);
            self.pay(ctx, p.contributor, amount)?;
            paid += amount;
        }
        let prover = ctx_caller;
        let digest = super::settlement::window_digest(&c.contributors, &c.amounts);
        self.settle(ctx, id, prover, fee, c.predictedClass, digest)?;
        Self::emit(ctx, &IAttribution::ClaimPaid { requestId: id, prover, paid, payouts: U256::from(claim.payouts.iter().filter(|p| p.amount_wei > 0).count()) });
        Ok(Outcome::Ok(IAttribution::submitClaimCall::abi_encode_returns(&paid).into()))
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
