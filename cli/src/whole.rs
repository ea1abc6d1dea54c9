//! The whole-datanet artifacts shared by `lineage demo` and `lineage
//! attribute`: the feature chunks (proven once per datanet version and
//! model, cached on disk) and the per-query keys.

use eyre::WrapErr;
use lineage_circuits::{chunk::ChunkShape, query::QueryShape, Bn256};
use lineage_core::{
    datanet::Datanet,
    features::FeatureTable,
    field::fr_to_hex,
    model::QuantizedModel,
};
use lineage_prover::{
    query::{QueryKeys, TableKeys},
    ProverClient,
};
use lineage_verifier::{FeatureProofFile, TableKeyFile, VerifierParams};
use std::{path::Path, time::Instant};

pub use lineage_verifier::feature_file::ChunkEntry;

/// What a whole-datanet claim needs, proven or generated.
pub struct WholeSetup {
    pub table: FeatureTable,
    pub shape: QueryShape,
    pub size: usize,
    /// The feature proof: every chunk, in a versioned file pinned by hash.
    pub features: FeatureProofFile,
    pub query_keys: QueryKeys,
    /// The per-query key's file (what the chain and an auditor receive).
    pub query_file: TableKeyFile,
    /// Milliseconds the feature proof took (0 when it came from the cache).
    pub feature_ms: u128,
    pub cached: bool,
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
    let size = size.unwrap_or(ChunkShape::default_size(shape.k));
    ChunkShape::new(size, 0, shape.capacity, shape.k).wrap_err("chunk size")?;
    let count = ChunkShape::count(size, n);
    let vp = VerifierParams::from_srs(params);
    let path = cache_dir.join(format!(
        "features-v1-c{}-{}-{}-n{n}-m{size}-k{}.json",
        lineage_circuits::chunk::CIRCUIT_VERSION,
        &fr_to_hex(&datanet.root())[2..18],
        &fr_to_hex(&model.commitment())[2..18],
        shape.k
    ));
    let t = Instant::now();
    let cached_file = std::fs::read(&path).ok().and_then(|b| FeatureProofFile::from_bytes(&b, shape.k, &vp.hash()).ok()).filter(|f| {
        // its proofs are checked again wherever it is used: the registration verifies every one
        f.chunks.len() == count && f.examples == n && f.datanet_root == datanet.root() && f.model_commitment == model.commitment()
    });
    let (features, cached) = match cached_file {
        Some(f) => (f, true),
        None => {
            let mut out = Vec::with_capacity(count);
            for j in 0..count {
                let cshape = ChunkShape::new(size, j, shape.capacity, shape.k)?;
                let keys = client.keygen_chunk(&cshape, &table, params.clone())?;
                let proof = client.prove_chunk(&keys, &table, datanet, model)?;
                out.push((keys.file(), proof.public, proof.bytes));
            }
            let f = FeatureProofFile::new(vp.hash(), datanet.root(), model.commitment(), n, out)?;
            save(&path, &f.to_bytes());
            (f, false)
        }
    };
    let feature_ms = if cached { 0 } else { t.elapsed().as_millis() };
    let query_keys = query_keys(client, params, &shape, &table, &features, &cache_dir.join(format!(
        "query-pk-q{}-{}-{}-n{n}-k{}.bin",
        lineage_circuits::query::CIRCUIT_VERSION,
        &fr_to_hex(&datanet.root())[2..18],
        &fr_to_hex(&model.commitment())[2..18],
        shape.k
    )))?;
    let query_file = query_keys.file();
    Ok(WholeSetup { table, shape, size, features, query_keys, query_file, feature_ms, cached })
}

/// The per-query keys: read from their proving-key file under the cache
/// directory when it exists and checks out (hash, parameters, shape), else
/// generated and written there.
fn query_keys(
    client: &ProverClient,
    params: &lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG<Bn256>,
    shape: &QueryShape,
    table: &FeatureTable,
    features: &FeatureProofFile,
    path: &Path,
) -> eyre::Result<QueryKeys> {
    let kind = lineage_verifier::TableKind::Query(*shape);
    if path.exists() {
        match TableKeys::read_file(path, kind, params.clone(), None) {
            Ok(keys) => {
                // the file's hash catches corruption; that the key holds this table (its feature
                // commitments are the sums of this table's chunks') is checked as the chain does
                let q = keys.feature_column_indices();
                let held: Vec<_> = q.iter().map(|i| lineage_verifier::features::feature_commitment(&keys.vk, *i)).collect::<Result<_, _>>()?;
                match (held == features.feature_commitments).then_some(()).ok_or(lineage_verifier::Error::FeatureCommitmentMismatch { chunks: features.chunks.len() }) {
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

/// Write a cache file through a temporary file (a cache that cannot be
/// written is not an error).
fn save(path: &Path, bytes: &[u8]) {
    let write = || -> std::io::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = path.with_extension(format!("tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        tracing::warn!("could not cache the feature proof at {}: {e}", path.display());
    }
}
