//! RocksDB-backed state and chain storage.
//!
//! Keys (one column family, prefixed):
//! `m/version`, `m/genesis`, `m/head` — metadata;
//! `a/<address>` — account (nonce, balance, code hash);
//! `c/<code hash>` — bytecode; `s/<address><slot>` — storage word;
//! `b/<number be64>` — block; `h/<number be64>` — block hash;
//! `r/<tx hash>` — receipt; `t/<tx hash>` — raw transaction.

use crate::{Error, Result};
use alloy_primitives::{Address, Bytes, B256, U256};
use revm::{
    bytecode::Bytecode,
    database::{AccountState, CacheDB},
    primitives::KECCAK_EMPTY,
    state::AccountInfo,
    DatabaseRef,
};
use std::path::Path;

/// On-disk format version; a mismatch refuses to open.
pub const FORMAT_VERSION: u32 = 1;

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

    /// Account record: nonce (8) ‖ balance (32) ‖ code hash (32).
    fn encode_account(info: &AccountInfo) -> Vec<u8> {
        let mut v = Vec::with_capacity(72);
        v.extend_from_slice(&info.nonce.to_be_bytes());
        v.extend_from_slice(&info.balance.to_be_bytes::<32>());
        v.extend_from_slice(info.code_hash.as_slice());
        v
    }

    fn decode_account(&self, bytes: &[u8]) -> Result<AccountInfo> {
        if bytes.len() != 72 {
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

    pub fn get_raw_tx(&self, tx: &B256) -> Result<Option<Bytes>> {
        Ok(self.db.get(key(b"t/", &[tx.as_slice()]))?.map(Bytes::from))
    }

    /// Write the genesis state and metadata atomically.
    pub fn write_genesis(&self, cache: &CacheDB<&Store>, genesis_json: &[u8], block: (u64, &[u8], B256)) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        batch.put(b"m/version", FORMAT_VERSION.to_be_bytes());
        batch.put(b"m/genesis", genesis_json);
        self.stage_state(&mut batch, cache);
        self.stage_block(&mut batch, block, &[]);
        self.write_synced(batch)
    }

    fn stage_state(&self, batch: &mut rocksdb::WriteBatch, cache: &CacheDB<&Store>) {
        for (hash, code) in &cache.cache.contracts {
            if *hash != KECCAK_EMPTY {
                batch.put(key(b"c/", &[hash.as_slice()]), code.original_bytes());
            }
        }
        for (addr, acc) in &cache.cache.accounts {
            let akey = key(b"a/", &[addr.as_slice()]);
            match acc.account_state {
                AccountState::NotExisting => {
                    batch.delete(&akey);
                    batch.delete_range(key(b"s/", &[addr.as_slice()]), key(b"s/", &[addr.as_slice(), &[0xff; 33]]));
                    continue;
                }
                AccountState::StorageCleared => {
                    batch.delete_range(key(b"s/", &[addr.as_slice()]), key(b"s/", &[addr.as_slice(), &[0xff; 33]]));
                }
                _ => {}
            }
            batch.put(&akey, Self::encode_account(&acc.info));
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
    }

    fn stage_block(&self, batch: &mut rocksdb::WriteBatch, block: (u64, &[u8], B256), txs: &[(B256, Bytes, Vec<u8>)]) {
        let (number, json, hash) = block;
        batch.put(key(b"b/", &[&number.to_be_bytes()]), json);
        batch.put(key(b"h/", &[&number.to_be_bytes()]), hash.as_slice());
        batch.put(b"m/head", number.to_be_bytes());
        for (h, raw, receipt) in txs {
            batch.put(key(b"t/", &[h.as_slice()]), raw);
            batch.put(key(b"r/", &[h.as_slice()]), receipt);
        }
    }

    /// Commit one block: its state changes, header, transactions and receipts, atomically.
    pub fn commit_block(&self, cache: &CacheDB<&Store>, block: (u64, &[u8], B256), txs: &[(B256, Bytes, Vec<u8>)]) -> Result<()> {
        let mut batch = rocksdb::WriteBatch::default();
        self.stage_state(&mut batch, cache);
        self.stage_block(&mut batch, block, txs);
        self.write_synced(batch)
    }
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
