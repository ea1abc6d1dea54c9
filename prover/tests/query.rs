//! Real keys and a real SHPLONK proof of the per-query circuit over a small
//! datanet, checked by the auditor's verifier: it verifies; it is refused
//! with any public input changed, against the key of the same datanet with
//! one example left out, and when truncated or padded. Its proving key
//! survives a round trip through its versioned, hashed file.

use alloy_primitives::U256;
use lineage_circuits::query::{QueryInput, QueryShape};
use lineage_core::{datanet::Datanet, features::FeatureTable, field::Fr};
use lineage_prover::{
    query::{QueryKeys, TableKeys},
    srs, ProverClient,
};
use lineage_verifier::{Error, TableKind, Verifier};

#[test]
fn query_proof_verifies_and_binds_its_table_and_inputs() {
    let full = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let datanet = Datanet::new("subset".into(), full.contributions.iter().step_by(45).cloned().collect()).unwrap();
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let shape = QueryShape::new(table.len()).unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(1794).unwrap().pixels.clone();
    let input = QueryInput::new(&model, &table, &query, 1_000_000, U256::from(3)).unwrap();

    let client = ProverClient::builder().cpu().build().unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap();
    let keys = client.keygen_query(&shape, &table, params.clone()).unwrap();
    let proof = client.prove_query(&keys, &table, &input).unwrap();
    let verifier = Verifier::from_pinned_bytes(&keys.keys.verifier_params.to_bytes(), &keys.keys.verifier_params.hash()).unwrap();
    let inst = proof.public.to_instances();
    verifier.verify_with_key(&keys.keys.vk, &inst, &proof.bytes).unwrap();

    for row in 0..inst.len() {
        let mut bad = inst.clone();
        bad[row] += Fr::one();
        assert!(matches!(verifier.verify_with_key(&keys.keys.vk, &bad, &proof.bytes), Err(Error::ProofRejected(_))), "row {row}");
    }
    // the same datanet with one example left out has another key: the proof
    // (and any proof for the subset) does not verify against the other
    let mut subset = table.clone();
    subset.rows.remove(1);
    let other = client.keygen_query(&shape, &subset, params.clone()).unwrap();
    assert_ne!(other.keys.vk.transcript_repr(), keys.keys.vk.transcript_repr());
    assert!(matches!(verifier.verify_with_key(&other.keys.vk, &inst, &proof.bytes), Err(Error::ProofRejected(_))));
    let sub_input = QueryInput::new(&model, &subset, &query, 1_000_000, U256::from(3)).unwrap();
    let sub_proof = client.prove_query(&other, &subset, &sub_input).unwrap();
    verifier.verify_with_key(&other.keys.vk, &sub_proof.public.to_instances(), &sub_proof.bytes).unwrap();
    assert!(verifier.verify_with_key(&keys.keys.vk, &sub_proof.public.to_instances(), &sub_proof.bytes).is_err());

    assert!(verifier.verify_with_key(&keys.keys.vk, &inst, &proof.bytes[..proof.bytes.len() - 1]).is_err());
    let mut padded = proof.bytes.clone();
    padded.push(0);
    assert!(matches!(verifier.verify_with_key(&keys.keys.vk, &inst, &padded), Err(Error::TrailingBytes { extra: 1 })));

    // the proving key as a versioned, hashed file: read back, it proves what
    // the original verifying key accepts; a flipped byte, a truncation,
    // another kind, other parameters or another pinned key are refused
    let kind = TableKind::Query(shape);
    let file = keys.keys.to_file_bytes(kind).unwrap();
    let vk_hash = keys.file().hash;
    let read = TableKeys::from_file_bytes(&file, kind, params.clone(), Some(&vk_hash)).unwrap();
    let again = QueryKeys { shape, keys: read };
    let p2 = client.prove_query(&again, &table, &input).unwrap();
    verifier.verify_with_key(&keys.keys.vk, &p2.public.to_instances(), &p2.bytes).unwrap();
    let key_file_err = |r: lineage_prover::Result<TableKeys>| matches!(r, Err(lineage_prover::Error::KeyFile(_)));
    let mut flipped = file.clone();
    flipped[file.len() / 2] ^= 1;
    assert!(key_file_err(TableKeys::from_file_bytes(&flipped, kind, params.clone(), None)));
    assert!(key_file_err(TableKeys::from_file_bytes(&file[..file.len() - 1], kind, params.clone(), None)));
    assert!(key_file_err(TableKeys::from_file_bytes(&file[..40], kind, params.clone(), None)));
    let other_kind = TableKind::Query(QueryShape::with_k(shape.capacity, shape.k + 1).unwrap());
    assert!(key_file_err(TableKeys::from_file_bytes(&file, other_kind, params.clone(), None)));
    let bigger = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k + 1).unwrap();
    assert!(key_file_err(TableKeys::from_file_bytes(&file, kind, bigger, None)));
    assert!(key_file_err(TableKeys::from_file_bytes(&file, kind, params.clone(), Some(&other.file().hash))));
    // a file re-hashed after its version changed is still refused
    let mut v2 = file[..file.len() - 32].to_vec();
    v2[13] = 2;
    let h = alloy_primitives::keccak256(&v2);
    v2.extend_from_slice(h.as_slice());
    assert!(key_file_err(TableKeys::from_file_bytes(&v2, kind, params, None)));
}
