//! SRS files: a halo2-format file (the format of the ceremony transcripts
//! halo2 projects use) loads only when its keccak256 is the pinned one;
//! truncated or oversized-header files are errors, not panics.

use lineage_prover::srs;

#[test]
fn pinned_srs_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("srs-k12.bin");
    let params = srs::dev_srs(12);
    let mut f = std::fs::File::create(&path).unwrap();
    lineage_circuits::halo2_proofs::poly::commitment::Params::write(&params, &mut f).unwrap();
    drop(f);
    let hash = srs::srs_file_hash(&path).unwrap();
    let loaded = srs::load_pinned_srs(&path, 11, &hash).unwrap();
    assert_eq!(lineage_circuits::halo2_proofs::poly::commitment::Params::k(&loaded), 11);
    let mut other = hash;
    other.0[0] ^= 1;
    let err = srs::load_pinned_srs(&path, 11, &other).unwrap_err().to_string();
    assert!(err.contains("not the pinned"), "{err}");
    assert!(srs::load_pinned_srs(&path, 13, &hash).unwrap_err().to_string().contains("k = 12"));

    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(srs::load_pinned_srs(&cut, 11, &srs::srs_file_hash(&cut).unwrap()).is_err());
    let mut huge = bytes.clone();
    huge[..4].copy_from_slice(&40u32.to_le_bytes());
    let big = dir.path().join("big.bin");
    std::fs::write(&big, &huge).unwrap();
    assert!(srs::load_pinned_srs(&big, 11, &srs::srs_file_hash(&big).unwrap()).unwrap_err().to_string().contains("k = 40"));
}
