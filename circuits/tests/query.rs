//! MockProver tests of the per-query (whole-datanet) circuit: a valid witness
//! passes and reproduces the native scores and payouts; a changed feature
//! entry, a skipped or duplicated example, a moved segment boundary, a
//! tampered score, share or total, and every public input fail with the
//! exact expected failure.

mod common;

use common::{feature_copy_failure, gate_failure, instance_failure};
use alloy_primitives::U256;
use lineage_circuits::{
    halo2_base::halo2_proofs::plonk::Assigned,
    halo2_proofs::dev::{MockProver, VerifyFailure},
    query::{QueryCircuit, QueryHandles, QueryInput, QueryPublic, QueryShape},
    AssignedValue, CircuitBuilderStage, Fr,
};
use lineage_core::{
    datanet::Datanet,
    features::{sums_offset, FeatureTable, DELTA_OFFSET, END_OFFSET, PIXEL_OFFSET, WIDTH},
    model::QuantizedModel,
};
use std::sync::OnceLock;

const POOL: u128 = 5_000_000_000_000_000_000;

struct Fixture {
    datanet: Datanet,
    model: QuantizedModel,
    table: FeatureTable,
    shape: QueryShape,
    query: Vec<u8>,
    input: QueryInput,
    public: QueryPublic,
}

/// Every 22nd example of the digits datanet (several contributors, still
/// sorted), a trained model and a held-out query.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let full = lineage_inference::digits_datanet().unwrap();
        let cfg = lineage_inference::TrainConfig { epochs: 150, ..Default::default() };
        let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
        let subset = full.contributions.iter().step_by(22).cloned().collect();
        let datanet = Datanet::new("subset".into(), subset).unwrap();
        let table = FeatureTable::build(&model, &datanet).unwrap();
        assert!(table.segments() >= 5, "the fixture spans several contributors");
        let shape = QueryShape::new(table.len() + 2).unwrap(); // two zero rows after the table
        let query = lineage_inference::digits_heldout().unwrap().get(1789).unwrap().pixels.clone();
        let input = QueryInput::new(&model, &table, &query, POOL, U256::from(7)).unwrap();
        let public = input.public().unwrap();
        Fixture { datanet, model, table, shape, query, input, public }
    })
}

fn build(table: &FeatureTable, input: &QueryInput) -> (QueryCircuit, QueryHandles) {
    lineage_circuits::query::build(CircuitBuilderStage::Mock, &fixture().shape, table, input, None).unwrap()
}

fn verify(circuit: &QueryCircuit, instances: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(circuit.k, circuit, vec![instances]).unwrap().verify()
}

fn tamper(circuit: &mut QueryCircuit, cell: AssignedValue<Fr>) {
    let offset = cell.cell.unwrap().offset;
    let ctx = circuit.builder.main(0);
    let old = ctx.advice[offset].evaluate();
    ctx.advice[offset] = Assigned::Trivial(old + Fr::one());
}

#[test]
fn valid_witness_passes_and_matches_the_native_split() {
    let f = fixture();
    let (circuit, h) = build(&f.table, &f.input);
    assert_eq!(verify(&circuit, f.public.to_instances()), Ok(()));
    for (i, s) in f.input.attribution.scores.iter().enumerate() {
        assert_eq!(*h.scores[i].value(), lineage_core::field::fr_from_i128(*s), "score {i}");
    }
    // zero rows after the table score 0
    assert_eq!(*h.scores[f.table.len()].value(), Fr::zero());
    let ends: Vec<usize> = (0..f.table.len()).filter(|i| f.table.rows[*i].end).collect();
    assert_eq!(ends.len(), f.input.attribution.segments.len());
    for (e, (_, t)) in ends.iter().zip(&f.input.attribution.segments) {
        assert_eq!(*h.totals[*e].value(), lineage_core::field::fr_from_i128(*t));
    }
    assert!(f.input.attribution.segments.iter().any(|(_, t)| *t > 0) && f.input.attribution.segments.iter().any(|(_, t)| *t < 0), "the fixture has contributors on both sides");
    assert_eq!(f.input.payouts.iter().map(|p| p.amount_wei).sum::<u128>(), POOL);
    // every example of the datanet is covered, with its own contributor
    assert_eq!(f.input.attribution.scores.len(), f.datanet.contributions.len());
    let _ = (&f.model, &f.query);
}

#[test]
fn changed_feature_entry_breaks_its_copy() {
    let f = fixture();
    // a hidden activation, a residual, a δ, a pixel, an end flag, a model
    // parameter, and the factor sums: the count, a Σh̃h̃ᵀ entry, a Σpp entry
    let sums = sums_offset(f.shape.capacity);
    let pp = sums + lineage_core::kfac::sums_layout::PP + 100;
    for j in [0, 17, WIDTH * 2 + DELTA_OFFSET + 3, WIDTH * 5 + PIXEL_OFFSET + 20, WIDTH * 4 + END_OFFSET, WIDTH * f.shape.capacity + 7, sums, sums + 1, pp] {
        let (mut circuit, _) = build(&f.table, &f.input);
        circuit.column[j] += Fr::one();
        let errs = verify(&circuit, f.public.to_instances()).unwrap_err();
        assert!(feature_copy_failure(&errs), "entry {j}: {errs:?}");
    }
}

/// A witness computed from `other` checked against the key's real table:
/// the proof a prover would make by leaving out, repeating or regrouping
/// examples.
fn other_table_fails(other: FeatureTable) {
    let f = fixture();
    let input = QueryInput::new(&f.model, &other, &f.query, POOL, U256::from(7)).unwrap();
    let (mut circuit, _) = build(&other, &input);
    circuit.column = f.table.column(f.shape.capacity).unwrap();
    let errs = verify(&circuit, input.public().unwrap().to_instances()).unwrap_err();
    assert!(feature_copy_failure(&errs), "{errs:?}");
}

#[test]
fn skipped_example_fails() {
    let mut t = fixture().table.clone();
    t.rows.remove(3);
    other_table_fails(t);
}

#[test]
fn duplicated_example_fails() {
    let mut t = fixture().table.clone();
    let r = t.rows[2];
    t.rows[3] = r;
    other_table_fails(t);
}

#[test]
fn moved_segment_boundary_fails() {
    let t0 = &fixture().table;
    let mut t = t0.clone();
    let e = (0..t.len()).find(|i| t.rows[*i].end).unwrap();
    t.rows[e].end = false;
    t.rows[e + 1].end = true;
    other_table_fails(t);
}

#[test]
fn tampered_score_or_total_fails_its_gate() {
    let f = fixture();
    let last = f.table.len() - 1;
    let pick = |h: &QueryHandles, n: usize| -> AssignedValue<Fr> { [h.scores[1], h.totals[4], h.totals[last]][n] };
    for n in 0..3 {
        let (mut circuit, h) = build(&f.table, &f.input);
        tamper(&mut circuit, pick(&h, n));
        let errs = verify(&circuit, f.public.to_instances()).unwrap_err();
        assert!(gate_failure(&errs), "case {n}: {errs:?}");
    }
}

#[test]
fn a_tampered_solution_cell_fails() {
    // u, a, b: one cell each moved by one after assignment (its copies break)
    let f = fixture();
    for n in 0..3 {
        let (mut circuit, h) = build(&f.table, &f.input);
        tamper(&mut circuit, h.solutions[n][2]);
        let errs = verify(&circuit, f.public.to_instances()).unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. })), "solution {n}: {errs:?}");
    }
}

#[test]
fn a_solution_off_by_more_than_its_bound_fails_the_linear_check() {
    // a prover who shifts a solution entry to move the scores: the witness
    // is consistent (scores and totals follow it, the public digest is the
    // shifted claim's) but a row's residual leaves its bound
    let f = fixture();
    for n in 0..3 {
        let mut input = f.input.clone();
        let sol = &mut input.attribution.solutions;
        sol.fine[n][1] += 64 << 16; // 64 units at the scores' scale
        let c = lineage_core::linear::coarse(sol.fine[n][1]);
        match n {
            0 => sol.u[1] = c,
            1 => sol.a[1] = c,
            _ => sol.b[1] = c,
        }
        let (circuit, h) = build(&f.table, &input);
        // the claim this witness would prove: its own totals
        let mut segments = lineage_core::features::claim_segments(&input.attribution);
        let ends: Vec<usize> = (0..f.table.len()).filter(|i| f.table.rows[*i].end).collect();
        for (s, e) in segments.iter_mut().zip(&ends) {
            s.1 = lineage_core::field::fr_to_i128(h.totals[*e].value()).unwrap();
        }
        let mut inst = f.public.to_instances();
        inst[3] = lineage_core::features::segment_digest(input.challenge, &segments);
        let errs = verify(&circuit, inst).unwrap_err();
        // only the residual's range checks fail: no instance, no copy of a feature
        assert!(!errs.is_empty() && errs.iter().all(|e| matches!(e, VerifyFailure::Permutation { .. } | VerifyFailure::Lookup { .. })), "solution {n}: {errs:?}");
        assert!(!feature_copy_failure(&errs) && !instance_failure(&errs, 3), "solution {n}: {errs:?}");
    }
    // and natively the same shift is refused by the spec's check
    let factors = lineage_core::kfac::Factors::build(&f.model, &f.table).unwrap();
    let mut u = f.input.attribution.solutions.fine[0].clone();
    u[1] += 64 << 16;
    let hq = lineage_core::kfac::hidden_fine(&f.model, &f.query);
    assert!(lineage_core::linear::check(&factors.a2, &u, &hq, lineage_core::kfac::H1).is_err());
}

#[test]
fn a_fine_shift_within_the_bound_rounds_to_the_same_claim() {
    // the check's slack at the fine scale: a prover may witness another
    // fine solution that passes every row's bound, but it rounds to the
    // same solution at the scores' scale, so the claim is the honest one
    let f = fixture();
    let factors = lineage_core::kfac::Factors::build(&f.model, &f.table).unwrap();
    let x = lineage_core::kfac::centred(&f.query).iter().map(|v| v * 256).collect::<Vec<_>>();
    let honest = &f.input.attribution.solutions;
    let mut b = honest.fine[2].clone();
    // the largest shift of b[0] the native check still accepts
    let mut step = 0;
    while lineage_core::linear::check(&factors.a1, &{ let mut t = b.clone(); t[0] += step + 1; t }, &x, lineage_core::kfac::X1).is_ok() {
        step += 1;
    }
    assert!(step > 0, "the check leaves some slack");
    b[0] += step;
    assert_eq!(lineage_core::linear::coarse(b[0]), honest.b[0], "a shift of {step} fine units keeps the rounded solution");
    let mut input = f.input.clone();
    input.attribution.solutions.fine[2] = b;
    let (circuit, _) = build(&f.table, &input);
    assert_eq!(verify(&circuit, f.public.to_instances()), Ok(()));
}

#[test]
fn every_public_input_is_bound() {
    let f = fixture();
    let (circuit, _) = build(&f.table, &f.input);
    for row in 0..lineage_circuits::query::QUERY_INSTANCES {
        let mut inst = f.public.to_instances();
        inst[row] += Fr::one();
        let errs = verify(&circuit, inst).unwrap_err();
        assert!(instance_failure(&errs, row), "row {row}: {errs:?}");
    }
}

#[test]
fn a_claim_with_other_totals_has_another_digest() {
    let f = fixture();
    let mut segments = lineage_core::features::claim_segments(&f.input.attribution);
    segments[0].1 ^= 1;
    let d = lineage_core::features::segment_digest(f.input.challenge, &segments);
    assert_ne!(d, f.public.digest);
    let (circuit, _) = build(&f.table, &f.input);
    let mut inst = f.public.to_instances();
    inst[3] = d;
    assert!(instance_failure(&verify(&circuit, inst.clone()).unwrap_err(), 3));
    // totals clamped at zero before summing per contributor (the old rule)
    // are another list: the proof binds the signed totals
    let mut clamped = lineage_core::features::claim_segments(&f.input.attribution);
    clamped.iter_mut().for_each(|s| s.1 = s.1.max(0));
    assert_ne!(clamped, lineage_core::features::claim_segments(&f.input.attribution));
    inst[3] = lineage_core::features::segment_digest(f.input.challenge, &clamped);
    assert!(instance_failure(&verify(&circuit, inst).unwrap_err(), 3));
}
