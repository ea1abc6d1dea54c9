//! Building, signing and decoding transactions (EIP-1559, EIP-2718 envelopes).

use crate::{Error, Result};
use alloy_consensus::{transaction::SignerRecoverable, SignableTransaction, Transaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, Bytes, TxKind, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

/// A decoded, signature-checked transaction.
#[derive(Clone, Debug)]
pub struct RecoveredTx {
    pub hash: B256,
    pub sender: Address,
    pub envelope: TxEnvelope,
    pub raw: Bytes,
}

/// Sign an EIP-1559 call and return its 2718 encoding.
#[allow(clippy::too_many_arguments)]
pub fn sign_call(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: Address,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    max_fee_per_gas: u128,
) -> Result<Bytes> {
    sign_tx(signer, chain_id, nonce, TxKind::Call(to), value, input, gas_limit, max_fee_per_gas)
}

/// Sign an EIP-1559 contract creation (`init_code` runs and returns the
/// contract's code) and return its 2718 encoding.
pub fn sign_create(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, init_code: Bytes, gas_limit: u64, max_fee_per_gas: u128) -> Result<Bytes> {
    sign_tx(signer, chain_id, nonce, TxKind::Create, U256::ZERO, init_code, gas_limit, max_fee_per_gas)
}

#[allow(clippy::too_many_arguments)]
fn sign_tx(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    max_fee_per_gas: u128,
) -> Result<Bytes> {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value,
        access_list: Default::default(),
        input,
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash()).map_err(|e| Error::Signer(e.to_string()))?;
    let env: TxEnvelope = tx.into_signed(sig).into();
    Ok(Bytes::from(env.encoded_2718()))
}

/// Decode a raw 2718 transaction and recover its sender.
pub fn decode(raw: &[u8]) -> Result<RecoveredTx> {
    let mut slice = raw;
    let envelope = TxEnvelope::decode_2718(&mut slice).map_err(|e| Error::InvalidTransaction(e.to_string()))?;
    if !slice.is_empty() {
        return Err(Error::InvalidTransaction(format!("{} trailing bytes", slice.len())));
    }
    if envelope.is_eip4844() || envelope.is_eip7702() {
        return Err(Error::InvalidTransaction("blob and set-code transactions are not supported".into()));
    }
    let sender = envelope.recover_signer().map_err(|e| Error::InvalidTransaction(e.to_string()))?;
    Ok(RecoveredTx { hash: *envelope.tx_hash(), sender, envelope, raw: Bytes::copy_from_slice(raw) })
}

impl RecoveredTx {
    pub fn chain_id(&self) -> Option<u64> {
        self.envelope.chain_id()
    }
}
