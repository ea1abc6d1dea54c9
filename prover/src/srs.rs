//! Structured reference strings.

use crate::{Error, Result};
use halo2_base::halo2_proofs::{
    poly::{commitment::Params, kzg::commitment::ParamsKZG},
    SerdeFormat,
};
use lineage_circuits::Bn256;
use rand::SeedableRng;
use std::path::{Path, PathBuf};

/// Public seed of the development SRS. **Insecure**: its trapdoor is
/// recomputable by anyone. For tests and demos only.
pub const DEV_SRS_SEED: [u8; 32] = *b"lineage-dev-srs-INSECURE-v1-seed";

/// Generate the development SRS for `k`.
pub fn dev_srs(k: u32) -> ParamsKZG<Bn256> {
    ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::from_seed(DEV_SRS_SEED))
}

/// Load an SRS file written by halo2 (`ParamsKZG::write`: the format of
/// the Perpetual Powers of Tau / Hermez transcripts converted for halo2),
/// downsizing to `k`. Trusts the file: use [`load_pinned_srs`] for a file
/// you did not make yourself.
pub fn load_srs(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))?;
    parse_srs(&bytes, k).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))
}

/// keccak256 of an SRS file's bytes: what [`load_pinned_srs`] pins.
pub fn srs_file_hash(path: &Path) -> Result<alloy_primitives::B256> {
    let bytes = std::fs::read(path).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))?;
    Ok(alloy_primitives::keccak256(&bytes))
}

/// Load an SRS file only if its keccak256 is `expected` (checked before the
/// file is parsed), downsizing to `k`.
pub fn load_pinned_srs(path: &Path, k: u32, expected: &alloy_primitives::B256) -> Result<ParamsKZG<Bn256>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))?;
    let found = alloy_primitives::keccak256(&bytes);
    if found != *expected {
        return Err(Error::Srs(format!("{} has keccak256 {found}, not the pinned {expected}; refusing it", path.display())));
    }
    parse_srs(&bytes, k).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))
}

fn parse_srs(bytes: &[u8], k: u32) -> std::result::Result<ParamsKZG<Bn256>, String> {
    // the header's k sizes every allocation that follows: bound it first
    let file_k = bytes.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok_or("shorter than its header")?;
    if file_k > 28 || file_k < k {
        return Err(format!("has k = {file_k}, the circuit needs {k} (and files above k = 28 are refused)"));
    }
    // halo2's reader unwraps inside point decoding: a short file would panic,
    // so the exact size comes first (k, 2^k points twice at 64 raw bytes
    // each, two G2 points at 128)
    let expected = 4 + 2 * (1usize << file_k) * 64 + 2 * 128;
    if bytes.len() != expected {
        return Err(format!("{} bytes, a k = {file_k} file in halo2's raw format has {expected}", bytes.len()));
    }
    let read = std::panic::catch_unwind(|| ParamsKZG::<Bn256>::read(&mut &bytes[..]));
    let mut params = read.map_err(|_| "halo2 could not read the file".to_string())?.map_err(|e| e.to_string())?;
    if params.k() > k {
        params.downsize(k);
    }
    Ok(params)
}

/// The development SRS for `k`, cached under `cache_dir` (generated on first use).
pub fn cached_dev_srs(cache_dir: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let path: PathBuf = cache_dir.join(format!("dev-srs-k{k}.bin"));
    // a cache file of the wrong size (interrupted, corrupted) is regenerated:
    // halo2's reader would panic on a short one
    let complete = std::fs::metadata(&path).is_ok_and(|m| m.len() as usize == 4 + 2 * (1usize << k) * 64 + 2 * 128);
    if let (true, Ok(f)) = (complete, std::fs::File::open(&path)) {
        if let Ok(p) = ParamsKZG::<Bn256>::read_custom(&mut std::io::BufReader::new(f), SerdeFormat::RawBytesUnchecked) {
            if p.k() == k {
                return Ok(p);
            }
        }
    }
    let params = dev_srs(k);
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::Srs(format!("{}: {e}", cache_dir.display())))?;
    // a temporary name of this process's own: concurrent first runs (tests,
    // a node and a demo) each write a whole file and rename it into place
    let tmp = path.with_extension(format!("tmp.{}.{:?}", std::process::id(), std::thread::current().id()));
    let write = || -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        params.write_custom(&mut w, SerdeFormat::RawBytesUnchecked)?;
        std::io::Write::flush(&mut w)?;
        std::fs::rename(&tmp, &path)
    };
    // A cache that cannot be written is not an error: the SRS is still valid.
    if let Err(e) = write() {
        tracing::warn!("could not cache the SRS at {}: {e}", path.display());
    }
    Ok(params)
}

/// Default cache directory: `$LINEAGE_CACHE`, else `$XDG_CACHE_HOME/lineage`,
/// else `~/.cache/lineage`, else the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LINEAGE_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("lineage");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("lineage");
    }
    std::env::temp_dir().join("lineage-cache")
}
