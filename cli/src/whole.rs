//! The whole-datanet artifacts shared by `lineage demo` and `lineage
//! attribute`: the feature chunks (proven once per datanet version and
//! model, cached on disk) and the per-query keys.

use eyre::WrapErr;
use lineage_circuits::{chunk::ChunkShape, query::QueryShape, Bn256};
use lineage_core::{
    datanet::Datanet,
    features::FeatureTable,
    field::{fr_from_hex, fr_to_hex},
    model::QuantizedModel,
};
use lineage_prover::{
    query::{QueryKeys, TableKeys},
    ProverClient,
};
use lineage_verifier::{ChunkPublic, TableKeyFile, VerifierParams};
use serde::{Deserialize, Serialize};
use std::{path::Path, time::Instant};

/// One proven chunk: its key file, public inputs and proof.
pub type ChunkEntry = (TableKeyFile, ChunkPublic, Vec<u8>);

/// What a whole-datanet claim needs, proven or generated.
pub struct WholeSetup {
    pub table: FeatureTable,
    pub shape: QueryShape,
    pub size: usize,
    pub chunks: Vec<ChunkEntry>,
    pub query_keys: QueryKeys,
    /// The per-query key's file (what the chain and an auditor receive).
    pub query_file: TableKeyFile,
    /// Milliseconds the feature proof took (0 when it came from the cache).
    pub feature_ms: u128,
    pub cached: bool,
}

/// The on-disk cache of a feature proof (version 1).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChunkCache {
    version: u32,
    chunks: Vec<CachedChunk>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CachedChunk {
    key: String,
    public: Vec<String>,
    proof: String,
}

/// Build the table of `datanet` under `model`, prove (or load from
/// `cache_dir`) its feature chunks of `size` examples (default: what fills
/// the per-query circuit's rows), and generate the per-query keys.
pub fn prepare(
    client: &ProverClient,
    params: &lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<Bn256>,
    datanet: &Datanet,
    model: &QuantizedModel,
    size: Option<usize>,
    cache_dir: &Path,
) -> eyre::Result<WholeSetup> {
    let n = datanet.contributions.len();
    let table = FeatureTable::build(model, datanet)?;
    let shape = QueryShape::new(n)?;
    let size = size.unwrap_or(((1usize << shape.k) / 1024).max(1));
    ChunkShape::new(size, 0, shape.capacity, shape.k).wrap_err("chunk size")?;
    let count = ChunkShape::count(size, n);
    let vp = VerifierParams::from_srs(params);
    let path = cache_dir.join(format!(
        "features-{}-{}-n{n}-m{size}-k{}.json",
        &fr_to_hex(&datanet.root())[2..18],
        &fr_to_hex(&model.commitment())[2..18],
        shape.k
    ));
    let t = Instant::now();
    let (chunks, cached) = match load_cache(&path, count, shape.k, &vp) {
        Some(c) => (c, true),
        None => {
            let mut out = Vec::with_capacity(count);
            for j in 0..count {
                let cshape = ChunkShape::new(size, j, shape.capacity, shape.k)?;
                let keys = client.keygen_chunk(&cshape, &table, params.clone())?;
                let proof = client.prove_chunk(&keys, &table, datanet, model)?;
                out.push((keys.file(), proof.public, proof.bytes));
            }
            save_cache(&path, &out);
            (out, false)
        }
    };
    let feature_ms = if cached { 0 } else { t.elapsed().as_millis() };
    let query_keys = query_keys(client, params, &shape, &table, &chunks, &cache_dir.join(format!(
        "query-pk-{}-{}-n{n}-k{}.bin",
        &fr_to_hex(&datanet.root())[2..18],
        &fr_to_hex(&model.commitment())[2..18],
        shape.k
    )))?;
    let query_file = query_keys.file();
    Ok(WholeSetup { table, shape, size, chunks, query_keys, query_file, feature_ms, cached })
}

/// The per-query keys: read from their proving-key file under the cache
/// directory when it exists and checks out (hash, parameters, shape), else
/// generated and written there.
fn query_keys(
    client: &ProverClient,
    params: &lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<Bn256>,
    shape: &QueryShape,
    table: &FeatureTable,
    chunks: &[ChunkEntry],
    path: &Path,
) -> eyre::Result<QueryKeys> {
    let kind = lineage_verifier::TableKind::Query(*shape);
    if path.exists() {
        match TableKeys::read_file(path, kind, params.clone(), None) {
            Ok(keys) => {
                // the file's hash catches corruption; that the key holds this table (its feature
                // commitments are the sums of this table's chunks') is checked as the chain does
                let q = keys.feature_column_indices();
                let idx: Vec<_> = chunks.iter().map(|c| c.0.feature_indices()).collect();
                let list: Vec<_> = chunks.iter().zip(&idx).map(|(c, i)| (&c.0.vk, &i[..])).collect();
                match lineage_verifier::features::check_feature_commitments((&keys.vk, &q[..]), &list) {
                    Ok(()) => return Ok(QueryKeys { shape: *shape, keys }),
                    Err(e) => tracing::warn!("ignoring the cached proving key {}: {e}", path.display()),
                }
            }
            Err(e) => tracing::warn!("ignoring the cached proving key {}: {e}", path.display()),
        }
    }
    let keys = client.keygen_query(shape, table, params.clone())?;
    if let Err(e) = keys.keys.write_file(kind, path) {
        tracing::warn!("could not cache the proving key at {}: {e}", path.display());
    }
    Ok(keys)
}

/// A cached feature proof, if one exists and parses (its proofs are checked
/// again wherever they are used: the registration verifies every one).
fn load_cache(path: &Path, count: usize, k: u32, vp: &VerifierParams) -> Option<Vec<ChunkEntry>> {
    let text = std::fs::read(path).ok()?;
    let cache: ChunkCache = serde_json::from_slice(&text).ok()?;
    if cache.version != 1 || cache.chunks.len() != count {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for c in cache.chunks {
        let key = TableKeyFile::from_bytes(&hex::decode(&c.key).ok()?, k, &vp.hash()).ok()?;
        let public: Vec<_> = c.public.iter().map(|h| fr_from_hex(h).ok()).collect::<Option<_>>()?;
        out.push((key, ChunkPublic::from_instances(&public)?, hex::decode(&c.proof).ok()?));
    }
    Some(out)
}

/// Write the cache (a cache that cannot be written is not an error).
fn save_cache(path: &Path, chunks: &[ChunkEntry]) {
    let cache = ChunkCache {
        version: 1,
        chunks: chunks
            .iter()
            .map(|(k, p, b)| CachedChunk {
                key: hex::encode(k.to_bytes()),
                public: p.to_instances().iter().map(fr_to_hex).collect(),
                proof: hex::encode(b),
            })
            .collect(),
    };
    let write = || -> std::io::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec(&cache)?)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::warn!("could not cache the feature proof at {}: {e}", path.display());
    }
}
