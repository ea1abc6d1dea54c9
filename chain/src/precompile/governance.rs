//! The governance precompile at [`ADDRESS`] (`0x…4c4e0004`): the chain's
//! economic parameters and stake-weighted proposals that change them.
//! ABI: [`IGovernance`].
//!
//! * **Parameters** ([`Params`]) live in this account's storage, set at
//!   genesis: the fee split of a paid claim (contributors, model owner,
//!   prover, protocol, in basis points summing to 10,000), the stake an agent
//!   locks to accept a request, the challenge window, the unbonding delay,
//!   the reporter's share of a slash, how long slashed funds are held, the
//!   voting period, the quorum, the proposal threshold and the treasury.
//!   [`Params::validate`] holds them to their bounds, among them
//!   `unbonding delay > challenge window` and `unbonding delay > voting
//!   period`, so stake can neither leave before a fault can be reported nor
//!   vote twice on one proposal.
//! * **Proposals.** An account with at least the proposal threshold of
//!   bonded stake (free plus locked, [`super::staking`]) proposes a change:
//!   one parameter, the split, a verifying key on or off the attribution
//!   precompile's allowlist, or the reversal of a slash still held. A
//!   proposal must leave the parameters valid.
//! * **Votes** weigh the voter's bonded stake just before the proposal
//!   opened (a checkpoint per change of an agent's bonded stake,
//!   [`staking::bonded_at`]); one vote per account per proposal. Stake
//!   added later does not vote, and a voter's unbonding stake cannot be
//!   withdrawn before the votes it cast end.
//! * **Execution** (anyone, once, after voting ends and within one more of
//!   its voting periods): a proposal passes when its yes weight exceeds its no
//!   weight and the votes cast reach the quorum, a share of the total bonded
//!   stake when it was proposed. A passing proposal whose change is no longer
//!   valid, or a failing one, is marked defeated.
//!
//! Outcomes follow the other native precompiles ([`super::native`]).

use super::{
    attribution::{self, slots::slot},
    native::{self, address_word, word_address, DbResult, Outcome},
    staking,
};
use alloy_primitives::{address, Address, B256, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use revm::{
    context_interface::ContextTr,
    interpreter::{CallInputs, InterpreterResult},
};
use serde::{Deserialize, Serialize};

/// Address of the governance precompile.
pub const ADDRESS: Address = address!("000000000000000000000000000000004c4e0004");
/// Basis points in a whole.
pub const BPS: u16 = 10_000;
/// Longest delay or period a parameter may set, in seconds (one year).
pub const MAX_DELAY: u64 = 365 * 24 * 3600;
/// Shortest voting period and challenge window, in seconds.
pub const MIN_PERIOD: u64 = 60;
/// Largest reporter's share of a slash (half: a self-report always loses).
pub const MAX_REPORTER_BPS: u16 = 5_000;
/// Largest quorum (a higher one would let absent stake block every change).
pub const MAX_QUORUM_BPS: u16 = 5_000;
/// Largest proposal threshold, wei (one million OPEN: governance stays reachable).
pub const MAX_PROPOSAL_THRESHOLD: u128 = 1_000_000 * crate::genesis::OPEN;
/// Gas of a read of the parameters (14 words).
pub const PARAMS_GAS: u64 = 14 * READ_WORD_GAS;
/// Gas of a storage word read (a cold `SLOAD`).
pub const READ_WORD_GAS: u64 = 2_100;
/// Gas of a storage word written fresh (an `SSTORE` from zero).
pub const STORE_WORD_GAS: u64 = 20_000;
/// Gas of a proposal: 10 new words (11 for a slash reversal's mark), the
/// proposer's stake and the parameters.
pub const PROPOSE_GAS: u64 = 11 * STORE_WORD_GAS + 6 * READ_WORD_GAS + PARAMS_GAS;
/// Gas of a vote: the ballot, a tally and the voter's vote lock; the
/// voter's stake, the proposal.
pub const VOTE_GAS: u64 = 3 * STORE_WORD_GAS + 8 * READ_WORD_GAS + staking::CHECKPOINT_LOOKUP_READS * READ_WORD_GAS;
/// Gas of an execution: the proposal, the parameters, one change (a slash
/// reversal touches up to 6 words).
pub const EXECUTE_GAS: u64 = 9 * READ_WORD_GAS + PARAMS_GAS + 7 * STORE_WORD_GAS + staking::CHECKPOINT_GAS;
/// Gas of a proposal read.
pub const VIEW_PROPOSAL_GAS: u64 = 9 * READ_WORD_GAS;

sol! {
    /// Governance of the chain's parameters.
    interface IGovernance {
        struct ChainParams {
            uint16 contributorsBps;
            uint16 ownerBps;
            uint16 proverBps;
            uint16 protocolBps;
            uint256 acceptStake;
            uint64 challengeWindow;
            uint64 unbondingDelay;
            uint16 reporterBps;
            uint64 slashReleaseDelay;
            uint64 votingPeriod;
            uint16 quorumBps;
            uint256 proposalThreshold;
            address treasury;
        }
        function params() external view returns (ChainParams memory);
        /// `param`: 0 acceptStake, 1 challengeWindow, 2 unbondingDelay,
        /// 3 reporterBps, 4 slashReleaseDelay, 5 votingPeriod, 6 quorumBps,
        /// 7 proposalThreshold, 8 treasury (an address as a word).
        function proposeParam(uint8 param, uint256 value) external returns (uint256 proposalId);
        function proposeSplit(uint16 contributorsBps, uint16 ownerBps, uint16 proverBps, uint16 protocolBps) external returns (uint256 proposalId);
        function proposeKeyAllowed(bytes32 vkHash, bool allowed) external returns (uint256 proposalId);
        function proposeSlashReversal(uint256 slashId) external returns (uint256 proposalId);
        function vote(uint256 proposalId, bool support) external returns (uint256 weight);
        function execute(uint256 proposalId) external returns (bool passed);
        function proposalOf(uint256 proposalId) external view returns (
            uint8 kind,
            uint256 key,
            uint256 value,
            address proposer,
            uint64 votingEnds,
            uint256 yes,
            uint256 no,
            uint256 quorum,
            uint8 status
        );
        function proposalCount() external view returns (uint256);
        function hasVoted(uint256 proposalId, address voter) external view returns (bool);

        event Proposed(uint256 indexed proposalId, address indexed proposer, uint8 kind, uint256 key, uint256 value, uint64 votingEnds, uint256 quorum);
        event Voted(uint256 indexed proposalId, address indexed voter, bool support, uint256 weight);
        event Executed(uint256 indexed proposalId, uint8 kind, uint256 key, uint256 value);
        event Defeated(uint256 indexed proposalId, string reason);
    }
}

/// What a proposal changes (`proposalOf(..).kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ProposalKind {
    Param = 1,
    Split = 2,
    KeyAllowed = 3,
    SlashReversal = 4,
}

/// Lifecycle of a proposal (`proposalOf(..).status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ProposalStatus {
    None = 0,
    Active = 1,
    Executed = 2,
    Defeated = 3,
}

/// The fee split of a paid claim, in basis points (summing to [`BPS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub contributors_bps: u16,
    pub owner_bps: u16,
    pub prover_bps: u16,
    pub protocol_bps: u16,
}

/// A fee divided by a [`Split`]: every share rounds down and the protocol
/// takes the remainder, so the four always sum to the fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shares {
    pub contributors: U256,
    pub owner: U256,
    pub prover: U256,
    pub protocol: U256,
}

impl Split {
    pub fn pack(&self) -> U256 {
        U256::from(self.contributors_bps) << 48 | U256::from(self.owner_bps) << 32 | U256::from(self.prover_bps) << 16 | U256::from(self.protocol_bps)
    }

    pub fn unpack(w: U256) -> Self {
        let f = |shift: usize| (w >> shift).saturating_to::<u64>() as u16;
        Self { contributors_bps: f(48), owner_bps: f(32), prover_bps: f(16), protocol_bps: (w & U256::from(0xffffu32)).to::<u64>() as u16 }
    }

    pub fn is_valid(&self) -> bool {
        [self.contributors_bps, self.owner_bps, self.prover_bps, self.protocol_bps].iter().map(|&b| b as u32).sum::<u32>() == BPS as u32
            && self.contributors_bps > 0
    }

    /// The four shares of `fee` (which must be below 2^128).
    pub fn shares(&self, fee: U256) -> Shares {
        let part = |bps: u16| fee * U256::from(bps) / U256::from(BPS);
        let contributors = part(self.contributors_bps);
        let owner = part(self.owner_bps);
        let prover = part(self.prover_bps);
        Shares { contributors, owner, prover, protocol: fee - contributors - owner - prover }
    }
}

/// The chain's governed parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub split: Split,
    /// Wei an agent locks to accept a request.
    pub accept_stake: U256,
    /// Seconds after a paid claim during which its agent's signed answer
    /// may be reported.
    pub challenge_window: u64,
    /// Seconds between `unbond` and `withdraw`.
    pub unbonding_delay: u64,
    /// Share of a slash paid to its reporter, basis points.
    pub reporter_bps: u16,
    /// Seconds slashed funds are held (and may be reversed) before release.
    pub slash_release_delay: u64,
    /// Seconds a proposal is open for votes.
    pub voting_period: u64,
    /// Votes cast a proposal needs, basis points of the total bonded stake.
    pub quorum_bps: u16,
    /// Bonded stake needed to propose, wei.
    pub proposal_threshold: U256,
    /// Receives the protocol's share and released slashes.
    pub treasury: Address,
}

/// Ids of the single parameters (`proposeParam(param, ..)`).
pub mod param {
    pub const ACCEPT_STAKE: u8 = 0;
    pub const CHALLENGE_WINDOW: u8 = 1;
    pub const UNBONDING_DELAY: u8 = 2;
    pub const REPORTER_BPS: u8 = 3;
    pub const SLASH_RELEASE_DELAY: u8 = 4;
    pub const VOTING_PERIOD: u8 = 5;
    pub const QUORUM_BPS: u8 = 6;
    pub const PROPOSAL_THRESHOLD: u8 = 7;
    pub const TREASURY: u8 = 8;
    pub const COUNT: u8 = 9;
}

/// Storage slots of this account.
pub mod slots {
    use super::*;
    pub fn split() -> U256 {
        slot("gov.split", &[])
    }
    pub fn param(id: u8) -> U256 {
        slot("gov.param", &[&[id]])
    }
    pub fn proposal_count() -> U256 {
        slot("gov.proposals", &[])
    }
    pub fn proposal(id: U256, f: &str) -> U256 {
        slot("gov.proposal", &[&id.to_be_bytes::<32>(), f.as_bytes()])
    }
    pub fn ballot(id: U256, voter: &Address) -> U256 {
        slot("gov.ballot", &[&id.to_be_bytes::<32>(), voter.as_slice()])
    }
}

impl Params {
    /// Development defaults: 80 % to contributors, 10 % to the model owner,
    /// 5 % each to the prover and the protocol; 100 OPEN to accept; a one-day
    /// challenge window, a seven-day unbonding delay; slashes held five days,
    /// then half to the reporter; two-day votes, 20 % quorum, 100 OPEN to
    /// propose.
    pub fn dev(treasury: Address) -> Self {
        let open = U256::from(crate::genesis::OPEN);
        Self {
            split: Split { contributors_bps: 8_000, owner_bps: 1_000, prover_bps: 500, protocol_bps: 500 },
            accept_stake: open * U256::from(100),
            challenge_window: 24 * 3600,
            unbonding_delay: 7 * 24 * 3600,
            reporter_bps: 5_000,
            slash_release_delay: 5 * 24 * 3600,
            voting_period: 2 * 24 * 3600,
            quorum_bps: 2_000,
            proposal_threshold: open * U256::from(100),
            treasury,
        }
    }

    /// Check every bound; the reason for the first one broken.
    pub fn validate(&self) -> Result<(), String> {
        let max_amount = U256::from(1u8) << 128;
        if !self.split.is_valid() {
            return Err("the split must sum to 10,000 basis points, with a nonzero share to contributors".into());
        }
        if self.accept_stake.is_zero() || self.accept_stake >= max_amount {
            return Err("the accept stake must be in (0, 2^128) wei".into());
        }
        if self.proposal_threshold > U256::from(MAX_PROPOSAL_THRESHOLD) {
            return Err("the proposal threshold is at most 1,000,000 OPEN".into());
        }
        for (name, v) in [("challenge window", self.challenge_window), ("voting period", self.voting_period)] {
            if !(MIN_PERIOD..=MAX_DELAY).contains(&v) {
                return Err(format!("the {name} must be {MIN_PERIOD} s to one year"));
            }
        }
        if self.unbonding_delay > MAX_DELAY || self.slash_release_delay > MAX_DELAY {
            return Err("delays are at most one year".into());
        }
        if self.unbonding_delay <= self.challenge_window {
            return Err("the unbonding delay must exceed the challenge window".into());
        }
        if self.unbonding_delay <= self.voting_period {
            return Err("the unbonding delay must exceed the voting period".into());
        }
        if self.slash_release_delay <= 2 * self.voting_period {
            return Err("slashes must be held longer than a vote and its execution window (two voting periods)".into());
        }
        if self.reporter_bps > MAX_REPORTER_BPS {
            return Err("the reporter's share is at most 5,000 basis points".into());
        }
        if self.quorum_bps == 0 || self.quorum_bps > MAX_QUORUM_BPS {
            return Err("the quorum must be 1 to 5,000 basis points".into());
        }
        if self.treasury.is_zero() || super::SYSTEM_ADDRESSES.contains(&self.treasury) {
            return Err("the treasury must be a nonzero address outside the system contracts".into());
        }
        Ok(())
    }

    /// The value of single parameter `id` as a word.
    pub fn get(&self, id: u8) -> Option<U256> {
        use param::*;
        Some(match id {
            ACCEPT_STAKE => self.accept_stake,
            CHALLENGE_WINDOW => U256::from(self.challenge_window),
            UNBONDING_DELAY => U256::from(self.unbonding_delay),
            REPORTER_BPS => U256::from(self.reporter_bps),
            SLASH_RELEASE_DELAY => U256::from(self.slash_release_delay),
            VOTING_PERIOD => U256::from(self.voting_period),
            QUORUM_BPS => U256::from(self.quorum_bps),
            PROPOSAL_THRESHOLD => self.proposal_threshold,
            TREASURY => address_word(&self.treasury),
            _ => return None,
        })
    }

    /// These parameters with single parameter `id` set to `v` (`None` for an
    /// unknown id or a value out of its type's range).
    pub fn with(&self, id: u8, v: U256) -> Option<Self> {
        use param::*;
        let mut p = self.clone();
        let u64_of = |v: U256| u64::try_from(v).ok();
        let bps_of = |v: U256| u16::try_from(v).ok();
        match id {
            ACCEPT_STAKE => p.accept_stake = v,
            CHALLENGE_WINDOW => p.challenge_window = u64_of(v)?,
            UNBONDING_DELAY => p.unbonding_delay = u64_of(v)?,
            REPORTER_BPS => p.reporter_bps = bps_of(v)?,
            SLASH_RELEASE_DELAY => p.slash_release_delay = u64_of(v)?,
            VOTING_PERIOD => p.voting_period = u64_of(v)?,
            QUORUM_BPS => p.quorum_bps = bps_of(v)?,
            PROPOSAL_THRESHOLD => p.proposal_threshold = v,
            TREASURY => {
                if v >= U256::from(1u8) << 160 {
                    return None;
                }
                p.treasury = word_address(v)
            }
            _ => return None,
        }
        Some(p)
    }

    /// The storage words these parameters occupy (written at genesis).
    pub fn words(&self) -> Vec<(U256, U256)> {
        let mut w = vec![(slots::split(), self.split.pack())];
        for id in 0..param::COUNT {
            w.push((slots::param(id), self.get(id).expect("id in range")));
        }
        w
    }

    /// Parameters from storage words.
    pub fn from_words(mut read: impl FnMut(U256) -> DbResult<U256>) -> DbResult<Self> {
        let split = Split::unpack(read(slots::split())?);
        let mut p = Self::dev(Address::ZERO);
        p.split = split;
        for id in 0..param::COUNT {
            let v = read(slots::param(id))?;
            p = p.with(id, v).ok_or_else(|| format!("stored parameter {id} is out of range"))?;
        }
        Ok(p)
    }

    /// The parameters in force.
    pub fn load<CTX: ContextTr>(ctx: &mut CTX) -> DbResult<Self> {
        Self::from_words(|s| native::sload(ctx, ADDRESS, s))
    }

    pub fn to_abi(&self) -> IGovernance::ChainParams {
        IGovernance::ChainParams {
            contributorsBps: self.split.contributors_bps,
            ownerBps: self.split.owner_bps,
            proverBps: self.split.prover_bps,
            protocolBps: self.split.protocol_bps,
            acceptStake: self.accept_stake,
            challengeWindow: self.challenge_window,
            unbondingDelay: self.unbonding_delay,
            reporterBps: self.reporter_bps,
            slashReleaseDelay: self.slash_release_delay,
            votingPeriod: self.voting_period,
            quorumBps: self.quorum_bps,
            proposalThreshold: self.proposal_threshold,
            treasury: self.treasury,
        }
    }
}

/// Gas of a call, from its input alone.
pub fn gas_of(call: &IGovernance::IGovernanceCalls) -> u64 {
    use IGovernance::IGovernanceCalls as C;
    match call {
        C::params(_) => PARAMS_GAS,
        C::proposeParam(_) | C::proposeSplit(_) | C::proposeKeyAllowed(_) | C::proposeSlashReversal(_) => PROPOSE_GAS,
        C::vote(_) => VOTE_GAS,
        C::execute(_) => EXECUTE_GAS,
        C::proposalOf(_) => VIEW_PROPOSAL_GAS,
        C::proposalCount(_) | C::hasVoted(_) => READ_WORD_GAS,
    }
}

fn sload<CTX: ContextTr>(ctx: &mut CTX, s: U256) -> DbResult<U256> {
    native::sload(ctx, ADDRESS, s)
}

fn sstore<CTX: ContextTr>(ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
    native::sstore(ctx, ADDRESS, s, v)
}

fn emit<CTX: ContextTr, E: SolEvent>(ctx: &mut CTX, e: &E) {
    native::emit(ctx, ADDRESS, e)
}

/// The governance precompile (stateless: everything lives in storage).
#[derive(Default, Debug)]
pub struct GovernancePrecompile;

impl GovernancePrecompile {
    /// Entry point from the precompile provider.
    pub fn run<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> Result<InterpreterResult, String> {
        native::run_sol(ctx, inputs, gas_of, |ctx, call| dispatch(ctx, inputs, call))
    }
}

fn dispatch<CTX: ContextTr>(ctx: &mut CTX, inputs: &CallInputs, call: IGovernance::IGovernanceCalls) -> DbResult<Outcome> {
    use IGovernance::IGovernanceCalls as C;
    let view = matches!(call, C::params(_) | C::proposalOf(_) | C::proposalCount(_) | C::hasVoted(_));
    if let Some(refused) = native::guard(inputs, ADDRESS, view, false) {
        return Ok(refused);
    }
    let caller = inputs.caller;
    match call {
        C::params(_) => {
            let p = Params::load(ctx)?;
            Ok(Outcome::Ok(IGovernance::paramsCall::abi_encode_returns(&p.to_abi()).into()))
        }
        C::proposeParam(c) => {
            let current = Params::load(ctx)?;
            let Some(next) = current.with(c.param, c.value) else {
                return Ok(Outcome::Revert(format!("unknown parameter {} or value out of its range", c.param)));
            };
            if let Err(e) = next.validate() {
                return Ok(Outcome::Revert(format!("the change would leave the parameters invalid: {e}")));
            }
            propose(ctx, caller, &current, ProposalKind::Param, U256::from(c.param), c.value)
        }
        C::proposeSplit(c) => {
            let current = Params::load(ctx)?;
            let split = Split { contributors_bps: c.contributorsBps, owner_bps: c.ownerBps, prover_bps: c.proverBps, protocol_bps: c.protocolBps };
            if !split.is_valid() {
                return Ok(Outcome::Revert("the split must sum to 10,000 basis points, with a nonzero share to contributors".into()));
            }
            propose(ctx, caller, &current, ProposalKind::Split, U256::ZERO, split.pack())
        }
        C::proposeKeyAllowed(c) => {
            let current = Params::load(ctx)?;
            propose(ctx, caller, &current, ProposalKind::KeyAllowed, U256::from_be_bytes(c.vkHash.0), U256::from(c.allowed as u8))
        }
        C::proposeSlashReversal(c) => {
            if !staking::slash_is_held(ctx, c.slashId)? {
                return Ok(Outcome::Revert("no slash with this id is held".into()));
            }
            let current = Params::load(ctx)?;
            let out = propose(ctx, caller, &current, ProposalKind::SlashReversal, c.slashId, U256::ZERO)?;
            if let Outcome::Ok(_) = out {
                // not released while this proposal may still execute
                let until = native::now(ctx).saturating_add(current.voting_period.saturating_mul(2));
                staking::contest_slash(ctx, c.slashId, until)?;
            }
            Ok(out)
        }
        C::vote(c) => vote(ctx, caller, c.proposalId, c.support),
        C::execute(c) => execute(ctx, c.proposalId),
        C::proposalOf(c) => {
            let id = c.proposalId;
            let mut w = Vec::with_capacity(9);
            for f in ["kind", "key", "value", "proposer", "ends", "yes", "no", "quorum", "status"] {
                w.push(sload(ctx, slots::proposal(id, f))?);
            }
            let out = (
                w[0].saturating_to::<u8>(),
                w[1],
                w[2],
                word_address(w[3]),
                w[4].saturating_to::<u64>(),
                w[5],
                w[6],
                w[7],
                w[8].saturating_to::<u8>(),
            );
            Ok(Outcome::Ok(IGovernance::proposalOfCall::abi_encode_returns_tuple(&out).into()))
        }
        C::proposalCount(_) => {
            let n = sload(ctx, slots::proposal_count())?;
            Ok(Outcome::Ok(IGovernance::proposalCountCall::abi_encode_returns(&n).into()))
        }
        C::hasVoted(c) => {
            let v = !sload(ctx, slots::ballot(c.proposalId, &c.voter))?.is_zero();
            Ok(Outcome::Ok(IGovernance::hasVotedCall::abi_encode_returns(&v).into()))
        }
    }
}

fn propose<CTX: ContextTr>(ctx: &mut CTX, caller: Address, p: &Params, kind: ProposalKind, key: U256, value: U256) -> DbResult<Outcome> {
    let bonded = staking::bonded(ctx, &caller)?;
    if bonded.is_zero() || bonded < p.proposal_threshold {
        return Ok(Outcome::Revert(format!("proposing needs {} wei of bonded stake; you have {bonded}", p.proposal_threshold)));
    }
    let total = staking::total_bonded(ctx)?;
    // at least one wei of votes, even on a chain with nothing bonded
    let quorum = (total * U256::from(p.quorum_bps) / U256::from(BPS)).max(U256::from(1));
    let ends = native::now(ctx).saturating_add(p.voting_period);
    let id = sload(ctx, slots::proposal_count())?;
    sstore(ctx, slots::proposal_count(), id + U256::from(1))?;
    let fields = [
        ("kind", U256::from(kind as u8)),
        ("key", key),
        ("value", value),
        ("proposer", address_word(&caller)),
        ("ends", U256::from(ends)),
        ("period", U256::from(p.voting_period)),
        // votes weigh the stake bonded before this second: stake added now or later does not vote
        ("snapshot", U256::from(native::now(ctx).saturating_sub(1))),
        ("quorum", quorum),
        ("status", U256::from(ProposalStatus::Active as u8)),
    ];
    for (f, v) in fields {
        sstore(ctx, slots::proposal(id, f), v)?;
    }
    emit(ctx, &IGovernance::Proposed { proposalId: id, proposer: caller, kind: kind as u8, key, value, votingEnds: ends, quorum });
    Ok(Outcome::Ok(IGovernance::proposeParamCall::abi_encode_returns(&id).into()))
}

fn vote<CTX: ContextTr>(ctx: &mut CTX, voter: Address, id: U256, support: bool) -> DbResult<Outcome> {
    if sload(ctx, slots::proposal(id, "status"))? != U256::from(ProposalStatus::Active as u8) {
        return Ok(Outcome::Revert("no active proposal with this id".into()));
    }
    let ends = sload(ctx, slots::proposal(id, "ends"))?.saturating_to::<u64>();
    if native::now(ctx) >= ends {
        return Ok(Outcome::Revert("voting on this proposal has ended".into()));
    }
    let ballot = slots::ballot(id, &voter);
    if !sload(ctx, ballot)?.is_zero() {
        return Ok(Outcome::Revert("this account has already voted on this proposal".into()));
    }
    let snapshot = sload(ctx, slots::proposal(id, "snapshot"))?.saturating_to::<u64>();
    let weight = staking::bonded_at(ctx, &voter, snapshot)?;
    if weight.is_zero() {
        return Ok(Outcome::Revert("only stake bonded before the proposal opened votes; this account had none".into()));
    }
    // 1 = yes, 2 = no
    sstore(ctx, ballot, U256::from(if support { 1 } else { 2 }))?;
    staking::note_vote(ctx, &voter, ends)?;
    let tally = slots::proposal(id, if support { "yes" } else { "no" });
    let t = sload(ctx, tally)?;
    sstore(ctx, tally, t + weight)?;
    emit(ctx, &IGovernance::Voted { proposalId: id, voter, support, weight });
    Ok(Outcome::Ok(IGovernance::voteCall::abi_encode_returns(&weight).into()))
}

fn defeat<CTX: ContextTr>(ctx: &mut CTX, id: U256, reason: &str) -> DbResult<Outcome> {
    sstore(ctx, slots::proposal(id, "status"), U256::from(ProposalStatus::Defeated as u8))?;
    emit(ctx, &IGovernance::Defeated { proposalId: id, reason: reason.into() });
    Ok(Outcome::Ok(IGovernance::executeCall::abi_encode_returns(&false).into()))
}

fn execute<CTX: ContextTr>(ctx: &mut CTX, id: U256) -> DbResult<Outcome> {
    if sload(ctx, slots::proposal(id, "status"))? != U256::from(ProposalStatus::Active as u8) {
        return Ok(Outcome::Revert("no active proposal with this id".into()));
    }
    let ends = sload(ctx, slots::proposal(id, "ends"))?.saturating_to::<u64>();
    let now = native::now(ctx);
    if now < ends {
        return Ok(Outcome::Revert("voting on this proposal has not ended".into()));
    }
    let current = Params::load(ctx)?;
    // the proposal's own voting period, not one changed since
    let period = sload(ctx, slots::proposal(id, "period"))?.saturating_to::<u64>();
    if now > ends.saturating_add(period) {
        return defeat(ctx, id, "expired: not executed within one voting period of its end");
    }
    let yes = sload(ctx, slots::proposal(id, "yes"))?;
    let no = sload(ctx, slots::proposal(id, "no"))?;
    let quorum = sload(ctx, slots::proposal(id, "quorum"))?;
    if yes <= no {
        return defeat(ctx, id, "rejected: yes did not exceed no");
    }
    if yes + no < quorum {
        return defeat(ctx, id, "rejected: the votes cast did not reach the quorum");
    }
    let kind = sload(ctx, slots::proposal(id, "kind"))?.saturating_to::<u8>();
    let key = sload(ctx, slots::proposal(id, "key"))?;
    let value = sload(ctx, slots::proposal(id, "value"))?;
    match kind {
        k if k == ProposalKind::Param as u8 => {
            let pid = key.saturating_to::<u8>();
            match current.with(pid, value).map(|p| p.validate()) {
                Some(Ok(())) => sstore(ctx, slots::param(pid), value)?,
                Some(Err(e)) => return defeat(ctx, id, &format!("no longer valid: {e}")),
                None => return defeat(ctx, id, "no longer valid: value out of range"),
            }
        }
        k if k == ProposalKind::Split as u8 => sstore(ctx, slots::split(), value)?,
        k if k == ProposalKind::KeyAllowed as u8 => {
            let vk = B256::from(key.to_be_bytes::<32>());
            attribution::set_key_allowed(ctx, vk, !value.is_zero())?;
        }
        k if k == ProposalKind::SlashReversal as u8 => {
            if !staking::reverse_slash(ctx, key)? {
                return defeat(ctx, id, "no longer valid: the slash was released");
            }
        }
        _ => return Err(format!("stored proposal {id} has unknown kind {kind}")),
    }
    sstore(ctx, slots::proposal(id, "status"), U256::from(ProposalStatus::Executed as u8))?;
    emit(ctx, &IGovernance::Executed { proposalId: id, kind, key, value });
    Ok(Outcome::Ok(IGovernance::executeCall::abi_encode_returns(&true).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::precompile::staking::ADDRESS as STAKING_ADDRESS;

    #[test]
    fn dev_params_are_valid_and_round_trip_through_storage() {
        let p = Params::dev(Address::repeat_byte(7));
        p.validate().unwrap();
        let words: std::collections::HashMap<U256, U256> = p.words().into_iter().collect();
        let back = Params::from_words(|s| Ok(words.get(&s).copied().unwrap_or_default())).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn bounds_are_enforced() {
        let p = Params::dev(Address::repeat_byte(7));
        let bad = |id: u8, v: u64| p.with(id, U256::from(v)).map(|q| q.validate().is_err()).unwrap_or(true);
        assert!(bad(param::UNBONDING_DELAY, p.challenge_window), "unbonding must exceed the challenge window");
        assert!(bad(param::CHALLENGE_WINDOW, p.unbonding_delay));
        assert!(bad(param::VOTING_PERIOD, p.unbonding_delay));
        assert!(bad(param::REPORTER_BPS, 5_001), "a reporter's share above half");
        assert!(bad(param::QUORUM_BPS, 5_001));
        assert!(bad(param::SLASH_RELEASE_DELAY, 2 * p.voting_period), "held no longer than a vote and its execution");
        assert!(bad(param::VOTING_PERIOD, p.slash_release_delay / 2));
        assert!(p.with(param::TREASURY, address_word(&STAKING_ADDRESS)).unwrap().validate().is_err(), "a system contract as treasury");
        assert!(p.with(param::PROPOSAL_THRESHOLD, U256::from(MAX_PROPOSAL_THRESHOLD) + U256::from(1)).unwrap().validate().is_err());
        assert!(bad(param::QUORUM_BPS, 0));
        assert!(bad(param::ACCEPT_STAKE, 0));
        assert!(bad(param::TREASURY, 0));
        assert!(bad(param::COUNT, 1), "unknown id");
        assert!(p.with(param::REPORTER_BPS, U256::from(70_000)).is_none(), "out of u16");
        assert!(!bad(param::REPORTER_BPS, 5_000));
    }

    #[test]
    fn shares_sum_to_the_fee() {
        let s = Split { contributors_bps: 8_000, owner_bps: 1_000, prover_bps: 500, protocol_bps: 500 };
        for fee in [1u64, 3, 9_999, 10_001, 1_000_000_007] {
            let sh = s.shares(U256::from(fee));
            assert_eq!(sh.contributors + sh.owner + sh.prover + sh.protocol, U256::from(fee));
        }
        let sh = s.shares(U256::from(10_000));
        assert_eq!((sh.contributors, sh.owner, sh.prover, sh.protocol), (U256::from(8_000), U256::from(1_000), U256::from(500), U256::from(500)));
        assert_eq!(Split::unpack(s.pack()), s);
        assert!(!Split { contributors_bps: 0, owner_bps: 10_000, prover_bps: 0, protocol_bps: 0 }.is_valid());
    }
}
