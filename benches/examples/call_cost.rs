//! Single-thread cost of the pieces of an `eth_call` (diagnostic).
use alloy_primitives::Bytes;
use lineage_chain::{dev_signers, tx::sign_create, CallRequest, Chain, Genesis};
use rand_chacha::rand_core::SeedableRng;
use std::time::Instant;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let srs = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(4, rand_chacha::ChaCha20Rng::from_seed([1; 32]));
    let chain = Chain::init(dir.path(), Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&srs).to_bytes(), vec![]).unwrap()).unwrap();
    let s = &dev_signers(1).unwrap()[0];
    let init: Bytes = (0..19).map(|i| u8::from_str_radix(&"69602a60005260206000f3600052600a6016f3"[2 * i..2 * i + 2], 16).unwrap()).collect::<Vec<u8>>().into();
    chain.submit(&sign_create(s, chain.chain_id(), 0, init, 100_000, 2_000_000_000).unwrap()).unwrap();
    chain.mine().unwrap();
    let to = s.address().create(0);
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n { chain.head().unwrap(); }
    println!("head()       {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let t = Instant::now();
    for _ in 0..n { chain.balance(to).unwrap(); }
    println!("balance()    {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
    let req = CallRequest { to: Some(to), ..Default::default() };
    let t = Instant::now();
    for _ in 0..n { chain.call(&req, 50_000_000).unwrap(); }
    println!("call()       {:.2} µs", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
