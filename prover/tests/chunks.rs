//! Real keys and proofs of the feature chunks of a small datanet: every
//! chunk proof verifies; the per-query key of the table holds exactly the
//! sum of the chunk keys' feature commitments; the per-query key of a table
//! with one example changed does not; the chunks as a feature-proof file.

use lineage_circuits::{chunk::ChunkShape, query::QueryShape};
use lineage_core::{datanet::Datanet, features::FeatureTable, field::Fr};
use lineage_prover::{srs, ProverClient};
use lineage_verifier::{
    features::{check_chunks, check_feature_commitments, check_registration, TableRegistration},
    Error, FeatureProofFile, TableKeyFile, Verifier,
};

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
    let mut publics = Vec::new();
    let mut proofs = Vec::new();
    for j in 0..ChunkShape::count(8, table.len()) {
        let shape = ChunkShape::new(8, j, qshape.capacity, qshape.k).unwrap();
        let keys = client.keygen_chunk(&shape, &table, params.clone()).unwrap();
        let proof = client.prove_chunk(&keys, &table, &datanet, &model).unwrap();
        verifier.verify_with_key(&keys.keys.vk, &proof.public.to_instances(), &proof.bytes).unwrap();
        chunk_keys.push(keys);
        publics.push(proof.public);
        proofs.push(proof.bytes);
    }
    // all three in one batch (one final pairing); a changed public input,
    // a flipped proof byte, proofs swapped between keys, or a padded proof
    // fail the batch
    let inst: Vec<Vec<Fr>> = publics.iter().map(|p| p.to_instances()).collect();
    let batch = |inst: &[Vec<Fr>], proofs: &[Vec<u8>]| {
        let items: Vec<_> = chunk_keys.iter().zip(inst).zip(proofs).map(|((k, i), p)| (&k.keys.vk, &i[..], &p[..])).collect();
        verifier.verify_batch(&items)
    };
    batch(&inst, &proofs).unwrap();
    let mut bad_inst = inst.clone();
    bad_inst[2][1] += Fr::one();
    assert!(matches!(batch(&bad_inst, &proofs), Err(Error::ProofRejected(_))));
    let mut flipped = proofs.clone();
    flipped[1][100] ^= 1;
    assert!(matches!(batch(&inst, &flipped), Err(Error::ProofRejected(_))));
    let (mut si, mut sp) = (inst.clone(), proofs.clone());
    si.swap(0, 1);
    sp.swap(0, 1);
    assert!(matches!(batch(&si, &sp), Err(Error::ProofRejected(_))));
    let mut padded = proofs.clone();
    padded[0].push(0);
    assert!(matches!(batch(&inst, &padded), Err(Error::TrailingBytes { extra: 1 })));

    // the proven chunks cover the datanet version (what the chain checks at
    // registration); a subset, another count, another model, a broken
    // boundary or another order are refused
    let (root, n, m) = (datanet.root(), table.len(), model.commitment());
    check_chunks(root, n, m, 8, &publics).unwrap();
    assert!(matches!(check_chunks(root, n, m, 8, &publics[..2]), Err(Error::ChunkCoverage(_))));
    assert!(check_chunks(root, n - 1, m, 8, &publics).is_err());
    assert!(check_chunks(root, n, m + Fr::one(), 8, &publics).is_err());
    let mut broken = publics.clone();
    broken[0].next_contributor += Fr::one();
    assert!(check_chunks(root, n, m, 8, &broken).is_err());
    let mut reordered = publics.clone();
    reordered.swap(0, 1);
    assert!(check_chunks(root, n, m, 8, &reordered).is_err());
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

    // the registration check from the files an auditor (or the chain)
    // receives, each pinned by hash, against an allowlist of templates
    let (vp, k) = (verifier.params_hash(), qshape.k);
    let parse = |f: &TableKeyFile| TableKeyFile::from_pinned_bytes(&f.to_bytes(), &f.hash, k, &vp).unwrap();
    let chunk_files: Vec<_> = chunk_keys.iter().map(|c| parse(&c.file())).collect();
    let (qf, bf) = (parse(&query.file()), parse(&bad.file()));
    let mut allowed: Vec<_> = chunk_files.iter().map(|c| c.template_hash()).collect();
    allowed.push(qf.template_hash());
    let is_allowed = |h: &alloy_primitives::B256| allowed.contains(h);
    let entries: Vec<_> = chunk_files.iter().cloned().zip(publics.iter().cloned()).zip(proofs.iter().cloned()).map(|((f, p), b)| (f, p, b)).collect();
    let reg = |query: &TableKeyFile, chunks: &[(TableKeyFile, lineage_circuits::chunk::ChunkPublic, Vec<u8>)], examples: usize| {
        check_registration(&verifier, is_allowed, &TableRegistration { root, examples, model: m, query, chunks })
    };
    reg(&qf, &entries, n).unwrap();

    // the same as a feature-proof file: round trip, pinned, checked; its
    // stated feature commitments are the query key's; a changed commitment,
    // version, parameter hash, a truncation, padding or a query key posing
    // as a chunk key are refused
    let ff = FeatureProofFile::new(vp, root, m, n, entries.clone()).unwrap();
    let fb = ff.to_bytes();
    let back = FeatureProofFile::from_pinned_bytes(&fb, &ff.hash, k, &vp).unwrap();
    assert_eq!(back.hash, ff.hash);
    back.check(&verifier, is_allowed, &qf).unwrap();
    assert!(matches!(back.check(&verifier, is_allowed, &bf), Err(Error::FeatureCommitmentMismatch { .. })));
    let q_idx = qf.feature_indices();
    for (c, i) in q_idx.iter().enumerate() {
        assert_eq!(ff.feature_commitments[c], lineage_verifier::features::feature_commitment(&qf.vk, *i).unwrap());
    }
    assert!(FeatureProofFile::from_pinned_bytes(&fb, &qf.hash, k, &vp).is_err());
    let text = String::from_utf8(fb.clone()).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut changed = j.clone();
    changed["feature_commitments"][0] = j["feature_commitments"][1].clone();
    assert!(matches!(
        FeatureProofFile::from_bytes(&serde_json::to_vec(&changed).unwrap(), k, &vp),
        Err(Error::FeatureCommitmentMismatch { .. })
    ));
    let mut v2 = j.clone();
    v2["version"] = 2.into();
    assert!(matches!(FeatureProofFile::from_bytes(&serde_json::to_vec(&v2).unwrap(), k, &vp), Err(Error::Version { found: 2, .. })));
    assert!(matches!(FeatureProofFile::from_bytes(&fb, k, &alloy_primitives::B256::ZERO), Err(Error::KeyForOtherParams { .. })));
    assert!(matches!(FeatureProofFile::from_bytes(&fb[..fb.len() - 1], k, &vp), Err(Error::Malformed { .. })));
    let mut padded = fb.clone();
    padded.push(b' ');
    assert!(matches!(FeatureProofFile::from_bytes(&padded, k, &vp), Err(Error::Malformed { .. })));
    let mut posing = j.clone();
    posing["chunks"][0]["key"] = hex::encode(qf.to_bytes()).into();
    assert!(FeatureProofFile::from_bytes(&serde_json::to_vec(&posing).unwrap(), k, &vp).is_err());
    assert!(matches!(reg(&bf, &entries, n), Err(Error::FeatureCommitmentMismatch { .. })));
    assert!(matches!(reg(&qf, &entries[..2], n), Err(Error::ChunkCoverage(_))));
    assert!(matches!(reg(&qf, &entries, n + 1), Err(Error::ChunkCoverage(_))));
    assert!(matches!(reg(&qf, &entries, qshape.capacity + 1), Err(Error::ChunkCoverage(_))));
    let mut swapped = entries.clone();
    swapped.swap(0, 1);
    assert!(reg(&qf, &swapped, n).is_err());
    let mut bad_proof = entries.clone();
    bad_proof[1].2[40] ^= 1;
    assert!(reg(&qf, &bad_proof, n).is_err());
    // a template that is not allowlisted is refused
    assert!(matches!(
        check_registration(&verifier, |h| *h != qf.template_hash(), &TableRegistration { root, examples: n, model: m, query: &qf, chunks: &entries }),
        Err(Error::TemplateNotAllowed(_))
    ));
    // templates: equal for any table of one shape, different across chunks and kinds
    assert_eq!(qf.template_hash(), bf.template_hash());
    assert_ne!(qf.hash, bf.hash);
    assert_ne!(chunk_files[0].template_hash(), chunk_files[1].template_hash());
    assert_ne!(chunk_files[1].template_hash(), qf.template_hash());
    let bytes = qf.to_bytes();
    eprintln!("per-query key file: {} bytes; chunk key file: {} bytes", bytes.len(), chunk_files[0].to_bytes().len());
    // hostile files: truncated, padded, another k, another shape, unknown field
    assert!(TableKeyFile::from_bytes(&bytes[..bytes.len() - 1], k, &vp).is_err());
    let mut padded = bytes.clone();
    padded.push(b' ');
    assert!(TableKeyFile::from_bytes(&padded, k, &vp).is_err());
    assert!(matches!(TableKeyFile::from_bytes(&bytes, k + 1, &vp), Err(Error::KeyBounds(_))));
    let text = String::from_utf8(bytes.clone()).unwrap();
    let other_shape = text.replacen(&format!("\"capacity\":{}", qshape.capacity), &format!("\"capacity\":{}", qshape.capacity + 1), 1);
    // (a key relabelled with another capacity parses, but its template hash
    // changes, so no allowlist of the real shapes accepts it)
    let relabelled = TableKeyFile::from_bytes(other_shape.as_bytes(), k, &vp).unwrap();
    assert_ne!(relabelled.template_hash(), qf.template_hash());
    let impossible = text.replacen(&format!("\"capacity\":{}", qshape.capacity), "\"capacity\":100000", 1);
    assert!(matches!(TableKeyFile::from_bytes(impossible.as_bytes(), k, &vp), Err(Error::KeyBounds(_))));
    let extra = text.replacen("{\"format\"", "{\"x\":1,\"format\"", 1);
    assert!(matches!(TableKeyFile::from_bytes(extra.as_bytes(), k, &vp), Err(Error::Malformed { .. })));
}

/// A new datanet version that appends contributions re-proves only the
/// chunks whose rows changed, as long as the per-query shape's capacity has
/// room for it: here 2 examples appended to 20 (chunks of 8, capacity 32)
/// touch chunk 2 alone; chunks 0 and 1 (keys, public inputs, proofs) are
/// reused, and the new version's registration passes with them.
#[test]
fn appending_contributions_reproves_only_the_chunks_it_touches() {
    let full = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 100, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let examples: Vec<_> = full.contributions.iter().step_by(61).take(22).cloned().collect();
    let v1 = Datanet::new("v1".into(), examples[..20].to_vec()).unwrap();
    let v2 = Datanet::new("v2".into(), examples.clone()).unwrap();
    let (t1, t2) = (FeatureTable::build(&model, &v1).unwrap(), FeatureTable::build(&model, &v2).unwrap());
    // a capacity with headroom (32) serves both versions: same chunk shapes, same per-query shape
    let shape = QueryShape::new(32).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let params = srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap();
    let verifier = Verifier::new(lineage_verifier::VerifierParams::from_srs(&params));
    let prove = |table: &FeatureTable, datanet: &Datanet, j: usize| {
        let cs = ChunkShape::new(8, j, shape.capacity, shape.k).unwrap();
        let keys = client.keygen_chunk(&cs, table, params.clone()).unwrap();
        let p = client.prove_chunk(&keys, table, datanet, &model).unwrap();
        (keys.file(), p.public, p.bytes)
    };
    let old: Vec<_> = (0..3).map(|j| prove(&t1, &v1, j)).collect();
    // version 2: chunks 0 and 1 unchanged, chunk 2 re-proven
    let mut new = old[..2].to_vec();
    new.push(prove(&t2, &v2, 2));
    assert_ne!(new[2].0.hash, old[2].0.hash);
    let query = client.keygen_query(&shape, &t2, params.clone()).unwrap().file();
    let mut allowed: Vec<_> = new.iter().map(|c| c.0.template_hash()).collect();
    allowed.push(query.template_hash());
    let reg = |chunks: &[lineage_verifier::feature_file::ChunkEntry]| {
        check_registration(&verifier, |h| allowed.contains(h), &TableRegistration { root: v2.root(), examples: 22, model: model.commitment(), query: &query, chunks })
    };
    reg(&new).unwrap();
    // the old version's last chunk does not cover the new version
    assert!(reg(&old).is_err());
}
