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
use lineage_verifier::VerifierParams;
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
        let attribution = Arc::new(AttributionPrecompile::new(Self::params(&genesis)?));
        {
            let mut cache = CacheDB::new(&store);
            for (addr, bal) in &genesis.alloc {
                cache.insert_account_info(*addr, AccountInfo::from_balance(*bal));
            }
            // nonce 1 keeps the precompile account non-empty (EIP-161), so its
            // storage survives being touched by a zero-value call
            let pc = AccountInfo { nonce: 1, ..Default::default() };
            cache.insert_account_info(crate::ATTRIBUTION_PRECOMPILE, pc);
            let mut block = Block {
                number: 0,
                hash: B256::ZERO,
                parent_hash: B256::ZERO,
                timestamp: genesis.timestamp,
                beneficiary: genesis.beneficiary,
                base_fee: genesis.base_fee,
                gas_used: 0,
                transactions: vec![],
            };
            block.hash = block_hash(&block);
            let json = serde_json::to_vec(&block).expect("block serialises");
            let gjson = serde_json::to_vec(&genesis).expect("genesis serialises");
            store.write_genesis(&cache, &gjson, (0, &json, block.hash))?;
        }
        Ok(Self { store, genesis, attribution, pending: vec![] })
    }

    /// Open an existing chain.
    pub fn open(dir: &Path) -> Result<Self> {
        let store = Store::open(dir)?;
        let Some(g) = store.get_meta("genesis")? else {
            return Err(Error::NotInitialised(store.path().to_string()));
        };
        let genesis: Genesis =
            serde_json::from_slice(&g).map_err(|e| Error::Corrupt { key: "m/genesis".into(), reason: e.to_string() })?;
        let attribution = Arc::new(AttributionPrecompile::new(Self::params(&genesis)?));
        Ok(Self { store, genesis, attribution, pending: vec![] })
    }

    fn params(genesis: &Genesis) -> Result<lineage_verifier::KzgParams> {
        let bytes = hex::decode(&genesis.verifier_params)
            .map_err(|e| Error::Corrupt { key: "genesis.verifier_params".into(), reason: e.to_string() })?;
        Ok(VerifierParams::from_bytes(&bytes)?.to_kzg())
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
        let hash = tx.hash;
        self.pending.push(tx);
        Ok(hash)
    }

    /// Execute all pending transactions in a new block and persist it.
    pub fn mine(&mut self) -> Result<(Block, Vec<Receipt>)> {
        let parent = self.head()?;
        let number = parent.number + 1;
        let timestamp = parent.timestamp + 2;
        let txs = std::mem::take(&mut self.pending);
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
            for t in &txs {
                let e = &t.envelope;
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
                    .build()
                    .map_err(|e| Error::InvalidTransaction(format!("{e:?}")))?;
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
            transactions: receipts.iter().map(|r| r.tx_hash).collect(),
        };
        block.hash = block_hash(&block);
        let json = serde_json::to_vec(&block).expect("block serialises");
        self.store.commit_block(&cache, (number, &json, block.hash), &stored)?;
        Ok((block, receipts))
    }
}
