//! The agent-staking precompile at [`ADDRESS`] (`0x…4c4e0003`). ABI:
//! [`IStaking`]. This account holds every staked wei.
//!
//! An agent's stake is in one of four places:
//!
//! ```text
//!   stake() ──► free ──accept(request)──► locked ──claim + challenge window──► free
//!                │                          │
//!             unbond(x)                  a proven fault
//!                ▼                          ▼
//!            unbonding ──delay──► withdraw()   slashed: reporter's share paid at once,
//!                                              the rest held ──delay──► treasury
//!                                              (or returned by a governance reversal)
//! ```
//!
//! * `free + locked` is the agent's **bonded** stake: what votes in
//!   governance and what accepting requests draws on. Unbonding stake no
//!   longer votes.
//! * A request's lock ([`super::settlement`]) is released only after its
//!   claim's challenge window, and a fault can only be reported inside that
//!   window or, for an unanswered request, at its refund; so a reportable
//!   fault always finds its lock, and stake that has finished unbonding is
//!   never touched.
//! * A slash takes exactly one request's lock, once, and holds all of it
//!   for `slashReleaseDelay` (longer than a vote and its execution window,
//!   and never released while a reversal proposal on it may still execute).
//!   Then anyone may release it: the reporter gets `reporterBps` of it (at
//!   most half, so never more than the slash), the treasury the rest. A
//!   reversal by governance returns all of it to the agent; its reporter
//!   gets nothing. Paying the reporter only at release keeps slashed stake
//!   out of circulation for the delay (no self-report to dodge unbonding).
//!
//! Invariant ([`crate::Chain::staking_invariant`], after every block in
//! debug builds): the totals bonded + unbonding + held never exceed this
//! account's balance; the property test in `chain/tests/staking.rs` also
//! checks each total against the sum of its per-agent (or per-slash) parts.

use super::{
    attribution::slots::slot,
    governance::{Params, BPS},
    native::{self, address_word, word_address, DbResult, Outcome},
};
use alloy_primitives::{address, Address, U256};
use alloy_sol_types::{sol, SolCall, SolEvent};
use revm::{
    context_interface::ContextTr,
    interpreter::{CallInputs, InterpreterResult},
};

/// Address of the staking precompile.
pub const ADDRESS: Address = address!("000000000000000000000000000000004c4e0003");
/// Gas of a storage word read.
pub const READ_WORD_GAS: u64 = 2_100;
/// Gas of a storage word written.
pub const STORE_WORD_GAS: u64 = 20_000;
/// Gas of `stake()`: the agent's free stake and the bonded total.
pub const STAKE_GAS: u64 = 2 * STORE_WORD_GAS + 2 * READ_WORD_GAS + CHECKPOINT_GAS;
/// Gas of `unbond`: four words of the agent's and two totals, and the delay.
pub const UNBOND_GAS: u64 = 5 * STORE_WORD_GAS + 6 * READ_WORD_GAS + READ_WORD_GAS + CHECKPOINT_GAS;
/// Gas of `withdraw()`: the agent's unbonding words, its vote lock, a total, a transfer.
pub const WITHDRAW_GAS: u64 = 3 * STORE_WORD_GAS + 4 * READ_WORD_GAS + 9_000;
/// Gas of `releaseSlashed`: the slash record, a total, the treasury, two transfers.
pub const RELEASE_GAS: u64 = 2 * STORE_WORD_GAS + 8 * READ_WORD_GAS + 2 * 9_000;
/// Gas of the views.
pub const VIEW_GAS: u64 = 4 * READ_WORD_GAS;
/// Gas of `slashOf`.
pub const SLASH_VIEW_GAS: u64 = 9 * READ_WORD_GAS;

sol! {
    /// Agents' stake.
    interface IStaking {
        function stake() external payable;
        function unbond(uint256 amount) external;
        function withdraw() external returns (uint256 amount);
        function stakeOf(address agent) external view returns (uint256 free, uint256 locked, uint256 unbonding, uint64 unbondingEnds);
        function totals() external view returns (uint256 bonded, uint256 unbonding, uint256 held);
        function slashCount() external view returns (uint256);
        function slashOf(uint256 slashId) external view returns (
            address agent,
            uint256 requestId,
            uint8 fault,
            uint256 amount,
            address reporter,
            uint256 reward,
            uint256 held,
            uint64 releaseAt,
            uint8 status
        );
        function releaseSlashed(uint256 slashId) external returns (uint256 amount);

        event Staked(address indexed agent, uint256 amount);
        event Unbonding(address indexed agent, uint256 amount, uint256 totalUnbonding, uint64 ends);
        event Withdrawn(address indexed agent, uint256 amount);
        event Locked(address indexed agent, uint256 indexed requestId, uint256 amount);
        event Unlocked(address indexed agent, uint256 indexed requestId, uint256 amount);
        event Slashed(uint256 indexed slashId, address indexed agent, uint256 indexed requestId, uint8 fault, uint256 amount, address reporter, uint256 reward, uint64 releaseAt);
        event SlashReleased(uint256 indexed slashId, address indexed treasury, uint256 amount);
        event SlashReversed(uint256 indexed slashId, address indexed agent, uint256 amount);
    }
}

/// Why an agent was slashed (`slashOf(..).fault`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// The attribution the agent signed differs from the one it proved.
    FalseClaim = 1,
    /// The class the agent signed differs from its proven forward pass.
    ContradictedAnswer = 2,
    /// The agent accepted a request and let its deadline pass unanswered.
    Unanswered = 3,
}

/// Lifecycle of a slash (`slashOf(..).status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum SlashStatus {
    None = 0,
    Held = 1,
    Released = 2,
    Reversed = 3,
}

/// Storage slots of this account.
pub mod slots {
    use super::*;
    /// Field `f` of `agent`: free, locked, unbonding, ends.
    pub fn agent(a: &Address, f: &str) -> U256 {
        slot("stk.agent", &[a.as_slice(), f.as_bytes()])
    }
    /// Totals: bonded, unbonding, held.
    pub fn total(f: &str) -> U256 {
        slot("stk.total", &[f.as_bytes()])
    }
    pub fn slash_count() -> U256 {
        slot("stk.slashes", &[])
    }
    /// Field `f` of slash `id`.
    pub fn slash(id: U256, f: &str) -> U256 {
        slot("stk.slash", &[&id.to_be_bytes::<32>(), f.as_bytes()])
    }
    /// How many bonded-stake checkpoints `agent` has.
    pub fn checkpoints(a: &Address) -> U256 {
        slot("stk.ckpt.n", &[a.as_slice()])
    }
    /// Checkpoint `i` of `agent`: `timestamp << 128 | bonded`.
    pub fn checkpoint(a: &Address, i: u64) -> U256 {
        slot("stk.ckpt", &[a.as_slice(), &i.to_be_bytes()])
    }
}

fn sload<CTX: ContextTr>(ctx: &mut CTX, s: U256) -> DbResult<U256> {
    native::sload(ctx, ADDRESS, s)
}

fn sstore<CTX: ContextTr>(ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
    native::sstore(ctx, ADDRESS, s, v)
}

fn add<CTX: ContextTr>(ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
    let x = sload(ctx, s)?;
    sstore(ctx, s, x.checked_add(v).ok_or("staking total overflow")?)
}

/// Subtract, refusing to go below zero (a broken invariant ends the block).
fn sub<CTX: ContextTr>(ctx: &mut CTX, s: U256, v: U256) -> DbResult<()> {
    let x = sload(ctx, s)?;
    sstore(ctx, s, x.checked_sub(v).ok_or("staking balance underflow")?)
}

fn emit<CTX: ContextTr, E: SolEvent>(ctx: &mut CTX, e: &E) {
    native::emit(ctx, ADDRESS, e)
}

/// Most storage reads of a bonded-stake lookup at a past time (a binary
/// search over at most 2^32 checkpoints, and the count).
pub const CHECKPOINT_LOOKUP_READS: u64 = 34;
/// Gas a change of bonded stake adds: its checkpoint and the count.
pub const CHECKPOINT_GAS: u64 = 2 * STORE_WORD_GAS + 2 * READ_WORD_GAS;

fn ckpt_time(word: U256) -> u64 {
    let t: U256 = word >> 128usize;
    t.saturating_to::<u64>()
}

/// Record `agent`'s bonded stake as of now (one checkpoint per timestamp).
fn checkpoint<CTX: ContextTr>(ctx: &mut CTX, agent: &Address) -> DbResult<()> {
    let bonded = bonded(ctx, agent)?.saturating_to::<u128>();
    let now = native::now(ctx);
    let n = sload(ctx, slots::checkpoints(agent))?.saturating_to::<u64>();
    let word = U256::from(now) << 128 | U256::from(bonded);
    if n > 0 && ckpt_time(sload(ctx, slots::checkpoint(agent, n - 1))?) == now {
        return sstore(ctx, slots::checkpoint(agent, n - 1), word);
    }
    sstore(ctx, slots::checkpoint(agent, n), word)?;
    sstore(ctx, slots::checkpoints(agent), U256::from(n + 1))
}

/// `agent`'s bonded stake at the end of second `t` (zero before its first
/// stake): what its vote weighs on a proposal opened after `t`.
pub fn bonded_at<CTX: ContextTr>(ctx: &mut CTX, agent: &Address, t: u64) -> DbResult<U256> {
    let n = sload(ctx, slots::checkpoints(agent))?.saturating_to::<u64>().min(1 << 32);
    // the last checkpoint at or before t: binary search over [0, n)
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ckpt_time(sload(ctx, slots::checkpoint(agent, mid))?) <= t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if lo == 0 {
        return Ok(U256::ZERO);
    }
    Ok(sload(ctx, slots::checkpoint(agent, lo - 1))? & U256::from(u128::MAX))
}

/// An agent's bonded stake: free plus locked.
pub fn bonded<CTX: ContextTr>(ctx: &mut CTX, a: &Address) -> DbResult<U256> {
    Ok(sload(ctx, slots::agent(a, "free"))? + sload(ctx, slots::agent(a, "locked"))?)
}

/// All bonded stake.
pub fn total_bonded<CTX: ContextTr>(ctx: &mut CTX) -> DbResult<U256> {
    sload(ctx, slots::total("bonded"))
}

/// Move `amount` of `agent`'s free stake into the lock of `request`; a
/// refusal reason if it has too little free stake.
pub fn lock<CTX: ContextTr>(ctx: &mut CTX, agent: &Address, amount: U256, request: U256) -> DbResult<Result<(), String>> {
    let free = sload(ctx, slots::agent(agent, "free"))?;
    if free < amount {
        return Ok(Err(format!("accepting needs {amount} wei of free stake; this agent has {free}")));
    }
    sstore(ctx, slots::agent(agent, "free"), free - amount)?;
    add(ctx, slots::agent(agent, "locked"), amount)?;
    emit(ctx, &IStaking::Locked { agent: *agent, requestId: request, amount });
    Ok(Ok(()))
}

/// Return a request's lock to its agent's free stake.
pub fn unlock<CTX: ContextTr>(ctx: &mut CTX, agent: &Address, amount: U256, request: U256) -> DbResult<()> {
    sub(ctx, slots::agent(agent, "locked"), amount)?;
    add(ctx, slots::agent(agent, "free"), amount)?;
    emit(ctx, &IStaking::Unlocked { agent: *agent, requestId: request, amount });
    Ok(())
}

/// Slash a request's whole lock for `fault` and hold it (the reporter's
/// share is paid at release). Returns the slash id.
pub fn slash<CTX: ContextTr>(ctx: &mut CTX, agent: &Address, amount: U256, request: U256, fault: Fault, reporter: &Address) -> DbResult<U256> {
    let p = Params::load(ctx)?;
    sub(ctx, slots::agent(agent, "locked"), amount)?;
    sub(ctx, slots::total("bonded"), amount)?;
    checkpoint(ctx, agent)?;
    let reward = amount * U256::from(p.reporter_bps.min(BPS)) / U256::from(BPS);
    let held = amount;
    add(ctx, slots::total("held"), held)?;
    let release_at = native::now(ctx).saturating_add(p.slash_release_delay);
    let id = sload(ctx, slots::slash_count())?;
    sstore(ctx, slots::slash_count(), id + U256::from(1))?;
    let fields = [
        ("agent", address_word(agent)),
        ("request", request),
        ("fault", U256::from(fault as u8)),
        ("amount", amount),
        ("reporter", address_word(reporter)),
        ("reward", reward),
        ("held", held),
        ("release", U256::from(release_at)),
        ("status", U256::from(SlashStatus::Held as u8)),
    ];
    for (f, v) in fields {
        sstore(ctx, slots::slash(id, f), v)?;
    }
    emit(
        ctx,
        &IStaking::Slashed { slashId: id, agent: *agent, requestId: request, fault: fault as u8, amount, reporter: *reporter, reward, releaseAt: release_at },
    );
    Ok(id)
}

/// Whether slash `id` is still held (neither released nor reversed).
pub fn slash_is_held<CTX: ContextTr>(ctx: &mut CTX, id: U256) -> DbResult<bool> {
    Ok(sload(ctx, slots::slash(id, "status"))? == U256::from(SlashStatus::Held as u8))
}

/// Note that `voter` voted on a proposal whose vote ends at `ends`: its
/// unbonding stake cannot be withdrawn before then, so the same OPEN never
/// votes twice on one proposal, whatever the delays.
pub fn note_vote<CTX: ContextTr>(ctx: &mut CTX, voter: &Address, ends: u64) -> DbResult<()> {
    let s = slots::agent(voter, "voted");
    let prev = sload(ctx, s)?.saturating_to::<u64>();
    if ends > prev {
        sstore(ctx, s, U256::from(ends))?;
    }
    Ok(())
}

/// Mark slash `id` contested by a reversal proposal that may execute until
/// `until`: it is not released before then.
pub fn contest_slash<CTX: ContextTr>(ctx: &mut CTX, id: U256, until: u64) -> DbResult<()> {
    let s = slots::slash(id, "contest");
    let prev = sload(ctx, s)?.saturating_to::<u64>();
    sstore(ctx, s, U256::from(prev.max(until)))
}

/// Return a held slash to its agent's free stake (governance); `false` if
/// it is no longer held.
pub fn reverse_slash<CTX: ContextTr>(ctx: &mut CTX, id: U256) -> DbResult<bool> {
    if !slash_is_held(ctx, id)? {
        return Ok(false);
    }
    let agent = word_address(sload(ctx, slots::slash(id, "agent"))?);
    let held = sload(ctx, slots::slash(id, "held"))?;
    sub(ctx, slots::total("held"), held)?;
    add(ctx, slots::agent(&agent, "free"), held)?;
    add(ctx, slots::total("bonded"), held)?;
    checkpoint(ctx, &agent)?;
    sstore(ctx, slots::slash(id, "status"), U256::from(SlashStatus::Reversed as u8))?;
    emit(ctx, &IStaking::SlashReversed { slashId: id, agent, amount: held });
    Ok(true)
}

/// Gas of a call, from its input alone.
pub fn gas_of(call: &IStaking::IStakingCalls) -> u64 {
    use IStaking::IStakingCalls as C;
    match call {
        C::stake(_) => STAKE_GAS,
        C::unbond(_) => UNBOND_GAS,
        C::withdraw(_) => WITHDRAW_GAS,
        C::releaseSlashed(_) => RELEASE_GAS,
        C::stakeOf(_) | C::totals(_) | C::slashCount(_) => VIEW_GAS,
        C::slashOf(_) => SLASH_VIEW_GAS,
    }
}

/// The staking precompile (stateless: everything lives in storage).
#[derive(Default, Debug)]
pub struct StakingPrecompile;

impl StakingPrecompile {
    /// Entry point from the precompile provider.
    pub fn run<CTX: ContextTr>(&self, ctx: &mut CTX, inputs: &CallInputs) -> Result<InterpreterResult, String> {
        native::run_sol(ctx, inputs, gas_of, |ctx, call| dispatch(ctx, inputs, call))
    }
}

fn dispatch<CTX: ContextTr>(ctx: &mut CTX, inputs: &CallInputs, call: IStaking::IStakingCalls) -> DbResult<Outcome> {
    use IStaking::IStakingCalls as C;
    let view = matches!(call, C::stakeOf(_) | C::totals(_) | C::slashCount(_) | C::slashOf(_));
    if let Some(refused) = native::guard(inputs, ADDRESS, view, matches!(call, C::stake(_))) {
        return Ok(refused);
    }
    let agent = inputs.caller;
    let revert = |r: String| Ok(Outcome::Revert(r));
    match call {
        C::stake(_) => {
            // guard admits only a plain CALL to this address: this is what revm moved here
            let Some(value) = native::transferred_value(inputs, ADDRESS) else {
                return revert("stake must be a plain CALL that transfers its value".into());
            };
            if value.is_zero() || value >= U256::from(1u8) << 128 {
                return revert("stake must be in (0, 2^128) wei".into());
            }
            add(ctx, slots::agent(&agent, "free"), value)?;
            add(ctx, slots::total("bonded"), value)?;
            checkpoint(ctx, &agent)?;
            emit(ctx, &IStaking::Staked { agent, amount: value });
            Ok(Outcome::Ok(Default::default()))
        }
        C::unbond(c) => {
            let free = sload(ctx, slots::agent(&agent, "free"))?;
            if c.amount.is_zero() || c.amount > free {
                return revert(format!("can unbond 1 to {free} wei (free stake; locked stake waits for its requests)"));
            }
            let p = Params::load(ctx)?;
            let ends = native::now(ctx).saturating_add(p.unbonding_delay);
            sstore(ctx, slots::agent(&agent, "free"), free - c.amount)?;
            sub(ctx, slots::total("bonded"), c.amount)?;
            checkpoint(ctx, &agent)?;
            add(ctx, slots::agent(&agent, "unbonding"), c.amount)?;
            add(ctx, slots::total("unbonding"), c.amount)?;
            // more unbonding restarts the delay for all of it
            sstore(ctx, slots::agent(&agent, "ends"), U256::from(ends))?;
            let total = sload(ctx, slots::agent(&agent, "unbonding"))?;
            emit(ctx, &IStaking::Unbonding { agent, amount: c.amount, totalUnbonding: total, ends });
            Ok(Outcome::Ok(Default::default()))
        }
        C::withdraw(_) => {
            let amount = sload(ctx, slots::agent(&agent, "unbonding"))?;
            if amount.is_zero() {
                return revert("nothing is unbonding".into());
            }
            let ends = sload(ctx, slots::agent(&agent, "ends"))?.saturating_to::<u64>();
            if native::now(ctx) < ends {
                return revert(format!("unbonding ends at {ends}"));
            }
            let voted = sload(ctx, slots::agent(&agent, "voted"))?.saturating_to::<u64>();
            if native::now(ctx) < voted {
                return revert(format!("this stake voted on a proposal whose vote ends at {voted}"));
            }
            sstore(ctx, slots::agent(&agent, "unbonding"), U256::ZERO)?;
            sstore(ctx, slots::agent(&agent, "ends"), U256::ZERO)?;
            sub(ctx, slots::total("unbonding"), amount)?;
            native::pay(ctx, ADDRESS, agent, amount)?;
            emit(ctx, &IStaking::Withdrawn { agent, amount });
            Ok(Outcome::Ok(IStaking::withdrawCall::abi_encode_returns(&amount).into()))
        }
        C::releaseSlashed(c) => {
            let id = c.slashId;
            if !slash_is_held(ctx, id)? {
                return revert("no slash with this id is held".into());
            }
            let at = sload(ctx, slots::slash(id, "release"))?.saturating_to::<u64>();
            if native::now(ctx) < at {
                return revert(format!("slashed funds are held until {at}"));
            }
            let contest = sload(ctx, slots::slash(id, "contest"))?.saturating_to::<u64>();
            if native::now(ctx) <= contest {
                return revert(format!("a proposal to reverse this slash may execute until {contest}"));
            }
            let held = sload(ctx, slots::slash(id, "held"))?;
            let reward = sload(ctx, slots::slash(id, "reward"))?.min(held);
            let reporter = word_address(sload(ctx, slots::slash(id, "reporter"))?);
            let treasury = Params::load(ctx)?.treasury;
            sstore(ctx, slots::slash(id, "status"), U256::from(SlashStatus::Released as u8))?;
            sub(ctx, slots::total("held"), held)?;
            native::pay(ctx, ADDRESS, reporter, reward)?;
            native::pay(ctx, ADDRESS, treasury, held - reward)?;
            emit(ctx, &IStaking::SlashReleased { slashId: id, treasury, amount: held - reward });
            Ok(Outcome::Ok(IStaking::releaseSlashedCall::abi_encode_returns(&held).into()))
        }
        C::stakeOf(c) => {
            let a = &c.agent;
            let out = (
                sload(ctx, slots::agent(a, "free"))?,
                sload(ctx, slots::agent(a, "locked"))?,
                sload(ctx, slots::agent(a, "unbonding"))?,
                sload(ctx, slots::agent(a, "ends"))?.saturating_to::<u64>(),
            );
            Ok(Outcome::Ok(IStaking::stakeOfCall::abi_encode_returns_tuple(&out).into()))
        }
        C::totals(_) => {
            let out = (sload(ctx, slots::total("bonded"))?, sload(ctx, slots::total("unbonding"))?, sload(ctx, slots::total("held"))?);
            Ok(Outcome::Ok(IStaking::totalsCall::abi_encode_returns_tuple(&out).into()))
        }
        C::slashCount(_) => {
            let n = sload(ctx, slots::slash_count())?;
            Ok(Outcome::Ok(IStaking::slashCountCall::abi_encode_returns(&n).into()))
        }
        C::slashOf(c) => {
            let id = c.slashId;
            let mut w = Vec::with_capacity(9);
            for f in ["agent", "request", "fault", "amount", "reporter", "reward", "held", "release", "status"] {
                w.push(sload(ctx, slots::slash(id, f))?);
            }
            let out = (
                word_address(w[0]),
                w[1],
                w[2].saturating_to::<u8>(),
                w[3],
                word_address(w[4]),
                w[5],
                w[6],
                w[7].saturating_to::<u64>(),
                w[8].saturating_to::<u8>(),
            );
            Ok(Outcome::Ok(IStaking::slashOfCall::abi_encode_returns_tuple(&out).into()))
        }
    }
}
