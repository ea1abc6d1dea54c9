//! What every native (stateful) precompile of this chain shares: outcomes
//! and their EIP-4844-style gas accounting, revert data, storage words of
//! the precompile's own account, byte strings in storage, and events.

use alloy_primitives::{Address, Bytes, U256};
use revm::{
    context_interface::{ContextTr, JournalTr},
    handler::precompile_output_to_interpreter_result,
    interpreter::{CallInputs, CallScheme, CallValue, InterpreterResult},
    precompile::{PrecompileHalt, PrecompileOutput},
};

/// Errors from the journal (database errors) end the block, not the call.
pub(crate) type DbResult<T> = Result<T, String>;

/// What a call came to.
pub(crate) enum Outcome {
    Ok(Bytes),
    Revert(String),
    /// Malformed input: consumes all the call's gas.
    Halt(String),
    OutOfGas,
}

/// `Error(string)`, as Solidity's `require` produces it (selector, then the
/// string's parameter encoding), so every client decodes the reason.
pub(crate) fn revert_data(reason: &str) -> Bytes {
    alloy_sol_types::SolError::abi_encode(&alloy_sol_types::Revert::from(reason)).into()
}

/// The interpreter result of a call that costs `gas` and came to `outcome`:
/// success and revert charge `gas`, a halt or out-of-gas all of the call's.
pub(crate) fn finish(gas: u64, outcome: Outcome, inputs: &CallInputs) -> InterpreterResult {
    let out = match outcome {
        Outcome::Ok(output) => PrecompileOutput::new(gas, output, inputs.reservoir),
        Outcome::Revert(reason) => PrecompileOutput::revert(gas, revert_data(&reason), inputs.reservoir),
        Outcome::Halt(reason) => PrecompileOutput::halt(PrecompileHalt::other(reason), inputs.reservoir),
        Outcome::OutOfGas => PrecompileOutput::halt(PrecompileHalt::OutOfGas, inputs.reservoir),
    };
    precompile_output_to_interpreter_result(out, inputs.gas_limit)
}

/// Load `at` into the journal (the journal's storage access assumes it; a
/// precompile reaches other system accounts than the one it was called at).
fn load<CTX: ContextTr>(ctx: &mut CTX, at: Address) -> DbResult<()> {
    ctx.journal_mut().load_account(at).map(|_| ()).map_err(|e| e.to_string())
}

pub(crate) fn sload<CTX: ContextTr>(ctx: &mut CTX, at: Address, slot: U256) -> DbResult<U256> {
    load(ctx, at)?;
    ctx.journal_mut().sload(at, slot).map(|l| l.data).map_err(|e| e.to_string())
}

pub(crate) fn sstore<CTX: ContextTr>(ctx: &mut CTX, at: Address, slot: U256, v: U256) -> DbResult<()> {
    load(ctx, at)?;
    ctx.journal_mut().sstore(at, slot, v).map(|_| ()).map_err(|e| e.to_string())
}

/// Append an event to the call's logs (undone with the call's state if it reverts).
pub(crate) fn emit<CTX: ContextTr, E: alloy_sol_types::SolEvent>(ctx: &mut CTX, at: Address, event: &E) {
    ctx.journal_mut().log(revm::primitives::Log { address: at, data: event.encode_log_data() });
}

/// Store `bytes`: the length at `len_slot`, the bytes in 32-byte words from
/// `first_word` on (the last one zero-padded).
pub(crate) fn store_bytes<CTX: ContextTr>(ctx: &mut CTX, at: Address, len_slot: U256, first_word: U256, bytes: &[u8]) -> DbResult<()> {
    sstore(ctx, at, len_slot, U256::from(bytes.len()))?;
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let mut w = [0u8; 32];
        w[..chunk.len()].copy_from_slice(chunk);
        sstore(ctx, at, first_word + U256::from(i), U256::from_be_bytes(w))?;
    }
    Ok(())
}

/// The `len` bytes stored from `first_word` on (the caller checks `len`).
pub(crate) fn load_bytes<CTX: ContextTr>(ctx: &mut CTX, at: Address, first_word: U256, len: usize) -> DbResult<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    for i in 0..len.div_ceil(32) {
        out.extend_from_slice(&sload(ctx, at, first_word + U256::from(i))?.to_be_bytes::<32>());
    }
    out.truncate(len);
    Ok(out)
}

/// Address as a storage word (right-aligned).
pub(crate) fn address_word(a: &Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

/// The address in a storage word's low 20 bytes.
pub(crate) fn word_address(v: U256) -> Address {
    Address::from_word(alloy_primitives::B256::from(v.to_be_bytes::<32>()))
}

/// The value a call actually moved to `at`: only a plain `CALL` whose target
/// is `at` transfers to it (under `CALLCODE` the caller pays itself and under
/// `DELEGATECALL` the value is only apparent).
pub(crate) fn transferred_value(inputs: &CallInputs, at: Address) -> Option<U256> {
    match (inputs.scheme, &inputs.value) {
        (CallScheme::Call, CallValue::Transfer(v)) if inputs.target_address == at => Some(*v),
        _ => None,
    }
}

/// The checks every native precompile makes before dispatch: value only to
/// a payable function; state changes only in a plain, non-static `CALL`
/// whose target is the precompile itself.
pub(crate) fn guard(inputs: &CallInputs, at: Address, view: bool, payable: bool) -> Option<Outcome> {
    if !payable && !inputs.value.get().is_zero() {
        return Some(Outcome::Revert("function is not payable".into()));
    }
    if !view {
        if inputs.is_static {
            return Some(Outcome::Revert("state change in a static call".into()));
        }
        if inputs.scheme != CallScheme::Call || inputs.target_address != at {
            return Some(Outcome::Revert("state-changing calls must be a plain CALL to the precompile (not CALLCODE or DELEGATECALL)".into()));
        }
    }
    None
}

/// Gas of reading a call's input before its price is known: a base plus
/// 3 a 32-byte word (as `CALLDATACOPY`) for the copy, the strict decoding
/// and the canonical re-encoding. Checked against the call's gas before the
/// input is touched, and part of every call's price, so a contract cannot
/// make a precompile decode a large buffer for free (a call forwarding no
/// gas) over and over.
pub(crate) const INPUT_BASE_GAS: u64 = 100;
pub(crate) const INPUT_WORD_GAS: u64 = 3;

/// [`INPUT_BASE_GAS`] plus [`INPUT_WORD_GAS`] per word of the call's input.
pub(crate) fn input_gas(inputs: &CallInputs) -> u64 {
    INPUT_BASE_GAS.saturating_add(INPUT_WORD_GAS.saturating_mul((inputs.input.len() as u64).div_ceil(32)))
}

/// Decode a call strictly (a non-canonical encoding halts), price it from
/// the decoded call, check the price against the call's gas before any
/// work, then dispatch with panics caught: the shared entry point of the
/// staking, governance and registry precompiles.
pub(crate) fn run_sol<CTX: ContextTr, C: alloy_sol_types::SolInterface>(
    ctx: &mut CTX,
    inputs: &CallInputs,
    gas_of: impl Fn(&C) -> u64,
    dispatch: impl FnOnce(&mut CTX, C) -> DbResult<Outcome>,
) -> Result<InterpreterResult, String> {
    let pre = input_gas(inputs);
    if pre > inputs.gas_limit {
        return Ok(finish(pre, Outcome::OutOfGas, inputs));
    }
    let input = inputs.input.as_bytes(ctx).to_vec();
    let (gas, outcome) = match C::abi_decode_validate(&input) {
        Ok(c) if c.abi_encode() == input => {
            let gas = gas_of(&c).saturating_add(pre);
            if gas > inputs.gas_limit {
                return Ok(finish(gas, Outcome::OutOfGas, inputs));
            }
            let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(ctx, c))) {
                Ok(r) => r?,
                Err(_) => Outcome::Halt("internal error: the precompile panicked on this input".into()),
            };
            (gas, outcome)
        }
        Ok(_) => (0, Outcome::Halt("malformed input: non-canonical ABI encoding".into())),
        Err(e) => (0, Outcome::Halt(format!("malformed input: {e}"))),
    };
    Ok(finish(gas, outcome, inputs))
}

/// Pay `amount` from the precompile account `from` (a failed transfer is a
/// broken invariant: it ends the block, not the call).
pub(crate) fn pay<CTX: ContextTr>(ctx: &mut CTX, from: Address, to: Address, amount: U256) -> DbResult<()> {
    if amount.is_zero() {
        return Ok(());
    }
    match ctx.journal_mut().transfer(from, to, amount).map_err(|e| e.to_string())? {
        None => Ok(()),
        Some(e) => Err(format!("transfer from {from} failed: {e:?}")),
    }
}

/// The block's timestamp.
pub(crate) fn now<CTX: ContextTr>(ctx: &CTX) -> u64 {
    use revm::context_interface::Block;
    ctx.block().timestamp().saturating_to::<u64>()
}

#[cfg(test)]
mod tests {
    use alloy_sol_types::SolError;

    #[test]
    fn revert_data_is_solidity_error_string() {
        let data = super::revert_data("too large");
        // what Solidity's require(false, "too large") returns, which every client decodes
        assert_eq!(data.as_ref(), alloy_sol_types::Revert::from("too large").abi_encode().as_slice());
        assert_eq!(alloy_sol_types::Revert::abi_decode(&data).unwrap().reason, "too large");
    }
}
