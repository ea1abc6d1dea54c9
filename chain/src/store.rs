//! RocksDB-backed state and chain storage.
//!
//! Keys (one column family, prefixed):
//! `m/version`, `m/genesis`, `m/head` — metadata;
//! `a/<address>` — account (nonce, balance, code hash, storage root);
//! `c/<code hash>` — bytecode; `s/<address><slot>` — storage word;
//! `b/<number be64>` — block; `h/<number be64>` — block hash;
//! `n/<block hash>` — block number; `x/<number be64>` — the block's query
//! index (every log with its transaction, the tips paid); `r/<tx hash>` — receipt;
//! `t/<tx hash>` — raw transaction.
//!
//! The state root in each block header is Ethereum's: a Merkle–Patricia
//! trie over keccak(address) → RLP(nonce, balance, storage root, code hash),
//! each storage root a trie over keccak(slot) → RLP(value). Storage roots are
//! kept in the account records and recomputed only for accounts a block
//! touched; the account trie is rebuilt from the records each block
//! (O(accounts) per block).

use crate::{Error, Result};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use revm::{
    bytecode::Bytecode,
    database::{AccountState, CacheDB},
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
    DatabaseRef,
};
use alloy_trie::{root::storage_root_unhashed, TrieAccount, EMPTY_ROOT_HASH};
use std::{
    collections::{BTreeMap, HashMap},
    path::Path,
};

/// On-disk format version; a mismatch refuses to open.
pub const FORMAT_VERSION: u32 = 4;

/// Bytes of an account record.
const ACCOUNT_BYTES: usize = 104;

/// The store. Blocks are written with `sync`: an acknowledged block is on
/// disk (its WAL fsynced) and survives an OS crash.
pub struct Store {
    db: rocksdb::DB,
    opts: rocksdb::Options,
    path: String,
}

fn key(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

impl Store {
    /// Open (creating the directory if needed). Checks the format version of
    /// an existing store.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, true)
    }

    /// Open a store that must already exist (nothing is created).
    pub fn open_existing(path: &Path) -> Result<Self> {
        if !path.join("CURRENT").exists() {
            return Err(Error::NotInitialised(path.display().to_string()));
        }
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Self> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(create);
        opts.enable_statistics();
        let db = rocksdb::DB::open(&opts, path)?;
        let store = Self { db, opts, path: path.display().to_string() };
        if let Some(v) = store.db.get(b"m/version")? {
            let found = u32::from_be_bytes(v.as_slice().try_into().map_err(|_| store.corrupt("m/version", "length"))?);
            if found != FORMAT_VERSION {
                return Err(Error::FormatVersion { path: store.path.clone(), found, expected: FORMAT_VERSION });
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// How many times RocksDB has fsynced its write-ahead log since this
    /// store was opened (from RocksDB's own statistics).
    pub fn wal_syncs(&self) -> u64 {
        let stats = self.opts.get_statistics().unwrap_or_default();
        stats
            .lines()
            .find_map(|l| l.strip_prefix("rocksdb.wal.synced COUNT : "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    fn write_synced(&self, batch: rocksdb::WriteBatch) -> Result<()> {
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        Ok(())
    }

    fn corrupt(&self, key: &str, reason: &str) -> Error {
        Error::Corrupt { key: key.into(), reason: reason.into() }
    }

    pub fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key(b"m/", &[name.as_bytes()]))?)
    }

    pub fn is_initialised(&self) -> Result<bool> {
        Ok(self.db.get(b"m/version")?.is_some())
    }

    /// Account record: nonce (8) ‖ balance (32) ‖ code hash (32) ‖ storage root (32).
    fn encode_account(info: &AccountInfo, storage_root: B256) -> Vec<u8> {
        let mut v = Vec::with_capacity(ACCOUNT_BYTES);
        v.extend_from_slice(&info.nonce.to_be_bytes());
        v.extend_from_slice(&info.balance.to_be_bytes::<32>());
        v.extend_from_slice(info.code_hash.as_slice());
        v.extend_from_slice(storage_root.as_slice());
        v
    }

    fn storage_root_of_record(&self, bytes: &[u8]) -> Result<B256> {
        if bytes.len() != ACCOUNT_BYTES {
            return Err(self.corrupt("account", "length"));
        }
        Ok(B256::from_slice(&bytes[72..]))
    }

    fn decode_account(&self, bytes: &[u8]) -> Result<AccountInfo> {
        if bytes.len() != ACCOUNT_BYTES {
            return Err(self.corrupt("account", "length"));
        }
        let nonce = u64::from_be_bytes(bytes[..8].try_into().unwrap());
        let balance = U256::from_be_slice(&bytes[8..40]);
        let code_hash = B256::from_slice(&bytes[40..72]);
        let mut info = AccountInfo::default().with_code_hash(code_hash);
        info.nonce = nonce;
        info.balance = balance;
        if code_hash == KECCAK_EMPTY {
            info.code = Some(Bytecode::default());
        } else {
            info.code = None;
        }
        Ok(info)
    }

    /// Head block number, if any block exists.
    pub fn head(&self) -> Result<Option<u64>> {
        match self.db.get(b"m/head")? {
            Some(v) => Ok(Some(u64::from_be_bytes(v.as_slice().try_into().map_err(|_| self.corrupt("m/head", "length"))?))),
            None => Ok(None),
        }
    }

    pub fn get_block_json(&self, number: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key(b"b/", &[&number.to_be_bytes()]))?)
    }

    pub fn get_receipt_json(&self, tx: &B256) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key(b"r/", &[tx.as_slice()]))?)
    }

    /// A block's query index (its logs and tips), JSON.
    pub fn get_block_index_json(&self, number: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key(b"x/", &[&number.to_be_bytes()]))?)
    }

    /// Number of the block with this hash.
    pub fn block_number_of(&self, hash: &B256) -> Result<Option<u64>> {
        match self.db.get(key(b"n/", &[hash.as_slice()]))? {
            Some(v) => Ok(Some(u64::from_be_bytes(v.as_slice().try_into().map_err(|_| self.corrupt("n/", "length"))?))),
            None => Ok(None),
        }
    }

    pub fn get_raw_tx(&self, tx: &B256) -> Result<Option<Bytes>> {
        Ok(self.db.get(key(b"t/", &[tx.as_slice()]))?.map(Bytes::from))
    }

    /// Write the genesis state and metadata atomically.
    pub fn write_genesis(&self, cache: &CacheDB<&Store>, post: &PostState, genesis_json: &[u8], block: (u64, &[u8], B256)) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.put(b"m/version", FORMAT_VERSION.to_be_bytes());
        batch.put(b"m/genesis", genesis_json);
        self.stage_state(&mut batch, cache, post)?;
        self.stage_block(&mut batch, block, &[], b"{}");
        self.write_synced(batch)
    }

    /// Every storage slot of `address`, from the store.
    fn storage_of(&self, address: &Address) -> Result<BTreeMap<U256, U256>> {
        let lo = key(b"s/", &[address.as_slice()]);
        let hi = key(b"s/", &[address.as_slice(), &[0xff; 33]]);
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_upper_bound(hi);
        let mut out = BTreeMap::new();
        for item in self.db.iterator_opt(rocksdb::IteratorMode::From(&lo, rocksdb::Direction::Forward), ro) {
            let (k, v) = item?;
            if k.len() != 2 + 20 + 32 || v.len() != 32 {
                return Err(self.corrupt("s/", "length"));
            }
            out.insert(U256::from_be_slice(&k[22..]), U256::from_be_slice(&v));
        }
        Ok(out)
    }

    /// Every account record in the store, by address.
    fn account_records(&self) -> Result<Vec<(Address, Vec<u8>)>> {
        let mut ro = rocksdb::ReadOptions::default();
        ro.set_iterate_upper_bound(b"a0".to_vec()); // '0' follows '/'
        let mut out = Vec::new();
        for item in self.db.iterator_opt(rocksdb::IteratorMode::From(b"a/", rocksdb::Direction::Forward), ro) {
            let (k, v) = item?;
            if k.len() != 22 {
                return Err(self.corrupt("a/", "key length"));
            }
            out.push((Address::from_slice(&k[2..]), v.to_vec()));
        }
        Ok(out)
    }

    /// The state after applying `cache` to the store: the storage roots of
    /// the accounts it touched and the state root.
    pub fn post_state(&self, cache: &CacheDB<&Store>) -> Result<PostState> {
        let mut storage_roots = HashMap::new();
        for (addr, acc) in &cache.cache.accounts {
            if gone(acc) {
                continue;
            }
            let cleared = match acc.account_state {
                AccountState::NotExisting => continue,
                AccountState::StorageCleared => true,
                _ => false,
            };
            if !cleared && acc.storage.is_empty() {
                continue;
            }
            let mut slots = if cleared { BTreeMap::new() } else { self.storage_of(addr)? };
            for (slot, value) in &acc.storage {
                if value.is_zero() {
                    slots.remove(slot);
                } else {
                    slots.insert(*slot, *value);
                }
            }
            let root = if slots.is_empty() {
                EMPTY_ROOT_HASH
            } else {
                storage_root_unhashed(slots.into_iter().map(|(k, v)| (B256::from(k), v)))
            };
            storage_roots.insert(*addr, root);
        }
        let mut accounts: BTreeMap<B256, TrieAccount> = BTreeMap::new();
        let trie = |info: &AccountInfo, storage_root: B256| TrieAccount {
            nonce: info.nonce,
            balance: info.balance,
            storage_root,
            code_hash: info.code_hash,
        };
        for (addr, record) in self.account_records()? {
            if cache.cache.accounts.contains_key(&addr) {
                continue;
            }
            let info = self.decode_account(&record)?;
            accounts.insert(keccak256(addr), trie(&info, self.storage_root_of_record(&record)?));
        }
        for (addr, acc) in &cache.cache.accounts {
            if gone(acc) {
                continue;
            }
            let root = match storage_roots.get(addr) {
                Some(r) => *r,
                None => match self.db.get(key(b"a/", &[addr.as_slice()]))? {
                    Some(rec) => self.storage_root_of_record(&rec)?,
                    None => EMPTY_ROOT_HASH,
                },
            };
            accounts.insert(keccak256(addr), trie(&acc.info, root));
        }
        let state_root = alloy_trie::root::state_root(accounts);
        Ok(PostState { state_root, storage_roots })
    }

    fn stage_state(&self, batch: &mut rocksdb::WriteBatch, cache: &CacheDB<&Store>, post: &PostState) -> Result<()> {
        for (hash, code) in &cache.cache.contracts {
            if *hash != KECCAK_EMPTY {
                batch.put(key(b"c/", &[hash.as_slice()]), code.original_bytes());
            }
        }
        for (addr, acc) in &cache.cache.accounts {
            let akey = key(b"a/", &[addr.as_slice()]);
            if gone(acc) {
                // only an account the store holds needs deleting: reading a
                // missing one must not leave a tombstone behind
                if self.db.get(&akey)?.is_some() {
                    batch.delete(&akey);
                    batch.delete_range(key(b"s/", &[addr.as_slice()]), key(b"s/", &[addr.as_slice(), &[0xff; 33]]));
                }
                continue;
            }
            match acc.account_state {
                AccountState::StorageCleared => {
                    batch.delete_range(key(b"s/", &[addr.as_slice()]), key(b"s/", &[addr.as_slice(), &[0xff; 33]]));
                }
                _ => {}
            }
            let root = match post.storage_roots.get(addr) {
                Some(r) => *r,
                None => match self.db.get(&akey)? {
                    Some(rec) => self.storage_root_of_record(&rec)?,
                    None => EMPTY_ROOT_HASH,
                },
            };
            batch.put(&akey, Self::encode_account(&acc.info, root));
            if let Some(code) = &acc.info.code {
                if acc.info.code_hash != KECCAK_EMPTY {
                    batch.put(key(b"c/", &[acc.info.code_hash.as_slice()]), code.original_bytes());
                }
            }
            for (slot, value) in &acc.storage {
                let skey = key(b"s/", &[addr.as_slice(), &slot.to_be_bytes::<32>()]);
                if value.is_zero() {
                    batch.delete(skey);
                } else {
                    batch.put(skey, value.to_be_bytes::<32>());
                }
            }
        }
        Ok(())
    }

    fn stage_block(&self, batch: &mut rocksdb::WriteBatch, block: (u64, &[u8], B256), txs: &[(B256, Bytes, Vec<u8>)], index: &[u8]) {
        let (number, json, hash) = block;
        batch.put(key(b"x/", &[&number.to_be_bytes()]), index);
        batch.put(key(b"b/", &[&number.to_be_bytes()]), json);
        batch.put(key(b"h/", &[&number.to_be_bytes()]), hash.as_slice());
        batch.put(key(b"n/", &[hash.as_slice()]), number.to_be_bytes());
        batch.put(b"m/head", number.to_be_bytes());
        for (h, raw, receipt) in txs {
            batch.put(key(b"t/", &[h.as_slice()]), raw);
            batch.put(key(b"r/", &[h.as_slice()]), receipt);
        }
    }

    /// Commit one block: its state changes, header, transactions and receipts, atomically.
    pub fn commit_block(
        &self,
        cache: &CacheDB<&Store>,
        post: &PostState,
        block: (u64, &[u8], B256),
        txs: &[(B256, Bytes, Vec<u8>)],
        index: &[u8],
    ) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        self.stage_state(&mut batch, cache, post)?;
        self.stage_block(&mut batch, block, txs, index);
        self.write_synced(batch)
    }
}

/// Whether an account is absent after the block: destroyed or never
/// created, or empty (no nonce, balance or code) — EIP-161 removes touched
/// empty accounts, and none is ever stored.
fn gone(acc: &revm::database::DbAccount) -> bool {
    matches!(acc.account_state, AccountState::NotExisting) || acc.info.is_empty()
}

/// What a block's state changes amount to (see [`Store::post_state`]).
#[derive(Debug, Clone, Default)]
pub struct PostState {
    pub state_root: B256,
    /// Storage roots of the accounts whose storage the block may have changed.
    pub storage_roots: HashMap<Address, B256>,
}

impl DatabaseRef for Store {
    type Error = Error;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>> {
        match self.db.get(key(b"a/", &[address.as_slice()]))? {
            Some(v) => Ok(Some(self.decode_account(&v)?)),
            None => Ok(None),
        }
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        match self.db.get(key(b"c/", &[code_hash.as_slice()]))? {
            Some(v) => Ok(Bytecode::new_raw(Bytes::from(v))),
            None => Err(self.corrupt(&format!("c/{code_hash}"), "missing code")),
        }
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256> {
        match self.db.get(key(b"s/", &[address.as_slice(), &index.to_be_bytes::<32>()]))? {
            Some(v) => Ok(U256::from_be_slice(&v)),
            None => Ok(U256::ZERO),
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256> {
        match self.db.get(key(b"h/", &[&number.to_be_bytes()]))? {
            Some(v) => Ok(B256::from_slice(&v)),
            None => Ok(B256::ZERO),
        }
    }
}
