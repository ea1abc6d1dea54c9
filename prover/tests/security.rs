//! Security review, verifier side (issue: "the auditor trusts files the
//! prover hands over"): parameters and keys are pinned by hash, key files are
//! bounded and canonical, and nothing a prover hands over can make the
//! verifier panic.

use lineage_circuits::halo2_proofs::halo2curves::{
    bn256::{Fr, G2Affine, G2},
    group::{prime::PrimeCurveAffine, Curve, GroupEncoding},
};
use lineage_prover::{srs, ProverClient};
use lineage_verifier::{Error, Verifier, VerifierParams, PARAMS_BYTES};

mod common;
use common::{setup, verifier};

#[test]
fn params_with_any_single_bit_flipped_are_refused() {
    let s = setup();
    let good = s.keys.verifier_params.to_bytes();
    let pinned = s.keys.verifier_params.hash();
    assert_eq!(good.len(), PARAMS_BYTES);
    Verifier::from_pinned_bytes(&good, &pinned).unwrap();
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = Verifier::from_pinned_bytes(&bad, &pinned).unwrap_err();
        assert!(matches!(err, Error::ParamsNotPinned { .. }), "bit {bit}: {err}");
        assert!(err.to_string().contains("not the pinned hash"), "{err}");
    }
}

#[test]
fn params_with_tau_replaced_by_a_multiple_of_one_are_refused() {
    let s = setup();
    let good = s.keys.verifier_params.to_bytes();
    let mut forged = good.clone();
    // [τ]₂ := 5·[1]₂ — a trapdoor the forger knows
    let five = (G2Affine::generator() * Fr::from(5u64)).to_affine();
    forged[PARAMS_BYTES - 64..].copy_from_slice(five.to_bytes().as_ref());
    // structurally it is a valid file: only the pin refuses it
    VerifierParams::from_bytes(&forged).unwrap();
    let err = Verifier::from_pinned_bytes(&forged, &s.keys.verifier_params.hash()).unwrap_err();
    assert!(matches!(err, Error::ParamsNotPinned { .. }), "{err}");
    // the trivial trapdoors are refused even unpinned
    for t in [G2Affine::identity(), G2Affine::generator(), (-G2::generator()).to_affine()] {
        let mut bad = good.clone();
        bad[PARAMS_BYTES - 64..].copy_from_slice(t.to_bytes().as_ref());
        assert!(matches!(VerifierParams::from_bytes(&bad), Err(Error::Malformed { .. })));
    }
}

#[test]
fn key_with_another_hash_is_refused() {
    let s = setup();
    let (v, _) = verifier();
    let shape = lineage_circuits::CircuitShape::new(4, 5, s.keys.shape.depth).unwrap();
    let client = ProverClient::builder().cpu().build().unwrap();
    let other = client.keygen(&shape, srs::cached_dev_srs(&srs::default_cache_dir(), shape.k).unwrap()).unwrap();
    // a genuine key, for the same parameters, but not the one pinned
    let err = v.parse_pinned_key(&other.vk_file.to_bytes(), &s.keys.vk_file.hash).unwrap_err();
    assert!(matches!(err, Error::VkMismatch { .. }), "{err}");
    assert!(err.to_string().contains("refusing"), "{err}");
}

#[test]
fn key_for_other_params_or_another_k_is_refused() {
    let s = setup();
    let vk_bytes = s.keys.vk_file.to_bytes();
    // parameters of another size (k = 4): the key names other parameters
    let small = Verifier::new(VerifierParams::from_srs(&srs::dev_srs(4)));
    assert!(matches!(small.parse_key(&vk_bytes), Err(Error::KeyForOtherParams { .. })));
    // a key file edited to name those parameters is refused for its k before halo2 reads it
    let text = String::from_utf8(vk_bytes.clone()).unwrap();
    let edited = text.replace(&format!("{}", s.keys.vk_file.params_hash), &format!("{}", small.params_hash()));
    assert!(matches!(small.parse_key(edited.as_bytes()), Err(Error::KeyBounds(_))));
    // verifying a parsed key under parameters of another size is a typed error, not a halo2 panic
    let (_, vk) = verifier();
    assert!(matches!(small.verify(&s.claim, &vk), Err(Error::KeyForOtherParams { .. })));
}

#[test]
fn key_files_must_be_canonical() {
    let (v, vk) = verifier();
    let good = vk.to_bytes();
    v.parse_key(&good).unwrap();
    let text = String::from_utf8(good).unwrap();
    // an unknown field
    let extra = text.replacen('{', "{\"note\":1,", 1);
    assert!(matches!(v.parse_key(extra.as_bytes()), Err(Error::Malformed { .. })));
    // whitespace: the same key, another encoding, another hash
    let spaced = text.replacen(':', ": ", 1);
    assert!(matches!(v.parse_key(spaced.as_bytes()), Err(Error::Malformed { .. })));
    // upper-case hex in the key bytes
    let i = text.find("\"vk\":\"").unwrap() + 6;
    let mut upper = text.clone();
    upper.replace_range(i.., &text[i..].to_uppercase());
    assert!(matches!(v.parse_key(upper.as_bytes()), Err(Error::Malformed { .. })));
}
