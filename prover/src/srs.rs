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

/// Load an SRS file written by halo2 (`ParamsKZG::write`), downsizing to `k`.
pub fn load_srs(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let f = std::fs::File::open(path).map_err(|e| Error::Srs(format!("{}: {e}", path.display())))?;
    let mut params = ParamsKZG::<Bn256>::read(&mut std::io::BufReader::new(f))
        .map_err(|e| Error::Srs(format!("{}: {e}", path.display())))?;
    if params.k() < k {
        return Err(Error::Srs(format!("{} has k = {}, the circuit needs {k}", path.display(), params.k())));
    }
    if params.k() > k {
        params.downsize(k);
    }
    Ok(params)
}

/// The development SRS for `k`, cached under `cache_dir` (generated on first use).
pub fn cached_dev_srs(cache_dir: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let path: PathBuf = cache_dir.join(format!("dev-srs-k{k}.bin"));
    if let Ok(f) = std::fs::File::open(&path) {
        if let Ok(p) = ParamsKZG::<Bn256>::read_custom(&mut std::io::BufReader::new(f), SerdeFormat::RawBytesUnchecked) {
            if p.k() == k {
                return Ok(p);
            }
        }
    }
    let params = dev_srs(k);
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::Srs(format!("{}: {e}", cache_dir.display())))?;
    let tmp = path.with_extension("tmp");
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
