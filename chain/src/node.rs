//! The chain: genesis, transaction pool, block production and queries.

use crate::{
    genesis::Genesis,
    pool::{Pool, PoolConfig, PoolError},
    precompile::{attribution::AttributionPrecompile, LineagePrecompiles},
    store::Store,
    tx::{self, RecoveredTx},
    Error, Result,
};
use alloy_consensus::{
    constants::EMPTY_OMMER_ROOT_HASH,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    Eip658Value, Header, ReceiptEnvelope, ReceiptWithBloom, Transaction,
};
use alloy_primitives::{keccak256, Address, Bloom, Bytes, Log, TxKind, B256, U256};
use alloy_trie::EMPTY_ROOT_HASH;
use lineage_verifier::{Verifier, VerifierParams};
use revm::{
    context::{result::ExecutionResult, Context, TxEnv},
    database::CacheDB,
    handler::{ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext},
    primitives::{hardfork::SpecId, KECCAK_EMPTY},
    state::AccountInfo,
    DatabaseRef,
};
use serde::{Deserialize, Serialize};
use std::{
    path::Path,
    sync::{Arc, Mutex},
};

/// A block header with its transaction hashes. Its hash is the keccak of
/// the RLP of the Ethereum (London) header it maps to ([`Block::header`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Block {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp: u64,
    pub beneficiary: Address,
    pub base_fee: u64,
    pub gas_used: u64,
    pub gas_limit: u64,
    /// Block 0: keccak256 of the genesis configuration (so the genesis hash
    /// pins the verifier parameters and the key allowlist); zero afterwards.
    pub extra_data: B256,
    /// Ethereum's state trie root after this block.
    pub state_root: B256,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    /// PREVRANDAO of this block (the parent's hash).
    pub mix_hash: B256,
    pub transactions: Vec<B256>,
}

impl Block {
    /// The Ethereum header this block maps to.
    pub fn header(&self) -> Header {
        Header {
            parent_hash: self.parent_hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: self.beneficiary,
            state_root: self.state_root,
            transactions_root: self.transactions_root,
            receipts_root: self.receipts_root,
            logs_bloom: self.logs_bloom,
            difficulty: U256::ZERO,
            number: self.number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: Bytes::copy_from_slice(self.extra_data.as_slice()),
            mix_hash: self.mix_hash,
            nonce: Default::default(),
            base_fee_per_gas: Some(self.base_fee),
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
            block_access_list_hash: None,
            slot_number: None,
        }
    }

    fn seal(mut self) -> Self {
        self.hash = self.header().hash_slow();
        self
    }
}

/// A transaction receipt.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: B256,
    pub block_number: u64,
    /// Position in its block.
    pub transaction_index: u64,
    /// EIP-2718 type (0 legacy, 1 access list, 2 EIP-1559).
    pub tx_type: u8,
    pub from: Address,
    pub to: Option<Address>,
    /// The address a contract creation deployed to.
    pub contract_address: Option<Address>,
    /// true = success; false = reverted or halted.
    pub status: bool,
    pub gas_used: u64,
    pub cumulative_gas_used: u64,
    /// Wei paid per gas (base fee plus the tip actually paid).
    pub effective_gas_price: u128,
    pub logs: Vec<Log>,
    /// Block-wide index of this receipt's first log.
    pub first_log_index: u64,
    /// Return data (success) or revert data.
    pub output: Bytes,
    /// "success", "revert" or the halt reason.
    pub outcome: String,
}

impl Receipt {
    /// The consensus receipt (what the receipts root commits to).
    pub fn envelope(&self) -> ReceiptEnvelope {
        self.envelope_with(self.logs.clone())
    }

    /// This receipt's envelope carrying `logs`, its own logs in another
    /// form (the RPC's, with block and index fields); the bloom is theirs.
    pub fn envelope_with<T>(&self, logs: Vec<T>) -> ReceiptEnvelope<T> {
        let bloom = alloy_primitives::logs_bloom(self.logs.iter());
        let r = alloy_consensus::Receipt { status: Eip658Value::Eip658(self.status), cumulative_gas_used: self.cumulative_gas_used, logs };
        let rb = ReceiptWithBloom::new(r, bloom);
        match self.tx_type {
            0 => ReceiptEnvelope::Legacy(rb),
            1 => ReceiptEnvelope::Eip2930(rb),
            _ => ReceiptEnvelope::Eip1559(rb),
        }
    }
}

/// What queries need of a block without reading its receipts one by one:
/// `eth_getLogs` reads one entry per block, `eth_feeHistory` too.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BlockIndex {
    /// Every log of the block: (transaction hash, transaction index, log index in the block, log).
    pub logs: Vec<(B256, u64, u64, Log)>,
    /// (tip per gas actually paid, gas used) of every transaction, by tip.
    pub tips: Vec<(u128, u64)>,
}

/// A read-only call (`eth_call`, `eth_estimateGas`).
#[derive(Clone, Debug, Default)]
pub struct CallRequest {
    pub from: Option<Address>,
    /// None: a contract creation.
    pub to: Option<Address>,
    pub gas: Option<u64>,
    /// Wei per gas; 0 when absent (no fee is charged for a call).
    pub gas_price: Option<u128>,
    pub value: U256,
    pub input: Bytes,
}

/// What a call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Success { gas_used: u64, output: Bytes, logs: Vec<Log> },
    Revert { gas_used: u64, output: Bytes },
    Halt { gas_used: u64, reason: String },
}

/// A call's configuration: no nonce, balance, base-fee or block-gas checks.
fn call_cfg(c: &mut revm::context::CfgEnv) {
    c.disable_nonce_check = true;
    c.disable_balance_check = true;
    c.disable_base_fee = true;
    c.disable_block_gas_limit = true;
}

fn outcome_of(r: ExecutionResult) -> CallOutcome {
    match r {
        ExecutionResult::Success { gas, logs, output, .. } => CallOutcome::Success { gas_used: gas.tx_gas_used(), output: output.into_data(), logs },
        ExecutionResult::Revert { gas, output, .. } => CallOutcome::Revert { gas_used: gas.tx_gas_used(), output },
        ExecutionResult::Halt { reason, gas, .. } => CallOutcome::Halt { gas_used: gas.tx_gas_used(), reason: format!("{reason:?}") },
    }
}

/// Most transactions in one block.
pub const MAX_BLOCK_TXS: usize = 10_000;
/// Most pool transactions one block skips (too big for the gas left, or
/// invalid) before it is sealed: bounds the work an unfit pool costs.
pub const MAX_BLOCK_SKIPS: usize = 10_000;
/// Intrinsic gas of the cheapest transaction.
const TX_BASE_GAS: u64 = 21_000;

/// A running chain over one data directory. Every method takes `&self`:
/// reads go straight to RocksDB, the pool has its own lock, and block
/// production is serialised by another, so queries never wait on a block.
pub struct Chain {
    store: Store,
    genesis: Genesis,
    attribution: Arc<AttributionPrecompile>,
    pool: Mutex<Pool>,
    producing: Mutex<()>,
    /// The head's number, timestamp and hash, for calls: checked against
    /// the stored head number on every use, reloaded when it moved.
    head_info: std::sync::RwLock<Option<HeadInfo>>,
}

/// What a call needs of the head block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadInfo {
    pub number: u64,
    pub timestamp: u64,
    pub hash: B256,
}

/// Build a mainnet revm with Lineage's precompiles over `$db` for a block
/// at (`$number`, `$timestamp`) with PREVRANDAO `$randao`; `$cfg` may adjust
/// the configuration.
macro_rules! lineage_evm {
    ($self:expr, $db:expr, $number:expr, $timestamp:expr, $randao:expr, $cfg:expr) => {{
        lineage_evm!(@ctx $self, $db, $number, $timestamp, $randao, $cfg)
            .build_mainnet()
            .with_precompiles(LineagePrecompiles::new(SpecId::PRAGUE, $self.attribution.clone()))
    }};
    (inspect $inspector:expr, $self:expr, $db:expr, $number:expr, $timestamp:expr, $randao:expr, $cfg:expr) => {{
        lineage_evm!(@ctx $self, $db, $number, $timestamp, $randao, $cfg)
            .build_mainnet_with_inspector($inspector)
            .with_precompiles(LineagePrecompiles::new(SpecId::PRAGUE, $self.attribution.clone()))
    }};
    (@ctx $self:expr, $db:expr, $number:expr, $timestamp:expr, $randao:expr, $cfg:expr) => {{
        let g = &$self.genesis;
        let cfg_mod = $cfg;
        Context::mainnet()
            .with_db($db)
            .modify_cfg_chained(|c| {
                c.chain_id = g.chain_id;
                c.spec = SpecId::PRAGUE;
                cfg_mod(c);
            })
            .modify_block_chained(|b| {
                b.number = U256::from($number);
                b.timestamp = U256::from($timestamp);
                b.beneficiary = g.beneficiary;
                b.gas_limit = g.gas_limit;
                b.basefee = g.base_fee;
                b.prevrandao = Some($randao);
            })
    }};
}

/// Watches whether an execution observed its gas limit: it executed `GAS`,
/// or a frame (a call, a creation, a precompile) ran out of gas. An
/// execution that did neither would have gone exactly the same with any
/// larger limit. It also stops an execution past its deadline (checked
/// every 1,024 steps; the result is then discarded as observed).
struct GasWatch {
    observed: bool,
    steps: u32,
    deadline: std::time::Instant,
}

/// Longest an `eth_call` runs in place before it is stopped and run again
/// off the RPC workers.
pub const IN_PLACE_DEADLINE: std::time::Duration = std::time::Duration::from_millis(5);

impl<CTX> revm::Inspector<CTX> for GasWatch {
    fn step(&mut self, interp: &mut revm::interpreter::Interpreter, _: &mut CTX) {
        use revm::interpreter::interpreter_types::Jumps;
        if interp.bytecode.opcode() == revm::bytecode::opcode::GAS {
            self.observed = true;
        }
        self.steps = self.steps.wrapping_add(1);
        if self.steps % 1024 == 0 && std::time::Instant::now() > self.deadline {
            self.observed = true;
            interp.halt(revm::interpreter::InstructionResult::OutOfGas);
        }
    }

    fn call_end(&mut self, _: &mut CTX, _: &revm::interpreter::CallInputs, outcome: &mut revm::interpreter::CallOutcome) {
        self.observed |= out_of_gas(outcome.result.result);
    }

    fn create_end(&mut self, _: &mut CTX, _: &revm::interpreter::CreateInputs, outcome: &mut revm::interpreter::CreateOutcome) {
        self.observed |= out_of_gas(outcome.result.result);
    }
}

fn out_of_gas(r: revm::interpreter::InstructionResult) -> bool {
    use revm::interpreter::InstructionResult as I;
    matches!(r, I::OutOfGas | I::MemoryOOG | I::MemoryLimitOOG | I::PrecompileOOG | I::InvalidOperandOOG | I::ReentrancySentryOOG)
}

fn tx_env(t: &RecoveredTx) -> std::result::Result<TxEnv, String> {
    let e = &t.envelope;
    TxEnv::builder()
        .tx_type(Some(e.tx_type() as u8))
        .caller(t.sender)
        .kind(e.kind())
        .value(e.value())
        .data(e.input().clone())
        .gas_limit(e.gas_limit())
        .gas_price(e.max_fee_per_gas())
        .gas_priority_fee(e.max_priority_fee_per_gas())
        .nonce(e.nonce())
        .chain_id(e.chain_id())
        .access_list(e.access_list().cloned().unwrap_or_default())
        .build()
        .map_err(|e| format!("{e:?}"))
}

impl Chain {
    /// Create a new chain in `dir` from `genesis`.
    pub fn init(dir: &Path, genesis: Genesis) -> Result<Self> {
        Self::init_with(dir, genesis, PoolConfig::default())
    }

    /// [`Chain::init`] with pool limits.
    pub fn init_with(dir: &Path, genesis: Genesis, pool: PoolConfig) -> Result<Self> {
        genesis.params.validate().map_err(Error::InvalidGenesis)?;
        let store = Store::open(dir)?;
        if store.is_initialised()? {
            return Err(Error::AlreadyInitialised(store.path().to_string()));
        }
        let attribution = Arc::new(AttributionPrecompile::new(Self::verifier(&genesis)?));
        {
            use crate::precompile::attribution::slots;
            let mut cache = CacheDB::new(&store);
            for (addr, bal) in &genesis.alloc {
                cache.insert_account_info(*addr, AccountInfo::from_balance(*bal));
            }
            // nonce 1 keeps the precompile account non-empty (EIP-161), so its
            // storage survives being touched by a zero-value call
            let pc = AccountInfo { nonce: 1, ..Default::default() };
            for a in crate::precompile::SYSTEM_ADDRESSES {
                cache.insert_account_info(a, pc.clone());
            }
            for (slot, value) in genesis.params.words() {
                cache.insert_account_storage(crate::GOVERNANCE_PRECOMPILE, slot, value).map_err(|e| Error::Evm(e.to_string()))?;
            }
            let pc_storage = std::iter::once((slots::governor(), U256::from_be_slice(genesis.governor.as_slice())))
                .chain(genesis.allowed_keys.iter().map(|h| (slots::key_allowed(h), U256::from(1))));
            for (slot, value) in pc_storage {
                cache
                    .insert_account_storage(crate::ATTRIBUTION_PRECOMPILE, slot, value)
                    .map_err(|e| Error::Evm(e.to_string()))?;
            }
            let post = store.post_state(&cache)?;
            let block = Block {
                number: 0,
                hash: B256::ZERO,
                parent_hash: B256::ZERO,
                timestamp: genesis.timestamp,
                beneficiary: genesis.beneficiary,
                base_fee: genesis.base_fee,
                gas_used: 0,
                gas_limit: genesis.gas_limit,
                extra_data: genesis.hash(),
                state_root: post.state_root,
                transactions_root: EMPTY_ROOT_HASH,
                receipts_root: EMPTY_ROOT_HASH,
                logs_bloom: Bloom::ZERO,
                mix_hash: B256::ZERO,
                transactions: vec![],
            }
            .seal();
            let json = serde_json::to_vec(&block).expect("block serialises");
            let gjson = genesis.to_bytes();
            store.write_genesis(&cache, &post, &gjson, (0, &json, block.hash))?;
        }
        Ok(Self { store, genesis, attribution, pool: Mutex::new(Pool::new(pool)), producing: Mutex::new(()), head_info: Default::default() })
    }

    /// Open an existing chain.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, PoolConfig::default())
    }

    /// [`Chain::open`] with pool limits.
    pub fn open_with(dir: &Path, pool: PoolConfig) -> Result<Self> {
        let store = Store::open_existing(dir)?;
        let Some(g) = store.get_meta("genesis")? else {
            return Err(Error::NotInitialised(store.path().to_string()));
        };
        let genesis: Genesis =
            serde_json::from_slice(&g).map_err(|e| Error::Corrupt { key: "m/genesis".into(), reason: e.to_string() })?;
        let attribution = Arc::new(AttributionPrecompile::new(Self::verifier(&genesis)?));
        let chain = Self { store, genesis, attribution, pool: Mutex::new(Pool::new(pool)), producing: Mutex::new(()), head_info: Default::default() };
        let block0 = chain.genesis_block()?;
        if block0.clone().seal().hash != block0.hash || block0.extra_data != keccak256(&g) {
            return Err(Error::Corrupt {
                key: "m/genesis".into(),
                reason: "the genesis block's hash or extra_data does not match the genesis configuration".into(),
            });
        }
        chain.pin_ring()?;
        Ok(chain)
    }

    fn verifier(genesis: &Genesis) -> Result<Verifier> {
        Ok(Verifier::new(VerifierParams::from_bytes(&genesis.verifier_params_bytes()?)?))
    }

    /// The attribution precompile (its verifier, key cache and counters).
    pub fn attribution(&self) -> &AttributionPrecompile {
        &self.attribution
    }

    fn genesis_block(&self) -> Result<Block> {
        self.block(0)?.ok_or_else(|| Error::Corrupt { key: "b/0".into(), reason: "missing genesis block".into() })
    }

    /// Hash of block 0, which pins the genesis configuration.
    pub fn genesis_hash(&self) -> Result<B256> {
        Ok(self.genesis_block()?.hash)
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn chain_id(&self) -> u64 {
        self.genesis.chain_id
    }

    /// The store (read-only use: RPC queries).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Head block.
    pub fn head(&self) -> Result<Block> {
        let n = self.head_number()?;
        self.block(n)?.ok_or_else(|| Error::Corrupt { key: format!("b/{n}"), reason: "missing head block".into() })
    }

    /// Tell the attribution precompile which parsed keys its node must keep:
    /// the warm ring of the committed head.
    fn pin_ring(&self) -> Result<()> {
        use crate::precompile::whole::{whole_slots::warm_slot, WARM_KEYS};
        let ring = (0..WARM_KEYS)
            .map(|i| self.storage(crate::ATTRIBUTION_PRECOMPILE, warm_slot(i)).map(|v| B256::from(v.to_be_bytes::<32>())))
            .collect::<Result<Vec<_>>>()?;
        self.attribution.pin_ring(ring);
        Ok(())
    }

    /// The head's number, timestamp and hash without decoding the block
    /// (one stored-number read when the head has not moved).
    pub fn head_info(&self) -> Result<HeadInfo> {
        let n = self.head_number()?;
        if let Some(h) = *self.head_info.read().unwrap_or_else(std::sync::PoisonError::into_inner) {
            if h.number == n {
                return Ok(h);
            }
        }
        let b = self.block(n)?.ok_or_else(|| Error::Corrupt { key: format!("b/{n}"), reason: "missing head block".into() })?;
        let h = HeadInfo { number: b.number, timestamp: b.timestamp, hash: b.hash };
        *self.head_info.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(h);
        Ok(h)
    }

    /// Head block number.
    pub fn head_number(&self) -> Result<u64> {
        self.store.head()?.ok_or_else(|| Error::NotInitialised(self.store.path().to_string()))
    }

    pub fn block(&self, number: u64) -> Result<Option<Block>> {
        match self.store.get_block_json(number)? {
            Some(j) => Ok(Some(serde_json::from_slice(&j).map_err(|e| Error::Corrupt { key: format!("b/{number}"), reason: e.to_string() })?)),
            None => Ok(None),
        }
    }

    /// A block's query index (empty for a block without one, e.g. genesis).
    pub fn block_index(&self, number: u64) -> Result<BlockIndex> {
        match self.store.get_block_index_json(number)? {
            Some(j) => serde_json::from_slice(&j).map_err(|e| Error::Corrupt { key: format!("x/{number}"), reason: e.to_string() }),
            None => Ok(BlockIndex::default()),
        }
    }

    pub fn block_by_hash(&self, hash: &B256) -> Result<Option<Block>> {
        match self.store.block_number_of(hash)? {
            Some(n) => self.block(n),
            None => Ok(None),
        }
    }

    pub fn receipt(&self, tx: &B256) -> Result<Option<Receipt>> {
        match self.store.get_receipt_json(tx)? {
            Some(j) => Ok(Some(serde_json::from_slice(&j).map_err(|e| Error::Corrupt { key: format!("r/{tx}"), reason: e.to_string() })?)),
            None => Ok(None),
        }
    }

    /// A mined transaction (decoded from its stored bytes) with its receipt.
    pub fn transaction(&self, hash: &B256) -> Result<Option<(RecoveredTx, Receipt)>> {
        let Some(raw) = self.store.get_raw_tx(hash)? else { return Ok(None) };
        let Some(receipt) = self.receipt(hash)? else {
            return Err(Error::Corrupt { key: format!("r/{hash}"), reason: "transaction without receipt".into() });
        };
        let tx = tx::decode(&raw).map_err(|e| Error::Corrupt { key: format!("t/{hash}"), reason: e.to_string() })?;
        Ok(Some((tx, receipt)))
    }

    /// A transaction waiting in the pool.
    pub fn pending_transaction(&self, hash: &B256) -> Option<RecoveredTx> {
        self.pool().get(hash).cloned()
    }

    pub fn balance(&self, a: Address) -> Result<U256> {
        Ok(self.store.basic_ref(a)?.map(|i| i.balance).unwrap_or_default())
    }

    /// Nonce of an account in the head state.
    pub fn state_nonce(&self, a: Address) -> Result<u64> {
        Ok(self.store.basic_ref(a)?.map(|i| i.nonce).unwrap_or_default())
    }

    /// Next nonce of an account, counting its pending transactions.
    pub fn nonce(&self, a: Address) -> Result<u64> {
        // state and pool read under the pool lock: a block commits and prunes
        // the pool under it too, so the pair is never half-updated
        let pool = self.pool();
        let base = self.state_nonce(a)?;
        Ok(pool.next_nonce(a, base))
    }

    pub fn storage(&self, a: Address, slot: U256) -> Result<U256> {
        self.store.storage_ref(a, slot)
    }

    /// Deployed code of an account (empty for none).
    pub fn code(&self, a: Address) -> Result<Bytes> {
        match self.store.basic_ref(a)? {
            Some(info) if info.code_hash != KECCAK_EMPTY => Ok(self.store.code_by_hash_ref(info.code_hash)?.original_bytes()),
            _ => Ok(Bytes::new()),
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Validate a raw signed transaction against the head state and queue it.
    pub fn submit(&self, raw: &[u8]) -> Result<B256> {
        let max = self.pool().config().max_tx_bytes;
        if raw.len() > max {
            return Err(PoolError::Oversized { size: raw.len(), limit: max }.into());
        }
        let tx = tx::decode(raw)?;
        match tx.chain_id() {
            Some(id) if id == self.genesis.chain_id => {}
            Some(id) => return Err(Error::WrongChainId { found: id, expected: self.genesis.chain_id }),
            None => return Err(Error::InvalidTransaction("pre-EIP-155 transactions are not accepted".into())),
        }
        let e = &tx.envelope;
        if e.gas_limit() > self.genesis.gas_limit {
            return Err(Error::InvalidTransaction(format!(
                "exceeds block gas limit: gas limit {} exceeds the block gas limit {}",
                e.gas_limit(),
                self.genesis.gas_limit
            )));
        }
        // intrinsic gas, and Prague's calldata floor (EIP-7623): a transaction
        // that could never execute never enters the pool
        let (al_accounts, al_slots) =
            e.access_list().map(|al| (al.len() as u64, al.iter().map(|i| i.storage_keys.len() as u64).sum())).unwrap_or((0, 0));
        let ig = revm::context_interface::cfg::gas::calculate_initial_tx_gas(SpecId::PRAGUE, e.input(), e.kind().is_create(), al_accounts, al_slots, 0, None);
        let need = ig.initial_regular_gas.saturating_add(ig.initial_state_gas).max(ig.floor_gas).max(TX_BASE_GAS);
        if e.gas_limit() < need {
            return Err(Error::InvalidTransaction(format!("intrinsic gas too low: gas limit {}, needs {need}", e.gas_limit())));
        }
        if let Some(tip) = e.max_priority_fee_per_gas() {
            if tip > e.max_fee_per_gas() {
                return Err(Error::InvalidTransaction("max priority fee per gas higher than max fee per gas".into()));
            }
        }
        if e.max_fee_per_gas() < self.genesis.base_fee as u128 {
            return Err(Error::InvalidTransaction(format!(
                "max fee per gas less than block base fee: maxFeePerGas: {}, baseFee: {}",
                e.max_fee_per_gas(),
                self.genesis.base_fee
            )));
        }
        let mut pool = self.pool();
        let account = self.store.basic_ref(tx.sender)?.unwrap_or_default();
        // the sender must afford this transaction and every other it has queued
        let cost = crate::pool::max_cost(&tx).saturating_add(pool.queued_cost(tx.sender, e.nonce()));
        if cost > account.balance {
            return Err(Error::InsufficientFunds { have: account.balance, want: cost });
        }
        let hash = tx.hash;
        pool.insert(tx, account.nonce)?;
        Ok(hash)
    }

    /// Produce a block from the pool at the parent's timestamp + 2 (the
    /// embedded chain's deterministic clock).
    pub fn mine(&self) -> Result<(Block, Vec<Receipt>)> {
        let _producing = self.producing.lock().unwrap_or_else(|p| p.into_inner());
        let ts = self.head()?.timestamp + 2;
        self.produce(ts, None)
    }

    /// Produce a block from the pool at `timestamp` (raised to the parent's
    /// timestamp + 1 if it is not later).
    pub fn mine_at(&self, timestamp: u64) -> Result<(Block, Vec<Receipt>)> {
        let _producing = self.producing.lock().unwrap_or_else(|p| p.into_inner());
        self.produce(timestamp, None)
    }

    /// Execute `txs` as the next block at `timestamp`, exactly as given (a
    /// replay): every transaction must be valid and fit.
    pub fn execute_block(&self, txs: Vec<RecoveredTx>, timestamp: u64) -> Result<(Block, Vec<Receipt>)> {
        let _producing = self.producing.lock().unwrap_or_else(|p| p.into_inner());
        self.produce(timestamp, Some(txs))
    }

    fn produce(&self, timestamp: u64, exact: Option<Vec<RecoveredTx>>) -> Result<(Block, Vec<Receipt>)> {
        let parent = self.head()?;
        let number = parent.number + 1;
        let timestamp = timestamp.max(parent.timestamp + 1);
        let g = &self.genesis;
        let replay = exact.is_some();
        // the transactions to try, in order: a replay's exactly, else the
        // pool's best, taken lazily so a sender that does not fit is skipped
        // and the others go on
        let mut exact_txs = exact.map(|v| v.into_iter().map(Arc::new).collect::<std::collections::VecDeque<_>>());
        let mut best = match exact_txs {
            Some(_) => None,
            None => {
                let store = &self.store;
                let pool = self.pool();
                Some(pool.best(g.base_fee, |a| store.basic_ref(a).ok().flatten().map(|i| i.nonce).unwrap_or_default()))
            }
        };
        let mut cache = CacheDB::new(&self.store);
        let mut receipts: Vec<Receipt> = Vec::new();
        let mut included: Vec<Arc<RecoveredTx>> = Vec::new();
        let mut invalid: Vec<B256> = Vec::new();
        let mut skipped = 0usize;
        let mut cumulative = 0u64;
        {
            let mut evm = lineage_evm!(self, &mut cache, number, timestamp, parent.hash, |_c: &mut revm::context::CfgEnv| {});
            loop {
                if included.len() >= MAX_BLOCK_TXS || g.gas_limit - cumulative < TX_BASE_GAS || skipped > MAX_BLOCK_SKIPS {
                    break;
                }
                let next = match (&mut exact_txs, &mut best) {
                    (Some(v), _) => v.pop_front(),
                    (None, Some(b)) => b.next(),
                    (None, None) => None,
                };
                let Some(t) = next else { break };
                let e = &t.envelope;
                if cumulative + e.gas_limit() > g.gas_limit {
                    if replay {
                        return Err(Error::Replay(format!("transaction {} does not fit block {number}", t.hash)));
                    }
                    // waits for the next block, with every later one from its sender
                    if let Some(b) = &mut best {
                        b.skip_sender(t.sender);
                    }
                    skipped += 1;
                    continue;
                }
                let env = match tx_env(&t) {
                    Ok(env) => env,
                    Err(err) => {
                        tracing::warn!("dropping transaction {}: {err}", t.hash);
                        invalid.push(t.hash);
                        if let Some(b) = &mut best {
                            b.skip_sender(t.sender);
                        }
                        skipped += 1;
                        continue;
                    }
                };
                let (status, gas_used, logs, output, outcome) = match evm.transact_commit(env) {
                    Ok(ExecutionResult::Success { gas, logs, output, .. }) => (true, gas.tx_gas_used(), logs, output.into_data(), "success".to_string()),
                    Ok(ExecutionResult::Revert { gas, output, .. }) => (false, gas.tx_gas_used(), vec![], output, "revert".into()),
                    Ok(ExecutionResult::Halt { reason, gas, .. }) => (false, gas.tx_gas_used(), vec![], Bytes::new(), format!("halt: {reason:?}")),
                    // invalid transactions (bad nonce, insufficient funds) are dropped, not included
                    Err(err) => {
                        if replay {
                            return Err(Error::Replay(format!("transaction {} is invalid in block {number}: {err}", t.hash)));
                        }
                        tracing::warn!("dropping transaction {}: {err}", t.hash);
                        invalid.push(t.hash);
                        if let Some(b) = &mut best {
                            b.skip_sender(t.sender);
                        }
                        skipped += 1;
                        continue;
                    }
                };
                cumulative += gas_used;
                let first_log_index = receipts.last().map_or(0, |r: &Receipt| r.first_log_index + r.logs.len() as u64);
                let contract_address = (e.kind().is_create() && status).then(|| t.sender.create(e.nonce()));
                receipts.push(Receipt {
                    tx_hash: t.hash,
                    block_number: number,
                    transaction_index: receipts.len() as u64,
                    tx_type: e.tx_type() as u8,
                    from: t.sender,
                    to: e.to(),
                    contract_address,
                    status,
                    gas_used,
                    cumulative_gas_used: cumulative,
                    effective_gas_price: e.effective_gas_price(Some(g.base_fee)),
                    logs,
                    first_log_index,
                    output,
                    outcome,
                });
                debug_assert!(cumulative <= g.gas_limit);
                included.push(t);
            }
        }
        let post = self.store.post_state(&cache)?;
        let envelopes: Vec<ReceiptEnvelope> = receipts.iter().map(Receipt::envelope).collect();
        let block = Block {
            number,
            hash: B256::ZERO,
            parent_hash: parent.hash,
            timestamp,
            beneficiary: g.beneficiary,
            base_fee: g.base_fee,
            gas_used: cumulative,
            gas_limit: g.gas_limit,
            extra_data: B256::ZERO,
            state_root: post.state_root,
            transactions_root: calculate_transaction_root(&included.iter().map(|t| t.envelope.clone()).collect::<Vec<_>>()),
            receipts_root: calculate_receipt_root(&envelopes),
            logs_bloom: alloy_primitives::logs_bloom(receipts.iter().flat_map(|r| r.logs.iter())),
            mix_hash: parent.hash,
            transactions: receipts.iter().map(|r| r.tx_hash).collect(),
        }
        .seal();
        let stored: Vec<_> = included
            .iter()
            .zip(&receipts)
            .map(|(t, r)| (t.hash, t.raw.clone(), serde_json::to_vec(r).expect("receipt serialises")))
            .collect();
        let json = serde_json::to_vec(&block).expect("block serialises");
        let mut index = BlockIndex::default();
        for r in &receipts {
            for (i, l) in r.logs.iter().enumerate() {
                index.logs.push((r.tx_hash, r.transaction_index, r.first_log_index + i as u64, l.clone()));
            }
            index.tips.push((r.effective_gas_price.saturating_sub(g.base_fee as u128), r.gas_used));
        }
        index.tips.sort_unstable();
        let index = serde_json::to_vec(&index).expect("index serialises");
        // commit and prune under the pool lock (see `nonce`)
        let mut pool = self.pool();
        self.store.commit_block(&cache, &post, (number, &json, block.hash), &stored, &index)?;
        if !replay {
            let mut senders = std::collections::HashSet::new();
            for t in &included {
                pool.remove(&t.hash);
                senders.insert(t.sender);
            }
            for h in &invalid {
                pool.remove(h);
            }
            for s in senders {
                pool.prune(s, self.state_nonce(s)?);
            }
        }
        drop(pool);
        self.pin_ring()?;
        #[cfg(debug_assertions)]
        {
            self.escrow_invariant()?;
            self.staking_invariant()?;
        }
        Ok((block, receipts))
    }

    /// Run a call against the head state without committing it (no nonce,
    /// balance or base-fee checks; `gas_cap` bounds the gas).
    pub fn call(&self, req: &CallRequest, gas_cap: u64) -> Result<CallOutcome> {
        let head = self.head_info()?;
        let gas = req.gas.unwrap_or(gas_cap).min(gas_cap);
        self.call_at(&head, req, gas)
    }

    /// [`Chain::call`] within `budget` gas: `Some(outcome)` when that is the
    /// call's outcome at its full limit too (the limit was within the budget,
    /// or the execution never observed its gas: no `GAS`, no frame out of
    /// gas); `None` when the call must run again with its full limit. Bounds
    /// the work of a call run in place on an RPC worker.
    pub fn call_within(&self, req: &CallRequest, gas_cap: u64, budget: u64) -> Result<Option<CallOutcome>> {
        let head = self.head_info()?;
        let gas = req.gas.unwrap_or(gas_cap).min(gas_cap);
        if gas <= budget {
            return self.call_at(&head, req, gas).map(Some);
        }
        // a priced call pays gas × price up front, which the call can see in
        // its caller's balance: only unpriced calls run within a budget
        if req.gas_price.unwrap_or(0) != 0 {
            return Ok(None);
        }
        let env = self.call_env(req, budget)?;
        let mut cache = CacheDB::new(&self.store);
        let watch = GasWatch { observed: false, steps: 0, deadline: std::time::Instant::now() + IN_PLACE_DEADLINE };
        let mut evm = lineage_evm!(inspect watch, self, &mut cache, head.number + 1, head.timestamp + 1, head.hash, call_cfg);
        use revm::InspectEvm;
        // refused within the budget (e.g. intrinsic gas above it): the full
        // limit decides
        let Ok(out) = evm.inspect_tx(env) else {
            return Ok(None);
        };
        let halted_oog = matches!(&out.result, ExecutionResult::Halt { reason: revm::context::result::HaltReason::OutOfGas(_), .. });
        if evm.inspector.observed || halted_oog {
            return Ok(None);
        }
        Ok(Some(outcome_of(out.result)))
    }

    fn call_env(&self, req: &CallRequest, gas: u64) -> Result<TxEnv> {
        let from = req.from.unwrap_or_default();
        TxEnv::builder()
            .caller(from)
            .kind(match req.to {
                Some(to) => TxKind::Call(to),
                None => TxKind::Create,
            })
            .value(req.value)
            .data(req.input.clone())
            .gas_limit(gas)
            .gas_price(req.gas_price.unwrap_or(0))
            // the nonce check is off, and a creation's address comes from
            // the caller's account nonce, which revm loads
            .nonce(0)
            .chain_id(Some(self.genesis.chain_id))
            .build()
            .map_err(|e| Error::InvalidTransaction(format!("{e:?}")))
    }

    fn call_at(&self, head: &HeadInfo, req: &CallRequest, gas: u64) -> Result<CallOutcome> {
        let mut cache = CacheDB::new(&self.store);
        let env = self.call_env(req, gas)?;
        let mut evm = lineage_evm!(self, &mut cache, head.number + 1, head.timestamp + 1, head.hash, call_cfg);
        let out = evm.transact(env).map_err(|e| Error::InvalidTransaction(e.to_string()))?;
        Ok(outcome_of(out.result))
    }

    /// The least gas limit at which `req` succeeds (a binary search, as
    /// geth and reth do), at most `gas_cap`. A call that fails at the cap
    /// returns that failure.
    pub fn estimate_gas(&self, req: &CallRequest, gas_cap: u64) -> Result<std::result::Result<u64, CallOutcome>> {
        let head = self.head_info()?;
        // a plain transfer to an account without code costs exactly the base
        if let (Some(to), true) = (req.to, req.input.is_empty()) {
            if self.code(to)?.is_empty() && !LineagePrecompiles::is_precompile(&to) {
                let call = CallRequest { gas: Some(TX_BASE_GAS), ..req.clone() };
                return Ok(match self.call_at(&head, &call, TX_BASE_GAS)? {
                    CallOutcome::Success { .. } => Ok(TX_BASE_GAS),
                    failure => Err(failure),
                });
            }
        }
        let mut hi = req.gas.unwrap_or(gas_cap).min(gas_cap);
        let used = match self.call_at(&head, req, hi)? {
            CallOutcome::Success { gas_used, .. } => gas_used,
            failure => return Ok(Err(failure)),
        };
        // the refund-adjusted gas used is a lower bound; most calls succeed
        // at used·64/63 (EIP-150's retained 1/64), so try that first
        let mut lo = used.saturating_sub(1).max(TX_BASE_GAS - 1);
        let guess = (used.saturating_mul(64) / 63).max(TX_BASE_GAS);
        if guess < hi && matches!(self.call_at(&head, req, guess)?, CallOutcome::Success { .. }) {
            hi = guess;
        }
        while hi - lo > 1 && (hi - lo) * 100 > hi {
            let mid = lo + (hi - lo) / 2;
            match self.call_at(&head, req, mid)? {
                CallOutcome::Success { .. } => hi = mid,
                _ => lo = mid,
            }
        }
        Ok(Ok(hi))
    }

    /// Re-execute every block from genesis in a fresh chain at `dir` and
    /// check that each block's state root, receipts root and hash come out
    /// the same. Returns the head state root.
    pub fn verify_replay(&self, dir: &Path) -> Result<B256> {
        let fresh = Chain::init(dir, self.genesis.clone())?;
        let head = self.head_number()?;
        let mut root = fresh.head()?.state_root;
        for n in 1..=head {
            let b = self.block(n)?.ok_or_else(|| Error::Corrupt { key: format!("b/{n}"), reason: "missing block".into() })?;
            let mut txs = Vec::with_capacity(b.transactions.len());
            for h in &b.transactions {
                let raw = self.store.get_raw_tx(h)?.ok_or_else(|| Error::Corrupt { key: format!("t/{h}"), reason: "missing".into() })?;
                txs.push(tx::decode(&raw)?);
            }
            let (replayed, _) = fresh.execute_block(txs, b.timestamp)?;
            if replayed != b {
                return Err(Error::Replay(format!(
                    "block {n} differs on replay: state root {} vs {}, hash {} vs {}",
                    replayed.state_root, b.state_root, replayed.hash, b.hash
                )));
            }
            root = replayed.state_root;
        }
        Ok(root)
    }

    /// Write-ahead-log fsyncs since this chain was opened.
    pub fn wal_syncs(&self) -> u64 {
        self.store.wal_syncs()
    }

    /// Transactions waiting for a block.
    pub fn pending(&self) -> usize {
        self.pool().len()
    }

    /// Hashes of the transactions waiting for a block.
    pub fn pending_hashes(&self) -> Vec<B256> {
        self.pool().iter().map(|t| t.hash).collect()
    }

    /// Check that the staking precompile's totals (bonded, unbonding, held
    /// slashes) are covered by its balance. Runs after every block in debug
    /// builds.
    pub fn staking_invariant(&self) -> Result<()> {
        use crate::precompile::staking::slots;
        let at = crate::STAKING_PRECOMPILE;
        let bonded = self.storage(at, slots::total("bonded"))?;
        let unbonding = self.storage(at, slots::total("unbonding"))?;
        let held = self.storage(at, slots::total("held"))?;
        let balance = self.balance(at)?;
        // `>=`: a SELFDESTRUCT may send OPEN here unasked
        if bonded + unbonding + held > balance {
            return Err(Error::StakingInvariant(format!("bonded {bonded} + unbonding {unbonding} + held {held} exceed the balance {balance}")));
        }
        Ok(())
    }

    /// Check that the fees of all open requests, summed request by request,
    /// equal the precompile's escrow total; that the unreleased payouts of
    /// paid whole-datanet claims equal its owed total; and that the two
    /// together do not exceed its balance. Runs after every block in debug
    /// builds.
    pub fn escrow_invariant(&self) -> Result<()> {
        use crate::precompile::attribution::{slots, RequestStatus};
        let pc = crate::ATTRIBUTION_PRECOMPILE;
        let count = self.storage(pc, slots::request_count())?;
        let mut sum = U256::ZERO;
        let mut owed = U256::ZERO;
        let mut id = U256::ZERO;
        while id < count {
            if self.storage(pc, slots::request(id, "status"))? == U256::from(RequestStatus::Open as u8) {
                sum += self.storage(pc, slots::request(id, "fee"))?;
            }
            if !self.storage(pc, slots::request(id, "payouts"))?.is_zero() {
                let pool = self.storage(pc, slots::request(id, "pool"))?;
                let released = self.storage(pc, slots::request(id, "released"))?;
                if released > pool {
                    return Err(Error::OwedInvariant { owed: U256::ZERO, total: released, request: id });
                }
                owed += pool - released;
            }
            id += U256::from(1);
        }
        let total = self.storage(pc, slots::escrow_total())?;
        let owed_total = self.storage(pc, slots::owed_total())?;
        let balance = self.balance(pc)?;
        if owed != owed_total {
            return Err(Error::OwedInvariant { owed, total: owed_total, request: count });
        }
        if sum != total || sum + owed > balance {
            return Err(Error::EscrowInvariant { open_fees: sum, total, balance });
        }
        Ok(())
    }
}
