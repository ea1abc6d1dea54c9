//! What every native (stateful) precompile of this chain shares: outcomes
//! and their EIP-4844-style gas accounting, revert data, storage words of
//! the precompile's own account, byte strings in storage, and events.

use alloy_primitives::{Address, Bytes, U256};
use revm::{
    context_interface::{ContextTr, JournalTr},
    handler::precompile_output_to_interpreter_result,
    interpreter::{CallInputs, InterpreterResult},
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

pub(crate) fn sload<CTX: ContextTr>(ctx: &mut CTX, at: Address, slot: U256) -> DbResult<U256> {
    ctx.journal_mut().sload(at, slot).map(|l| l.data).map_err(|e| e.to_string())
}

pub(crate) fn sstore<CTX: ContextTr>(ctx: &mut CTX, at: Address, slot: U256, v: U256) -> DbResult<()> {
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
