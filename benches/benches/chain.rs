//! Chain throughput: plain OPEN transfers executed and committed.
//!
//! The transfers are built and signed first (untimed); each sample starts a
//! fresh chain, submits them to the pool (`submit`, which recovers each
//! signature: timed separately) and then times block production until the
//! pool is empty (`mine`: selection, revm execution, state root, one synced
//! RocksDB batch per block). 5,000 transfers at 21,000 gas fill two blocks
//! of the 60M gas limit.
//!
//! `cargo bench -p lineage-benches --bench chain`

use alloy_primitives::{Address, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lineage_chain::{tx::sign_call, Chain, Genesis, PoolConfig};
use rand_chacha::rand_core::SeedableRng;

const SENDERS: usize = 100;
const PER_SENDER: usize = 50;

fn setup() -> (Genesis, Vec<Bytes>) {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([5; 32]);
    let signers: Vec<PrivateKeySigner> = (0..SENDERS).map(|_| PrivateKeySigner::random_with(&mut rng)).collect();
    let srs = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([1; 32]));
    let mut g = Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap();
    g.alloc = signers.iter().map(|s| (s.address(), U256::from(10u128.pow(21)))).collect();
    let mut txs = Vec::with_capacity(SENDERS * PER_SENDER);
    for n in 0..PER_SENDER as u64 {
        for (i, s) in signers.iter().enumerate() {
            let to = Address::repeat_byte(0x20 + (i % 200) as u8);
            txs.push(sign_call(s, g.chain_id, n, to, U256::from(1 + n), Bytes::new(), 21_000, 2_000_000_000).unwrap());
        }
    }
    (g, txs)
}

fn fresh(g: &Genesis) -> (tempfile::TempDir, Chain) {
    let dir = tempfile::tempdir().unwrap();
    let pool = PoolConfig { max_per_sender: PER_SENDER, ..Default::default() };
    let chain = Chain::init_with(dir.path(), g.clone(), pool).unwrap();
    (dir, chain)
}

fn transfers(c: &mut Criterion) {
    let (g, txs) = setup();
    let n = txs.len();
    let mut group = c.benchmark_group("transfers");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("submit_{n}"), |b| {
        b.iter_batched(
            || fresh(&g),
            |(dir, chain)| {
                for t in &txs {
                    chain.submit(t).unwrap();
                }
                (dir, chain)
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function(format!("mine_{n}"), |b| {
        b.iter_batched(
            || {
                let (dir, chain) = fresh(&g);
                for t in &txs {
                    chain.submit(t).unwrap();
                }
                (dir, chain)
            },
            |(dir, chain)| {
                let mut included = 0;
                while chain.pending() > 0 {
                    included += chain.mine().unwrap().1.len();
                }
                assert_eq!(included, n);
                (dir, chain)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, transfers);
criterion_main!(benches);
