//! AgentStaking, settlement without proofs (accept, the unanswered fault)
//! and Governance, on a real chain: stake moves only as the rules say, a
//! fault is slashed once, the reporter's reward never exceeds the slash,
//! slashed funds are held then released (or reversed by a vote), stake that
//! finished unbonding is never slashed, and stake-weighted proposals change
//! the parameters, the split and the key allowlist. The property test runs
//! random mixes of all of it and checks the books after every block.

mod common;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use common::*;
use lineage_chain::{
    genesis::OPEN,
    precompile::{
        attribution::{IAttribution, ADDRESS},
        governance::{param, IGovernance, ProposalStatus, ADDRESS as GOV},
        staking::{Fault, IStaking, SlashStatus, ADDRESS as STAKING},
    },
    Chain,
};

fn open(n: u128) -> U256 {
    U256::from(n * OPEN)
}

fn stake_of(chain: &Chain, a: Address) -> IStaking::stakeOfReturn {
    view_at(chain, STAKING, IStaking::stakeOfCall { agent: a })
}

fn now(chain: &Chain) -> u64 {
    chain.head().unwrap().timestamp
}

fn escrow(chain: &mut Chain, who: &alloy_signer_local::PrivateKeySigner, owner: Address, model: B256, ttl: u64, fee: U256) -> U256 {
    let r = call(chain, who, escrow_input(chain, owner, model, fe(9), ttl), fee, 300_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap()
}

#[test]
fn stake_unbond_withdraw() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let a = &s[1];
    let r = call_to(&mut chain, a, STAKING, IStaking::stakeCall {}.abi_encode(), open(300), 200_000);
    assert!(r.status, "{r:?}");
    assert_eq!(chain.balance(STAKING).unwrap(), open(300));
    // nothing free beyond the stake may unbond; zero is refused
    assert_reverts(&call_to(&mut chain, a, STAKING, IStaking::unbondCall { amount: open(301) }.abi_encode(), U256::ZERO, 300_000), "can unbond");
    assert_reverts(&call_to(&mut chain, a, STAKING, IStaking::unbondCall { amount: U256::ZERO }.abi_encode(), U256::ZERO, 300_000), "can unbond");
    assert!(call_to(&mut chain, a, STAKING, IStaking::unbondCall { amount: open(100) }.abi_encode(), U256::ZERO, 300_000).status);
    let st = stake_of(&chain, a.address());
    assert_eq!((st.free, st.locked, st.unbonding), (open(200), U256::ZERO, open(100)));
    assert_eq!(st.unbondingEnds, now(&chain) + 7 * 24 * 3600);
    // unbonding stake no longer votes
    let t = view_at(&chain, STAKING, IStaking::totalsCall {});
    assert_eq!((t.bonded, t.unbonding, t.held), (open(200), open(100), U256::ZERO));
    assert_reverts(&call_to(&mut chain, a, STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO, 300_000), "unbonding ends at");
    let before = chain.balance(a.address()).unwrap();
    let r = call_at(&mut chain, a, STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO, 300_000, st.unbondingEnds);
    assert!(r.status, "{r:?}");
    assert_eq!(chain.balance(a.address()).unwrap() + U256::from(r.gas_used as u128 * GAS_PRICE) - before, open(100));
    assert_reverts(&call_to(&mut chain, a, STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO, 300_000), "nothing is unbonding");
    // value to a non-payable function, and stake through DELEGATECALL, are refused
    assert_reverts(&call_to(&mut chain, a, STAKING, IStaking::unbondCall { amount: open(1) }.abi_encode(), U256::from(1), 300_000), "not payable");
    let forger = deploy_forger(&mut chain, &s[0]);
    let via = IEscrowForger::viaDelegatecallCall { target: STAKING, data: IStaking::stakeCall {}.abi_encode().into() }.abi_encode();
    let r = call_to(&mut chain, a, forger, via, open(5), 400_000);
    assert!(!r.status, "{r:?}");
    assert_eq!(chain.balance(STAKING).unwrap(), open(200));
    chain.staking_invariant().unwrap();
}

#[test]
fn an_accepted_request_left_unanswered_is_slashed_once_at_its_refund() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let agent = &s[1];
    let id = escrow(&mut chain, &s[2], s[0].address(), model, 600, open(10));
    // accepting needs free stake
    assert_reverts(&call(&mut chain, agent, IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000), "free stake");
    assert!(call_to(&mut chain, agent, STAKING, IStaking::stakeCall {}.abi_encode(), open(150), 200_000).status);
    let r = call(&mut chain, agent, IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("acceptRequest gas: {}", r.gas_used);
    assert_reverts(&call(&mut chain, &s[3], IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000), "already accepted");
    // a payer cannot accept its own request, nor anyone one with too little time left to answer
    assert!(call_to(&mut chain, &s[2], STAKING, IStaking::stakeCall {}.abi_encode(), open(250), 200_000).status);
    let own = escrow(&mut chain, &s[2], s[0].address(), model, 600, open(1));
    assert_reverts(&call(&mut chain, &s[2], IAttribution::acceptRequestCall { requestId: own }.abi_encode(), U256::ZERO, 300_000), "its own request");
    let short = escrow(&mut chain, &s[3], s[0].address(), model, 100, open(1));
    assert_reverts(&call(&mut chain, &s[2], IAttribution::acceptRequestCall { requestId: short }.abi_encode(), U256::ZERO, 300_000), "less than 300 s");
    // a payer that names its agent at escrow is not taken over by another
    let deadline = now(&chain) + 3600;
    let input = IAttribution::escrowFeeForCall { modelOwner: s[0].address(), modelCommitment: model, queryCommitment: fe(9), deadline, agent: s[2].address() }.abi_encode();
    let r = call(&mut chain, &s[3], input, open(1), 300_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    let chosen: U256 = IAttribution::escrowFeeForCall::abi_decode_returns(&r.output).unwrap();
    assert_reverts(&call(&mut chain, agent, IAttribution::acceptRequestCall { requestId: chosen }.abi_encode(), U256::ZERO, 300_000), "the payer chose agent");
    // nor claimed by another prover before the chosen agent accepts it
    let claim = IAttribution::submitClaimCall { requestId: chosen, predictedClass: 1, windowIndex: 0, contributors: vec![s[4].address()], amounts: vec![U256::from(1)], proof: vec![0u8; 64].into() };
    assert_reverts(&call(&mut chain, &s[4], claim.abi_encode(), U256::ZERO, 3_000_000), "which the payer chose");
    assert!(call(&mut chain, &s[2], IAttribution::acceptRequestCall { requestId: chosen }.abi_encode(), U256::ZERO, 300_000).status);
    let st = stake_of(&chain, agent.address());
    assert_eq!((st.free, st.locked), (open(50), open(100)));
    // locked stake cannot unbond
    assert_reverts(&call_to(&mut chain, agent, STAKING, IStaking::unbondCall { amount: open(51) }.abi_encode(), U256::ZERO, 300_000), "can unbond");
    // the deadline passes unanswered: the refund returns the fee and slashes the agent
    let deadline = view(&chain, IAttribution::requestOfCall { requestId: id }).deadline;
    let reporter = &s[4];
    let payer_before = chain.balance(s[2].address()).unwrap();
    let rep_before = chain.balance(reporter.address()).unwrap();
    let r = call_at(&mut chain, reporter, ADDRESS, IAttribution::refundCall { requestId: id }.abi_encode(), U256::ZERO, 700_000, deadline + 1);
    assert!(r.status, "{r:?} {}", reason(&r));
    assert_eq!(chain.balance(s[2].address()).unwrap() - payer_before, open(10));
    assert_eq!(chain.balance(reporter.address()).unwrap() + U256::from(r.gas_used as u128 * GAS_PRICE), rep_before, "the reward waits for the release");
    let sl = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: U256::ZERO });
    assert_eq!((sl.fault, sl.amount, sl.reward, sl.held, sl.status), (Fault::Unanswered as u8, open(100), open(50), open(100), SlashStatus::Held as u8));
    assert_eq!(view(&chain, IAttribution::settlementOfCall { requestId: id }).fault, Fault::Unanswered as u8);
    let st = stake_of(&chain, agent.address());
    assert_eq!((st.free, st.locked), (open(50), U256::ZERO));
    // once: the request is closed
    assert_reverts(&call(&mut chain, reporter, IAttribution::refundCall { requestId: id }.abi_encode(), U256::ZERO, 700_000), "no open request");
    assert_reverts(&call(&mut chain, reporter, IAttribution::releaseStakeCall { requestId: id }.abi_encode(), U256::ZERO, 400_000), "holds no stake");
    // held, then released: half to the reporter, half to the treasury (dev account 0)
    assert_reverts(&call_to(&mut chain, &s[5], STAKING, IStaking::releaseSlashedCall { slashId: U256::ZERO }.abi_encode(), U256::ZERO, 300_000), "held until");
    let t_before = chain.balance(s[0].address()).unwrap();
    let rep_before = chain.balance(reporter.address()).unwrap();
    let r = call_at(&mut chain, &s[5], STAKING, IStaking::releaseSlashedCall { slashId: U256::ZERO }.abi_encode(), U256::ZERO, 300_000, sl.releaseAt);
    assert!(r.status, "{r:?} {}", reason(&r));
    assert_eq!(chain.balance(s[0].address()).unwrap() - t_before, open(50));
    assert_eq!(chain.balance(reporter.address()).unwrap() - rep_before, open(50));
    assert_reverts(&call_to(&mut chain, &s[5], STAKING, IStaking::releaseSlashedCall { slashId: U256::ZERO }.abi_encode(), U256::ZERO, 300_000), "no slash");
    assert_eq!(chain.balance(STAKING).unwrap(), open(50) + open(250));

    // a request whose model's key is delisted before its deadline could not be paid:
    // the refund returns the agent's lock instead of slashing it
    let id = escrow(&mut chain, &s[3], s[0].address(), model, 600, open(1));
    assert!(call(&mut chain, &s[2], IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000).status);
    assert!(call(&mut chain, &s[0], IAttribution::setKeyAllowedCall { vkHash: keys().vk.hash, allowed: false }.abi_encode(), U256::ZERO, 100_000).status);
    let deadline = view(&chain, IAttribution::requestOfCall { requestId: id }).deadline;
    assert!(call_at(&mut chain, reporter, ADDRESS, IAttribution::refundCall { requestId: id }.abi_encode(), U256::ZERO, 700_000, deadline + 1).status);
    assert_eq!(view_at(&chain, STAKING, IStaking::slashCountCall {}), U256::from(1), "no new slash");
    let st = stake_of(&chain, s[2].address());
    assert_eq!((st.free, st.locked), (open(150), open(100)));
    chain.staking_invariant().unwrap();
    chain.escrow_invariant().unwrap();
}

#[test]
fn governance_changes_parameters_split_and_allowlist_by_stake_weighted_vote() {
    let (_dir, mut chain, s) = fresh(vec![]);
    let gov = |chain: &mut Chain, who: &alloy_signer_local::PrivateKeySigner, input: Vec<u8>| call_to(chain, who, GOV, input, U256::ZERO, 1_000_000);
    let propose_stake = IGovernance::proposeParamCall { param: param::ACCEPT_STAKE, value: open(40) }.abi_encode();
    // no bonded stake: no proposal
    assert_reverts(&gov(&mut chain, &s[1], propose_stake.clone()), "bonded stake");
    for (who, amount) in [(1, 300), (2, 200), (3, 100)] {
        assert!(call_to(&mut chain, &s[who], STAKING, IStaking::stakeCall {}.abi_encode(), open(amount), 200_000).status);
    }
    // a change that would break a bound is refused at proposal
    let bad = IGovernance::proposeParamCall { param: param::UNBONDING_DELAY, value: U256::from(3600) }.abi_encode();
    assert_reverts(&gov(&mut chain, &s[1], bad), "must exceed the challenge window");
    assert_reverts(&gov(&mut chain, &s[1], IGovernance::proposeSplitCall { contributorsBps: 9_000, ownerBps: 1_000, proverBps: 1, protocolBps: 0 }.abi_encode()), "sum to 10,000");

    let r = gov(&mut chain, &s[1], propose_stake);
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("propose gas: {}", r.gas_used);
    let p0: U256 = IGovernance::proposeParamCall::abi_decode_returns(&r.output).unwrap();
    let split = gov(&mut chain, &s[1], IGovernance::proposeSplitCall { contributorsBps: 7_000, ownerBps: 2_000, proverBps: 500, protocolBps: 500 }.abi_encode());
    let p1: U256 = IGovernance::proposeSplitCall::abi_decode_returns(&split.output).unwrap();
    let vk = B256::repeat_byte(0x42);
    let allow = gov(&mut chain, &s[3], IGovernance::proposeKeyAllowedCall { vkHash: vk, allowed: true }.abi_encode());
    let p2: U256 = IGovernance::proposeKeyAllowedCall::abi_decode_returns(&allow.output).unwrap();
    // 300 yes vs 200 no passes p0; p1: 100 yes vs 500 no fails; p2: 100 yes alone is below the 20 % quorum? (120 of 600)
    let vote = |p: U256, yes: bool| IGovernance::voteCall { proposalId: p, support: yes }.abi_encode();
    let r = gov(&mut chain, &s[1], vote(p0, true));
    assert!(r.status, "{r:?} {}", reason(&r));
    println!("vote gas: {}", r.gas_used);
    assert_eq!(IGovernance::voteCall::abi_decode_returns(&r.output).unwrap(), open(300));
    assert_reverts(&gov(&mut chain, &s[1], vote(p0, false)), "already voted");
    // stake added after a proposal opened does not vote on it
    assert!(call_to(&mut chain, &s[2], STAKING, IStaking::stakeCall {}.abi_encode(), open(1_000), 200_000).status);
    let r = gov(&mut chain, &s[2], vote(p0, false));
    assert_eq!(IGovernance::voteCall::abi_decode_returns(&r.output).unwrap(), open(200), "the 200 OPEN bonded before p0 opened, not 1,200");
    assert!(call_to(&mut chain, &s[4], STAKING, IStaking::stakeCall {}.abi_encode(), open(500), 200_000).status);
    assert_reverts(&gov(&mut chain, &s[4], vote(p0, true)), "had none");
    // (back to the earlier stakes: s[2] and s[4] unbond what they added)
    for (who, amount) in [(2, 1_000), (4, 500)] {
        assert!(call_to(&mut chain, &s[who], STAKING, IStaking::unbondCall { amount: open(amount) }.abi_encode(), U256::ZERO, 300_000).status);
    }
    assert!(gov(&mut chain, &s[3], vote(p1, true)).status);
    assert!(gov(&mut chain, &s[1], vote(p1, false)).status);
    assert!(gov(&mut chain, &s[2], vote(p1, false)).status);
    assert!(gov(&mut chain, &s[3], vote(p2, true)).status);
    assert!(view_at(&chain, GOV, IGovernance::hasVotedCall { proposalId: p0, voter: s[2].address() }));
    // not before voting ends
    assert_reverts(&gov(&mut chain, &s[5], IGovernance::executeCall { proposalId: p0 }.abi_encode()), "has not ended");
    let ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p0 }).votingEnds;
    let exec = |p: U256| IGovernance::executeCall { proposalId: p }.abi_encode();
    let r = call_at(&mut chain, &s[5], GOV, exec(p0), U256::ZERO, 1_000_000, ends);
    assert!(r.status && IGovernance::executeCall::abi_decode_returns(&r.output).unwrap(), "{r:?} {}", reason(&r));
    println!("execute gas: {}", r.gas_used);
    let params = view_at(&chain, GOV, IGovernance::paramsCall {});
    assert_eq!(params.acceptStake, open(40));
    assert_reverts(&gov(&mut chain, &s[5], exec(p0)), "no active proposal");
    // p1 is rejected, p2 reaches no quorum (100 of 600 bonded, 20 % = 120)
    for p in [p1, p2] {
        let r = gov(&mut chain, &s[5], exec(p));
        assert!(r.status && !IGovernance::executeCall::abi_decode_returns(&r.output).unwrap(), "{r:?}");
        assert_eq!(view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p }).status, ProposalStatus::Defeated as u8);
    }
    assert_eq!(view_at(&chain, GOV, IGovernance::paramsCall {}).contributorsBps, 8_000);
    assert!(!view(&chain, IAttribution::isKeyAllowedCall { vkHash: vk }));

    // the split and the allowlist pass with enough votes; the split applies to new requests only
    let (_, model) = {
        let k = keys();
        let r = gov(&mut chain, &s[1], IGovernance::proposeKeyAllowedCall { vkHash: k.vk.hash, allowed: true }.abi_encode());
        let p: U256 = IGovernance::proposeKeyAllowedCall::abi_decode_returns(&r.output).unwrap();
        assert!(gov(&mut chain, &s[1], vote(p, true)).status);
        let ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p }).votingEnds;
        assert!(call_at(&mut chain, &s[5], GOV, exec(p), U256::ZERO, 1_000_000, ends).status);
        assert!(view(&chain, IAttribution::isKeyAllowedCall { vkHash: k.vk.hash }), "allowlisted by vote");
        register_model(&mut chain, &s[0])
    };
    let old = escrow(&mut chain, &s[2], s[0].address(), model, 30 * 24 * 3600, open(10));
    let r = gov(&mut chain, &s[2], IGovernance::proposeSplitCall { contributorsBps: 7_000, ownerBps: 2_000, proverBps: 500, protocolBps: 500 }.abi_encode());
    let p: U256 = IGovernance::proposeSplitCall::abi_decode_returns(&r.output).unwrap();
    assert!(gov(&mut chain, &s[1], vote(p, true)).status);
    let ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p }).votingEnds;
    // a proposal executed after one more voting period has expired
    let period = view_at(&chain, GOV, IGovernance::paramsCall {}).votingPeriod;
    let r = call_at(&mut chain, &s[5], GOV, exec(p), U256::ZERO, 1_000_000, ends + period + 1);
    assert!(r.status && !IGovernance::executeCall::abi_decode_returns(&r.output).unwrap());
    let r = gov(&mut chain, &s[2], IGovernance::proposeSplitCall { contributorsBps: 7_000, ownerBps: 2_000, proverBps: 500, protocolBps: 500 }.abi_encode());
    let p: U256 = IGovernance::proposeSplitCall::abi_decode_returns(&r.output).unwrap();
    assert!(gov(&mut chain, &s[1], vote(p, true)).status);
    let ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p }).votingEnds;
    assert!(call_at(&mut chain, &s[5], GOV, exec(p), U256::ZERO, 1_000_000, ends).status);
    let new = escrow(&mut chain, &s[2], s[0].address(), model, 3600, open(10));
    assert_eq!(split_of(&mut chain, old).contributors, open(8), "a pending request keeps its split");
    assert_eq!(split_of(&mut chain, new).contributors, open(7));
    assert_eq!(split_of(&mut chain, new).owner, open(2));

    // a slash can be reversed by a vote while it is held
    let agent = &s[3];
    let r = call(&mut chain, agent, IAttribution::acceptRequestCall { requestId: new }.abi_encode(), U256::ZERO, 300_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    let deadline = view(&chain, IAttribution::requestOfCall { requestId: new }).deadline;
    assert!(call_at(&mut chain, &s[4], ADDRESS, IAttribution::refundCall { requestId: new }.abi_encode(), U256::ZERO, 700_000, deadline + 1).status);
    let slash = view_at(&chain, STAKING, IStaking::slashCountCall {}) - U256::from(1);
    let held = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: slash }).held;
    assert_eq!(held, open(40), "all of the 40 OPEN lock is held");
    // a reversal proposed late in the hold (a day before release) ...
    let release_at = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: slash }).releaseAt;
    let input = IGovernance::proposeSlashReversalCall { slashId: slash }.abi_encode();
    let r = call_at(&mut chain, &s[1], GOV, input, U256::ZERO, 1_000_000, release_at - 24 * 3600);
    let p: U256 = IGovernance::proposeSlashReversalCall::abi_decode_returns(&r.output).unwrap();
    assert!(gov(&mut chain, &s[1], vote(p, true)).status);
    // ... keeps anyone from releasing the slash while it may still execute
    let r = call_at(&mut chain, &s[4], STAKING, IStaking::releaseSlashedCall { slashId: slash }.abi_encode(), U256::ZERO, 300_000, release_at);
    assert_reverts(&r, "may execute until");
    let free_before = stake_of(&chain, agent.address()).free;
    let ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: p }).votingEnds;
    assert!(call_at(&mut chain, &s[5], GOV, exec(p), U256::ZERO, 1_000_000, ends).status);
    assert_eq!(stake_of(&chain, agent.address()).free - free_before, held);
    assert_eq!(view_at(&chain, STAKING, IStaking::slashOfCall { slashId: slash }).status, SlashStatus::Reversed as u8);
    assert_reverts(&call_to(&mut chain, &s[5], STAKING, IStaking::releaseSlashedCall { slashId: slash }.abi_encode(), U256::ZERO, 300_000), "no slash");
    chain.staking_invariant().unwrap();
    chain.escrow_invariant().unwrap();
}

// ------------------------------------------------------------ properties

#[derive(Clone, Debug)]
enum Op {
    Stake { who: usize, amount: u8 },
    Unbond { who: usize, amount: u8 },
    Withdraw { who: usize },
    Escrow { ttl: u16 },
    Accept { who: usize, id: u8 },
    Refund { who: usize, id: u8 },
    Release { id: u8 },
    Mine { advance: u32 },
    /// A request accepted by `agent` and left to lapse; `reporter` refunds it.
    Lapse { agent: usize, reporter: usize },
}

/// Mine the pool at `ts`; adds the block's burnt base fee; the block's timestamp.
fn mine_block(chain: &Chain, ts: u64, burnt: &mut U256) -> u64 {
    let (b, _) = chain.mine_at(ts).unwrap();
    *burnt += U256::from(b.base_fee) * U256::from(b.gas_used);
    b.timestamp
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        2 => (1usize..4, 1u8..=200).prop_map(|(who, amount)| Op::Stake { who, amount }),
        1 => (1usize..4, 1u8..=200).prop_map(|(who, amount)| Op::Unbond { who, amount }),
        1 => (1usize..4).prop_map(|who| Op::Withdraw { who }),
        3 => (600u16..2_000).prop_map(|ttl| Op::Escrow { ttl }),
        3 => (1usize..4, 0u8..4).prop_map(|(who, id)| Op::Accept { who, id }),
        2 => (1usize..5, 0u8..4).prop_map(|(who, id)| Op::Refund { who, id }),
        1 => (0u8..4).prop_map(|id| Op::Release { id }),
        2 => (1usize..4, 1usize..6).prop_map(|(agent, reporter)| Op::Lapse { agent, reporter }),
        4 => prop_oneof![Just(2u32), Just(2u32), Just(2_500), Just(3 * 24 * 3600), Just(8 * 24 * 3600)].prop_map(|advance| Op::Mine { advance }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("LINEAGE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10),
        failure_persistence: None,
        ..Default::default()
    })]

    /// After every block, whatever mix of staking, unbonding, withdrawals,
    /// accepted requests, refunds (slashes) and releases: OPEN is conserved
    /// (every balance plus the base fee burnt equals genesis); the staking
    /// account holds exactly bonded + unbonding + held, each the sum of its
    /// parts; every fault is slashed once, for its whole lock; the reporter's
    /// reward never exceeds the slash; and stake that finished unbonding is
    /// never slashed (slashes take locks only, and withdrawals always pay).
    #[test]
    fn staking_books_balance_and_faults_are_slashed_once(ops in proptest::collection::vec(op(), 1..40)) {
        let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
        let (_, model) = register_model(&mut chain, &s[0]);
        let accounts: Vec<Address> = s.iter().map(|x| x.address()).collect();
        let mut system = vec![STAKING, ADDRESS, GOV, lineage_chain::REGISTRY_PRECOMPILE, chain.genesis().beneficiary];
        system.dedup();
        let funded: Vec<Address> = chain.genesis().alloc.iter().map(|(a, _)| *a).collect();
        let total = |chain: &Chain| -> U256 { funded.iter().chain(&system).map(|a| chain.balance(*a).unwrap()).sum() };
        let mut burnt = U256::ZERO;
        let genesis_total: U256 = chain.genesis().alloc.iter().map(|(_, b)| *b).sum();
        // everything burnt so far (the fixture's registrations)
        for n in 1..=chain.head().unwrap().number {
            let b = chain.block(n).unwrap().unwrap();
            burnt += U256::from(b.base_fee) * U256::from(b.gas_used);
        }
        let mut ts = now(&chain);
        // (agent, tx, stake value): stakes and withdrawals, read back from receipts
        let mut moves: Vec<(usize, B256, U256)> = Vec::new();
        // every agent starts with enough stake to accept a request
        for who in 1..4 {
            let h = queue(&mut chain, &s[who], STAKING, IStaking::stakeCall {}.abi_encode(), open(150), 200_000);
            moves.push((who, h, open(150)));
        }
        for op in ops {
            match op {
                Op::Stake { who, amount } => {
                    let h = queue(&mut chain, &s[who], STAKING, IStaking::stakeCall {}.abi_encode(), open(amount as u128), 200_000);
                    moves.push((who, h, open(amount as u128)));
                }
                Op::Unbond { who, amount } => {
                    queue(&mut chain, &s[who], STAKING, IStaking::unbondCall { amount: open(amount as u128) }.abi_encode(), U256::ZERO, 300_000);
                }
                Op::Withdraw { who } => {
                    let h = queue(&mut chain, &s[who], STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO, 300_000);
                    moves.push((who, h, U256::ZERO));
                }
                Op::Escrow { ttl } => {
                    let input = escrow_input(&chain, s[0].address(), model, fe(9), ttl as u64);
                    queue(&mut chain, &s[4], ADDRESS, input, open(1), 300_000);
                }
                Op::Accept { who, id } => {
                    queue(&mut chain, &s[who], ADDRESS, IAttribution::acceptRequestCall { requestId: U256::from(id) }.abi_encode(), U256::ZERO, 300_000);
                }
                Op::Refund { who, id } => {
                    queue(&mut chain, &s[who], ADDRESS, IAttribution::refundCall { requestId: U256::from(id) }.abi_encode(), U256::ZERO, 700_000);
                }
                Op::Release { id } => {
                    queue(&mut chain, &s[5], STAKING, IStaking::releaseSlashedCall { slashId: U256::from(id) }.abi_encode(), U256::ZERO, 300_000);
                }
                Op::Mine { advance } => {
                    ts = mine_block(&chain, ts + advance as u64, &mut burnt);
                }
                Op::Lapse { agent, reporter } => {
                    let input = escrow_input(&chain, s[0].address(), model, fe(9), 600);
                    let h = queue(&mut chain, &s[5], ADDRESS, input, open(1), 300_000);
                    ts = mine_block(&chain, ts + 2, &mut burnt);
                    let r = chain.receipt(&h).unwrap().unwrap();
                    if r.status {
                        let id: U256 = IAttribution::escrowFeeCall::abi_decode_returns(&r.output).unwrap();
                        queue(&mut chain, &s[agent], ADDRESS, IAttribution::acceptRequestCall { requestId: id }.abi_encode(), U256::ZERO, 300_000);
                        ts = mine_block(&chain, ts + 2, &mut burnt);
                        queue(&mut chain, &s[reporter], ADDRESS, IAttribution::refundCall { requestId: id }.abi_encode(), U256::ZERO, 700_000);
                        ts = mine_block(&chain, ts + 700, &mut burnt);
                    }
                }
            }
        }
        while chain.pending() > 0 {
            ts = mine_block(&chain, ts + 2, &mut burnt);
        }
        // conservation
        proptest::prop_assert_eq!(total(&chain) + burnt, genesis_total);
        // the staking books, part by part
        let t = view_at(&chain, STAKING, IStaking::totalsCall {});
        let (mut bonded, mut unbonding) = (U256::ZERO, U256::ZERO);
        for a in &accounts {
            let st = stake_of(&chain, *a);
            bonded += st.free + st.locked;
            unbonding += st.unbonding;
        }
        let n = view_at(&chain, STAKING, IStaking::slashCountCall {});
        let mut held = U256::ZERO;
        let mut slashed_requests = std::collections::HashSet::new();
        let mut id = U256::ZERO;
        while id < n {
            let sl = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: id });
            proptest::prop_assert!(sl.reward <= sl.amount, "reward {} exceeds slash {}", sl.reward, sl.amount);
            proptest::prop_assert!(sl.reward * U256::from(2) <= sl.amount, "reward above half the slash");
            proptest::prop_assert_eq!(sl.held, sl.amount);
            proptest::prop_assert!(slashed_requests.insert(sl.requestId), "request {} slashed twice", sl.requestId);
            proptest::prop_assert_eq!(sl.fault, Fault::Unanswered as u8);
            if sl.status == SlashStatus::Held as u8 {
                held += sl.held;
            }
            id += U256::from(1);
        }
        proptest::prop_assert_eq!((t.bonded, t.unbonding, t.held), (bonded, unbonding, held));
        proptest::prop_assert_eq!(chain.balance(STAKING).unwrap(), bonded + unbonding + held);
        // per agent: everything staked is still staked, withdrawn, or slashed
        // (net of reversals); so nothing withdrawn was ever slashed
        let mut flow = vec![(U256::ZERO, U256::ZERO); s.len()];
        for (who, h, value) in moves {
            let r = chain.receipt(&h).unwrap().unwrap();
            if r.status {
                if value.is_zero() {
                    flow[who].1 += IStaking::withdrawCall::abi_decode_returns(&r.output).unwrap();
                } else {
                    flow[who].0 += value;
                }
            }
        }
        let mut id = U256::ZERO;
        while id < n {
            let sl = view_at(&chain, STAKING, IStaking::slashOfCall { slashId: id });
            let who = accounts.iter().position(|a| *a == sl.agent).unwrap();
            let reversed = if sl.status == SlashStatus::Reversed as u8 { sl.held } else { U256::ZERO };
            flow[who].1 += sl.amount - reversed;
            id += U256::from(1);
        }
        for (who, (staked, out)) in flow.into_iter().enumerate() {
            let st = stake_of(&chain, accounts[who]);
            proptest::prop_assert_eq!(staked, st.free + st.locked + st.unbonding + out, "agent {}", who);
        }
        chain.staking_invariant().unwrap();
        chain.escrow_invariant().unwrap();
    }
}

/// The same OPEN never votes twice on one proposal, even after governance
/// shortens the delays under a proposal still open: a voter's unbonding
/// stake waits for the end of every vote it cast.
#[test]
fn stake_that_voted_waits_for_the_vote_even_when_delays_are_shortened() {
    let (_dir, mut chain, s) = fresh(vec![]);
    for (who, amount) in [(1, 300), (3, 100)] {
        assert!(call_to(&mut chain, &s[who], STAKING, IStaking::stakeCall {}.abi_encode(), open(amount), 200_000).status);
    }
    let t0 = now(&chain) + 10;
    let day = 24 * 3600;
    // each step in its own block at an exact time
    let at = |chain: &mut Chain, ts: u64, who: usize, to: Address, input: Vec<u8>| {
        let r = call_at(chain, &s[who], to, input, U256::ZERO, 1_000_000, ts);
        assert!(r.status, "at {ts}: {r:?} {}", reason(&r));
        r
    };
    let propose = |param: u8, value: U256| IGovernance::proposeParamCall { param, value }.abi_encode();
    let id = |r: &lineage_chain::Receipt| IGovernance::proposeParamCall::abi_decode_returns(&r.output).unwrap();
    let vote = |p: U256| IGovernance::voteCall { proposalId: p, support: true }.abi_encode();
    let exec = |p: U256| IGovernance::executeCall { proposalId: p }.abi_encode();
    // t0: hold slashes 13 days (so votes may last 6); later, votes of 2 days and unbonding of 3
    let pa = id(&at(&mut chain, t0, 1, GOV, propose(param::SLASH_RELEASE_DELAY, U256::from(13 * day))));
    let pc = id(&at(&mut chain, t0 + 10, 1, GOV, propose(param::VOTING_PERIOD, U256::from(2 * day))));
    let pe = id(&at(&mut chain, t0 + 11, 1, GOV, propose(param::UNBONDING_DELAY, U256::from(3 * day))));
    for (i, p) in [pa, pc, pe].into_iter().enumerate() {
        at(&mut chain, t0 + 12 + i as u64, 1, GOV, vote(p));
    }
    at(&mut chain, t0 + 2 * day + 1, 5, GOV, exec(pa));
    // votes of 6 days
    let pb = id(&at(&mut chain, t0 + 2 * day + 2, 1, GOV, propose(param::VOTING_PERIOD, U256::from(6 * day))));
    at(&mut chain, t0 + 2 * day + 3, 1, GOV, vote(pb));
    at(&mut chain, t0 + 4 * day + 2, 5, GOV, exec(pb));
    // proposal A opens under 6-day votes ...
    let a = id(&at(&mut chain, t0 + 4 * day + 3, 1, GOV, propose(param::ACCEPT_STAKE, open(90))));
    let a_ends = view_at(&chain, GOV, IGovernance::proposalOfCall { proposalId: a }).votingEnds;
    // ... then votes shrink to 2 days and unbonding to 3
    assert!(IGovernance::executeCall::abi_decode_returns(&at(&mut chain, t0 + 4 * day + 4, 5, GOV, exec(pc)).output).unwrap());
    assert!(IGovernance::executeCall::abi_decode_returns(&at(&mut chain, t0 + 4 * day + 5, 5, GOV, exec(pe)).output).unwrap());
    let p = view_at(&chain, GOV, IGovernance::paramsCall {});
    assert_eq!((p.votingPeriod, p.unbondingDelay), (2 * day, 3 * day));
    // s[3] votes on A, unbonds at once: its unbonding ends days before A's vote does
    at(&mut chain, t0 + 4 * day + 6, 3, GOV, vote(a));
    at(&mut chain, t0 + 4 * day + 7, 3, STAKING, IStaking::unbondCall { amount: open(100) }.abi_encode());
    let ends = stake_of(&chain, s[3].address()).unbondingEnds;
    assert!(ends < a_ends, "{ends} < {a_ends}");
    // so it may not withdraw (and vote again from another account) until A's vote ends
    let r = call_at(&mut chain, &s[3], STAKING, IStaking::withdrawCall {}.abi_encode(), U256::ZERO, 300_000, ends + 1);
    assert_reverts(&r, "voted on a proposal whose vote ends at");
    at(&mut chain, a_ends, 3, STAKING, IStaking::withdrawCall {}.abi_encode());
    chain.staking_invariant().unwrap();
}

#[test]
fn a_public_query_is_committed_by_the_chain_and_posted_for_every_agent() {
    let (_dir, mut chain, s) = fresh(vec![keys().vk.hash]);
    let (_, model) = register_model(&mut chain, &s[0]);
    let pixels: Vec<u8> = (0..64u8).map(|i| i % 17).collect();
    let deadline = now(&chain) + 3600;
    let input = |q: Vec<u8>| IAttribution::escrowQueryCall { modelOwner: s[0].address(), modelCommitment: model, query: q.into(), deadline }.abi_encode();
    let r = call(&mut chain, &s[2], input(pixels.clone()), open(3), 400_000);
    assert!(r.status, "{r:?} {}", reason(&r));
    let id = IAttribution::escrowQueryCall::abi_decode_returns(&r.output).unwrap();
    // the request commits to exactly the posted pixels, as a client computes it
    let want = B256::from(lineage_core::field::fr_to_be_bytes(&lineage_core::datanet::query_commitment(&pixels).unwrap()));
    let req = view(&chain, IAttribution::requestOfCall { requestId: id });
    assert_eq!((req.queryCommitment, req.fee, req.payer), (want, open(3), s[2].address()));
    let posted: Vec<_> = r.logs.iter().filter_map(|l| IAttribution::QueryPosted::decode_log_data(&l.data).ok()).collect();
    assert_eq!(posted.len(), 1);
    assert_eq!((posted[0].requestId, posted[0].query.to_vec()), (id, pixels.clone()));
    // a pixel above 16, or a query of another length, is refused and escrows nothing
    let before = chain.balance(ADDRESS).unwrap();
    let mut hot = pixels.clone();
    hot[5] = 17;
    assert_reverts(&call(&mut chain, &s[2], input(hot), open(1), 400_000), "at most 16");
    assert_reverts(&call(&mut chain, &s[2], input(pixels[..63].to_vec()), open(1), 400_000), "64 pixels");
    assert_eq!(chain.balance(ADDRESS).unwrap(), before);
    chain.escrow_invariant().unwrap();
}
