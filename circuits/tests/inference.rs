//! MockProver tests of the inference circuit (forward pass alone): a valid
//! witness passes; a wrong class, a key with one changed parameter (the
//! weights are the circuit's constants) and each public input fail with the
//! expected failure.

use lineage_circuits::{
    halo2_proofs::dev::{MockProver, VerifyFailure},
    inference::{self, public_inputs},
    CircuitBuilderStage, Fr,
};
use lineage_core::{attribution, model::QuantizedModel};

fn model() -> QuantizedModel {
    let w = |n: usize, m: i32| (0..n).map(|i| ((i as i32 * 37 + m) % 201) - 100).collect::<Vec<_>>();
    QuantizedModel { w1: w(1024, 3), b1: w(16, 5), w2: w(160, 7), b2: w(10, 11) }
}

fn query() -> Vec<u8> {
    (0..64).map(|p| ((p * 5) % 17) as u8).collect()
}

fn run(model: &QuantizedModel, predicted: usize, inst: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    let c = inference::build(CircuitBuilderStage::Mock, model, &query(), predicted, None).unwrap();
    MockProver::run(c.k, &c, vec![inst]).unwrap().verify()
}

#[test]
fn forward_pass_is_proven_and_bound() {
    let m = model();
    let c = attribution::predict(&m, &query());
    let inst = public_inputs(&m, &query()).unwrap();
    assert_eq!(inst[10], Fr::from(c as u64));
    assert_eq!(run(&m, c, inst.clone()), Ok(()));
    // another class is not the argmax: a range check fails
    let other = (c + 1) % 10;
    let mut other_inst = inst.clone();
    other_inst[10] = Fr::from(other as u64);
    let errs = run(&m, other, other_inst).unwrap_err();
    assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Lookup { .. })), "{errs:?}");
    // a key fixing one other parameter does not prove the original model's outputs
    let mut changed = m.clone();
    changed.b2[0] += 1;
    let errs = run(&changed, c, inst.clone()).unwrap_err();
    assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. }) && e.to_string().contains("Column('Instance', 0")), "{errs:?}");
    for row in 0..inference::INFERENCE_INSTANCES {
        let mut bad = inst.clone();
        bad[row] += Fr::one();
        let errs = run(&m, c, bad).unwrap_err();
        assert!(errs.iter().any(|e| matches!(e, VerifyFailure::Permutation { .. }) && e.to_string().contains("Column('Instance', 0")), "{errs:?}");
    }
}
