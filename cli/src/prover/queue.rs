//! The prover node's job queue: one record per request it has seen, in
//! RocksDB, written (synced) before every step that touches the chain, so
//! a node killed at any point resumes where it stopped. A transaction is
//! signed and stored in its job *before* it is sent; after a restart the
//! node looks for that transaction's receipt and, if it was never mined,
//! sends the same signed bytes again (one transaction, never a second
//! submission).

use crate::rpc_chain::SignedTx;
use alloy_primitives::{Bytes, B256, U256};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the job records; a queue written by another version is refused.
pub const FORMAT_VERSION: u32 = 1;
const VERSION_KEY: &[u8] = b"meta/version";
const SCANNED_KEY: &[u8] = b"meta/scanned";
const JOB_PREFIX: &[u8] = b"job/";

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("job queue record {key}: {err}")]
    Record { key: String, err: serde_json::Error },
    #[error("the job queue at {path} is format {found}, this node writes {FORMAT_VERSION}: move it aside")]
    Version { path: String, found: String },
}

/// Where a job stands. The order is the order a job moves in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// Its query was posted for our model; not accepted (yet).
    Seen,
    /// We accepted it on chain (our stake is locked): it is ours to prove.
    Accepted,
    /// Proven; the claim is next.
    Proven,
    /// The claim paid: the fee split is done, the contributors' payouts are next.
    Claimed,
    /// Payouts released; our stake comes back after the challenge window.
    Released,
    /// Stake released: nothing left to do.
    Done,
    /// Another agent took it, or it could not be taken in time.
    Lost,
    /// Accepted but not settled (see the job's note).
    Failed,
}

impl Stage {
    pub const ALL: [Stage; 8] =
        [Stage::Seen, Stage::Accepted, Stage::Proven, Stage::Claimed, Stage::Released, Stage::Done, Stage::Lost, Stage::Failed];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Seen => "seen",
            Stage::Accepted => "accepted",
            Stage::Proven => "proven",
            Stage::Claimed => "claimed",
            Stage::Released => "released",
            Stage::Done => "done",
            Stage::Lost => "lost",
            Stage::Failed => "failed",
        }
    }

    /// Nothing more will happen to a job at this stage.
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Done | Stage::Lost | Stage::Failed)
    }
}

/// What a transaction in flight is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxKind {
    Accept,
    Claim,
    Release,
    ReleaseStake,
}

/// A transaction signed and stored before it was sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingTx {
    pub kind: TxKind,
    pub tx: SignedTx,
}

/// The answer the agent signs for its user (EIP-712 `Answer`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedAnswer {
    pub request_id: U256,
    pub query_commitment: B256,
    pub predicted_class: u64,
    /// The whole-datanet claim's payout root.
    pub payout_digest: B256,
    /// r ‖ s ‖ v over `answerHash`.
    pub signature: Bytes,
    pub agent: alloy_primitives::Address,
}

/// One request, as this node tracks it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub request_id: U256,
    pub query: Vec<u8>,
    pub query_commitment: B256,
    pub fee: U256,
    pub deadline: u64,
    pub stage: Stage,
    pub pending: Option<PendingTx>,
    pub answer: Option<SignedAnswer>,
    pub proof: Option<Bytes>,
    pub prove_ms: Option<u64>,
    /// Hashes of the transactions that moved it: accept, claim, release, stake release.
    pub txs: Vec<(TxKind, B256)>,
    /// Why it was lost or failed.
    pub note: String,
    /// Unix milliseconds when this node first saw it, and when its claim paid.
    pub seen_ms: u64,
    pub claimed_ms: Option<u64>,
    /// When the challenge window of a paid claim ends (chain time): the
    /// stake is not asked for before.
    #[serde(default)]
    pub challenge_ends: u64,
    /// Proofs of this job that failed (one retry, then the job fails).
    #[serde(default)]
    pub prove_failures: u32,
}

impl Job {
    /// A request just seen: its query, commitment, fee and deadline.
    pub fn seen(request_id: U256, query: Vec<u8>, query_commitment: B256, fee: U256, deadline: u64, seen_ms: u64) -> Self {
        Self {
            request_id,
            query,
            query_commitment,
            fee,
            deadline,
            stage: Stage::Seen,
            pending: None,
            answer: None,
            proof: None,
            prove_ms: None,
            txs: vec![],
            note: String::new(),
            seen_ms,
            claimed_ms: None,
            challenge_ends: 0,
            prove_failures: 0,
        }
    }
}

pub struct Queue {
    db: rocksdb::DB,
}

fn job_key(id: U256) -> Vec<u8> {
    [JOB_PREFIX, &id.to_be_bytes::<32>()[..]].concat()
}

impl Queue {
    /// Open (or create) the queue in `dir`.
    pub fn open(dir: &Path) -> Result<Self, QueueError> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        let db = rocksdb::DB::open(&opts, dir)?;
        match db.get(VERSION_KEY)? {
            None => db.put(VERSION_KEY, FORMAT_VERSION.to_be_bytes())?,
            Some(v) if v[..] == FORMAT_VERSION.to_be_bytes() => {}
            Some(v) => return Err(QueueError::Version { path: dir.display().to_string(), found: hex::encode(v) }),
        }
        Ok(Self { db })
    }

    fn sync_put(&self, key: &[u8], value: &[u8]) -> Result<(), QueueError> {
        let mut w = rocksdb::WriteOptions::default();
        w.set_sync(true);
        Ok(self.db.put_opt(key, value, &w)?)
    }

    /// Store a job (synced to disk before this returns).
    pub fn put(&self, job: &Job) -> Result<(), QueueError> {
        let bytes = serde_json::to_vec(job).map_err(|err| QueueError::Record { key: job.request_id.to_string(), err })?;
        self.sync_put(&job_key(job.request_id), &bytes)
    }

    pub fn get(&self, id: U256) -> Result<Option<Job>, QueueError> {
        self.db
            .get(job_key(id))?
            .map(|b| serde_json::from_slice(&b).map_err(|err| QueueError::Record { key: id.to_string(), err }))
            .transpose()
    }

    /// Every job, by request id.
    pub fn jobs(&self) -> Result<Vec<Job>, QueueError> {
        let mut out = vec![];
        for item in self.db.prefix_iterator(JOB_PREFIX) {
            let (k, v) = item?;
            if !k.starts_with(JOB_PREFIX) {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(|err| QueueError::Record { key: hex::encode(&k), err })?);
        }
        Ok(out)
    }

    /// The last block whose events were read.
    pub fn scanned(&self) -> Result<Option<u64>, QueueError> {
        Ok(self.db.get(SCANNED_KEY)?.and_then(|b| <[u8; 8]>::try_from(&b[..]).ok()).map(u64::from_be_bytes))
    }

    pub fn set_scanned(&self, block: u64) -> Result<(), QueueError> {
        self.sync_put(SCANNED_KEY, &block.to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> Job {
        Job::seen(U256::from(id), vec![1; 64], B256::repeat_byte(2), U256::from(5), 10, 0)
    }

    #[test]
    fn jobs_and_the_scan_mark_survive_a_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let q = Queue::open(dir.path()).unwrap();
            for id in [300u64, 2, 1 << 40] {
                q.put(&job(id)).unwrap();
            }
            let mut j = job(2);
            j.stage = Stage::Accepted;
            q.put(&j).unwrap();
            q.set_scanned(17).unwrap();
        }
        let q = Queue::open(dir.path()).unwrap();
        let ids: Vec<_> = q.jobs().unwrap().iter().map(|j| (j.request_id.to::<u64>(), j.stage)).collect();
        assert_eq!(ids, vec![(2, Stage::Accepted), (300, Stage::Seen), (1 << 40, Stage::Seen)]);
        assert_eq!(q.scanned().unwrap(), Some(17));
        assert!(q.get(U256::from(3)).unwrap().is_none());
    }

    #[test]
    fn a_queue_of_another_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Queue::open(dir.path()).unwrap());
        {
            let db = rocksdb::DB::open_default(dir.path()).unwrap();
            db.put(VERSION_KEY, 99u32.to_be_bytes()).unwrap();
        }
        assert!(matches!(Queue::open(dir.path()), Err(QueueError::Version { .. })));
    }
}
