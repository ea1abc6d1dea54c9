//! Whole-datanet claims in the attribution precompile: a datanet version's
//! example count, the registration of a per-query key (with every feature
//! chunk, checked once by `lineage_verifier::features::check_registration`),
//! and claims that cover every example of the version, verified by one
//! proof against that key.
//!
//! A claim pays by pull: it records the root of its payout tree
//! ([`lineage_core::payout::PayoutTree`]) and moves the fee from the open
//! escrow to the owed total; `releasePayouts` (the whole list, anyone may
//! send it) or `withdrawPayout` (one payout with its Merkle path) then
//! transfer the wei, each payout once. The claim's gas therefore does not
//! grow with transfers. One `releasePayouts` must carry the whole list (the
//! root is recomputed from it), so it fits a block up to a few thousand
//! payouts (about 9.2k gas each); beyond that, payouts are withdrawn one by
//! one with their paths.

use super::attribution::{slots::*, AttributionPrecompile, DbResult, IAttribution, Outcome, RequestStatus};
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use lineage_core::{
    features::{validate_segments, Segment},
    field::fr_from_be_bytes,
    payout::{self, payout_root_from_path, Payout, PayoutTree},
};
use lineage_verifier::{
    features::{check_registration, TableRegistration},
    table_keys::MAX_TABLE_VK_FILE_BYTES,
    ChunkPublic, TableKeyFile, TableKind, WholeClaim, MAX_CAPACITY, MAX_K, MAX_PROOF_BYTES,
};
use revm::context_interface::ContextTr;
use std::sync::Arc;

/// Base gas of a per-query key registration.
pub const REGISTER_WHOLE_BASE_GAS: u64 = 100_000;
/// Gas per byte of keys and proofs parsed at registration.
pub const REGISTER_BYTE_GAS: u64 = 8;
/// Most feature chunks one registration may carry.
pub const MAX_CHUNKS: usize = 128;
/// Parsing a table key: halo2 builds the key's evaluation domain (FFT
/// tables for `2^k` to `2^(k+2)` points), so the cost grows with `2^k`:
/// measured 8.9 ms for the digits per-query key at k = 15 (229k gas at
/// EIP-1108's 25.86 gas/µs); priced [`KEY_PARSE_BASE_GAS`] plus
/// [`KEY_PARSE_GAS_PER_ROW`] per row (249k at k = 15).
pub const KEY_PARSE_BASE_GAS: u64 = 20_000;
pub const KEY_PARSE_GAS_PER_ROW: u64 = 7;
/// One SHPLONK verification of a table proof, which commits its public
/// inputs over all `2^k` Lagrange bases: measured 4.5–4.9 ms at k = 15
/// (127k gas); priced base plus per row (138k at k = 15).
pub const VERIFY_BASE_GAS_WHOLE: u64 = 40_000;
pub const VERIFY_GAS_PER_ROW: u64 = 3;
/// A chunk proof's share of the registration's batch verification
/// (`Verifier::verify_batch`, one final pairing): measured 5.2 ms a chunk at
/// k = 15 (134k gas); priced base plus per row (161k at k = 15).
pub const BATCH_VERIFY_BASE_GAS: u64 = 30_000;
pub const BATCH_VERIFY_GAS_PER_ROW: u64 = 4;
/// A claim's state work: the request's loads, the warm-key ring's, its
/// status and the escrow and owed totals.
pub const CLAIM_STATE_GAS: u64 = 40_000;
/// Per-query keys kept parsed by consensus ("warm"): the last
/// [`WARM_KEYS`] keys registered or claimed with, of `k` at most
/// [`WARM_MAX_K`]. A claim against a warm key pays no parse; every node
/// keeps those keys parsed in memory and never evicts them (a node that
/// restarted parses each again once, unpriced: at most [`WARM_KEYS`] per
/// restart). Gas depends only on chain state, never on a node's cache.
/// Memory: a parsed key holds FFT tables of about 448·2^k bytes (56 MiB at
/// k = 17), so the cache of `2·WARM_KEYS` keys stays under 0.5 GiB.
pub const WARM_KEYS: u32 = 4;
pub const WARM_MAX_K: u32 = 17;
/// A cold claim's extra state work: the warm-key ring updated, plus
/// [`KEY_WORD_GAS`] per 32-byte word of its key loaded from state.
pub const COLD_KEY_GAS: u64 = 20_000;
pub const KEY_WORD_GAS: u64 = 200;
/// Gas per segment of a claim: its challenge and digest terms and its
/// payout-tree leaf and node (keccak of at most 64 bytes each).
pub const PER_SEGMENT_GAS: u64 = 200;
/// Gas of storing a claim's payout root (one new slot).
pub const PAYOUT_ROOT_GAS: u64 = 20_000;
/// Base gas of `releasePayouts`: the request's loads, its released amount
/// and the owed total.
pub const RELEASE_BASE_GAS: u64 = 45_000;
/// Gas per payout released: one value transfer and its tree leaf and node.
pub const PER_RELEASE_GAS: u64 = super::attribution::PER_PAYOUT_GAS + PER_SEGMENT_GAS;
/// Gas per 256 payouts of the released bitmap (one slot each).
pub const BITMAP_WORD_GAS: u64 = 20_000;
/// Gas of `withdrawPayout` before its path: loads, one transfer, a bitmap
/// word, the released amount and the owed total.
pub const WITHDRAW_BASE_GAS: u64 = 60_000;
/// Gas per node of a withdrawal's Merkle path.
pub const PER_PATH_NODE_GAS: u64 = 100;
/// Longest Merkle path a withdrawal may carry.
pub const MAX_PATH: usize = 32;

fn rows(k: u32) -> u64 {
    if (1..=MAX_K).contains(&k) {
        1u64 << k
    } else {
        0
    }
}

/// Gas of parsing one table key of size `2^k`.
pub fn key_parse_gas(k: u32) -> u64 {
    KEY_PARSE_BASE_GAS + KEY_PARSE_GAS_PER_ROW * rows(k)
}

/// Gas of a claim's work that depends on its key (its `k` and whether it is
/// warm, both read from state before any work): one verification, and for
/// a cold key its load, parse and entry into the warm ring. Zero for a
/// request with no per-query key (the claim reverts before any of it).
pub fn claim_key_gas(k: u32, warm: bool, key_bytes: u64) -> u64 {
    if rows(k) == 0 {
        return 0;
    }
    let verify = VERIFY_BASE_GAS_WHOLE + VERIFY_GAS_PER_ROW * rows(k);
    if warm {
        verify
    } else {
        let words = key_bytes.min(MAX_TABLE_VK_FILE_BYTES as u64).div_ceil(32);
        verify + COLD_KEY_GAS + KEY_WORD_GAS * words + key_parse_gas(k)
    }
}

/// Storage slots of whole-datanet state.
pub mod whole_slots {
    use super::*;
    /// Examples of datanet version (owner, root).
    pub fn datanet_examples(owner: &Address, root: &B256) -> U256 {
        slot("datanet.examples", &[owner.as_slice(), root.as_slice()])
    }
    /// The per-query key hash of model (owner, commitment).
    pub fn whole_key(owner: &Address, m: &B256) -> U256 {
        slot("whole.key", &[owner.as_slice(), m.as_slice()])
    }
    /// The per-query key's `k`.
    pub fn whole_k(owner: &Address, m: &B256) -> U256 {
        slot("whole.k", &[owner.as_slice(), m.as_slice()])
    }
    /// The per-query key's capacity.
    pub fn whole_capacity(owner: &Address, m: &B256) -> U256 {
        slot("whole.capacity", &[owner.as_slice(), m.as_slice()])
    }
    /// Examples covered by the model's per-query key.
    pub fn whole_examples(owner: &Address, m: &B256) -> U256 {
        slot("whole.examples", &[owner.as_slice(), m.as_slice()])
    }
    /// The template hash of the model's per-query key (checked against the
    /// allowlist at every claim, so that governance can retire a circuit).
    pub fn whole_template(owner: &Address, m: &B256) -> U256 {
        slot("whole.template", &[owner.as_slice(), m.as_slice()])
    }
    /// Slot `i` of the warm-key ring.
    pub fn warm_slot(i: u32) -> U256 {
        slot("whole.warm", &[&i.to_be_bytes()])
    }
    /// Where the warm-key ring writes next.
    pub fn warm_next() -> U256 {
        slot("whole.warm.next", &[])
    }
    /// Word `w` of request `id`'s released bitmap (bit `i % 256` of word
    /// `i / 256` is set once payout `i` is released).
    pub fn released_word(id: U256, w: u32) -> U256 {
        slot("req.released_bits", &[&id.to_be_bytes::<32>(), &w.to_be_bytes()])
    }
}
use whole_slots::*;

/// The gas of a registration, from its decoded size alone: every key
/// parsed, every chunk proof's share of the batch verification, the bytes,
/// the stored key.
pub fn register_gas(c: &IAttribution::registerWholeKeyCall) -> u64 {
    let bytes = c.queryKey.len() + c.chunkKeys.iter().map(|k| k.len()).sum::<usize>() + c.chunkProofs.iter().map(|p| p.len()).sum::<usize>();
    let words = c.queryKey.len().div_ceil(32) as u64;
    let keys = 1 + c.chunkKeys.len() as u64;
    let chunks = c.chunkKeys.len() as u64;
    REGISTER_WHOLE_BASE_GAS
        .saturating_add(keys.saturating_mul(key_parse_gas(c.k)))
        .saturating_add(chunks.saturating_mul(BATCH_VERIFY_BASE_GAS + BATCH_VERIFY_GAS_PER_ROW * rows(c.k)))
        .saturating_add(REGISTER_BYTE_GAS.saturating_mul(bytes as u64))
        .saturating_add(super::attribution::STORE_WORD_GAS.saturating_mul(words + 1))
        .saturating_add(COLD_KEY_GAS)
}

/// The gas of a whole-datanet claim known from its calldata alone; the
/// evaluation adds [`claim_key_gas`] of the model's key before any work.
pub fn claim_gas(c: &IAttribution::submitWholeClaimCall) -> u64 {
    CLAIM_STATE_GAS
        .saturating_add(PAYOUT_ROOT_GAS)
        .saturating_add(PER_SEGMENT_GAS.saturating_mul(c.contributors.len() as u64))
        .saturating_add(super::settlement::SPLIT_GAS)
}

/// The `k`, hash and stored length of the per-query key a claim on request
/// `id` would be verified against (zeros when there is none).
pub fn claim_key<CTX: ContextTr>(p: &AttributionPrecompile, ctx: &mut CTX, id: U256) -> DbResult<(u32, B256, u64)> {
    let owner = Address::from_word(B256::from(p.sload(ctx, request(id, "owner"))?.to_be_bytes::<32>()));
    let model = B256::from(p.sload(ctx, request(id, "model"))?.to_be_bytes::<32>());
    let k = p.sload(ctx, whole_k(&owner, &model))?.saturating_to::<u32>();
    let hash = B256::from(p.sload(ctx, whole_key(&owner, &model))?.to_be_bytes::<32>());
    let len = p.sload(ctx, super::attribution::slots::key_len(&hash))?.saturating_to::<u64>();
    Ok((k, hash, len))
}

impl AttributionPrecompile {
    /// Whether per-query key `hash` is in the warm ring.
    pub(super) fn is_warm<CTX: ContextTr>(&self, ctx: &mut CTX, hash: &B256) -> DbResult<bool> {
        if hash.is_zero() {
            return Ok(false);
        }
        for i in 0..WARM_KEYS {
            if self.sload(ctx, warm_slot(i))? == U256::from_be_bytes(hash.0) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Put key `hash` (of size `2^k`) in the warm ring, replacing the oldest.
    pub(super) fn warm_up<CTX: ContextTr>(&self, ctx: &mut CTX, hash: &B256, k: u32) -> DbResult<()> {
        if k > WARM_MAX_K || self.is_warm(ctx, hash)? {
            return Ok(());
        }
        let next = self.sload(ctx, warm_next())?.saturating_to::<u32>() % WARM_KEYS;
        self.sstore(ctx, warm_slot(next), U256::from_be_bytes(hash.0))?;
        self.sstore(ctx, warm_next(), U256::from((next + 1) % WARM_KEYS))
    }

    /// Keep a parsed per-query key in this node's memory. Keys of `k` above
    /// [`WARM_MAX_K`] are never kept; the cache holds at most twice the ring
    /// and never evicts a member of the committed ring, so a warm key is
    /// parsed again only after a restart, or once after a key warmed in the
    /// same block was evicted before the block committed.
    fn keep_parsed(&self, key: Arc<TableKeyFile>, k: u32) {
        if k > WARM_MAX_K {
            return;
        }
        let ring = self.pinned_ring();
        let mut cache = self.whole_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= 2 * WARM_KEYS as usize {
            // at most WARM_KEYS of the 2·WARM_KEYS entries are ring members
            if let Some(h) = cache.keys().find(|h| !ring.contains(h)).copied() {
                cache.remove(&h);
            }
        }
        cache.insert(key.hash, key);
    }
}

impl IAttribution::submitWholeClaimCall {
    /// The claim of request `request_id`: predicted class, the segment list
    /// (one `(contributor, total, end row)` each) and the proof.
    pub fn new(request_id: U256, predicted_class: u64, segments: &[Segment], proof: &[u8]) -> Self {
        Self {
            requestId: request_id,
            predictedClass: predicted_class,
            contributors: segments.iter().map(|x| x.0).collect(),
            totals: segments.iter().map(|x| x.1).collect(),
            endRows: segments.iter().map(|x| x.2).collect(),
            proof: Bytes::copy_from_slice(proof),
        }
    }
}

/// The gas of releasing `n` payouts at once.
pub fn release_gas(n: usize) -> u64 {
    RELEASE_BASE_GAS
        .saturating_add(PER_RELEASE_GAS.saturating_mul(n as u64))
        .saturating_add(BITMAP_WORD_GAS.saturating_mul(n.div_ceil(256) as u64))
}

/// The gas of one withdrawal with a path of `nodes` nodes.
pub fn withdraw_gas(nodes: usize) -> u64 {
    WITHDRAW_BASE_GAS.saturating_add(PER_PATH_NODE_GAS.saturating_mul(nodes as u64))
}

fn fr(b: &B256) -> Result<lineage_core::Fr, Outcome> {
    fr_from_be_bytes(&b.0).map_err(|_| Outcome::Halt(format!("{b} is not a canonical BN254 scalar")))
}

impl AttributionPrecompile {
    pub(super) fn set_datanet_examples<CTX: ContextTr>(&self, ctx: &mut CTX, caller: Address, c: IAttribution::setDatanetExamplesCall) -> DbResult<Outcome> {
        if self.sload(ctx, datanet(&caller, &c.root))?.is_zero() {
            return Ok(Outcome::Revert("only the datanet's owner may set its example count".into()));
        }
        if c.examples == 0 || c.examples > MAX_CAPACITY as u64 {
            return Ok(Outcome::Revert(format!("example count must be in 1..={}", MAX_CAPACITY)));
        }
        let s = datanet_examples(&caller, &c.root);
        if !self.sload(ctx, s)?.is_zero() {
            return Ok(Outcome::Revert("the datanet's example count is already set (a new version is a new root)".into()));
        }
        self.sstore(ctx, s, U256::from(c.examples))?;
        Self::emit(ctx, &IAttribution::DatanetExamplesSet { owner: caller, root: c.root, examples: c.examples });
        Ok(Outcome::Ok(Bytes::new()))
    }

    pub(super) fn register_whole_key<CTX: ContextTr>(&self, ctx: &mut CTX, caller: Address, c: IAttribution::registerWholeKeyCall) -> DbResult<Outcome> {
        let revert = |r: String| Ok(Outcome::Revert(r));
        // ---- well-formedness: anything wrong here halts --------------------
        let n = c.chunkKeys.len();
        if n == 0 || n > MAX_CHUNKS || c.chunkPublics.len() != n || c.chunkProofs.len() != n {
            return Ok(Outcome::Halt(format!("1..={MAX_CHUNKS} chunks, each with a key, public inputs and a proof")));
        }
        if !(1..=MAX_K).contains(&c.k) {
            return Ok(Outcome::Halt(format!("k = {} is outside 1..={MAX_K}", c.k)));
        }
        let too_big = |b: &Bytes| b.len() > MAX_TABLE_VK_FILE_BYTES;
        if too_big(&c.queryKey) || c.chunkKeys.iter().any(too_big) || c.chunkProofs.iter().any(|p| p.len() > MAX_PROOF_BYTES) {
            return Ok(Outcome::Halt("a key or proof exceeds its size bound".into()));
        }
        for b in [&c.modelCommitment, &c.datanetRoot] {
            if let Err(h) = fr(b) {
                return Ok(h);
            }
        }
        let mut publics = Vec::with_capacity(n);
        for p in &c.chunkPublics {
            let mut v = Vec::with_capacity(5);
            for w in p {
                match fr(w) {
                    Ok(x) => v.push(x),
                    Err(h) => return Ok(h),
                }
            }
            match ChunkPublic::from_instances(&v) {
                Some(p) => publics.push(p),
                None => return Ok(Outcome::Halt("chunk public inputs out of range".into())),
            }
        }
        let verifier = match self.verifier().with_k(c.k) {
            Ok(v) => v,
            Err(e) => return Ok(Outcome::Halt(e.to_string())),
        };
        let parse = |b: &Bytes| TableKeyFile::from_bytes(b, c.k, &verifier.params_hash());
        let query = match parse(&c.queryKey) {
            Ok(q) => q,
            Err(e) => return Ok(Outcome::Halt(format!("malformed per-query key: {e}"))),
        };
        let mut chunks = Vec::with_capacity(n);
        for ((key, public), proof) in c.chunkKeys.iter().zip(publics).zip(&c.chunkProofs) {
            match parse(key) {
                Ok(f) => chunks.push((f, public, proof.to_vec())),
                Err(e) => return Ok(Outcome::Halt(format!("malformed chunk key: {e}"))),
            }
        }

        // ---- who may register what ----------------------------------------
        if self.sload(ctx, datanet(&c.datanetOwner, &c.datanetRoot))?.is_zero() {
            return revert("unknown datanet (for this owner)".into());
        }
        if c.datanetOwner != caller && self.sload(ctx, datanet_user(&c.datanetOwner, &c.datanetRoot, &caller))?.is_zero() {
            return revert("the datanet belongs to someone else, who has not granted you its use".into());
        }
        let examples = self.sload(ctx, datanet_examples(&c.datanetOwner, &c.datanetRoot))?.saturating_to::<usize>();
        if examples == 0 {
            return revert("the datanet's example count is not set".into());
        }
        // one per-query key per model, replaced only once governance has
        // retired the current key's circuit (its template left the allowlist)
        if !self.sload(ctx, whole_key(&caller, &c.modelCommitment))?.is_zero() {
            let template = B256::from(self.sload(ctx, whole_template(&caller, &c.modelCommitment))?.to_be_bytes::<32>());
            if template.is_zero() || !self.sload(ctx, key_allowed(&template))?.is_zero() {
                return revert("model already has a per-query key for this owner (replaceable once its circuit is retired)".into());
            }
        }
        // the allowlist, read once per distinct template
        let mut allowed = Vec::new();
        for t in std::iter::once(query.template_hash()).chain(chunks.iter().map(|c| c.0.template_hash())) {
            if !allowed.iter().any(|(h, _)| *h == t) {
                let ok = !self.sload(ctx, key_allowed(&t))?.is_zero();
                allowed.push((t, ok));
            }
        }

        // ---- the registration check: coverage, proofs, commitments ---------
        let model = fr(&c.modelCommitment).map_err(|_| "checked above".to_string())?;
        let root = fr(&c.datanetRoot).map_err(|_| "checked above".to_string())?;
        self.count_verifications(n as u64);
        let reg = TableRegistration { root, examples, model, query: &query, chunks: &chunks };
        if let Err(e) = check_registration(&verifier, |h| allowed.iter().any(|(t, ok)| t == h && *ok), &reg) {
            return revert(format!("per-query key refused: {e}"));
        }
        let TableKind::Query(qs) = query.kind else {
            return revert("not a per-query key".into());
        };

        // ---- store ---------------------------------------------------------
        let hash = keccak256(&c.queryKey);
        self.store_key_bytes(ctx, &hash, &c.queryKey)?;
        self.sstore(ctx, whole_key(&caller, &c.modelCommitment), U256::from_be_bytes(hash.0))?;
        self.sstore(ctx, whole_k(&caller, &c.modelCommitment), U256::from(c.k))?;
        self.sstore(ctx, whole_capacity(&caller, &c.modelCommitment), U256::from(qs.capacity))?;
        self.sstore(ctx, whole_examples(&caller, &c.modelCommitment), U256::from(examples))?;
        self.sstore(ctx, whole_template(&caller, &c.modelCommitment), U256::from_be_bytes(query.template_hash().0))?;
        // parsed and paid for here: the key starts warm
        self.warm_up(ctx, &hash, c.k)?;
        self.keep_parsed(Arc::new(query), c.k);
        Self::emit(
            ctx,
            &IAttribution::WholeKeyRegistered { owner: caller, modelCommitment: c.modelCommitment, keyHash: hash, examples: examples as u64, k: c.k },
        );
        Ok(Outcome::Ok(IAttribution::registerWholeKeyCall::abi_encode_returns(&hash).into()))
    }

    pub(super) fn whole_key_of<CTX: ContextTr>(&self, ctx: &mut CTX, c: IAttribution::wholeKeyOfCall) -> DbResult<Outcome> {
        let key = B256::from(self.sload(ctx, whole_key(&c.owner, &c.modelCommitment))?.to_be_bytes::<32>());
        let examples = self.sload(ctx, whole_examples(&c.owner, &c.modelCommitment))?.saturating_to::<u64>();
        Ok(Outcome::Ok(IAttribution::wholeKeyOfCall::abi_encode_returns_tuple(&(key, examples)).into()))
    }

    pub(super) fn submit_whole_claim<CTX: ContextTr>(&self, ctx: &mut CTX, caller: Address, c: IAttribution::submitWholeClaimCall) -> DbResult<Outcome> {
        let revert = |r: String| Ok(Outcome::Revert(r));
        // ---- well-formedness: anything wrong here halts --------------------
        let m = c.contributors.len();
        if m == 0 || m > MAX_CAPACITY || c.totals.len() != m || c.endRows.len() != m {
            return Ok(Outcome::Halt("contributors, totals and end rows: one each per segment".into()));
        }
        if c.proof.len() > MAX_PROOF_BYTES {
            return Ok(Outcome::Halt(format!("proof longer than {MAX_PROOF_BYTES} bytes")));
        }
        let segments: Vec<Segment> = (0..m).map(|i| (c.contributors[i], c.totals[i], c.endRows[i])).collect();

        // ---- the request and the model's per-query key ---------------------
        let id = c.requestId;
        match self.sload(ctx, request(id, "status"))?.saturating_to::<u8>() {
            s if s == RequestStatus::Open as u8 => {}
            s if s == RequestStatus::Paid as u8 => return revert("claim already paid".into()),
            s if s == RequestStatus::Refunded as u8 => return revert("the request was refunded".into()),
            _ => return revert("no request with this id (nothing is escrowed)".into()),
        }
        if Self::now(ctx) > self.sload(ctx, request(id, "deadline"))?.saturating_to::<u64>() {
            return revert("the request's deadline has passed".into());
        }
        if let Some(refused) = self.claimant_refusal(ctx, id, caller)? {
            return Ok(refused);
        }
        let owner = Address::from_word(B256::from(self.sload(ctx, request(id, "owner"))?.to_be_bytes::<32>()));
        let model = B256::from(self.sload(ctx, request(id, "model"))?.to_be_bytes::<32>());
        let query = B256::from(self.sload(ctx, request(id, "query"))?.to_be_bytes::<32>());
        let fee = self.sload(ctx, request(id, "fee"))?;
        // the proof covers the contributors' share of the fee
        let pool = self.split_of(ctx, id)?.shares(fee).contributors.saturating_to::<u128>();
        let key_hash = B256::from(self.sload(ctx, whole_key(&owner, &model))?.to_be_bytes::<32>());
        if key_hash.is_zero() {
            return revert("the model has no per-query key".into());
        }
        let k = self.sload(ctx, whole_k(&owner, &model))?.saturating_to::<u32>();
        let Ok(verifier) = self.verifier().with_k(k) else {
            return revert("the model's per-query key has an unusable k".into());
        };
        // a malformed list is refused before the key is loaded or parsed
        let capacity = self.sload(ctx, whole_capacity(&owner, &model))?.saturating_to::<usize>();
        if let Err(e) = validate_segments(&segments, capacity) {
            return revert(format!("claim rejected: {e}"));
        }
        let warm = self.is_warm(ctx, &key_hash)?;
        let cached = self.whole_keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key_hash).cloned();
        let key = match cached {
            Some(key) => key,
            None => {
                let Some(bytes) = self.load_key_bytes(ctx, &key_hash, MAX_TABLE_VK_FILE_BYTES)? else {
                    return revert("the model's per-query key is not stored".into());
                };
                match TableKeyFile::from_bytes(&bytes, k, &verifier.params_hash()) {
                    Ok(f) => {
                        let f = Arc::new(f);
                        self.keep_parsed(f.clone(), k);
                        f
                    }
                    Err(e) => return revert(format!("the model's per-query key no longer parses: {e}")),
                }
            }
        };
        // the key's circuit must still be allowlisted: a retired template (an
        // older layout, e.g. one whose totals follow another payout rule)
        // settles nothing. (Keys registered before the template was stored
        // have it recomputed from the key.)
        let template = match B256::from(self.sload(ctx, whole_template(&owner, &model))?.to_be_bytes::<32>()) {
            t if t.is_zero() => key.template_hash(),
            t => t,
        };
        if self.sload(ctx, key_allowed(&template))?.is_zero() {
            return revert("the model's per-query key is of a circuit no longer on the allowlist".into());
        }
        let Ok(query_commitment) = fr_from_be_bytes(&query.0) else {
            return Ok(Outcome::Halt("stored query commitment is not canonical".into()));
        };

        // ---- one proof over every example, and the public split ------------------
        // (the check an auditor runs too: `Verifier::verify_whole_claim`)
        let claim = WholeClaim { request_id: id, pool_wei: pool, query_commitment, predicted_class: c.predictedClass, segments, proof: c.proof.to_vec() };
        self.count_verifications(1);
        let payouts = match verifier.verify_whole_claim(&key, &claim) {
            Ok(p) => p,
            Err(e) => return revert(format!("claim rejected: {e}")),
        };
        let tree = match PayoutTree::new(&payouts) {
            Ok(t) => t,
            Err(e) => return revert(format!("claim rejected: {e}")),
        };
        if !warm {
            self.warm_up(ctx, &key_hash, k)?;
        }
        self.close(ctx, id, RequestStatus::Paid)?;
        let owed = self.sload(ctx, owed_total())?;
        self.sstore(ctx, owed_total(), owed.saturating_add(U256::from(pool)))?;
        let root = tree.root();
        self.sstore(ctx, request(id, "payouts"), U256::from_be_bytes(root.0))?;
        self.settle(ctx, id, caller, fee, c.predictedClass, root)?;
        Self::emit(ctx, &IAttribution::WholeClaimPaid { requestId: id, prover: caller, payoutRoot: root, fee });
        Ok(Outcome::Ok(IAttribution::submitWholeClaimCall::abi_encode_returns(&root).into()))
    }

    pub(super) fn payouts_of<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<Outcome> {
        let root = B256::from(self.sload(ctx, request(id, "payouts"))?.to_be_bytes::<32>());
        let unreleased = if root.is_zero() {
            U256::ZERO
        } else {
            self.sload(ctx, request(id, "pool"))?.saturating_sub(self.sload(ctx, request(id, "released"))?)
        };
        Ok(Outcome::Ok(IAttribution::payoutsOfCall::abi_encode_returns_tuple(&(root, unreleased)).into()))
    }

    /// Pays `payouts` (index, payout), skipping those already released, and
    /// books the total.
    fn release<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, payouts: impl Iterator<Item = (u32, Payout)>) -> DbResult<U256> {
        let mut paid = U256::ZERO;
        let mut word: Option<(u32, U256)> = None;
        for (i, p) in payouts {
            let w = i / 256;
            if word.map(|(x, _)| x) != Some(w) {
                if let Some((x, bits)) = word {
                    self.sstore(ctx, released_word(id, x), bits)?;
                }
                word = Some((w, self.sload(ctx, released_word(id, w))?));
            }
            let bit = U256::from(1) << (i % 256) as usize;
            let bits = &mut word.as_mut().expect("set above").1;
            if (*bits & bit).is_zero() {
                *bits |= bit;
                let amount = U256::from(p.amount_wei);
                self.pay(ctx, p.contributor, amount)?;
                Self::emit(ctx, &IAttribution::PayoutReleased { requestId: id, contributor: p.contributor, index: i, amount });
                paid += amount;
            }
        }
        if let Some((x, bits)) = word {
            self.sstore(ctx, released_word(id, x), bits)?;
        }
        if !paid.is_zero() {
            let released = self.sload(ctx, request(id, "released"))?;
            self.sstore(ctx, request(id, "released"), released + paid)?;
            let owed = self.sload(ctx, owed_total())?;
            self.sstore(ctx, owed_total(), owed.saturating_sub(paid))?;
        }
        Ok(paid)
    }

    pub(super) fn release_payouts<CTX: ContextTr>(&self, ctx: &mut CTX, c: IAttribution::releasePayoutsCall) -> DbResult<Outcome> {
        let n = c.contributors.len();
        if n == 0 || n > MAX_CAPACITY || c.amounts.len() != n {
            return Ok(Outcome::Halt("contributors and amounts: one each per payout, 1 to 65536".into()));
        }
        let root = B256::from(self.sload(ctx, request(c.requestId, "payouts"))?.to_be_bytes::<32>());
        if root.is_zero() {
            return Ok(Outcome::Revert("no whole-datanet claim has been paid for this request".into()));
        }
        let payouts: Vec<Payout> = c.contributors.iter().zip(&c.amounts).map(|(a, v)| Payout { contributor: *a, amount_wei: *v }).collect();
        match PayoutTree::new(&payouts) {
            Ok(t) if t.root() == root => {}
            _ => return Ok(Outcome::Revert("these payouts do not match the claim's payout root".into())),
        }
        let paid = self.release(ctx, c.requestId, payouts.into_iter().enumerate().map(|(i, p)| (i as u32, p)))?;
        Ok(Outcome::Ok(IAttribution::releasePayoutsCall::abi_encode_returns(&paid).into()))
    }

    pub(super) fn withdraw_payout<CTX: ContextTr>(&self, ctx: &mut CTX, c: IAttribution::withdrawPayoutCall) -> DbResult<Outcome> {
        if c.path.len() > MAX_PATH || c.count == 0 || c.index >= c.count || c.path.len() != payout::payout_depth(c.count) {
            return Ok(Outcome::Halt("malformed withdrawal: index, count and path length do not fit one payout tree".into()));
        }
        let root = B256::from(self.sload(ctx, request(c.requestId, "payouts"))?.to_be_bytes::<32>());
        if root.is_zero() {
            return Ok(Outcome::Revert("no whole-datanet claim has been paid for this request".into()));
        }
        let p = Payout { contributor: c.contributor, amount_wei: c.amount };
        if payout_root_from_path(c.count, c.index, &p, &c.path) != Some(root) {
            return Ok(Outcome::Revert("this payout and path do not match the claim's payout root".into()));
        }
        let paid = self.release(ctx, c.requestId, std::iter::once((c.index, p)))?;
        if paid.is_zero() {
            return Ok(Outcome::Revert("this payout was already released".into()));
        }
        Ok(Outcome::Ok(IAttribution::withdrawPayoutCall::abi_encode_returns(&paid).into()))
    }
}
