//! The chain as a client sees it: Ethereum JSON-RPC over HTTP, to an
//! embedded node (started here) or a running one (`--rpc URL`).

use alloy_primitives::{Address, Bytes, Log, B256, U256, U64};
use alloy_signer_local::PrivateKeySigner;
use eyre::{bail, eyre, Result, WrapErr};
use jsonrpsee::{
    core::{client::ClientT, ClientError},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use lineage_chain::{
    service::{NodeConfig, RunningNode},
    tx::sign_call,
    Chain,
};
use serde_json::{json, Value};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

/// Fee cap of the transactions sent here (2 gwei; the dev base fee is 1).
pub const MAX_FEE: u128 = 2_000_000_000;
/// How long to wait for a receipt.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// A signed transaction not yet sent: its bytes, hash and nonce.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SignedTx {
    pub raw: Bytes,
    pub hash: B256,
    pub nonce: u64,
}

/// A mined transaction, with what its execution returned.
#[derive(Clone, Debug)]
pub struct TxReceipt {
    pub hash: B256,
    pub block_number: u64,
    pub status: bool,
    pub gas_used: u64,
    /// Return data (success) or revert data, from a simulation against the
    /// state the transaction ran on (receipts do not carry return data).
    pub output: Bytes,
    /// "success", "revert" or "halt: …".
    pub outcome: String,
    pub logs: Vec<Log>,
}

pub struct RpcChain {
    rt: tokio::runtime::Runtime,
    client: HttpClient,
    url: String,
    chain_id: u64,
    node: Option<RunningNode>,
}

fn quantity(v: &Value, field: &str) -> Result<u64> {
    let s = v[field].as_str().ok_or_else(|| eyre!("receipt without {field}"))?;
    Ok(u64::from_str_radix(s.trim_start_matches("0x"), 16)?)
}

impl RpcChain {
    /// Serve `chain` on a loopback port with `block_ms` blocks, and connect.
    pub fn embedded(chain: Chain, block_ms: u64) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let config = NodeConfig { http_addr: "127.0.0.1:0".parse()?, block_time_ms: block_ms, ..Default::default() };
        let chain = Arc::new(chain);
        let node = rt.block_on(lineage_chain::service::start(chain, &config)).wrap_err("starting the embedded node")?;
        let url = format!("http://{}", node.addr);
        let mut c = Self::with_runtime(rt, &url)?;
        c.node = Some(node);
        Ok(c)
    }

    /// Connect to a running node.
    pub fn connect(url: &str) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        Self::with_runtime(rt, url)
    }

    fn with_runtime(rt: tokio::runtime::Runtime, url: &str) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(120))
            .max_request_size(64 << 20)
            .max_response_size(64 << 20)
            .build(url)?;
        let id: U64 = rt.block_on(client.request("eth_chainId", rpc_params![])).wrap_err_with(|| format!("no JSON-RPC node answers at {url}"))?;
        Ok(Self { rt, client, url: url.to_string(), chain_id: id.to(), node: None })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn request<T: serde::de::DeserializeOwned>(&self, method: &str, params: jsonrpsee::core::params::ArrayParams) -> Result<T> {
        self.rt.block_on(self.client.request(method, params)).wrap_err_with(|| format!("{method} at {}", self.url))
    }

    pub fn balance(&self, a: Address) -> Result<U256> {
        self.request("eth_getBalance", rpc_params![a, "latest"])
    }

    /// Head block number and timestamp.
    pub fn head(&self) -> Result<(u64, u64)> {
        let b: Value = self.request("eth_getBlockByNumber", rpc_params!["latest", false])?;
        Ok((quantity(&b, "number")?, quantity(&b, "timestamp")?))
    }

    /// A block's timestamp.
    pub fn block_timestamp(&self, n: u64) -> Result<u64> {
        let b: Value = self.request("eth_getBlockByNumber", rpc_params![format!("0x{n:x}"), false])?;
        quantity(&b, "timestamp")
    }

    pub fn genesis_hash(&self) -> Result<B256> {
        let b: Value = self.request("eth_getBlockByNumber", rpc_params!["0x0", false])?;
        Ok(serde_json::from_value(b["hash"].clone())?)
    }

    /// A read-only call's return data (a revert is an error with its reason).
    pub fn call(&self, to: Address, input: &[u8]) -> Result<Bytes> {
        self.request("eth_call", rpc_params![json!({"to": to, "input": Bytes::copy_from_slice(input)}), "latest"])
    }

    /// What the call would return now: (success, output, outcome).
    fn simulate(&self, from: Address, to: Address, input: &Bytes, value: U256, gas: u64) -> Result<(bool, Bytes, String)> {
        let req = json!({"from": from, "to": to, "input": input, "value": value, "gas": U64::from(gas)});
        match self.rt.block_on(self.client.request::<Bytes, _>("eth_call", rpc_params![req, "latest"])) {
            Ok(out) => Ok((true, out, "success".into())),
            Err(ClientError::Call(e)) if e.code() == lineage_chain::rpc::codes::EXECUTION_REVERTED => {
                let data = e.data().and_then(|d| serde_json::from_str::<Bytes>(d.get()).ok()).unwrap_or_default();
                Ok((false, data, "revert".into()))
            }
            // a halt; any other error object (a limit, an internal error) is not the call's outcome
            Err(ClientError::Call(e)) if e.code() == lineage_chain::rpc::codes::SERVER => Ok((false, Bytes::new(), format!("halt: {}", e.message()))),
            Err(e) => Err(e).wrap_err("eth_call"),
        }
    }

    /// Sign, send and wait for one call. Sent one at a time, so the
    /// simulation that precedes it runs on the state it will run on.
    pub fn transact(&self, signer: &PrivateKeySigner, to: Address, input: Vec<u8>, value: U256, gas: u64) -> Result<TxReceipt> {
        let input = Bytes::from(input);
        let (_, output, outcome) = self.simulate(signer.address(), to, &input, value, gas)?;
        let signed = self.sign(signer, to, input, value, gas)?;
        self.send_raw(&signed.raw)?;
        let mut r = self.wait_receipt(signed.hash)?;
        // a simulation that disagrees with the block (state moved in
        // between) keeps the block's verdict
        r.outcome = match (r.status, outcome.as_str()) {
            (true, _) => "success".to_string(),
            (false, "success") => "failed in its block".to_string(),
            (false, o) => o.to_string(),
        };
        r.output = output;
        Ok(r)
    }

    /// A view of contract `to` at the head, decoded: `call`, then its return type.
    pub fn view<C: alloy_sol_types::SolCall>(&self, to: Address, c: C) -> Result<C::Return> {
        Ok(C::abi_decode_returns(&self.call(to, &c.abi_encode())?)?)
    }

    /// What a call from `from` would do now, without sending it:
    /// `Ok(output)` or `Err(reason)` (a revert's reason, or the halt).
    pub fn dry_run(&self, from: Address, to: Address, input: &[u8], value: U256, gas: u64) -> Result<std::result::Result<Bytes, String>> {
        let (ok, out, outcome) = self.simulate(from, to, &Bytes::copy_from_slice(input), value, gas)?;
        Ok(if ok {
            Ok(out)
        } else {
            Err(<alloy_sol_types::Revert as alloy_sol_types::SolError>::abi_decode(&out).map(|e| e.reason).unwrap_or(outcome))
        })
    }

    /// The next nonce of `a` (counting its transactions in the pool).
    pub fn pending_nonce(&self, a: Address) -> Result<u64> {
        let n: U64 = self.request("eth_getTransactionCount", rpc_params![a, "pending"])?;
        Ok(n.to())
    }

    /// The nonce of `a` after the head block (mined transactions only).
    pub fn mined_nonce(&self, a: Address) -> Result<u64> {
        let n: U64 = self.request("eth_getTransactionCount", rpc_params![a, "latest"])?;
        Ok(n.to())
    }

    /// Sign a call at `signer`'s next nonce, without sending it.
    pub fn sign(&self, signer: &PrivateKeySigner, to: Address, input: Bytes, value: U256, gas: u64) -> Result<SignedTx> {
        let nonce = self.pending_nonce(signer.address())?;
        let raw = sign_call(signer, self.chain_id, nonce, to, value, input, gas, MAX_FEE)?;
        Ok(SignedTx { hash: alloy_primitives::keccak256(&raw), nonce, raw })
    }

    /// Send signed bytes (sending the same bytes twice is one transaction).
    pub fn send_raw(&self, raw: &Bytes) -> Result<B256> {
        self.request("eth_sendRawTransaction", rpc_params![raw])
    }

    /// A mined transaction's receipt, if it is mined.
    pub fn receipt(&self, hash: B256) -> Result<Option<TxReceipt>> {
        let r: Option<Value> = self.request("eth_getTransactionReceipt", rpc_params![hash])?;
        let Some(r) = r else { return Ok(None) };
        let status = quantity(&r, "status")? == 1;
        let logs = r["logs"]
            .as_array()
            .map(|ls| ls.iter().filter_map(|l| serde_json::from_value::<alloy_rpc_log::RpcLog>(l.clone()).ok()).map(|l| l.into()).collect())
            .unwrap_or_default();
        Ok(Some(TxReceipt {
            hash,
            block_number: quantity(&r, "blockNumber")?,
            status,
            gas_used: quantity(&r, "gasUsed")?,
            output: Bytes::new(),
            outcome: if status { "success" } else { "failed" }.to_string(),
            logs,
        }))
    }

    /// Wait for a sent transaction's receipt.
    pub fn wait_receipt(&self, hash: B256) -> Result<TxReceipt> {
        let start = Instant::now();
        loop {
            if let Some(r) = self.receipt(hash)? {
                return Ok(r);
            }
            if start.elapsed() > RECEIPT_TIMEOUT {
                bail!("transaction {hash} was not mined within {} s", RECEIPT_TIMEOUT.as_secs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The hashes, senders, targets and inputs of every transaction in block `n`.
    pub fn block_transactions(&self, n: u64) -> Result<Vec<(B256, Address, Option<Address>, Bytes)>> {
        let b: Value = self.request("eth_getBlockByNumber", rpc_params![format!("0x{n:x}"), true])?;
        let txs = b["transactions"].as_array().cloned().unwrap_or_default();
        txs.into_iter()
            .map(|t| {
                Ok((
                    serde_json::from_value(t["hash"].clone())?,
                    serde_json::from_value(t["from"].clone())?,
                    serde_json::from_value(t["to"].clone())?,
                    serde_json::from_value(t["input"].clone())?,
                ))
            })
            .collect()
    }

    /// The logs of `address` with first topic `topic0`, in blocks `from..=to`,
    /// each with its transaction hash and block number.
    pub fn logs(&self, address: Address, topic0: B256, from: u64, to: u64) -> Result<Vec<(Log, B256, u64)>> {
        let filter = json!({"address": address, "topics": [topic0], "fromBlock": format!("0x{from:x}"), "toBlock": format!("0x{to:x}")});
        let v: Vec<Value> = self.request("eth_getLogs", rpc_params![filter])?;
        v.into_iter()
            .map(|l| {
                let hash: B256 = serde_json::from_value(l["transactionHash"].clone())?;
                let block = quantity(&l, "blockNumber")?;
                let log: alloy_rpc_log::RpcLog = serde_json::from_value(l)?;
                Ok((log.into(), hash, block))
            })
            .collect()
    }

    /// A mined transaction's target and input.
    pub fn transaction_input(&self, hash: B256) -> Result<(Option<Address>, Bytes)> {
        let v: Value = self.request("eth_getTransactionByHash", rpc_params![hash])?;
        if v.is_null() {
            bail!("transaction {hash} not found");
        }
        let to: Option<Address> = serde_json::from_value(v["to"].clone())?;
        let input: Bytes = serde_json::from_value(v["input"].clone())?;
        Ok((to, input))
    }

    /// A storage word at the head.
    pub fn storage(&self, a: Address, slot: U256) -> Result<U256> {
        let v: B256 = self.request("eth_getStorageAt", rpc_params![a, slot, "latest"])?;
        Ok(U256::from_be_bytes(v.0))
    }

    /// Stop the embedded node (if any) after its block in production commits.
    pub fn stop(mut self) -> Result<()> {
        if let Some(node) = self.node.take() {
            self.rt.block_on(node.stop())?;
        }
        Ok(())
    }
}

/// The log fields a receipt carries, as JSON-RPC spells them.
mod alloy_rpc_log {
    use alloy_primitives::{Address, Bytes, Log, LogData, B256};

    #[derive(serde::Deserialize)]
    pub struct RpcLog {
        address: Address,
        topics: Vec<B256>,
        data: Bytes,
    }

    impl From<RpcLog> for Log {
        fn from(l: RpcLog) -> Log {
            Log { address: l.address, data: LogData::new_unchecked(l.topics, l.data) }
        }
    }
}
