//! MockProver tests of the attribution circuit: a valid witness passes;
//! tampering one witness cell, the prover's data, or any public input fails
//! with the exact expected failure.

mod common;

use common::fixture;
use lineage_circuits::{
    build_circuit,
    halo2_proofs::dev::{MockProver, VerifyFailure},
    halo2_base::halo2_proofs::plonk::Assigned,
    AssignedValue, CircuitBuilderStage, Fr, Handles,
};

fn run(
    input: &lineage_circuits::AttributionInput,
    instances: Vec<Fr>,
    tamper: impl FnOnce(&Handles) -> Option<AssignedValue<Fr>>,
) -> Result<(), Vec<VerifyFailure>> {
    let f = fixture();
    let (mut builder, handles) = build_circuit(CircuitBuilderStage::Mock, &f.shape, input, None).unwrap();
    if let Some(cell) = tamper(&handles) {
        let offset = cell.cell.unwrap().offset;
        let ctx = builder.main(0);
        let old = ctx.advice[offset].evaluate();
        ctx.advice[offset] = Assigned::Trivial(old + Fr::one());
    }
    MockProver::run(f.shape.k, &builder, vec![instances]).unwrap().verify()
}

fn gate_failure(errs: &[VerifyFailure]) -> bool {
    errs.iter().any(|e| matches!(e, VerifyFailure::ConstraintNotSatisfied { .. }))
}

fn advice_copy_failure(errs: &[VerifyFailure]) -> bool {
    errs.iter()
        .any(|e| matches!(e, VerifyFailure::Permutation { .. }) && e.to_string().contains("Column('Advice'"))
}

fn instance_failure(errs: &[VerifyFailure], row: usize) -> bool {
    errs.iter().any(|e| {
        matches!(e, VerifyFailure::Permutation { .. }) && {
            let s = e.to_string();
            s.contains("Column('Instance', 0") && s.ends_with(&format!("on row {row})"))
        }
    })
}

#[test]
fn valid_witness_passes() {
    let f = fixture();
    assert_eq!(run(&f.input, f.public.to_instances(), |_| None), Ok(()));
}

#[test]
fn tampered_weight_cell_fails_its_gate() {
    let f = fixture();
    let errs = run(&f.input, f.public.to_instances(), |h| Some(h.first_weight)).unwrap_err();
    assert!(gate_failure(&errs), "{errs:?}");
}

#[test]
fn tampered_example_cell_breaks_its_copies() {
    // a loaded pixel is only referenced through copy constraints (lookup
    // column, packing, inner products), so its tampering shows as a broken
    // advice permutation
    let f = fixture();
    let errs = run(&f.input, f.public.to_instances(), |h| Some(h.first_example_pixel)).unwrap_err();
    assert!(advice_copy_failure(&errs), "{errs:?}");
}

#[test]
fn tampered_score_cell_fails_its_gate() {
    let f = fixture();
    let errs = run(&f.input, f.public.to_instances(), |h| Some(h.scores[0])).unwrap_err();
    assert!(gate_failure(&errs), "{errs:?}");
}

#[test]
fn tampered_share_cell_fails_its_gate() {
    let f = fixture();
    let errs = run(&f.input, f.public.to_instances(), |h| Some(h.shares[0])).unwrap_err();
    assert!(gate_failure(&errs), "{errs:?}");
}

#[test]
fn every_tampered_public_input_fails_at_its_row() {
    let f = fixture();
    for row in 0..lineage_circuits::NUM_INSTANCES {
        let mut inst = f.public.to_instances();
        inst[row] += Fr::one();
        let errs = run(&f.input, inst, |_| None).unwrap_err();
        assert!(instance_failure(&errs, row), "row {row}: {errs:?}");
    }
}

#[test]
fn other_weights_than_committed_fail_the_model_commitment() {
    let f = fixture();
    let mut input = f.input.clone();
    input.model.w1[5] += 1;
    let errs = run(&input, f.public.to_instances(), |_| None).unwrap_err();
    assert!(instance_failure(&errs, 1), "{errs:?}");
}

#[test]
fn altered_training_example_fails_the_datanet_root() {
    let f = fixture();
    let mut input = f.input.clone();
    input.examples[1].payload.pixels[10] = (input.examples[1].payload.pixels[10] + 1) % 17;
    let errs = run(&input, f.public.to_instances(), |_| None).unwrap_err();
    assert!(instance_failure(&errs, 0), "{errs:?}");
}

#[test]
fn shifted_payouts_fail_the_payout_commitment() {
    // Claiming a different split (1 wei moved between contributors) with the
    // honest public payout commitment cannot be proven: the circuit computes
    // the split itself, so a prover who wants another split must publish
    // another commitment — which the chain recomputes from the claim.
    let f = fixture();
    let mut input = f.input.clone();
    input.pool += 1;
    let errs = run(&input, f.public.to_instances(), |_| None).unwrap_err();
    assert!(instance_failure(&errs, 4), "{errs:?}");
}

#[test]
fn wrong_predicted_class_fails_argmax() {
    let f = fixture();
    let mut input = f.input.clone();
    input.predicted = (input.predicted + 1) % 10;
    let mut public = f.public.clone();
    public.predicted_class = input.predicted as u64;
    let errs = run(&input, public.to_instances(), |_| None).unwrap_err();
    // argmax range check fails (lookup) — and the payout commitment changes
    assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Lookup { .. })), "{errs:?}");
}
