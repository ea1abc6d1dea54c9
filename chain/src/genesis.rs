//! Genesis: chain id, OPEN allocations, the verifier parameters the
//! attribution precompile checks proofs with, and the key allowlist's
//! governor and first entries. The genesis block's `extra_data` is the
//! keccak256 of this configuration, so the genesis block hash pins the
//! verifier parameters.

use crate::{precompile::governance::Params, Error, Result};
use alloy_primitives::{keccak256, Address, B256, U256};
use alloy_signer_local::{coins_bip39::English, MnemonicBuilder, PrivateKeySigner};
use serde::{Deserialize, Serialize};

/// The standard development mnemonic (anvil and hardhat prefund the same accounts).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// Default chain id ("LN").
pub const DEFAULT_CHAIN_ID: u64 = 0x4c4e;
/// 1 OPEN in wei.
pub const OPEN: u128 = 1_000_000_000_000_000_000;

/// The first `n` development signers (BIP-44 `m/44'/60'/0'/0/i`).
pub fn dev_signers(n: u32) -> Result<Vec<PrivateKeySigner>> {
    (0..n)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(DEV_MNEMONIC)
                .index(i)
                .map_err(|e| Error::Signer(e.to_string()))?
                .build()
                .map_err(|e| Error::Signer(e.to_string()))
        })
        .collect()
}

/// Genesis configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: u64,
    pub timestamp: u64,
    /// Fee recipient of every block.
    pub beneficiary: Address,
    pub gas_limit: u64,
    /// Base fee per gas in wei (burnt).
    pub base_fee: u64,
    pub alloc: Vec<(Address, U256)>,
    /// `lineage_verifier::VerifierParams` bytes, hex.
    pub verifier_params: String,
    /// May change the verifying-key allowlist.
    pub governor: Address,
    /// Hashes of the verifying keys allowed to pay at genesis.
    pub allowed_keys: Vec<B256>,
    /// The governed parameters at genesis (fee split, staking, slashing,
    /// voting); see `precompile::governance::Params`.
    pub params: Params,
}

impl Genesis {
    /// The development genesis: 10 dev accounts with 10,000 OPEN each; dev
    /// account 0 governs the key allowlist (beside governance proposals) and
    /// is the treasury; the parameters are [`Params::dev`].
    pub fn dev(verifier_params: &[u8], allowed_keys: Vec<B256>) -> Result<Self> {
        let signers = dev_signers(10)?;
        let alloc = signers.iter().map(|s| (s.address(), U256::from(10_000u128 * OPEN))).collect();
        Ok(Self {
            chain_id: DEFAULT_CHAIN_ID,
            timestamp: 1_790_000_000,
            beneficiary: Address::repeat_byte(0xfe),
            gas_limit: 60_000_000,
            base_fee: 1_000_000_000,
            alloc,
            verifier_params: hex::encode(verifier_params),
            governor: signers[0].address(),
            allowed_keys,
            params: Params::dev(signers[0].address()),
        })
    }

    /// Canonical bytes (JSON) of this configuration.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("genesis serialises")
    }

    /// keccak256 of [`Genesis::to_bytes`]: the genesis block's `extra_data`.
    pub fn hash(&self) -> B256 {
        keccak256(self.to_bytes())
    }

    /// The verifier-parameter file bytes.
    pub fn verifier_params_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.verifier_params).map_err(|e| Error::Corrupt { key: "genesis.verifier_params".into(), reason: e.to_string() })
    }
}
