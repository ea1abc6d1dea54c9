//! The prover node's HTTP side (tokio, axum): `/health`, Prometheus
//! `/metrics`, and the signed answers its users fetch.

use super::queue::{Queue, Stage};
use alloy_primitives::{Address, U256};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

/// A health check fails when the chain has not answered for this long.
pub const STALE_AFTER_MS: u64 = 30_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    pub stage: &'static str,
}

/// The node's metrics (names prefixed `lineage_prover_`).
pub struct Metrics {
    pub registry: Registry,
    /// Jobs by stage.
    pub jobs: Family<StageLabel, Gauge>,
    /// Jobs seen or accepted and not yet claimed.
    pub queue_depth: Gauge,
    /// Proofs running now.
    pub proving: Gauge,
    pub proofs: Counter,
    pub claims_paid: Counter,
    pub lost: Counter,
    /// Failures by the step that failed: prove, accept, claim, release, chain.
    pub failures: Family<StageLabel, Counter>,
    pub prove_seconds: Histogram,
    pub scanned_block: Gauge,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lineage_prover");
        let m = Self {
            registry: Registry::default(),
            jobs: Family::default(),
            queue_depth: Gauge::default(),
            proving: Gauge::default(),
            proofs: Counter::default(),
            claims_paid: Counter::default(),
            lost: Counter::default(),
            failures: Family::default(),
            prove_seconds: Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.25, 2.0, 12)),
            scanned_block: Gauge::default(),
        };
        registry.register("jobs", "Jobs by stage", m.jobs.clone());
        registry.register("queue_depth", "Jobs seen or accepted and not yet claimed", m.queue_depth.clone());
        registry.register("proving", "Proofs running now", m.proving.clone());
        registry.register("proofs", "Proofs finished", m.proofs.clone());
        registry.register("claims_paid", "Claims the chain paid", m.claims_paid.clone());
        registry.register("requests_lost", "Requests another agent took, or too late to take", m.lost.clone());
        registry.register("failures", "Failures by step", m.failures.clone());
        registry.register("prove_seconds", "Time of one per-query proof", m.prove_seconds.clone());
        registry.register("scanned_block", "Last block whose events were read", m.scanned_block.clone());
        Self { registry, ..m }
    }

    pub fn fail(&self, step: &'static str) {
        self.failures.get_or_create(&StageLabel { stage: step }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What the HTTP handlers read.
pub struct Shared {
    pub metrics: Metrics,
    pub queue: Arc<Queue>,
    pub agent: Address,
    pub capacity: usize,
    /// Unix ms of the last chain poll that succeeded.
    pub last_poll_ms: AtomicU64,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/answers/{id}", get(answer))
        .route("/v1/jobs", get(jobs))
        .with_state(shared)
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    let age = now_ms().saturating_sub(s.last_poll_ms.load(Ordering::Relaxed));
    let mut counts = serde_json::Map::new();
    // RocksDB reads block: off the async workers
    let q = s.queue.clone();
    let jobs = tokio::task::spawn_blocking(move || q.jobs()).await;
    let jobs = match jobs {
        Ok(j) => j,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    match jobs {
        Ok(jobs) => {
            for st in Stage::ALL {
                counts.insert(st.name().into(), jobs.iter().filter(|j| j.stage == st).count().into());
            }
        }
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "error", "error": e.to_string()}))).into_response(),
    }
    let ok = age <= STALE_AFTER_MS;
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "chain unreachable" },
        "agent": s.agent,
        "capacity": s.capacity,
        "proving": s.metrics.proving.get(),
        "scanned_block": s.metrics.scanned_block.get(),
        "last_poll_age_ms": age,
        "jobs": counts,
    });
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body)).into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &s.metrics.registry) {
        Ok(()) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn answer(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<U256>() else {
        return (StatusCode::BAD_REQUEST, "a request id is a decimal or 0x-hex integer below 2^256").into_response();
    };
    let q = s.queue.clone();
    let Ok(job) = tokio::task::spawn_blocking(move || q.get(id)).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match job {
        Ok(Some(job)) => match job.answer {
            Some(a) => Json(a).into_response(),
            None => (StatusCode::NOT_FOUND, format!("request {id} has no answer from this agent ({})", job.stage.name())).into_response(),
        },
        Ok(None) => (StatusCode::NOT_FOUND, format!("this agent has not seen request {id}")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn jobs(State(s): State<Arc<Shared>>) -> Response {
    let q = s.queue.clone();
    let Ok(jobs) = tokio::task::spawn_blocking(move || q.jobs()).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match jobs {
        Ok(jobs) => Json(
            jobs.iter()
                .map(|j| {
                    serde_json::json!({
                        "request_id": j.request_id.to_string(),
                        "stage": j.stage.name(),
                        "note": j.note,
                        "prove_ms": j.prove_ms,
                        "txs": j.txs.iter().map(|(k, h)| serde_json::json!({"kind": format!("{k:?}"), "hash": h})).collect::<Vec<_>>(),
                        "seen_ms": j.seen_ms,
                        "claimed_ms": j.claimed_ms,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
