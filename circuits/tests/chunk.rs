//! MockProver tests of the feature-chunk circuit: every chunk of a small
//! datanet (the last one partial) passes with its public inputs, and the
//! chunks' shares of the feature column add up to the whole table; a changed
//! feature entry inside the chunk, a nonzero entry outside it, a changed
//! example, and every public input fail with the exact expected failure.

mod common;

use common::{feature_copy_failure, instance_failure};
use lineage_circuits::{
    chunk::{self, ChunkInput, ChunkPublic, ChunkShape, CHUNK_INSTANCES},
    halo2_proofs::dev::{MockProver, VerifyFailure},
    query::QueryShape,
    CircuitBuilderStage, Fr,
};
use lineage_core::{
    datanet::Datanet,
    features::{FeatureTable, WIDTH},
    model::QuantizedModel,
};
use std::sync::OnceLock;

const SIZE: usize = 8;

struct Fixture {
    datanet: Datanet,
    model: QuantizedModel,
    table: FeatureTable,
    capacity: usize,
    k: u32,
}

/// 20 examples spread over several contributors: chunks of 8, 8 and 4.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let full = lineage_inference::digits_datanet().unwrap();
        let cfg = lineage_inference::TrainConfig { epochs: 100, ..Default::default() };
        let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
        let subset = full.contributions.iter().step_by(72).take(20).cloned().collect();
        let datanet = Datanet::new("subset".into(), subset).unwrap();
        let table = FeatureTable::build(&model, &datanet).unwrap();
        let q = QueryShape::new(table.len()).unwrap();
        Fixture { datanet, model, table, capacity: q.capacity, k: q.k }
    })
}

fn shape(index: usize) -> ChunkShape {
    let f = fixture();
    ChunkShape::new(SIZE, index, f.capacity, f.k).unwrap()
}

fn run(index: usize, column: Vec<Fr>, input: &ChunkInput, instances: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    let s = shape(index);
    let circuit = chunk::build(CircuitBuilderStage::Mock, &s, column, input, None).unwrap();
    MockProver::run(s.k, &circuit, vec![instances]).unwrap().verify()
}

fn honest(index: usize) -> (Vec<Fr>, ChunkInput, ChunkPublic) {
    let f = fixture();
    let s = shape(index);
    let input = ChunkInput::new(&s, &f.model, &f.datanet).unwrap();
    let public = input.public(&s).unwrap();
    (chunk::chunk_column(&s, &f.table).unwrap(), input, public)
}

#[test]
fn every_chunk_passes_and_the_shares_add_up_to_the_table() {
    let f = fixture();
    let chunks = ChunkShape::count(SIZE, f.table.len());
    assert_eq!(chunks, 3);
    let mut sum = vec![Fr::zero(); lineage_core::features::column_len(f.capacity)];
    for j in 0..chunks {
        let (column, input, public) = honest(j);
        for (s, c) in sum.iter_mut().zip(&column) {
            *s += c;
        }
        assert_eq!(run(j, column, &input, public.to_instances()), Ok(()), "chunk {j}");
        assert_eq!(public.active, if j < 2 { 8 } else { 4 });
        // consecutive chunks agree on their boundary
        if j + 1 < chunks {
            assert_eq!(public.next_contributor, honest(j + 1).2.first_contributor);
        } else {
            assert_eq!(public.next_contributor, Fr::zero());
        }
    }
    assert_eq!(sum, f.table.column(f.capacity).unwrap());
    // (the coverage checks over these public inputs: prover/tests/chunks.rs)
}

#[test]
fn changed_entry_inside_the_chunk_breaks_its_copy() {
    for j in [0, 2] {
        let (mut column, input, public) = honest(j);
        let idx = WIDTH * shape(j).start() + 3; // a hidden activation of the chunk's first example
        column[idx] += Fr::one();
        let errs = run(j, column, &input, public.to_instances()).unwrap_err();
        assert!(feature_copy_failure(&errs), "chunk {j}: {errs:?}");
    }
    // a δ, a pixel, and the chunk's factor sums (its count, a Σpp entry)
    let sums = lineage_core::features::sums_offset(fixture().capacity);
    for idx in [WIDTH * 9 + lineage_core::features::DELTA_OFFSET + 2, WIDTH * 10 + lineage_core::features::PIXEL_OFFSET + 30, sums, sums + lineage_core::kfac::sums_layout::PP + 77] {
        let (mut column, input, public) = honest(1);
        column[idx] += Fr::one();
        let errs = run(1, column, &input, public.to_instances()).unwrap_err();
        assert!(feature_copy_failure(&errs), "entry {idx}: {errs:?}");
    }
    // chunk 0 also binds the model's parameters
    let (mut column, input, public) = honest(0);
    column[WIDTH * fixture().capacity + 100] += Fr::one();
    assert!(feature_copy_failure(&run(0, column, &input, public.to_instances()).unwrap_err()));
}

#[test]
fn nonzero_entry_outside_the_chunk_breaks_its_copy() {
    // chunk 1 claiming (part of) chunk 0's rows, a row past the datanet, or
    // a model parameter (only chunk 0 writes those)
    for idx in [5, WIDTH * 19 + 1, WIDTH * fixture().capacity + 2] {
        let (mut column, input, public) = honest(1);
        column[idx] = Fr::from(42);
        let errs = run(1, column, &input, public.to_instances()).unwrap_err();
        assert!(feature_copy_failure(&errs), "row {idx}: {errs:?}");
    }
}

#[test]
fn changed_example_fails() {
    // a pixel of one example changed in the witness: its leaf changes the
    // subtree root (instance 0) and its features break their copies
    let (column, mut input, public) = honest(0);
    input.examples[2].payload.pixels[10] ^= 1;
    let errs = run(0, column, &input, public.to_instances()).unwrap_err();
    assert!(instance_failure(&errs, 0), "{errs:?}");
    assert!(feature_copy_failure(&errs), "{errs:?}");
}

#[test]
fn every_public_input_is_bound() {
    let (column, input, public) = honest(2);
    for row in 0..CHUNK_INSTANCES {
        let mut inst = public.to_instances();
        inst[row] += Fr::one();
        let errs = run(2, column.clone(), &input, inst).unwrap_err();
        assert!(instance_failure(&errs, row), "row {row}: {errs:?}");
    }
    assert_eq!(ChunkPublic::from_instances(&public.to_instances()), Some(public));
}

#[test]
fn a_chunk_too_large_for_its_k_is_refused_with_the_size_that_fits() {
    // a key file (or a CLI flag) naming a chunk that would need more
    // columns than the verifier accepts is refused before any halo2 work
    let most = ChunkShape::max_size(14);
    assert!(most >= 1 && ChunkShape::new(most, 0, 40, 14).is_ok());
    let err = ChunkShape::new(most * 2, 0, 40, 14).unwrap_err().to_string();
    assert!(err.contains(&format!("at most {most} examples")), "{err}");
    assert_eq!(ChunkShape::default_size(14), 16.min(most));
}
