//! Attribution settlement: the agent's side of a request, in the
//! attribution precompile ([`super::attribution`]).
//!
//! ```text
//!  user: escrowFee ──► Open (fee and split fixed) ──deadline──► refund (payer)
//!                        │                                  └ accepted: its agent is slashed, Unanswered
//!  agent: acceptRequest ─┤ locks `acceptStake` (only this agent may claim now)
//!  agent: submitClaim / submitWholeClaim (proof verified)
//!                        ▼
//!                      Paid: contributors (per the proof), model owner, prover, protocol
//!                        │ class and payout digest proven; challenge window opens
//!  anyone: reportAnswer(signed answer) ──► slash: ContradictedAnswer / FalseClaim
//!  anyone: releaseStake after the window ──► lock back to the agent's free stake
//! ```
//!
//! * **Split.** At escrow the request fixes the split in force
//!   ([`super::governance::Split`]); a governance change never alters a
//!   pending request. The proof covers the contributors' share
//!   (`splitOf(id).contributors` is the claim's pool); the model owner, the
//!   prover (the caller of the paying claim) and the treasury take theirs
//!   when the claim is paid.
//! * **Signed answers.** An agent answers its user off chain with an EIP-712
//!   signature over [`Answer`] (domain `Lineage`, version `1`, this chain's
//!   id, this precompile's address): the request, its query commitment, the
//!   predicted class and the payout digest. The digest of a window claim is
//!   `keccak256(abi.encode(address[] contributors, uint256[] amounts))`, of a
//!   whole-datanet claim its payout root. Within the challenge window after
//!   the claim is paid, anyone may report a signed answer by the request's
//!   agent: a class other than the proven one slashes for a contradicted
//!   answer, a digest other than the proven one for a false claim.
//! * **Once.** A request's lock is slashed at most once (its `fault` field).

use super::{
    attribution::{slots::request, AttributionPrecompile, IAttribution, RequestStatus, ADDRESS},
    governance::{Params, Shares, Split},
    native::{self, address_word, word_address, DbResult, Outcome},
    staking::{self, Fault},
};
use alloy_primitives::{keccak256, Address, Bytes, Signature, B256, U256};
use alloy_sol_types::{sol, sol_data, Eip712Domain, SolCall, SolStruct, SolType};
use revm::context_interface::{Cfg, ContextTr};
use std::borrow::Cow;

/// Gas of `acceptRequest`: the request, the parameters, the agent's stake,
/// four words written.
pub const ACCEPT_GAS: u64 = 4 * STORE_WORD_GAS + 24 * READ_WORD_GAS;
/// Gas of the EIP-712 hash and the signature recovery: 135 µs measured
/// (`benches/benches/system_contracts.rs`, BENCHMARKS.md) × 25.86 gas/µs.
pub const RECOVER_GAS: u64 = 3_500;
/// Gas of `reportAnswer`: the recovery, the request, the parameters,
/// fifteen words written (the request's two, the agent's lock, two totals,
/// the slash count and its nine fields).
pub const REPORT_GAS: u64 = RECOVER_GAS + 15 * STORE_WORD_GAS + 30 * READ_WORD_GAS + staking::CHECKPOINT_GAS;
/// Gas of `releaseStake`: the request and the agent's stake.
pub const RELEASE_STAKE_GAS: u64 = 3 * STORE_WORD_GAS + 8 * READ_WORD_GAS;
/// Extra gas of a paid claim for the split: three transfers, the parameters
/// and five words recorded for the challenge window.
pub const SPLIT_GAS: u64 = 3 * 9_000 + 5 * STORE_WORD_GAS + 16 * READ_WORD_GAS;
/// Extra gas of a refund that slashes its unanswering agent (as a report
/// without the signature).
pub const UNANSWERED_GAS: u64 = REPORT_GAS - RECOVER_GAS;
const READ_WORD_GAS: u64 = 2_100;
const STORE_WORD_GAS: u64 = 20_000;
/// Length of a signature: r ‖ s ‖ v.
pub const SIGNATURE_BYTES: usize = 65;
/// Least time an agent must have left to answer when it accepts, seconds.
pub const MIN_ANSWER_TIME: u64 = 300;

sol! {
    /// What an agent signs when it answers a request (EIP-712).
    struct Answer {
        uint256 requestId;
        bytes32 queryCommitment;
        uint64 predictedClass;
        bytes32 payoutDigest;
    }
}

/// The EIP-712 domain of signed answers on chain `chain_id`.
pub fn answer_domain(chain_id: u64) -> Eip712Domain {
    Eip712Domain::new(Some(Cow::Borrowed("Lineage")), Some(Cow::Borrowed("1")), Some(U256::from(chain_id)), Some(ADDRESS), None)
}

/// The hash an agent signs for `answer` on chain `chain_id`.
pub fn answer_hash(chain_id: u64, answer: &Answer) -> B256 {
    answer.eip712_signing_hash(&answer_domain(chain_id))
}

/// The payout digest of a window claim's lists.
pub fn window_digest(contributors: &[Address], amounts: &[U256]) -> B256 {
    type Lists = (sol_data::Array<sol_data::Address>, sol_data::Array<sol_data::Uint<256>>);
    keccak256(<Lists as SolType>::abi_encode_params(&(contributors.to_vec(), amounts.to_vec())))
}

/// The signer of a 65-byte `r ‖ s ‖ v` signature over `hash` (`v` 27/28 or
/// 0/1; high `s` refused, as Ethereum's transactions do).
pub fn recover(hash: &B256, sig: &[u8]) -> Option<Address> {
    if sig.len() != SIGNATURE_BYTES || ![0, 1, 27, 28].contains(&sig[64]) {
        return None;
    }
    let sig = Signature::from_raw(sig).ok()?;
    if sig.normalize_s().is_some() {
        return None;
    }
    sig.recover_address_from_prehash(hash).ok()
}

fn status<CTX: ContextTr>(p: &AttributionPrecompile, ctx: &mut CTX, id: U256) -> DbResult<u8> {
    Ok(p.sload(ctx, request(id, "status"))?.saturating_to::<u8>())
}

impl AttributionPrecompile {
    /// The split a request fixed at escrow.
    pub(super) fn split_of<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<Split> {
        Ok(Split::unpack(self.sload(ctx, request(id, "split"))?))
    }

    /// Fix the split in force on a new request.
    pub(super) fn fix_split<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<()> {
        let split = Params::load(ctx)?.split;
        self.sstore(ctx, request(id, "split"), split.pack())
    }

    /// Who may claim request `id`: the agent that accepted it, else the
    /// agent its payer chose (`escrowFeeFor`), else anyone (`Some(refusal)`
    /// otherwise).
    pub(super) fn claimant_refusal<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, caller: Address) -> DbResult<Option<Outcome>> {
        let agent = word_address(self.sload(ctx, request(id, "agent"))?);
        if !agent.is_zero() {
            return Ok((agent != caller).then(|| Outcome::Revert(format!("only agent {agent}, which accepted this request, may claim it"))));
        }
        let chosen = word_address(self.sload(ctx, request(id, "chosen"))?);
        Ok((!chosen.is_zero() && chosen != caller).then(|| Outcome::Revert(format!("only agent {chosen}, which the payer chose, may claim this request"))))
    }

    /// Pay the owner's, prover's and protocol's shares of a paid claim and
    /// record what it proved for the challenge window. Returns the shares.
    pub(super) fn settle<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, prover: Address, fee: U256, class: u64, digest: B256) -> DbResult<Shares> {
        let shares = self.split_of(ctx, id)?.shares(fee);
        let owner = word_address(self.sload(ctx, request(id, "owner"))?);
        let params = Params::load(ctx)?;
        self.pay(ctx, owner, shares.owner)?;
        self.pay(ctx, prover, shares.prover)?;
        self.pay(ctx, params.treasury, shares.protocol)?;
        let ends = native::now(ctx).saturating_add(params.challenge_window);
        for (f, v) in [
            ("class", U256::from(class)),
            ("digest", U256::from_be_bytes(digest.0)),
            ("prover", address_word(&prover)),
            ("window", U256::from(ends)),
            ("pool", shares.contributors),
        ] {
            self.sstore(ctx, request(id, f), v)?;
        }
        Self::emit(
            ctx,
            &IAttribution::FeeSplit { requestId: id, contributors: shares.contributors, owner: shares.owner, prover: shares.prover, protocol: shares.protocol },
        );
        Ok(shares)
    }

    pub(super) fn accept<CTX: ContextTr>(&self, ctx: &mut CTX, agent: Address, id: U256) -> DbResult<Outcome> {
        let revert = |r: String| Ok(Outcome::Revert(r));
        if status(self, ctx, id)? != RequestStatus::Open as u8 {
            return revert("no open request with this id".into());
        }
        let deadline = self.sload(ctx, request(id, "deadline"))?.saturating_to::<u64>();
        if Self::now(ctx).saturating_add(MIN_ANSWER_TIME) > deadline {
            return revert(format!("the request's deadline leaves less than {MIN_ANSWER_TIME} s to answer"));
        }
        if word_address(self.sload(ctx, request(id, "payer"))?) == agent {
            return revert("a payer may not accept its own request".into());
        }
        let chosen = word_address(self.sload(ctx, request(id, "chosen"))?);
        if !chosen.is_zero() && chosen != agent {
            return revert(format!("the payer chose agent {chosen} for this request"));
        }
        if !self.sload(ctx, request(id, "agent"))?.is_zero() {
            return revert("an agent has already accepted this request".into());
        }
        let stake = Params::load(ctx)?.accept_stake;
        if let Err(e) = staking::lock(ctx, &agent, stake, id)? {
            return revert(e);
        }
        self.sstore(ctx, request(id, "agent"), address_word(&agent))?;
        self.sstore(ctx, request(id, "stake"), stake)?;
        Self::emit(ctx, &IAttribution::RequestAccepted { requestId: id, agent, stake });
        Ok(Outcome::Ok(Bytes::new()))
    }

    /// Slash request `id`'s lock once, for `fault`, paying `reporter`.
    fn slash_request<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, fault: Fault, reporter: Address) -> DbResult<U256> {
        let agent = word_address(self.sload(ctx, request(id, "agent"))?);
        let stake = self.sload(ctx, request(id, "stake"))?;
        self.sstore(ctx, request(id, "fault"), U256::from(fault as u8))?;
        self.sstore(ctx, request(id, "stake"), U256::ZERO)?;
        staking::slash(ctx, &agent, stake, id, fault, &reporter)
    }

    /// At a refund: slash the request's agent, if one accepted it, for
    /// leaving it unanswered (the refund's caller reports it). If the
    /// model's verifying key was taken off the allowlist, the agent could not
    /// have been paid: its lock is returned instead.
    pub(super) fn slash_unanswered<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256, reporter: Address) -> DbResult<()> {
        let agent = word_address(self.sload(ctx, request(id, "agent"))?);
        if agent.is_zero() || !self.sload(ctx, request(id, "fault"))?.is_zero() {
            return Ok(());
        }
        let owner = word_address(self.sload(ctx, request(id, "owner"))?);
        let model = B256::from(self.sload(ctx, request(id, "model"))?.to_be_bytes::<32>());
        let vk = B256::from(self.sload(ctx, super::attribution::slots::model_vk(&owner, &model))?.to_be_bytes::<32>());
        if !vk.is_zero() && self.sload(ctx, super::attribution::slots::key_allowed(&vk))?.is_zero() {
            let stake = self.sload(ctx, request(id, "stake"))?;
            self.sstore(ctx, request(id, "stake"), U256::ZERO)?;
            return staking::unlock(ctx, &agent, stake, id);
        }
        self.slash_request(ctx, id, Fault::Unanswered, reporter)?;
        Ok(())
    }

    pub(super) fn report_answer<CTX: ContextTr>(&self, ctx: &mut CTX, reporter: Address, c: IAttribution::reportAnswerCall) -> DbResult<Outcome> {
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        if c.signature.len() != SIGNATURE_BYTES {
            return Ok(Outcome::Halt(format!("malformed signature: {SIGNATURE_BYTES} bytes (r, s, v)")));
        }
        let id = c.requestId;
        let agent = word_address(self.sload(ctx, request(id, "agent"))?);
        if agent.is_zero() {
            return revert("no agent accepted this request");
        }
        if !self.sload(ctx, request(id, "fault"))?.is_zero() {
            return revert("this request's agent has already been slashed for it");
        }
        if status(self, ctx, id)? != RequestStatus::Paid as u8 {
            return revert("the request has no paid claim to check an answer against");
        }
        if Self::now(ctx) > self.sload(ctx, request(id, "window"))?.saturating_to::<u64>() {
            return revert("the challenge window has closed");
        }
        let query = B256::from(self.sload(ctx, request(id, "query"))?.to_be_bytes::<32>());
        let answer = Answer { requestId: id, queryCommitment: query, predictedClass: c.predictedClass, payoutDigest: c.payoutDigest };
        let hash = answer_hash(ctx.cfg().chain_id(), &answer);
        match recover(&hash, &c.signature) {
            Some(signer) if signer == agent => {}
            Some(_) => return revert("the answer was not signed by this request's agent"),
            None => return revert("the signature does not recover (or has a high s)"),
        }
        let class = self.sload(ctx, request(id, "class"))?;
        let digest = B256::from(self.sload(ctx, request(id, "digest"))?.to_be_bytes::<32>());
        let fault = if U256::from(c.predictedClass) != class {
            Fault::ContradictedAnswer
        } else if c.payoutDigest != digest {
            Fault::FalseClaim
        } else {
            return revert("the signed answer agrees with the proven claim");
        };
        let slash = self.slash_request(ctx, id, fault, reporter)?;
        Ok(Outcome::Ok(IAttribution::reportAnswerCall::abi_encode_returns(&slash).into()))
    }

    pub(super) fn release_stake<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<Outcome> {
        let revert = |r: &str| Ok(Outcome::Revert(r.into()));
        let stake = self.sload(ctx, request(id, "stake"))?;
        if stake.is_zero() {
            return revert("this request holds no stake");
        }
        if status(self, ctx, id)? != RequestStatus::Paid as u8 {
            return revert("a request's stake is released only after its paid claim's challenge window");
        }
        if Self::now(ctx) <= self.sload(ctx, request(id, "window"))?.saturating_to::<u64>() {
            return revert("the challenge window is still open");
        }
        let agent = word_address(self.sload(ctx, request(id, "agent"))?);
        self.sstore(ctx, request(id, "stake"), U256::ZERO)?;
        staking::unlock(ctx, &agent, stake, id)?;
        Ok(Outcome::Ok(Bytes::new()))
    }

    pub(super) fn settlement_of<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<Outcome> {
        let out = (
            word_address(self.sload(ctx, request(id, "agent"))?),
            self.sload(ctx, request(id, "stake"))?,
            self.sload(ctx, request(id, "class"))?.saturating_to::<u64>(),
            B256::from(self.sload(ctx, request(id, "digest"))?.to_be_bytes::<32>()),
            self.sload(ctx, request(id, "window"))?.saturating_to::<u64>(),
            word_address(self.sload(ctx, request(id, "prover"))?),
            self.sload(ctx, request(id, "fault"))?.saturating_to::<u8>(),
        );
        Ok(Outcome::Ok(IAttribution::settlementOfCall::abi_encode_returns_tuple(&out).into()))
    }

    pub(super) fn split_view<CTX: ContextTr>(&self, ctx: &mut CTX, id: U256) -> DbResult<Outcome> {
        let fee = self.sload(ctx, request(id, "fee"))?;
        let s = self.split_of(ctx, id)?;
        let sh = if s.is_valid() { s.shares(fee) } else { Shares { contributors: U256::ZERO, owner: U256::ZERO, prover: U256::ZERO, protocol: U256::ZERO } };
        Ok(Outcome::Ok(IAttribution::splitOfCall::abi_encode_returns_tuple(&(sh.contributors, sh.owner, sh.prover, sh.protocol)).into()))
    }

    pub(super) fn answer_hash_view<CTX: ContextTr>(&self, ctx: &mut CTX, c: IAttribution::answerHashCall) -> DbResult<Outcome> {
        let query = B256::from(self.sload(ctx, request(c.requestId, "query"))?.to_be_bytes::<32>());
        let answer = Answer { requestId: c.requestId, queryCommitment: query, predictedClass: c.predictedClass, payoutDigest: c.payoutDigest };
        let h = answer_hash(ctx.cfg().chain_id(), &answer);
        Ok(Outcome::Ok(IAttribution::answerHashCall::abi_encode_returns(&h).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer::SignerSync;

    #[test]
    fn recover_takes_only_canonical_65_byte_signatures() {
        let signer = alloy_signer_local::PrivateKeySigner::random();
        let answer = Answer { requestId: U256::from(3), queryCommitment: B256::repeat_byte(1), predictedClass: 4, payoutDigest: B256::repeat_byte(2) };
        let h = answer_hash(19534, &answer);
        let sig = signer.sign_hash_sync(&h).unwrap();
        let bytes = sig.as_bytes();
        assert_eq!(recover(&h, &bytes), Some(signer.address()));
        // v as 0/1 also recovers; any other v, a short or long signature, does not
        let mut v01 = bytes;
        v01[64] -= 27;
        assert_eq!(recover(&h, &v01), Some(signer.address()));
        for v in [2u8, 26, 29, 35, 255] {
            let mut b = bytes;
            b[64] = v;
            assert_eq!(recover(&h, &b), None, "v = {v}");
        }
        assert_eq!(recover(&h, &bytes[..64]), None);
        assert_eq!(recover(&h, &[bytes.as_slice(), &[0]].concat()), None);
        // the high-s twin of a valid signature is refused (no malleability)
        let n = U256::from_str_radix("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16).unwrap();
        let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
        assert_eq!(recover(&h, &high.as_bytes()), None);
        // another chain's hash recovers someone else
        assert_ne!(recover(&answer_hash(1, &answer), &bytes), Some(signer.address()));
    }
}
