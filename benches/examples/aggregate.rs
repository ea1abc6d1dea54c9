//! Item 4 of the whole-datanet issue, measured: what would aggregating a
//! claim's proof (snark-verifier's SHPLONK aggregation circuit) cost against
//! verifying it natively, alone or in a batch with one final pairing?
//!
//! ```sh
//! cargo run --release -p lineage-benches --features aggregation --example aggregate -- [K_AGG] [SNARKS]
//! ```
//!
//! The per-query proof over every example of the digits datanet (k = 15)
//! is proven twice — with the Blake2b transcript the chain verifies, and
//! with the Poseidon transcript an aggregation circuit reads — then
//! `SNARKS` copies (default 1) are aggregated at `K_AGG` (default 20) under
//! the development SRS (one seed, so one τ at every k). Prints one JSON line.

use lineage_circuits::{
    halo2_proofs::{
        plonk::{create_proof, keygen_pk, keygen_vk},
        poly::{
            commitment::{Params, ParamsProver},
            kzg::{commitment::KZGCommitmentScheme, multiopen::ProverSHPLONK},
        },
    },
    query::{QueryInput, QueryShape},
    Bn256, Fr, G1Affine,
};
use lineage_core::features::FeatureTable;
use lineage_prover::{srs, ProverClient};
use lineage_verifier::Verifier;
use rand_chacha::rand_core::SeedableRng;
use snark_verifier_sdk::{
    halo2::{
        aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality},
        PoseidonTranscript, POSEIDON_SPEC,
    },
    snark_verifier::{
        pcs::kzg::KzgDecidingKey,
        system::halo2::{compile, Config},
        verifier::SnarkVerifier,
    },
    CircuitExt, NativeLoader, PlonkVerifier, Snark, SHPLONK,
};
use std::time::Instant;

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kb| kb / 1024)
}

fn median_ms(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let k_agg: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let copies: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);

    // ---- the claim's proof, as the chain verifies it ---------------------------
    let datanet = lineage_inference::digits_datanet().unwrap();
    let model = lineage_inference::train(&datanet, &Default::default(), &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let shape = QueryShape::new(table.len()).unwrap();
    let cache = srs::default_cache_dir();
    let params = srs::cached_dev_srs(&cache, shape.k).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let keys = client.keygen_query(&shape, &table, params.clone()).unwrap();
    let query = lineage_inference::digits_heldout().unwrap().get(lineage_inference::DEFAULT_QUERY_INDEX).unwrap().pixels.clone();
    let input = QueryInput::new(&model, &table, &query, 5_000_000_000_000_000_000, alloy_primitives::U256::from(7)).unwrap();
    let native = client.prove_query(&keys, &table, &input).unwrap();
    let instances = native.public.to_instances();
    let verifier = Verifier::new(keys.keys.verifier_params.clone());
    let native_verify_ms = median_ms(|| verifier.verify_with_key(&keys.keys.vk, &instances, &native.bytes).unwrap(), 21);
    let batch: Vec<_> = (0..copies.max(2)).map(|_| (&keys.keys.vk, &instances[..], &native.bytes[..])).collect();
    let batch_verify_ms = median_ms(|| verifier.verify_batch(&batch).unwrap(), 11);
    eprintln!("native proof {} B in {:?}; verify {native_verify_ms:.2} ms; batch of {} {batch_verify_ms:.2} ms", native.bytes.len(), native.prove_time, batch.len());

    // ---- the same proof with the Poseidon transcript ---------------------------
    let t = Instant::now();
    let (circuit, _) = lineage_circuits::query::build(
        halo2_base::gates::circuit::CircuitBuilderStage::Prover,
        &shape,
        &table,
        &input,
        keys.keys.prover_config(),
    )
    .unwrap();
    let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &params,
        &keys.keys.pk,
        &[circuit],
        &[&[&instances[..]]],
        rand_chacha::ChaCha20Rng::from_entropy(),
        &mut transcript,
    )
    .unwrap();
    let poseidon_proof = transcript.finalize();
    let poseidon_prove_s = t.elapsed().as_secs_f64();
    let protocol = compile(&params, &keys.keys.vk, Config::kzg().with_num_instance(vec![instances.len()]).with_accumulator_indices(None));
    let snark = Snark::new(protocol, vec![instances.clone()], poseidon_proof.clone());
    eprintln!("poseidon-transcript proof {} B in {poseidon_prove_s:.2} s", poseidon_proof.len());

    // ---- aggregation ------------------------------------------------------------
    let t = Instant::now();
    let agg_params = srs::cached_dev_srs(&cache, k_agg).unwrap();
    let srs_s = t.elapsed().as_secs_f64();
    let snarks = vec![snark; copies];
    let t = Instant::now();
    let mut kc = AggregationCircuit::new::<SHPLONK>(
        halo2_base::gates::circuit::CircuitBuilderStage::Keygen,
        AggregationConfigParams { degree: k_agg, lookup_bits: k_agg as usize - 1, ..Default::default() },
        &agg_params,
        snarks.clone(),
        VerifierUniversality::None,
    );
    let agg_config = kc.calculate_params(Some(20));
    let vk = keygen_vk(&agg_params, &kc).unwrap();
    let pk = keygen_pk(&agg_params, vk, &kc).unwrap();
    let break_points = kc.break_points();
    drop(kc);
    let keygen_s = t.elapsed().as_secs_f64();
    eprintln!("aggregation circuit k = {k_agg}: {agg_config:?}; keygen {keygen_s:.1} s (SRS load {srs_s:.1} s)");

    let t = Instant::now();
    let circuit = AggregationCircuit::new::<SHPLONK>(
        halo2_base::gates::circuit::CircuitBuilderStage::Prover,
        agg_config.clone(),
        &agg_params,
        snarks,
        VerifierUniversality::None,
    )
    .use_break_points(break_points);
    let agg_instances = circuit.instances();
    let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    let inst: Vec<&[Fr]> = agg_instances.iter().map(Vec::as_slice).collect();
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &agg_params,
        &pk,
        &[circuit],
        &[&inst[..]],
        rand_chacha::ChaCha20Rng::from_entropy(),
        &mut transcript,
    )
    .unwrap();
    let agg_proof = transcript.finalize();
    let agg_prove_s = t.elapsed().as_secs_f64();
    eprintln!("aggregated proof {} B in {agg_prove_s:.1} s", agg_proof.len());

    // ---- verifying the aggregate: the outer proof and the deferred pairing -------
    let protocol = compile(
        &agg_params,
        pk.get_vk(),
        Config::kzg().with_num_instance(vec![agg_instances[0].len()]).with_accumulator_indices(AggregationCircuit::accumulator_indices()),
    );
    let dk: KzgDecidingKey<Bn256> = (agg_params.get_g()[0], agg_params.g2(), agg_params.s_g2()).into();
    type V = PlonkVerifier<SHPLONK>;
    let verify = || {
        let mut t = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(&agg_proof[..], POSEIDON_SPEC.clone());
        let proof = <V as SnarkVerifier<G1Affine, NativeLoader>>::read_proof(&dk, &protocol, &agg_instances, &mut t).unwrap();
        <V as SnarkVerifier<G1Affine, NativeLoader>>::verify(&dk, &protocol, &agg_instances, &proof).unwrap();
    };
    let agg_verify_ms = median_ms(verify, 21);
    // a changed accumulator limb must fail
    let mut bad = agg_instances.clone();
    bad[0][0] += Fr::one();
    let mut t = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(&agg_proof[..], POSEIDON_SPEC.clone());
    let rejected = match <V as SnarkVerifier<G1Affine, NativeLoader>>::read_proof(&dk, &protocol, &bad, &mut t) {
        Err(_) => true,
        Ok(p) => <V as SnarkVerifier<G1Affine, NativeLoader>>::verify(&dk, &protocol, &bad, &p).is_err(),
    };
    let _ = agg_params.k();
    println!(
        "{}",
        serde_json::json!({
            "examples": table.len(),
            "query_k": shape.k,
            "native_proof_bytes": native.bytes.len(),
            "native_prove_s": native.prove_time.as_secs_f64(),
            "native_verify_ms": native_verify_ms,
            "batch_of": batch.len(),
            "batch_verify_ms": batch_verify_ms,
            "poseidon_prove_s": poseidon_prove_s,
            "snarks_aggregated": copies,
            "agg_k": k_agg,
            "agg_config": format!("{agg_config:?}"),
            "agg_keygen_s": keygen_s,
            "agg_prove_s": agg_prove_s,
            "agg_proof_bytes": agg_proof.len(),
            "agg_instances": agg_instances[0].len(),
            "agg_verify_ms": agg_verify_ms,
            "tampered_accumulator_rejected": rejected,
            "peak_rss_mib": peak_rss_mib(),
        })
    );
}
