//! The chain: genesis, transaction pool, block production and queries.

use crate::{
    genesis::Genesis,
    precompile::{attribution::AttributionPrecompile, LineagePrecompiles},
    store::Store,
    tx::{self, RecoveredTx},
    Error, Result,
};
use alloy_consensus::Transaction;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use lineage_verifier::{Verifier, VerifierParams};
use revm::{
    context::{result::ExecutionResult, Context, TxEnv},
    database::CacheDB,
    handler::{ExecuteCommitEvm, MainBuilder, MainContext},
    primitives::hardfork::SpecId,
    state::AccountInfo,
    DatabaseRef,
};
use serde::{Deserialize, Serialize};
use std::{path::Path, sync::Arc};

/// A block header with its transaction hashes.
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
    pub transactions: Vec<B256>,
}

/// A transaction receipt.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: B256,
    pub block_number: u64,
    pub from: Address,
    pub to: Option<Address>,
    /// true = success; false = reverted or halted.
    pub status: bool,
    pub gas_used: u64,
    pub cumulative_gas_used: u64,
    pub logs: usize,
    /// Return data (success) or revert data.
    pub output: Bytes,
    /// "success", "revert" or the halt reason.
    pub outcome: String,
}

/// A running chain over one data directory.
pub struct Chain {
    store: Store,
    genesis: Genesis,
    attribution: Arc<AttributionPrecompile>,
    pending: Vec<RecoveredTx>,
}

fn block_hash(b: &Block) -> B256 {
    let mut h = b.clone();
    h.hash = B256::ZERO;
    keccak256(serde_json::to_vec(&h).expect("block serialises"))
}

impl Chain {
    /// Create a new chain in `dir` from `genesis`.
    pub fn init(dir: &Path, genesis: Genesis) -> Result<Self> {
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
            cache.insert_account_info(crate::ATTRIBUTION_PRECOMPILE, pc);
            let pc_storage = std::iter::once((slots::governor(), U256::from_be_slice(genesis.governor.as_slice())))
                .chain(genesis.allowed_keys.iter().map(|h| (slots::key_allowed(h), U256::from(1))));
            for (slot, value) in pc_storage {
                cache
                    .insert_account_storage(crate::ATTRIBUTION_PRECOMPILE, slot, value)
                    .map_err(|e| Error::Evm(e.to_string()))?;
            }
            let mut block = Block {
                number: 0,
                hash: B256::ZERO,
                parent_hash: B256::ZERO,
                timestamp: genesis.timestamp,
                beneficiary: genesis.beneficiary,
                base_fee: genesis.base_fee,
                gas_used: 0,
                gas_limit: genesis.gas_limit,
                extra_data: genesis.hash(),
                transactions: vec![],
            };
            block.hash = block_hash(&block);
            let json = serde_json::to_vec(&block).expect("block serialises");
            let gjson = genesis.to_bytes();
            store.write_genesis(&cache, &gjson, (0, &json, block.hash))?;
        }
        Ok(Self { store, genesis, attribution, pending: vec![] })
    }

    /// Open an existing chain.
    pub fn open(dir: &Path) -> Result<Self> {
        let store = Store::open_existing(dir)?;
        let Some(g) = store.get_meta("genesis")? else {
            return Err(Error::NotInitialised(store.path().to_string()));
        };
        let genesis: Genesis =
            serde_json::from_slice(&g).map_err(|e| Error::Corrupt { key: "m/genesis".into(), reason: e.to_string() })?;
        let attribution = Arc::new(AttributionPrecompile::new(Self::verifier(&genesis)?));
        let chain = Self { store, genesis, attribution, pending: vec![] };
        let block0 = chain.genesis_block()?;
        if block_hash(&block0) != block0.hash || block0.extra_data != keccak256(&g) {
            return Err(Error::Corrupt {
                key: "m/genesis".into(),
                reason: "the genesis block's hash or extra_data does not match the genesis configuration".into(),
            });
        }
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

    /// Head block.
    pub fn head(&self) -> Result<Block> {
        let n = self.store.head()?.ok_or_else(|| Error::NotInitialised(self.store.path().to_string()))?;
        self.block(n)?.ok_or_else(|| Error::Corrupt { key: format!("b/{n}"), reason: "missing head block".into() })
    }

    pub fn block(&self, number: u64) -> Result<Option<Block>> {
        match self.store.get_block_json(number)? {
            Some(j) => Ok(Some(serde_json::from_slice(&j).map_err(|e| Error::Corrupt { key: format!("b/{number}"), reason: e.to_string() })?)),
            None => Ok(None),
        }
    }

    pub fn receipt(&self, tx: &B256) -> Result<Option<Receipt>> {
        match self.store.get_receipt_json(tx)? {
            Some(j) => Ok(Some(serde_json::from_slice(&j).map_err(|e| Error::Corrupt { key: format!("r/{tx}"), reason: e.to_string() })?)),
            None => Ok(None),
        }
    }

    pub fn balance(&self, a: Address) -> Result<U256> {
        Ok(self.store.basic_ref(a)?.map(|i| i.balance).unwrap_or_default())
    }

    /// Next nonce of an account, counting transactions already pending.
    pub fn nonce(&self, a: Address) -> Result<u64> {
        let base = self.store.basic_ref(a)?.map(|i| i.nonce).unwrap_or_default();
        Ok(base + self.pending.iter().filter(|t| t.sender == a).count() as u64)
    }

    pub fn storage(&self, a: Address, slot: U256) -> Result<U256> {
        self.store.storage_ref(a, slot)
    }

    /// Validate and queue a raw signed transaction.
    pub fn submit(&mut self, raw: &[u8]) -> Result<B256> {
        let tx = tx::decode(raw)?;
        match tx.chain_id() {
            Some(id) if id == self.genesis.chain_id => {}
            Some(id) => return Err(Error::WrongChainId { found: id, expected: self.genesis.chain_id }),
            None => return Err(Error::InvalidTransaction("pre-EIP-155 transactions are not accepted".into())),
        }
        if tx.envelope.gas_limit() > self.genesis.gas_limit {
            return Err(Error::InvalidTransaction(format!(
                "gas limit {} exceeds the block gas limit {}",
                tx.envelope.gas_limit(),
                self.genesis.gas_limit
            )));
        }
        let hash = tx.hash;
        self.pending.push(tx);
        Ok(hash)
    }

    /// Execute pending transactions, in order, in a new block and persist it.
    /// A transaction whose gas limit no longer fits the block's remaining gas
    /// stays pending (with every later one from its sender) for the next block.
    pub fn mine(&mut self) -> Result<(Block, Vec<Receipt>)> {
        let parent = self.head()?;
        let number = parent.number + 1;
        let timestamp = parent.timestamp + 2;
        let txs = std::mem::take(&mut self.pending);
        let mut deferred: Vec<RecoveredTx> = Vec::new();
        let g = &self.genesis;
        let mut cache = CacheDB::new(&self.store);
        let mut receipts = Vec::with_capacity(txs.len());
        let mut stored = Vec::with_capacity(txs.len());
        let mut cumulative = 0u64;
        {
            let ctx = Context::mainnet()
                .with_db(&mut cache)
                .modify_cfg_chained(|c| {
                    c.chain_id = g.chain_id;
                    c.spec = SpecId::PRAGUE;
                })
                .modify_block_chained(|b| {
                    b.number = U256::from(number);
                    b.timestamp = U256::from(timestamp);
                    b.beneficiary = g.beneficiary;
                    b.gas_limit = g.gas_limit;
                    b.basefee = g.base_fee;
                    b.prevrandao = Some(parent.hash);
                });
            let mut evm = ctx.build_mainnet().with_precompiles(LineagePrecompiles::new(SpecId::PRAGUE, self.attribution.clone()));
            for t in txs {
                let e = &t.envelope;
                let blocked = deferred.iter().any(|d| d.sender == t.sender);
                if blocked || cumulative + e.gas_limit() > g.gas_limit {
                    deferred.push(t);
                    continue;
                }
                let env = TxEnv::builder()
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
                    .build();
                let env = match env {
                    Ok(env) => env,
                    Err(err) => {
                        tracing::warn!("dropping transaction {}: {err:?}", t.hash);
                        continue;
                    }
                };
                let (status, gas_used, logs, output, outcome) = match evm.transact_commit(env) {
                    Ok(ExecutionResult::Success { gas, logs, output, .. }) => {
                        (true, gas.tx_gas_used(), logs.len(), output.into_data(), "success".to_string())
                    }
                    Ok(ExecutionResult::Revert { gas, output, .. }) => (false, gas.tx_gas_used(), 0, output, "revert".into()),
                    Ok(ExecutionResult::Halt { reason, gas, .. }) => (false, gas.tx_gas_used(), 0, Bytes::new(), format!("halt: {reason:?}")),
                    // invalid transactions (bad nonce, insufficient funds) are dropped, not included
                    Err(err) => {
                        tracing::warn!("dropping transaction {}: {err}", t.hash);
                        continue;
                    }
                };
                cumulative += gas_used;
                let r = Receipt {
                    tx_hash: t.hash,
                    block_number: number,
                    from: t.sender,
                    to: e.to(),
                    status,
                    gas_used,
                    cumulative_gas_used: cumulative,
                    logs,
                    output,
                    outcome,
                };
                stored.push((t.hash, t.raw.clone(), serde_json::to_vec(&r).expect("receipt serialises")));
                debug_assert!(cumulative <= g.gas_limit);
                receipts.push(r);
            }
        }
        let mut block = Block {
            number,
            hash: B256::ZERO,
            parent_hash: parent.hash,
            timestamp,
            beneficiary: g.beneficiary,
            base_fee: g.base_fee,
            gas_used: cumulative,
            gas_limit: g.gas_limit,
            extra_data: B256::ZERO,
            transactions: receipts.iter().map(|r| r.tx_hash).collect(),
        };
        block.hash = block_hash(&block);
        let json = serde_json::to_vec(&block).expect("block serialises");
        self.store.commit_block(&cache, (number, &json, block.hash), &stored)?;
        self.pending = deferred;
        #[cfg(debug_assertions)]
        self.escrow_invariant()?;
        Ok((block, receipts))
    }

    /// Write-ahead-log fsyncs since this chain was opened.
    pub fn wal_syncs(&self) -> u64 {
        self.store.wal_syncs()
    }

    /// Transactions waiting for a block.
    pub fn pending(&self) -> usize {
        self.pending.len()
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
                let fee = self.storage(pc, slots::request(id, "fee"))?;
                let released = self.storage(pc, slots::request(id, "released"))?;
                if released > fee {
                    return Err(Error::OwedInvariant { owed: U256::ZERO, total: released, request: id });
                }
                owed += fee - released;
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
