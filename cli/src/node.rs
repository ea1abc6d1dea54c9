//! `lineage node`: the Lineage L1 as a long-running node with Ethereum
//! JSON-RPC over HTTP.

use clap::Args;
use eyre::{bail, Context, Result};
use lineage_chain::{service::NodeConfig, Chain, Genesis};
use std::{path::PathBuf, sync::Arc};

/// Verifier-parameter size of the development chain: the dev SRS at this k
/// covers every circuit the demo proves (the per-window circuit is k = 17).
pub const DEV_NODE_K: u32 = 17;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// TOML configuration (fields of `NodeConfig`: datadir, http_addr,
    /// block_time_ms, [pool], [rpc]); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (default: ~/.lineage/node, or ~/.lineage/dev with --dev).
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// JSON-RPC listen address (default 127.0.0.1:8545; port 0 picks one).
    #[arg(long)]
    pub http_addr: Option<std::net::SocketAddr>,
    /// Time between blocks in milliseconds (default 2000).
    #[arg(long)]
    pub block_time_ms: Option<u64>,
    /// Development chain: prefund the `test test … junk` accounts with
    /// 10,000 OPEN each (as anvil does), chain id 19534, development
    /// verifier parameters (insecure SRS). Used only when the data
    /// directory holds no chain yet.
    #[arg(long)]
    pub dev: bool,
    /// Genesis configuration (JSON) for a new data directory.
    #[arg(long, conflicts_with = "dev")]
    pub genesis: Option<PathBuf>,
    /// Where the development SRS is cached (default: $LINEAGE_CACHE or ~/.cache/lineage).
    #[arg(long)]
    pub cache: Option<PathBuf>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

impl NodeArgs {
    /// The configuration: file, then flags.
    pub fn config(&self) -> Result<NodeConfig> {
        let mut c = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).wrap_err_with(|| format!("parsing {}", p.display()))?
            }
            None => NodeConfig::default(),
        };
        if let Some(d) = &self.datadir {
            c.datadir = Some(d.clone());
        }
        if let Some(a) = self.http_addr {
            c.http_addr = a;
        }
        if let Some(t) = self.block_time_ms {
            c.block_time_ms = t;
        }
        if c.datadir.is_none() {
            c.datadir = Some(home().join(".lineage").join(if self.dev { "dev" } else { "node" }));
        }
        Ok(c)
    }
}

/// Open the chain in `dir`, or create it from `--genesis` / `--dev`.
pub fn open_or_init(args: &NodeArgs, config: &NodeConfig, dir: &std::path::Path) -> Result<Chain> {
    if dir.join("CURRENT").exists() {
        return Ok(Chain::open_with(dir, config.pool.clone())?);
    }
    let genesis = if let Some(g) = &args.genesis {
        let bytes = std::fs::read(g).wrap_err_with(|| format!("reading {}", g.display()))?;
        serde_json::from_slice::<Genesis>(&bytes).wrap_err_with(|| format!("parsing {}", g.display()))?
    } else if args.dev {
        let cache = args.cache.clone().unwrap_or_else(lineage_prover::srs::default_cache_dir);
        eprintln!("lineage node: development verifier parameters (dev SRS, k = {DEV_NODE_K}, cached in {})", cache.display());
        let params = lineage_prover::srs::cached_dev_srs(&cache, DEV_NODE_K)?;
        Genesis::dev(&lineage_verifier::VerifierParams::from_srs(&params).to_bytes(), vec![])?
    } else {
        bail!("{} holds no chain: start with --dev or --genesis FILE", dir.display());
    };
    std::fs::create_dir_all(dir)?;
    Ok(Chain::init_with(dir, genesis, config.pool.clone())?)
}

pub fn run(args: NodeArgs) -> Result<()> {
    let config = args.config()?;
    let dir = config.datadir.clone().expect("set by config()");
    let chain = Arc::new(open_or_init(&args, &config, &dir)?);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let node = lineage_chain::service::start(chain.clone(), &config).await.wrap_err("starting the RPC server")?;
        let head = chain.head()?;
        // one line for people and scripts: where to connect
        println!(
            "lineage node: rpc http://{} chain_id {} head {} datadir {}",
            node.addr,
            chain.chain_id(),
            head.number,
            dir.display()
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        let shutdown = async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            eprintln!("lineage node: stopping");
        };
        node.run_until(shutdown).await?;
        eprintln!("lineage node: stopped at block {}", chain.head_number()?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        node: NodeArgs,
    }

    #[test]
    fn toml_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("node.toml");
        std::fs::write(&f, "block_time_ms = 500\nhttp_addr = \"0.0.0.0:9000\"\n[pool]\nmax_per_sender = 3\n[rpc]\nmax_batch = 7\n").unwrap();
        let args = Wrap::parse_from(["x", "--config", f.to_str().unwrap(), "--block-time-ms", "250"]).node;
        let c = args.config().unwrap();
        assert_eq!(c.block_time_ms, 250, "the flag wins");
        assert_eq!(c.http_addr.port(), 9000);
        assert_eq!(c.pool.max_per_sender, 3);
        assert_eq!(c.pool.max_total, lineage_chain::PoolConfig::default().max_total, "unset fields keep their defaults");
        assert_eq!(c.rpc.max_batch, 7);
        assert!(c.datadir.unwrap().ends_with(".lineage/node"));
        // a misspelt field is an error, not silently ignored
        std::fs::write(&f, "block_time = 500\n").unwrap();
        let err = Wrap::parse_from(["x", "--config", f.to_str().unwrap()]).node.config().unwrap_err();
        assert!(format!("{err:#}").contains("block_time"), "{err:#}");
    }
}
