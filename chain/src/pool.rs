//! The transaction pool: per-sender nonce queues, replacement by a higher
//! fee, per-sender and total limits, and block selection by effective tip.
//!
//! ```text
//!  sender A: nonce 4 ─ 5 ─ 6          best(): a heap over each sender's next
//!  sender B: nonce 0 ─ 1              ready transaction, keyed on its tip at
//!  sender C: nonce 9 (gap: waits)     the block's base fee; popping one pushes
//!                                     that sender's following nonce
//! ```
//!
//! The pool holds signature-checked transactions only; whether a sender can
//! pay is checked against state at insertion ([`crate::Chain::submit`]) and
//! again by the EVM when the block executes.

use crate::tx::RecoveredTx;
use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256};
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque},
    sync::Arc,
};

/// Pool limits.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Transactions one sender may have queued (also the largest nonce gap
    /// accepted ahead of its account nonce).
    pub max_per_sender: usize,
    /// Transactions in the whole pool.
    pub max_total: usize,
    /// A replacement (same sender and nonce) must raise both the fee cap and
    /// the priority fee by at least this many percent.
    pub price_bump_percent: u64,
    /// Largest encoded transaction accepted, in bytes. A whole-datanet key
    /// registration carries every chunk's proof (hundreds of KiB to a few
    /// MiB), so this is larger than geth's 128 KiB; the block gas limit
    /// bounds calldata anyway.
    pub max_tx_bytes: usize,
    /// Encoded bytes of all queued transactions together.
    pub max_pool_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self { max_per_sender: 64, max_total: 20_000, price_bump_percent: 10, max_tx_bytes: 4 << 20, max_pool_bytes: 256 << 20 }
    }
}

/// Why the pool refused a transaction. The messages are geth's, which
/// clients recognise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("already known")]
    AlreadyKnown,
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    #[error("txpool is full")]
    PoolFull,
    #[error("sender has {0} queued transactions, the most one sender may queue")]
    SenderFull(usize),
    #[error("nonce too low: next nonce {expected}, tx nonce {found}")]
    NonceTooLow { expected: u64, found: u64 },
    #[error("nonce too high: next nonce {expected}, tx nonce {found} (gap limit {limit})")]
    NonceGap { expected: u64, found: u64, limit: usize },
    #[error("oversized data: transaction is {size} bytes, limit {limit}")]
    Oversized { size: usize, limit: usize },
}

#[derive(Default)]
pub struct Pool {
    config: PoolConfig,
    by_sender: HashMap<Address, BTreeMap<u64, Arc<RecoveredTx>>>,
    by_hash: HashMap<B256, (Address, u64)>,
    bytes: usize,
}

fn bumped(old: u128, percent: u64) -> u128 {
    old.saturating_add(old.saturating_mul(percent as u128) / 100)
}

/// The most a transaction can cost its sender: gas limit × fee cap + value.
pub fn max_cost(tx: &RecoveredTx) -> alloy_primitives::U256 {
    use alloy_primitives::U256;
    U256::from(tx.envelope.gas_limit()).saturating_mul(U256::from(tx.envelope.max_fee_per_gas())).saturating_add(tx.envelope.value())
}

/// The tip a transaction pays per gas at `base_fee` (0 if its cap is below).
pub fn effective_tip(tx: &RecoveredTx, base_fee: u64) -> u128 {
    tx.envelope.effective_tip_per_gas(base_fee).unwrap_or(0)
}

impl Pool {
    pub fn new(config: PoolConfig) -> Self {
        Self { config, ..Default::default() }
    }

    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn get(&self, hash: &B256) -> Option<&RecoveredTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.by_sender.get(sender)?.get(nonce).map(|t| &**t)
    }

    /// Insert `tx`, whose sender's account nonce is `state_nonce`. Returns
    /// the hash of a transaction it replaced.
    pub fn insert(&mut self, tx: RecoveredTx, state_nonce: u64) -> Result<Option<B256>, PoolError> {
        if tx.raw.len() > self.config.max_tx_bytes {
            return Err(PoolError::Oversized { size: tx.raw.len(), limit: self.config.max_tx_bytes });
        }
        if self.by_hash.contains_key(&tx.hash) {
            return Err(PoolError::AlreadyKnown);
        }
        let nonce = tx.envelope.nonce();
        if nonce < state_nonce {
            return Err(PoolError::NonceTooLow { expected: state_nonce, found: nonce });
        }
        let limit = self.config.max_per_sender;
        if nonce - state_nonce >= limit as u64 {
            return Err(PoolError::NonceGap { expected: state_nonce, found: nonce, limit });
        }
        let queue = self.by_sender.get(&tx.sender);
        if let Some(old) = queue.and_then(|q| q.get(&nonce)) {
            let pct = self.config.price_bump_percent;
            let (e, o) = (&tx.envelope, &old.envelope);
            let tip = |t: &alloy_consensus::TxEnvelope| t.max_priority_fee_per_gas().unwrap_or(t.max_fee_per_gas());
            if e.max_fee_per_gas() < bumped(o.max_fee_per_gas(), pct) || tip(e) < bumped(tip(o), pct) {
                return Err(PoolError::ReplacementUnderpriced);
            }
            let old_hash = old.hash;
            let old_len = old.raw.len();
            if self.bytes - old_len + tx.raw.len() > self.config.max_pool_bytes {
                return Err(PoolError::PoolFull);
            }
            self.bytes = self.bytes - old_len + tx.raw.len();
            self.by_hash.remove(&old_hash);
            self.by_hash.insert(tx.hash, (tx.sender, nonce));
            self.by_sender.get_mut(&tx.sender).expect("queue exists").insert(nonce, Arc::new(tx));
            return Ok(Some(old_hash));
        }
        let queued = queue.map_or(0, |q| q.len());
        if queued >= limit {
            return Err(PoolError::SenderFull(queued));
        }
        if self.by_hash.len() >= self.config.max_total || self.bytes + tx.raw.len() > self.config.max_pool_bytes {
            return Err(PoolError::PoolFull);
        }
        self.bytes += tx.raw.len();
        self.by_hash.insert(tx.hash, (tx.sender, nonce));
        self.by_sender.entry(tx.sender).or_default().insert(nonce, Arc::new(tx));
        Ok(None)
    }

    /// What `sender`'s queued transactions can cost together, leaving out
    /// the one at `except_nonce` (which a new one would replace).
    pub fn queued_cost(&self, sender: Address, except_nonce: u64) -> alloy_primitives::U256 {
        self.by_sender
            .get(&sender)
            .map(|q| q.iter().filter(|(n, _)| **n != except_nonce).fold(alloy_primitives::U256::ZERO, |acc, (_, t)| acc.saturating_add(max_cost(t))))
            .unwrap_or_default()
    }

    /// The next nonce of `sender` counting its queued transactions that
    /// follow `state_nonce` without a gap.
    pub fn next_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        let mut n = state_nonce;
        if let Some(q) = self.by_sender.get(&sender) {
            while q.contains_key(&n) {
                n += 1;
            }
        }
        n
    }

    /// Transactions ready for a block, best tip first: each sender's queue is
    /// taken in nonce order from its account nonce (`state_nonce`), and the
    /// senders interleave by the tip of their next transaction at
    /// `base_fee` (ties: lower nonce, then lower hash). Transactions whose
    /// fee cap is below the base fee wait. The result is consumed lazily
    /// ([`BestTxs::next`]), so the block builder can skip a sender whose
    /// transaction does not fit and go on with the others.
    pub fn best(&self, base_fee: u64, mut state_nonce: impl FnMut(Address) -> u64) -> BestTxs {
        let mut best = BestTxs { base_fee, ..Default::default() };
        for (sender, q) in &self.by_sender {
            let n = state_nonce(*sender);
            let run: VecDeque<Arc<RecoveredTx>> =
                (n..).map_while(|i| q.get(&i)).take_while(|t| t.envelope.max_fee_per_gas() >= base_fee as u128).cloned().collect();
            if !run.is_empty() {
                best.runs.insert(*sender, run);
                best.push_head(*sender);
            }
        }
        best
    }

    /// Remove one transaction (it was included, or is invalid).
    pub fn remove(&mut self, hash: &B256) -> Option<Arc<RecoveredTx>> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let q = self.by_sender.get_mut(&sender)?;
        let tx = q.remove(&nonce);
        if let Some(t) = &tx {
            self.bytes -= t.raw.len();
        }
        if q.is_empty() {
            self.by_sender.remove(&sender);
        }
        tx
    }

    /// Drop `sender`'s transactions below its new account nonce.
    pub fn prune(&mut self, sender: Address, state_nonce: u64) {
        let Some(q) = self.by_sender.get_mut(&sender) else { return };
        let keep = q.split_off(&state_nonce);
        for tx in q.values() {
            self.by_hash.remove(&tx.hash);
            self.bytes -= tx.raw.len();
        }
        if keep.is_empty() {
            self.by_sender.remove(&sender);
        } else {
            *q = keep;
        }
    }

    /// Every queued transaction (for the RPC's pending view).
    pub fn iter(&self) -> impl Iterator<Item = &RecoveredTx> {
        self.by_sender.values().flat_map(|q| q.values().map(|t| &**t))
    }
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Head(u128, Reverse<u64>, Reverse<B256>, Address);

/// The pool's ready transactions in block order (see [`Pool::best`]); a
/// snapshot, so the pool stays open while a block is built.
#[derive(Default)]
pub struct BestTxs {
    base_fee: u64,
    heap: BinaryHeap<Head>,
    runs: HashMap<Address, VecDeque<Arc<RecoveredTx>>>,
    skipped: HashSet<Address>,
}

impl BestTxs {
    fn push_head(&mut self, sender: Address) {
        if let Some(t) = self.runs.get(&sender).and_then(|r| r.front()) {
            self.heap.push(Head(effective_tip(t, self.base_fee), Reverse(t.envelope.nonce()), Reverse(t.hash), sender));
        }
    }

    /// The next transaction, best tip first.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Arc<RecoveredTx>> {
        while let Some(Head(.., sender)) = self.heap.pop() {
            if self.skipped.contains(&sender) {
                continue;
            }
            let t = self.runs.get_mut(&sender)?.pop_front()?;
            self.push_head(sender);
            return Some(t);
        }
        None
    }

    /// Take nothing more from `sender` (its last transaction did not fit or
    /// was invalid: the later ones would have a nonce gap).
    pub fn skip_sender(&mut self, sender: Address) {
        self.skipped.insert(sender);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dev_signers, tx};
    use alloy_primitives::{Bytes, U256};
    use alloy_signer_local::PrivateKeySigner;

    const GWEI: u128 = 1_000_000_000;

    /// A signed transfer with `fee` as its fee cap and `tip` as its priority fee.
    fn transfer(s: &PrivateKeySigner, nonce: u64, fee: u128, tip: u128) -> RecoveredTx {
        use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
        use alloy_eips::eip2718::Encodable2718;
        use alloy_signer::SignerSync;
        let t = TxEip1559 {
            chain_id: 1,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: fee,
            max_priority_fee_per_gas: tip,
            to: alloy_primitives::TxKind::Call(Address::with_last_byte(9)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = s.sign_hash_sync(&t.signature_hash()).unwrap();
        let env: TxEnvelope = t.into_signed(sig).into();
        tx::decode(&env.encoded_2718()).unwrap()
    }

    #[test]
    fn replacement_needs_the_price_bump_on_both_fees() {
        let s = &dev_signers(1).unwrap()[0];
        let mut p = Pool::new(PoolConfig::default());
        let a = transfer(s, 0, 10 * GWEI, 2 * GWEI);
        let a_hash = a.hash;
        assert_eq!(p.insert(a.clone(), 0), Ok(None));
        assert_eq!(p.insert(a, 0), Err(PoolError::AlreadyKnown));
        // +10% on the cap only, then on the tip only: refused
        assert_eq!(p.insert(transfer(s, 0, 11 * GWEI, 2 * GWEI), 0), Err(PoolError::ReplacementUnderpriced));
        assert_eq!(p.insert(transfer(s, 0, 10 * GWEI, 3 * GWEI), 0), Err(PoolError::ReplacementUnderpriced));
        let b = transfer(s, 0, 11 * GWEI, 22 * GWEI / 10);
        let b_hash = b.hash;
        assert_eq!(p.insert(b, 0), Ok(Some(a_hash)));
        assert_eq!(p.len(), 1);
        assert!(p.get(&a_hash).is_none() && p.get(&b_hash).is_some());
    }

    #[test]
    fn limits_refuse_with_their_reason() {
        let s = dev_signers(3).unwrap();
        let mut p = Pool::new(PoolConfig { max_per_sender: 2, max_total: 3, ..Default::default() });
        assert_eq!(p.insert(transfer(&s[0], 4, GWEI, 0), 5), Err(PoolError::NonceTooLow { expected: 5, found: 4 }));
        assert_eq!(p.insert(transfer(&s[0], 7, GWEI, 0), 5), Err(PoolError::NonceGap { expected: 5, found: 7, limit: 2 }));
        p.insert(transfer(&s[0], 5, GWEI, 0), 5).unwrap();
        p.insert(transfer(&s[0], 6, GWEI, 0), 5).unwrap();
        p.insert(transfer(&s[1], 0, GWEI, 0), 0).unwrap();
        assert_eq!(p.insert(transfer(&s[2], 0, GWEI, 0), 0), Err(PoolError::PoolFull));
        let big = Pool::new(PoolConfig { max_tx_bytes: 50, ..Default::default() }).insert(transfer(&s[2], 0, GWEI, 0), 0);
        assert!(matches!(big, Err(PoolError::Oversized { limit: 50, .. })));
        let mut bytes = Pool::new(PoolConfig { max_pool_bytes: 150, ..Default::default() });
        bytes.insert(transfer(&s[0], 0, GWEI, 0), 0).unwrap();
        assert_eq!(bytes.insert(transfer(&s[1], 0, GWEI, 0), 0), Err(PoolError::PoolFull));
    }

    #[test]
    fn per_sender_limit_counts_queued_transactions() {
        let s = &dev_signers(1).unwrap()[0];
        let mut p = Pool::new(PoolConfig { max_per_sender: 2, ..Default::default() });
        p.insert(transfer(s, 0, GWEI, 0), 0).unwrap();
        p.insert(transfer(s, 1, GWEI, 0), 0).unwrap();
        // nonce 2 is within no gap limit once the account nonce moves on, but the queue is full
        assert_eq!(p.insert(transfer(s, 2, GWEI, 0), 1), Err(PoolError::SenderFull(2)));
        p.prune(s.address(), 1);
        assert_eq!(p.len(), 1);
        p.insert(transfer(s, 2, GWEI, 0), 1).unwrap();
        assert_eq!(p.next_nonce(s.address(), 1), 3);
    }

    #[test]
    fn best_orders_by_tip_keeps_nonce_order_and_skips_gaps_and_low_caps() {
        let s = dev_signers(4).unwrap();
        let base = 1_000_000_000u64;
        let mut p = Pool::new(PoolConfig::default());
        // sender 0: tips 1 then 5 gwei; sender 1: tip 3; sender 2: a gap; sender 3: cap below base
        let a0 = transfer(&s[0], 0, 10 * GWEI, GWEI);
        let a1 = transfer(&s[0], 1, 10 * GWEI, 5 * GWEI);
        let b0 = transfer(&s[1], 0, 10 * GWEI, 3 * GWEI);
        let c1 = transfer(&s[2], 1, 10 * GWEI, 9 * GWEI);
        let d0 = transfer(&s[3], 0, GWEI / 2, 0);
        for t in [&a0, &a1, &b0, &c1, &d0] {
            p.insert(t.clone(), 0).unwrap();
        }
        let mut best = p.best(base, |_| 0);
        let order: Vec<B256> = std::iter::from_fn(|| best.next()).map(|t| t.hash).collect();
        assert_eq!(order, vec![b0.hash, a0.hash, a1.hash]);
        // skipping a sender drops its later transactions, not the others'
        let mut best = p.best(base, |_| 0);
        assert_eq!(best.next().unwrap().hash, b0.hash);
        let first = best.next().unwrap();
        assert_eq!(first.hash, a0.hash);
        best.skip_sender(first.sender);
        assert!(best.next().is_none());
        // the effective tip is capped by fee cap − base fee
        let capped = transfer(&s[0], 0, base as u128 + 1, 5 * GWEI);
        assert_eq!(effective_tip(&capped, base), 1);
    }
}
