// ethers v6 against `lineage node --dev`: a transfer, balances, a receipt,
// a contract deployed and called, its logs, a revert, and the attribution
// precompile called from Solidity. Usage:
//   NODE_PATH=<clients>/node_modules node ethers_client.mjs RPC_URL ARTIFACT_DIR
// Prints one JSON object as its last line; a failed check exits non-zero.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [url, artifacts] = process.argv.slice(2);
const roots = (process.env.NODE_PATH ?? "").split(":").filter(Boolean);
let ethers;
for (const r of roots) {
  try { ethers = createRequire(join(r, "x.js"))("ethers"); break; } catch {}
}
if (!ethers) throw new Error("ethers not found on NODE_PATH; run scripts/clients-setup.sh");

const MNEMONIC = "test test test test test test test test test test test junk";
const checked = [];
function check(name, cond, detail = "") {
  if (!cond) throw new Error(`${name}: ${detail}`);
  checked.push(name);
}

// cacheTimeout -1: ethers otherwise answers a repeated eth_getTransactionCount
// from a 250 ms cache, stale on a chain with 200 ms blocks
const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
const wallet = (i) => ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).connect(provider);
const [gov, alice, bob] = [wallet(0), wallet(4), wallet(5)];

const net = await provider.getNetwork();
check("chain_id", net.chainId === 19534n, net.chainId);
check("block_number", (await provider.getBlockNumber()) >= 0);

const before = await provider.getBalance(bob.address);
const tx = await alice.sendTransaction({ to: bob.address, value: ethers.parseEther("2") });
const rc = await tx.wait();
check("transfer", rc.status === 1 && (await provider.getBalance(bob.address)) === before + ethers.parseEther("2"));
check("receipt_fields", rc.blockHash && rc.gasUsed === 21000n && rc.from === alice.address);
const block = await provider.getBlock(rc.blockNumber, true);
check("block", block.hash === rc.blockHash && block.transactions.includes(rc.hash));
const fee = await provider.getFeeData();
check("fee_data", fee.maxFeePerGas > 0n && fee.maxPriorityFeePerGas > 0n && fee.gasPrice > 0n);

const art = JSON.parse(readFileSync(join(artifacts, "Probe.json"), "utf8"));
const factory = new ethers.ContractFactory(art.abi, art.bytecode, alice);
const probe = await factory.deploy();
await probe.waitForDeployment();
check("deploy", (await provider.getCode(await probe.getAddress())).length > 200);
const ping = await (await probe.ping(7n, "from ethers")).wait();
const parsed = ping.logs.map((l) => probe.interface.parseLog(l));
check("event", parsed.length === 1 && parsed[0].args.value === 7n && parsed[0].args.note === "from ethers");
const found = await probe.queryFilter(probe.filters.Ping(alice.address), 0, "latest");
check("query_filter", found.length === 1 && found[0].transactionHash === ping.hash);
check("call", (await probe.total()) === 7n);
try {
  await probe.fail(99n);
  throw new Error("revert not reported");
} catch (e) {
  check("revert_reason", e.code === "CALL_EXCEPTION" && e.reason === "too large", `${e.code} ${e.reason} ${e.message}`);
}
check("precompile_from_solidity", (await probe.attributionGovernor()) === gov.address);

// the registry precompile by its ABI
const regAbi = JSON.parse(readFileSync(join(artifacts, "IRegistry.json"), "utf8")).abi;
const reg = new ethers.Contract("0x000000000000000000000000000000004c4e0002", regAbi, bob);
const rr = await (await reg.registerDatanet(ethers.id("ethers datanet"), 3n, "Apache-2.0", "https://example.org")).wait();
const regEv = rr.logs.map((l) => reg.interface.parseLog(l)).find((e) => e && e.name === "DatanetRegistered");
check("registry_register", regEv && regEv.args.owner === bob.address);
const info = await reg.datanetOf(regEv.args.datanetId);
check("registry_datanet_of", info.licence === "Apache-2.0" && info.versions === 1n);
try {
  await reg.appendContributions.staticCall(regEv.args.datanetId, ethers.ZeroHash, 2n);
  throw new Error("shrinking append accepted");
} catch (e) {
  check("registry_revert", e.reason === "a new version must hold more contributions than the last", `${e.code} ${e.reason}`);
}

// AgentStaking and Governance by their ABIs, and an EIP-712 answer signed by ethers
const stkAbi = JSON.parse(readFileSync(join(artifacts, "IStaking.json"), "utf8")).abi;
const govAbi = JSON.parse(readFileSync(join(artifacts, "IGovernance.json"), "utf8")).abi;
const setAbi = JSON.parse(readFileSync(join(artifacts, "IAttributionSettlement.json"), "utf8")).abi;
const stk = new ethers.Contract("0x000000000000000000000000000000004c4e0003", stkAbi, bob);
const govc = new ethers.Contract("0x000000000000000000000000000000004c4e0004", govAbi, bob);
const settle = new ethers.Contract("0x000000000000000000000000000000004c4e0001", setAbi, bob);
const sr = await (await stk.stake({ value: ethers.parseEther("5") })).wait();
const stEv = sr.logs.map((l) => stk.interface.parseLog(l)).find((e) => e && e.name === "Staked");
check("staking_stake", stEv && stEv.args.agent === bob.address && stEv.args.amount === ethers.parseEther("5"));
check("staking_stake_of", (await stk.stakeOf(bob.address)).free === ethers.parseEther("5"));
const params = await govc.params();
check("governance_params", params.contributorsBps === 8000n && params.quorumBps === 2000n, params);
const domain = { name: "Lineage", version: "1", chainId: 19534, verifyingContract: "0x000000000000000000000000000000004c4e0001" };
const types = { Answer: [
  { name: "requestId", type: "uint256" }, { name: "queryCommitment", type: "bytes32" },
  { name: "predictedClass", type: "uint64" }, { name: "payoutDigest", type: "bytes32" },
] };
const answer = { requestId: 777n, queryCommitment: ethers.ZeroHash, predictedClass: 3n, payoutDigest: ethers.id("digest") };
check("settlement_answer_hash_is_eip712", ethers.TypedDataEncoder.hash(domain, types, answer) === (await settle.answerHash(777n, 3n, ethers.id("digest"))));

console.log(JSON.stringify({ client: "ethers", version: ethers.version, checks: checked.length, checked }));
