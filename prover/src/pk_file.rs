//! Proving-key files of the whole-datanet circuits: what a prover caches so
//! that a query does not pay key generation again.
//!
//! Layout (version 1), all integers big-endian:
//!
//! ```text
//! "LINEAGE-PK" (10 bytes) ‖ version u32 ‖ header length u32 ‖ header (JSON)
//!   ‖ halo2 proving key (SerdeFormat::RawBytes) ‖ keccak256 of all the above (32 bytes)
//! ```
//!
//! The header names the circuit ([`TableKind`]), the hash of the verifier
//! parameters (of the SRS the key was made with), the hash of the
//! verifying-key file the proving key implies, and the circuit parameters
//! and break points the prover stage needs. Reading checks the trailer hash
//! first, then the parameters, then re-derives the verifying-key file from
//! the proving key and compares its hash — so a key file can be pinned by
//! the verifying key the chain has registered.

use crate::{query::TableKeys, Error, Result};
use alloy_primitives::{keccak256, B256};
use halo2_base::{
    gates::{circuit::BaseCircuitParams, flex_gate::MultiPhaseThreadBreakPoints},
    halo2_proofs::{
        plonk::ProvingKey,
        poly::{commitment::Params, kzg::commitment::ParamsKZG},
        SerdeFormat,
    },
};
use lineage_circuits::{table::TableCircuit, Bn256, G1Affine};
use lineage_verifier::{TableKeyFile, TableKind, VerifierParams};
use serde::{Deserialize, Serialize};
use std::{path::Path, time::Duration};

/// Magic bytes of a proving-key file.
pub const PK_MAGIC: &[u8; 10] = b"LINEAGE-PK";
/// Current version.
pub const PK_VERSION: u32 = 1;
/// Largest header accepted.
pub const MAX_PK_HEADER_BYTES: usize = 1 << 20;
/// Largest proving-key file accepted (a k = 22 key is a few GiB).
pub const MAX_PK_FILE_BYTES: u64 = 16 << 30;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    kind: TableKind,
    params_hash: B256,
    vk_file_hash: B256,
    circuit_params: BaseCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::KeyFile(what.to_string())
}

impl TableKeys {
    /// The verifying-key file these keys imply for circuit `kind`.
    pub fn vk_file(&self, kind: TableKind) -> TableKeyFile {
        TableKeyFile::new(kind, self.circuit_params.clone(), self.verifier_params.hash(), self.vk.clone())
    }

    /// Encode as a versioned, hashed proving-key file for circuit `kind`.
    pub fn to_file_bytes(&self, kind: TableKind) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&Header {
            kind,
            params_hash: self.verifier_params.hash(),
            vk_file_hash: self.vk_file(kind).hash,
            circuit_params: self.circuit_params.clone(),
            break_points: self.break_points.clone(),
        })
        .map_err(bad)?;
        let mut out = Vec::with_capacity(header.len() + 64);
        out.extend_from_slice(PK_MAGIC);
        out.extend_from_slice(&PK_VERSION.to_be_bytes());
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        self.pk.write(&mut out, SerdeFormat::RawBytes).map_err(bad)?;
        let hash = keccak256(&out);
        out.extend_from_slice(hash.as_slice());
        Ok(out)
    }

    /// Write [`TableKeys::to_file_bytes`] to `path` (through a temporary file).
    pub fn write_file(&self, kind: TableKind, path: &Path) -> Result<()> {
        let bytes = self.to_file_bytes(kind)?;
        let tmp = path.with_extension(format!("tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
        std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).map_err(|e| bad(format!("{}: {e}", path.display())))
    }

    /// Read a proving-key file for circuit `kind` made with `params`: the
    /// trailer hash, the version, the parameters' hash and the kind are
    /// checked before halo2 reads the key (under `catch_unwind`), and the
    /// verifying-key file the key implies must have the header's hash (and
    /// `expected_vk`, when given).
    pub fn from_file_bytes(bytes: &[u8], kind: TableKind, params: ParamsKZG<Bn256>, expected_vk: Option<&B256>) -> Result<Self> {
        let fixed = PK_MAGIC.len() + 8;
        if bytes.len() < fixed + 32 || bytes.len() as u64 > MAX_PK_FILE_BYTES {
            return Err(bad(format!("{} bytes is not a proving-key file", bytes.len())));
        }
        if &bytes[..PK_MAGIC.len()] != PK_MAGIC {
            return Err(bad("not a Lineage proving-key file (magic bytes)"));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 32);
        if keccak256(body).as_slice() != trailer {
            return Err(bad("hash mismatch: the file is truncated or corrupted"));
        }
        let word = |at: usize| u32::from_be_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        let version = word(PK_MAGIC.len());
        if version != PK_VERSION {
            return Err(bad(format!("version {version}, expected {PK_VERSION}")));
        }
        let header_len = word(PK_MAGIC.len() + 4) as usize;
        if header_len > MAX_PK_HEADER_BYTES || fixed + header_len > body.len() {
            return Err(bad(format!("header of {header_len} bytes does not fit")));
        }
        let header: Header = serde_json::from_slice(&body[fixed..fixed + header_len]).map_err(bad)?;
        let verifier_params = VerifierParams::from_srs(&params);
        if header.params_hash != verifier_params.hash() {
            return Err(bad(format!("made with parameters {}, these are {}", header.params_hash, verifier_params.hash())));
        }
        if header.kind != kind {
            return Err(bad(format!("a key for {:?}, not {kind:?}", header.kind)));
        }
        if header.circuit_params.k != params.k() as usize {
            return Err(bad(format!("a key for k = {}, the parameters have k = {}", header.circuit_params.k, params.k())));
        }
        lineage_verifier::check_columns(&header.circuit_params, lineage_verifier::table_keys::MAX_TABLE_ADVICE_COLUMNS)
            .map_err(bad)?;
        // halo2 sizes its domain from the key's own k (a u32 after the version byte): it must be the header's
        let key_bytes = &body[fixed + header_len..];
        if key_bytes.len() < 5 || u32::from_le_bytes(key_bytes[1..5].try_into().expect("4 bytes")) != params.k() {
            return Err(bad("the key's own k is not the header's"));
        }
        let mut reader = key_bytes;
        let cp = header.circuit_params.clone();
        let pk = std::panic::catch_unwind(move || {
            let pk = ProvingKey::<G1Affine>::read::<_, TableCircuit>(&mut reader, SerdeFormat::RawBytes, cp);
            (pk, reader.len())
        })
        .map_err(|_| bad("halo2 panicked reading the key"))?;
        let pk = pk.0.map_err(bad).and_then(|k| if pk.1 == 0 { Ok(k) } else { Err(bad(format!("{} trailing bytes after the key", pk.1))) })?;
        let keys = Self {
            vk: pk.get_vk().clone(),
            pk,
            params,
            circuit_params: header.circuit_params,
            break_points: header.break_points,
            verifier_params,
            keygen_time: Duration::ZERO,
            #[cfg(feature = "gpu")]
            gpu_params: std::sync::OnceLock::new(),
        };
        let vk_hash = keys.vk_file(kind).hash;
        if vk_hash != header.vk_file_hash || expected_vk.is_some_and(|e| *e != vk_hash) {
            return Err(bad(format!("the key implies verifying-key file {vk_hash}, not the one named")));
        }
        Ok(keys)
    }

    /// Read a proving-key file from `path` (see [`TableKeys::from_file_bytes`]).
    pub fn read_file(path: &Path, kind: TableKind, params: ParamsKZG<Bn256>, expected_vk: Option<&B256>) -> Result<Self> {
        let len = std::fs::metadata(path).map_err(|e| bad(format!("{}: {e}", path.display())))?.len();
        if len > MAX_PK_FILE_BYTES {
            return Err(bad(format!("{}: {len} bytes exceeds the {MAX_PK_FILE_BYTES}-byte maximum", path.display())));
        }
        let bytes = std::fs::read(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        Self::from_file_bytes(&bytes, kind, params, expected_vk)
    }
}
