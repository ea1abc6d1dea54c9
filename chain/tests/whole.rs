//! Whole-datanet claims on chain: a per-query key is registered only with
//! feature chunks that cover every example of the datanet version (a key
//! over another table, or chunks missing one, are refused); a claim is paid
//! only with the proof over every example, its segment list exactly the
//! proven one (a changed total, a split entry or a replay are refused);
//! the claim records its payout root, and the payouts are released once each
//! (one by Merkle path, the rest as a list; a changed amount, a wrong path
//! or a second release are refused).

mod common;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use common::*;
use lineage_chain::precompile::attribution::IAttribution;
use lineage_circuits::{chunk::ChunkShape, query::{QueryInput, QueryShape}};
use lineage_core::{
    datanet::Datanet,
    features::{claim_segments, FeatureTable},
    field::fr_to_be_bytes,
};
use lineage_prover::ProverClient;
use lineage_verifier::VerifierParams;
use rand::SeedableRng;

fn b32(x: &lineage_core::Fr) -> B256 {
    B256::from(fr_to_be_bytes(x))
}

#[test]
fn whole_datanet_claim_is_paid_only_with_full_coverage() {
    // ---- off chain: the table, its chunks and its per-query key ------------
    let full = lineage_inference::digits_datanet().unwrap();
    let cfg = lineage_inference::TrainConfig { epochs: 100, ..Default::default() };
    let model = lineage_inference::train(&full, &cfg, &candle_core::Device::Cpu).unwrap().quantize().unwrap();
    let datanet = Datanet::new("subset".into(), full.contributions.iter().step_by(72).take(20).cloned().collect()).unwrap();
    let table = FeatureTable::build(&model, &datanet).unwrap();
    let qshape = QueryShape::new(table.len()).unwrap();
    // the chain's SRS (common::keys, seed [7; 32]) at the table circuits' k
    let params = lineage_circuits::halo2_proofs::poly::kzg::commitment::ParamsKZG::<lineage_circuits::Bn256>::setup(
        qshape.k,
        rand_chacha::ChaCha20Rng::from_seed([7; 32]),
    );
    let chain_vp = VerifierParams::from_bytes(&keys().params).unwrap();
    let mut at_k = chain_vp.clone();
    at_k.k = qshape.k;
    assert_eq!(VerifierParams::from_srs(&params), at_k, "one SRS for every k");
    let client = ProverClient::builder().cpu().build().unwrap();
    let mut chunk_keys = Vec::new();
    let mut chunk_publics = Vec::new();
    let mut chunk_proofs = Vec::new();
    for j in 0..ChunkShape::count(8, table.len()) {
        let shape = ChunkShape::new(8, j, qshape.capacity, qshape.k).unwrap();
        let keys = client.keygen_chunk(&shape, &table, params.clone()).unwrap();
        let proof = client.prove_chunk(&keys, &table, &datanet, &model).unwrap();
        chunk_keys.push(keys.file());
        chunk_publics.push(proof.public.to_instances().iter().map(b32).collect::<Vec<_>>().try_into().unwrap());
        chunk_proofs.push(Bytes::from(proof.bytes));
    }
    let query_keys = client.keygen_query(&qshape, &table, params.clone()).unwrap();
    let query_file = query_keys.file();
    let mut forged = table.clone();
    forged.rows[3].residual[2] += 1;
    let forged_file = client.keygen_query(&qshape, &forged, params.clone()).unwrap().file();

    // ---- on chain: templates allowlisted at genesis --------------------------
    let mut allowed: Vec<B256> = chunk_keys.iter().map(|k| k.template_hash()).collect();
    allowed.push(query_file.template_hash());
    let (dir, mut chain, s) = fresh(allowed);
    let owner = &s[1];
    let root = b32(&datanet.root());
    let m = b32(&model.commitment());
    assert!(call(&mut chain, owner, IAttribution::registerDatanetCall { root }.abi_encode(), U256::ZERO, 200_000).status);
    let r = call(&mut chain, owner, IAttribution::setDatanetExamplesCall { root, examples: 20 }.abi_encode(), U256::ZERO, 200_000);
    assert!(r.status, "{r:?}");
    let chunk_bytes: Vec<Bytes> = chunk_keys.iter().map(|k| k.to_bytes().into()).collect();
    let register = |chain: &mut lineage_chain::Chain, query: &lineage_verifier::TableKeyFile, upto: usize| {
        let input = IAttribution::registerWholeKeyCall {
            modelCommitment: m,
            datanetOwner: owner.address(),
            datanetRoot: root,
            k: qshape.k,
            queryKey: query.to_bytes().into(),
            chunkKeys: chunk_bytes[..upto].to_vec(),
            chunkPublics: chunk_publics[..upto].to_vec(),
            chunkProofs: chunk_proofs[..upto].to_vec(),
        };
        call(chain, owner, input.abi_encode(), U256::ZERO, 5_000_000)
    };
    // hostile bytes halt (and consume the call's gas), before any verification
    let junk = IAttribution::registerWholeKeyCall {
        modelCommitment: m,
        datanetOwner: owner.address(),
        datanetRoot: root,
        k: qshape.k,
        queryKey: Bytes::from_static(b"{\"format\":\"junk\"}"),
        chunkKeys: chunk_bytes.clone(),
        chunkPublics: chunk_publics.clone(),
        chunkProofs: chunk_proofs.clone(),
    };
    assert_halts(&call(&mut chain, owner, junk.abi_encode(), U256::ZERO, 5_000_000), 5_000_000);
    // a key over another table, or chunks that miss a window, are refused
    assert_reverts(&register(&mut chain, &forged_file, 3), "feature commitment");
    assert_reverts(&register(&mut chain, &query_file, 2), "do not cover");
    let r = register(&mut chain, &query_file, 3);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("registerWholeKey gas: {}", r.gas_used);
    let view = call(&mut chain, &s[5], IAttribution::wholeKeyOfCall { owner: owner.address(), modelCommitment: m }.abi_encode(), U256::ZERO, 100_000);
    let got = IAttribution::wholeKeyOfCall::abi_decode_returns(&view.output).unwrap();
    assert_eq!((got.keyHash, got.examples), (query_file.hash, 20));

    // ---- a request and its claim over every example --------------------------
    let query = lineage_inference::digits_heldout().unwrap().get(1794).unwrap().pixels.clone();
    let qc = b32(&lineage_core::datanet::query_commitment(&query).unwrap());
    let fee = U256::from(5_000_000_000_000_000_000u128);
    let escrow = escrow_input(&chain, owner.address(), m, qc, 3600);
    let r = call(&mut chain, &s[2], escrow, fee, 300_000);
    assert!(r.status, "{r:?}");
    let id: U256 = IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap();
    // the proof covers the contributors' share of the fee (the split fixed at escrow)
    let pool = split_of(&mut chain, id).contributors;
    assert_eq!(pool, fee * U256::from(8_000) / U256::from(10_000));
    let input = QueryInput::new(&model, &table, &query, pool.to::<u128>(), id).unwrap();
    let proof = client.prove_query(&query_keys, &table, &input).unwrap();
    let segments = claim_segments(&input.attribution);
    let claim = |segs: &[(Address, i128, u32)]| IAttribution::submitWholeClaimCall::new(id, input.predicted as u64, segs, &proof.bytes).abi_encode();
    // another total, or one entry split between two addresses at one end row
    let mut other = segments.clone();
    other[0].1 += 1;
    assert_reverts(&call(&mut chain, &s[3], claim(&other), U256::ZERO, 2_000_000), "claim rejected");
    let mut split = segments.clone();
    let (a, t, e) = split[0];
    split[0] = (s[4].address(), t / 2, e);
    split.insert(1, (a, t - t / 2, e));
    assert_reverts(&call(&mut chain, &s[3], claim(&split), U256::ZERO, 2_000_000), "claim rejected");
    // the old per-example clamp in another form: a negative net total claimed as 0
    let neg = segments.iter().position(|x| x.1 < 0).expect("the fixture has a contributor with negative net influence");
    let mut clamped = segments.clone();
    clamped[neg].1 = 0;
    assert_reverts(&call(&mut chain, &s[3], claim(&clamped), U256::ZERO, 2_000_000), "claim rejected");
    // the honest claim records the split of the contributors' share over the
    // proven contributors, and pays the owner, the prover and the treasury theirs
    let before: Vec<U256> = segments.iter().map(|x| chain.balance(x.0).unwrap()).collect();
    let others = [owner.address(), s[3].address(), s[0].address()].map(|a| chain.balance(a).unwrap());
    let r = call(&mut chain, &s[3], claim(&segments), U256::ZERO, 2_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("submitWholeClaim gas: {} ({} segments)", r.gas_used, segments.len());
    let r_claim_gas = r.gas_used;
    let root: B256 = IAttribution::submitWholeClaimCall::abi_decode_returns(&r.output).unwrap();
    let gas_paid = U256::from(r.gas_used as u128 * GAS_PRICE);
    let tenth = fee / U256::from(10);
    let twentieth = fee / U256::from(20);
    assert_eq!(chain.balance(owner.address()).unwrap() - others[0], tenth, "model owner: 10 %");
    assert_eq!(chain.balance(s[3].address()).unwrap() + gas_paid - others[1], twentieth, "prover: 5 %");
    assert_eq!(chain.balance(s[0].address()).unwrap() - others[2], twentieth, "treasury: 5 %");
    let totals: Vec<(Address, i128)> = segments.iter().map(|x| (x.0, x.1)).collect();
    let payouts = lineage_core::payout::split_net(pool.to::<u128>(), &totals).unwrap();
    // a contributor whose net influence is not positive is paid nothing
    for (a, t) in lineage_core::payout::net_totals(&totals).unwrap() {
        if t == 0 {
            assert!(payouts.iter().all(|p| p.contributor != a), "{a} has no positive net influence");
        }
    }
    let tree = lineage_core::payout::PayoutTree::new(&payouts).unwrap();
    assert_eq!(root, tree.root());
    assert_reverts(&call(&mut chain, &s[3], claim(&segments), U256::ZERO, 2_000_000), "already paid");
    chain.escrow_invariant().unwrap();
    let view = |chain: &mut lineage_chain::Chain| {
        let v = call(chain, &s[5], IAttribution::payoutsOfCall { requestId: id }.abi_encode(), U256::ZERO, 100_000);
        IAttribution::payoutsOfCall::abi_decode_returns(&v.output).unwrap()
    };
    let v = view(&mut chain);
    assert_eq!((v.payoutRoot, v.unreleased), (root, pool));

    // one payout by its path; a wrong amount, index, count or path is refused
    let n = payouts.len() as u32;
    let last = n - 1;
    let withdraw = |i: u32, count: u32, amount: u128, path: Vec<B256>| {
        IAttribution::withdrawPayoutCall { requestId: id, count, index: i, contributor: payouts[i as usize].contributor, amount, path }.abi_encode()
    };
    let path = tree.path(last).unwrap();
    let amount = payouts[last as usize].amount_wei;
    assert_reverts(&call(&mut chain, &s[5], withdraw(last, n, amount + 1, path.clone()), U256::ZERO, 200_000), "do not match");
    // another count whose tree has the same depth (so the path's length still fits)
    let depth = lineage_core::payout::payout_depth;
    let (count, i) = if depth(n + 1) == depth(n) { (n + 1, last) } else { (n - 1, 0) };
    assert_eq!(depth(count), depth(n));
    let wrong_count = withdraw(i, count, payouts[i as usize].amount_wei, tree.path(i).unwrap());
    assert_reverts(&call(&mut chain, &s[5], wrong_count, U256::ZERO, 200_000), "do not match");
    assert_reverts(&call(&mut chain, &s[5], withdraw(last, n, amount, tree.path(0).unwrap()), U256::ZERO, 200_000), "do not match");
    // an index past the count, or a path of the wrong length, is malformed: the call halts
    assert!(!call(&mut chain, &s[5], withdraw(last, last, amount, path.clone()), U256::ZERO, 200_000).status);
    assert!(!call(&mut chain, &s[5], withdraw(last, n, amount, path[1..].to_vec()), U256::ZERO, 200_000).status);
    let r = call(&mut chain, &s[5], withdraw(last, n, amount, path.clone()), U256::ZERO, 200_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("withdrawPayout gas: {} (path of {})", r.gas_used, path.len());
    assert_reverts(&call(&mut chain, &s[5], withdraw(last, n, amount, path), U256::ZERO, 200_000), "already released");
    assert_eq!(view(&mut chain).unreleased, pool - U256::from(amount));
    chain.escrow_invariant().unwrap();

    // the rest as one list, sent by anyone; a changed list is refused
    let release = |ps: &[lineage_core::payout::Payout]| {
        IAttribution::releasePayoutsCall { requestId: id, contributors: ps.iter().map(|p| p.contributor).collect(), amounts: ps.iter().map(|p| p.amount_wei).collect() }
            .abi_encode()
    };
    let mut changed = payouts.clone();
    changed[0].amount_wei += 1;
    assert_reverts(&call(&mut chain, &s[5], release(&changed), U256::ZERO, 2_000_000), "do not match");
    assert_reverts(&call(&mut chain, &s[5], release(&payouts[1..]), U256::ZERO, 2_000_000), "do not match");
    let r = call(&mut chain, &s[5], release(&payouts), U256::ZERO, 2_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("releasePayouts gas: {} ({} payouts, one already withdrawn)", r.gas_used, payouts.len());
    let paid: U256 = IAttribution::releasePayoutsCall::abi_decode_returns(&r.output).unwrap();
    assert_eq!(paid, pool - U256::from(amount));
    let gained: U256 = segments.iter().zip(&before).map(|(x, b)| chain.balance(x.0).unwrap() - b).sum();
    assert_eq!(gained, pool);
    // a second release pays nothing more
    let r = call(&mut chain, &s[5], release(&payouts), U256::ZERO, 2_000_000);
    assert_eq!(IAttribution::releasePayoutsCall::abi_decode_returns(&r.output).unwrap(), U256::ZERO);
    assert_eq!(view(&mut chain).unreleased, U256::ZERO);
    chain.escrow_invariant().unwrap();

    // ---- the key is warm by consensus (registered: parsed and paid for) ----
    use lineage_chain::precompile::whole::{whole_slots::warm_slot, WARM_KEYS};
    let ring: Vec<U256> = (0..WARM_KEYS).map(|i| chain.storage(lineage_chain::ATTRIBUTION_PRECOMPILE, warm_slot(i)).unwrap()).collect();
    assert!(ring.contains(&U256::from_be_bytes(query_file.hash.0)), "{ring:?}");
    let first_gas = r_claim_gas;
    // a restarted node holds no parsed key yet: it parses the warm key again
    // (unpriced, once) and charges the same warm gas
    drop(chain);
    let mut chain = lineage_chain::Chain::open(dir.path()).unwrap();
    let escrow = escrow_input(&chain, owner.address(), m, qc, 3600);
    let r = call(&mut chain, &s[2], escrow, fee, 300_000);
    let id2: U256 = IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap();
    let input2 = QueryInput::new(&model, &table, &query, pool.to::<u128>(), id2).unwrap();
    let proof2 = client.prove_query(&query_keys, &table, &input2).unwrap();
    let segs2 = claim_segments(&input2.attribution);
    let claim2 = IAttribution::submitWholeClaimCall::new(id2, input2.predicted as u64, &segs2, &proof2.bytes).abi_encode();
    let r = call(&mut chain, &s[3], claim2, U256::ZERO, 2_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("submitWholeClaim after a restart: {} gas (first claim {first_gas})", r.gas_used);
    assert!(r.gas_used.abs_diff(first_gas) < 2_000, "warm gas depends on chain state only");
    chain.escrow_invariant().unwrap();

    // ---- an agent stakes, accepts requests and claims them -------------------
    use alloy_signer::SignerSync;
    use lineage_chain::precompile::{
        settlement::{answer_hash, Answer},
        staking::{IStaking, ADDRESS as STAKING},
    };
    let agent = &s[3];
    let hundred = U256::from(100u128 * lineage_chain::genesis::OPEN);
    assert!(call_to(&mut chain, agent, STAKING, IStaking::stakeCall {}.abi_encode(), hundred * U256::from(3), 200_000).status);
    let mut accepted = Vec::new();
    for _ in 0..3 {
        let escrow = escrow_input(&chain, owner.address(), m, qc, 3600);
        let r = call(&mut chain, &s[2], escrow, fee, 300_000);
        let id: U256 = IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap();
        let r = call(&mut chain, agent, IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000);
        assert!(r.status, "{r:?} {}", reason(&r));
        let input = QueryInput::new(&model, &table, &query, pool.to::<u128>(), id).unwrap();
        let proof = client.prove_query(&query_keys, &table, &input).unwrap();
        let segs = claim_segments(&input.attribution);
        let claim = IAttribution::submitWholeClaimCall::new(id, input.predicted as u64, &segs, &proof.bytes).abi_encode();
        // another prover may not claim a request an agent accepted
        assert_reverts(&call(&mut chain, &s[4], claim.clone(), U256::ZERO, 2_000_000), "which accepted this request");
        let r = call(&mut chain, agent, claim, U256::ZERO, 2_000_000);
        assert!(r.status, "{r:?} {}", reason(&r));
        accepted.push((id, input.predicted as u64, B256::from(IAttribution::submitWholeClaimCall::abi_decode_returns(&r.output).unwrap())));
    }
    let st = view_at(&chain, STAKING, IStaking::stakeOfCall { agent: agent.address() });
    assert_eq!((st.free, st.locked), (U256::ZERO, hundred * U256::from(3)), "each accepted request locks 100 OPEN");
    chain.staking_invariant().unwrap();

    // ---- its signed answers, checked against what it proved --------------------
    let chain_id = chain.chain_id();
    let sign = |who: &alloy_signer_local::PrivateKeySigner, id: U256, class: u64, digest: B256| -> Bytes {
        let h = answer_hash(chain_id, &Answer { requestId: id, queryCommitment: qc, predictedClass: class, payoutDigest: digest });
        who.sign_hash_sync(&h).unwrap().as_bytes().to_vec().into()
    };
    let report = |id: U256, class: u64, digest: B256, signature: Bytes| IAttribution::reportAnswerCall { requestId: id, predictedClass: class, payoutDigest: digest, signature }.abi_encode();
    let (a, class, digest) = accepted[0];
    let set = common::view(&chain, IAttribution::settlementOfCall { requestId: a });
    assert_eq!((set.agent, set.stake, set.provenClass, set.payoutDigest, set.fault), (agent.address(), hundred, class, digest, 0));
    // the hash clients sign is the precompile's own
    assert_eq!(common::view(&chain, IAttribution::answerHashCall { requestId: a, predictedClass: class, payoutDigest: digest }), answer_hash(chain.chain_id(), &Answer { requestId: a, queryCommitment: qc, predictedClass: class, payoutDigest: digest }));
    let reporter = &s[4];
    assert_reverts(&call(&mut chain, reporter, report(a, class, digest, sign(agent, a, class, digest)), U256::ZERO, 1_000_000), "agrees with the proven claim");
    assert_reverts(&call(&mut chain, reporter, report(a, class, B256::repeat_byte(1), sign(&s[5], a, class, B256::repeat_byte(1))), U256::ZERO, 1_000_000), "not signed by this request's agent");
    // a malformed signature halts
    assert_halts(&call(&mut chain, reporter, report(a, class, digest, Bytes::from(vec![1u8; 64])), U256::ZERO, 1_000_000), 1_000_000);
    // the attribution it signed is not the one it proved: a false claim
    let before = chain.balance(reporter.address()).unwrap();
    let r = call(&mut chain, reporter, report(a, class, B256::repeat_byte(1), sign(agent, a, class, B256::repeat_byte(1))), U256::ZERO, 1_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("reportAnswer gas: {}", r.gas_used);
    let slash_id: U256 = IAttribution::reportAnswerCall::abi_decode_returns(&r.output).unwrap();
    let sl = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: slash_id });
    assert_eq!((sl.agent, sl.requestId, sl.fault, sl.amount, sl.reporter), (agent.address(), a, 1, hundred, reporter.address()));
    assert_eq!((sl.reward, sl.held), (hundred / U256::from(2), hundred), "all held; half due to the reporter at release");
    assert_eq!(chain.balance(reporter.address()).unwrap() + U256::from(r.gas_used as u128 * GAS_PRICE), before, "nothing paid before release");
    // a fault is slashed once, whatever else is reported
    assert_reverts(&call(&mut chain, reporter, report(a, class + 1, digest, sign(agent, a, class + 1, digest)), U256::ZERO, 1_000_000), "already been slashed");
    // the class it signed is not the one its proven forward pass gives: a contradicted answer
    let (b, class_b, digest_b) = accepted[1];
    let wrong = (class_b + 1) % 10;
    let r = call(&mut chain, reporter, report(b, wrong, digest_b, sign(agent, b, wrong, digest_b)), U256::ZERO, 1_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    let sl = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: IAttribution::reportAnswerCall::abi_decode_returns(&r.output).unwrap() });
    assert_eq!((sl.fault, sl.requestId), (2, b));
    chain.staking_invariant().unwrap();

    // ---- after the challenge window: no report, and the lock comes back ------------
    let (c, class_c, digest_c) = accepted[2];
    let window = common::view(&chain, IAttribution::settlementOfCall { requestId: c }).challengeEnds;
    assert_reverts(&call(&mut chain, &s[5], IAttribution::releaseStakeCall { requestId: c }.abi_encode(), U256::ZERO, 300_000), "still open");
    let late = report(c, class_c + 1, digest_c, sign(agent, c, class_c + 1, digest_c));
    assert_reverts(&call_at(&mut chain, reporter, lineage_chain::ATTRIBUTION_PRECOMPILE, late, U256::ZERO, 1_000_000, window + 1), "window has closed");
    assert!(call(&mut chain, &s[5], IAttribution::releaseStakeCall { requestId: c }.abi_encode(), U256::ZERO, 300_000).status);
    assert_reverts(&call(&mut chain, &s[5], IAttribution::releaseStakeCall { requestId: c }.abi_encode(), U256::ZERO, 300_000), "holds no stake");
    let st = view_at(&chain, STAKING, IStaking::stakeOfCall { agent: agent.address() });
    assert_eq!((st.free, st.locked), (hundred, U256::ZERO), "two locks slashed, one returned");
    chain.staking_invariant().unwrap();
    chain.escrow_invariant().unwrap();

    // ---- governance retires the per-query circuit: its key settles nothing ---------
    let retire = IAttribution::setKeyAllowedCall { vkHash: query_file.template_hash(), allowed: false }.abi_encode();
    assert!(call(&mut chain, &s[0], retire, U256::ZERO, 300_000).status);
    let escrow = escrow_input(&chain, owner.address(), m, qc, 3600);
    let r = call(&mut chain, &s[2], escrow, fee, 300_000);
    let id3: U256 = IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap();
    let input3 = QueryInput::new(&model, &table, &query, pool.to::<u128>(), id3).unwrap();
    let proof3 = client.prove_query(&query_keys, &table, &input3).unwrap();
    let claim3 = IAttribution::submitWholeClaimCall::new(id3, input3.predicted as u64, &claim_segments(&input3.attribution), &proof3.bytes).abi_encode();
    assert_reverts(&call(&mut chain, &s[3], claim3, U256::ZERO, 2_000_000), "no longer on the allowlist");

    // ---- the owner replaces it with a key of a current circuit ------------------
    // (another shape: capacity 24, so other templates, allowlisted by the governor)
    let shape2 = QueryShape::with_k(24, qshape.k).unwrap();
    let mut chunks2 = Vec::new();
    for j in 0..ChunkShape::count(8, table.len()) {
        let cs = ChunkShape::new(8, j, shape2.capacity, shape2.k).unwrap();
        let keys = client.keygen_chunk(&cs, &table, params.clone()).unwrap();
        let proof = client.prove_chunk(&keys, &table, &datanet, &model).unwrap();
        let public: [B256; 5] = proof.public.to_instances().iter().map(b32).collect::<Vec<_>>().try_into().unwrap();
        chunks2.push((keys.file(), public, Bytes::from(proof.bytes)));
    }
    let query_keys2 = client.keygen_query(&shape2, &table, params.clone()).unwrap();
    let query_file2 = query_keys2.file();
    assert_ne!(query_file2.template_hash(), query_file.template_hash());
    for t in std::iter::once(query_file2.template_hash()).chain(chunks2.iter().map(|c| c.0.template_hash())) {
        assert!(call(&mut chain, &s[0], IAttribution::setKeyAllowedCall { vkHash: t, allowed: true }.abi_encode(), U256::ZERO, 300_000).status);
    }
    let register2 = IAttribution::registerWholeKeyCall {
        modelCommitment: m,
        datanetOwner: owner.address(),
        // (`root` is the claim's payout root by now)
        datanetRoot: b32(&datanet.root()),
        k: shape2.k,
        queryKey: query_file2.to_bytes().into(),
        chunkKeys: chunks2.iter().map(|c| Bytes::from(c.0.to_bytes())).collect(),
        chunkPublics: chunks2.iter().map(|c| c.1).collect(),
        chunkProofs: chunks2.iter().map(|c| c.2.clone()).collect(),
    }
    .abi_encode();
    let r = call(&mut chain, owner, register2.clone(), U256::ZERO, 5_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    // the open request now settles under the new key; a current key is not replaced
    let input3 = QueryInput::new(&model, &table, &query, pool.to::<u128>(), id3).unwrap();
    let proof3 = client.prove_query(&query_keys2, &table, &input3).unwrap();
    let claim3 = IAttribution::submitWholeClaimCall::new(id3, input3.predicted as u64, &claim_segments(&input3.attribution), &proof3.bytes).abi_encode();
    let r = call(&mut chain, &s[3], claim3, U256::ZERO, 2_000_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    assert_reverts(&call(&mut chain, owner, register2, U256::ZERO, 5_000_000), "already has a per-query key");
    chain.escrow_invariant().unwrap();
}
