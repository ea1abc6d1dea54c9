//! Real keys and proofs of the feature chunks of a small datanet: every
//! chunk proof verifies; the per-query key of the table holds exactly the
//! sum of the chunk keys' feature commitments; the per-query key of a table
//! with one example changed does not.

use lineage_circuits::{chunk::ChunkShape, query::QueryShape};
use lineage_core::{datanet::Datanet, features::FeatureTable};
use lineage_prover::{srs, ProverClient};
use lineage_verifier::{features::check_feature_commitments, Error, Verifier};

#[test]
fn chunk_keys_add_up_to_the_query_key() {
    let full = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 100, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let datanet = Datanet::new("subset".into(), full.contributions.iter().step_by(72).take(20).cloned().collect()).unwrap();
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let qshape = QueryShape::new(table.len()).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), qshape.k).unwrap();
    let verifier = Verifier::from_pinned_bytes(
        &lineage_verifier::VerifierParams::from_srs(&params).to_bytes(),
        &lineage_verifier::VerifierParams::from_srs(&params).hash(),
    )
    .unwrap();

    let mut chunk_keys = Vec::new();
    for j in 0..ChunkShape::count(8, table.len()) {
        let shape = ChunkShape::new(8, j, qshape.capacity, qshape.k).unwrap();
        let keys = client.keygen_chunk(&shape, &table, params.clone()).unwrap();
        let proof = client.prove_chunk(&keys, &table, &datanet, &model).unwrap();
        verifier.verify_with_key(&keys.keys.vk, &proof.public.to_instances(), &proof.bytes).unwrap();
        chunk_keys.push(keys);
    }
    let indices: Vec<_> = chunk_keys.iter().map(|k| k.keys.feature_column_indices()).collect();
    let chunks: Vec<_> = chunk_keys.iter().zip(&indices).map(|(k, i)| (&k.keys.vk, &i[..])).collect();

    let query = client.keygen_query(&qshape, &table, params.clone()).unwrap();
    check_feature_commitments((&query.keys.vk, &query.keys.feature_column_indices()[..]), &chunks).unwrap();

    // a per-query key over a table with one feature changed is refused
    let mut forged = table.clone();
    forged.rows[5].residual[3] += 1;
    let bad = client.keygen_query(&qshape, &forged, params).unwrap();
    assert!(matches!(
        check_feature_commitments((&bad.keys.vk, &bad.keys.feature_column_indices()[..]), &chunks),
        Err(Error::FeatureCommitmentMismatch { chunks: 3 })
    ));
    // so is the sum with a chunk missing
    assert!(check_feature_commitments((&query.keys.vk, &query.keys.feature_column_indices()[..]), &chunks[..2]).is_err());
}
