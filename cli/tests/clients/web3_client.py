"""web3.py against `lineage node --dev`: transfers (EIP-1559 and legacy),
balances, nonces, receipts, blocks, logs, revert data, pool errors, and a
Solidity contract that calls the attribution precompile.

Usage: python web3_client.py RPC_URL ARTIFACT_DIR
Prints one JSON object (what was checked) as its last line; any failed
check raises, so the exit status is non-zero.
"""
import json
import sys
import time

from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3RPCError

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 19534
OPEN = 10**18
PRECOMPILE = "0x000000000000000000000000000000004c4E0001"

url, artifacts = sys.argv[1], sys.argv[2]
w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
Account.enable_unaudited_hdwallet_features()
dev = [Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(10)]
checked = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    checked.append(name)


def wait(h):
    return w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.05)


def send(acct, tx):
    tx.setdefault("chainId", CHAIN_ID)
    tx.setdefault("nonce", w3.eth.get_transaction_count(acct.address, "pending"))
    signed = acct.sign_transaction(tx)
    return w3.eth.send_raw_transaction(signed.raw_transaction)


check("connected", w3.is_connected())
check("chain_id", w3.eth.chain_id == CHAIN_ID, w3.eth.chain_id)
check("net_version", w3.net.version == str(CHAIN_ID))
check("client_version", w3.client_version.startswith("lineage/"), w3.client_version)
check("syncing", w3.eth.syncing is False)
check("accounts", w3.eth.accounts == [])
check("prefunded", all(w3.eth.get_balance(a.address) >= 9_000 * OPEN for a in dev))

# an EIP-1559 transfer, fees from the node
a, b = dev[1], Account.create()
base = w3.eth.get_block("latest")["baseFeePerGas"]
tip = w3.eth.max_priority_fee
h = send(a, {"to": b.address, "value": 3 * OPEN, "gas": 21_000, "maxFeePerGas": base * 2 + tip, "maxPriorityFeePerGas": tip})
r = wait(h)
check("transfer_receipt", r["status"] == 1 and r["gasUsed"] == 21_000 and r["type"] == 2, r)
check("transfer_balance", w3.eth.get_balance(b.address) == 3 * OPEN)
tx = w3.eth.get_transaction(h)
check("get_transaction", tx["from"] == a.address and tx["to"] == b.address and tx["value"] == 3 * OPEN and tx["blockNumber"] == r["blockNumber"])
blk = w3.eth.get_block(r["blockNumber"], full_transactions=True)
check("block_full", blk["transactions"][r["transactionIndex"]]["hash"] == h and blk["hash"] == r["blockHash"])
check("block_by_hash", w3.eth.get_block(r["blockHash"])["number"] == r["blockNumber"])
check("state_root", len(blk["stateRoot"]) == 32 and blk["stateRoot"] != w3.eth.get_block(0)["stateRoot"])
check("effective_price", r["effectiveGasPrice"] == base + tip, (r["effectiveGasPrice"], base, tip))

# a legacy (EIP-155) transfer, and a nonce read
n0 = w3.eth.get_transaction_count(b.address)
h = send(a, {"to": b.address, "value": 1, "gas": 21_000, "gasPrice": w3.eth.gas_price})
r = wait(h)
check("legacy_transfer", r["status"] == 1 and r["type"] == 0 and w3.eth.get_balance(b.address) == 3 * OPEN + 1)
check("nonce", w3.eth.get_transaction_count(a.address) == 2 and n0 == 0)

# b (a fresh key) pays its own way back
h = send(b, {"to": a.address, "value": OPEN, "gas": 21_000, "maxFeePerGas": base * 2, "maxPriorityFeePerGas": 0})
check("fresh_sender", wait(h)["status"] == 1)

# pool errors: a stale nonce, an underpriced replacement, no funds
try:
    send(a, {"to": b.address, "value": 1, "gas": 21_000, "gasPrice": base * 2, "nonce": 0})
    raise AssertionError("stale nonce accepted")
except Web3RPCError as e:
    check("nonce_too_low", "nonce too low" in str(e), e)
poor = Account.create()
try:
    send(poor, {"to": a.address, "value": 1, "gas": 21_000, "gasPrice": base * 2})
    raise AssertionError("unfunded sender accepted")
except Web3RPCError as e:
    check("insufficient_funds", "insufficient funds" in str(e), e)
c = dev[2]
nonce = w3.eth.get_transaction_count(c.address, "pending")
h1 = send(c, {"to": b.address, "value": 5, "gas": 21_000, "maxFeePerGas": base * 2, "maxPriorityFeePerGas": 10**9, "nonce": nonce})
try:
    send(c, {"to": b.address, "value": 6, "gas": 21_000, "maxFeePerGas": base * 2 + 1, "maxPriorityFeePerGas": 10**9 + 1, "nonce": nonce})
    raise AssertionError("underpriced replacement accepted")
except Web3RPCError as e:
    check("replacement_underpriced", "underpriced" in str(e), e)
h2 = send(c, {"to": b.address, "value": 7, "gas": 21_000, "maxFeePerGas": base * 3, "maxPriorityFeePerGas": 2 * 10**9, "nonce": nonce})
r = wait(h2)
check("replacement", r["status"] == 1 and w3.eth.get_transaction(h2)["value"] == 7)
try:
    w3.eth.get_transaction(h1)
    raise AssertionError("replaced transaction still known")
except Exception as e:
    check("replaced_gone", "not found" in str(e).lower(), e)

# a Solidity contract: deploy, logs, reverts, the precompile from Solidity
art = json.load(open(f"{artifacts}/Probe.json"))
Probe = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
d = dev[3]
tx = Probe.constructor().build_transaction({"from": d.address, "nonce": w3.eth.get_transaction_count(d.address), "chainId": CHAIN_ID})
r = wait(send(d, tx))
check("deploy", r["status"] == 1 and r["contractAddress"] is not None, r)
probe = w3.eth.contract(address=r["contractAddress"], abi=art["abi"])
check("get_code", len(w3.eth.get_code(probe.address)) > 100)
tx = probe.functions.ping(42, "hello").build_transaction({"from": d.address, "nonce": w3.eth.get_transaction_count(d.address), "chainId": CHAIN_ID})
r = wait(send(d, tx))
events = probe.events.Ping().process_receipt(r)
check("event_in_receipt", len(events) == 1 and events[0]["args"]["value"] == 42 and events[0]["args"]["note"] == "hello" and events[0]["args"]["from"] == d.address)
logs = probe.events.Ping.get_logs(from_block=0)
check("get_logs", len(logs) == 1 and logs[0]["transactionHash"] == r["transactionHash"] and logs[0]["logIndex"] == 0)
topic_logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": probe.address, "topics": [None, "0x" + "00" * 12 + d.address[2:].lower()]})
check("get_logs_topic", len(topic_logs) == 1)
check("get_logs_miss", w3.eth.get_logs({"fromBlock": 0, "address": dev[9].address}) == [])
check("storage", w3.eth.get_storage_at(probe.address, 0) == (42).to_bytes(32, "big"))
check("call", probe.functions.total().call() == 42 and probe.functions.fail(3).call() == 3)
try:
    probe.functions.fail(11).call()
    raise AssertionError("revert not reported")
except ContractLogicError as e:
    check("revert_reason", "too large" in str(e), e)
check("estimate_gas", 21_000 < probe.functions.ping(1, "x").estimate_gas({"from": d.address}) < 100_000)
try:
    probe.functions.fail(12).estimate_gas({"from": d.address})
    raise AssertionError("estimate of a revert succeeded")
except ContractLogicError as e:
    check("estimate_revert", "too large" in str(e), e)
gov = probe.functions.attributionGovernor().call()
check("precompile_from_solidity", gov == dev[0].address, gov)
check("precompile_key_allowed", probe.functions.keyAllowed(b"\x01" * 32).call() is False)

# the registry precompile (DatanetRegistry, ModelRegistry) by its ABI
REGISTRY = "0x000000000000000000000000000000004C4e0002"
reg = w3.eth.contract(address=Web3.to_checksum_address(REGISTRY), abi=json.load(open(f"{artifacts}/IRegistry.json"))["abi"])
cur, user = dev[6], dev[7]


def transact(acct, fn):
    tx = fn.build_transaction({"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address), "chainId": CHAIN_ID})
    return wait(send(acct, tx))


n0 = reg.functions.datanetCount().call()
r = transact(cur, reg.functions.registerDatanet(b"\x11" * 32, 10, "CC-BY-4.0", "ipfs://digits"))
ev = reg.events.DatanetRegistered().process_receipt(r)
check("registry_register", r["status"] == 1 and len(ev) == 1 and ev[0]["args"]["owner"] == cur.address and ev[0]["args"]["datanetId"] == n0)
did = ev[0]["args"]["datanetId"]
r = transact(cur, reg.functions.appendContributions(did, b"\x12" * 32, 12))
ev = reg.events.ContributionsAppended().process_receipt(r)
check("registry_append", len(ev) == 1 and ev[0]["args"]["version"] == 1)
try:
    reg.functions.appendContributions(did, b"\x13" * 32, 11).call({"from": cur.address})
    raise AssertionError("shrinking append accepted")
except ContractLogicError as e:
    check("registry_append_refused", "more contributions" in str(e), e)
owner, licence, uri, versions = reg.functions.datanetOf(did).call()
check("registry_datanet_of", (owner, licence, uri, versions) == (cur.address, "CC-BY-4.0", "ipfs://digits", 2))
check("registry_version_of", tuple(reg.functions.versionOf(did, 1).call()[:2]) == (b"\x12" * 32, 12))
r = transact(user, reg.functions.registerModel(b"\x77" * 32, [did, did], [0, 1], "ipfs://mlp"))
ev = reg.events.ModelRegistered().process_receipt(r)
mid = ev[0]["args"]["modelId"]
m = reg.functions.modelOf(mid).call()
check("registry_model", m[0] == user.address and list(m[3]) == [did, did] and list(m[4]) == [0, 1])
check("registry_logs", len(reg.events.DatanetRegistered.get_logs(from_block=0)) >= 1)
# from Solidity: the Probe contract curates a datanet it owns
r = transact(d, probe.functions.curate(b"\x21" * 32, 5, "MIT"))
ev = reg.events.DatanetRegistered().process_receipt(r)
check("registry_from_solidity", r["status"] == 1 and ev[0]["args"]["owner"] == probe.address and reg.functions.datanetOf(ev[0]["args"]["datanetId"]).call()[3] == 2)

# AgentStaking, Governance and AttributionSettlement by their ABIs
def contract(addr, name):
    return w3.eth.contract(address=Web3.to_checksum_address(addr), abi=json.load(open(f"{artifacts}/{name}.json"))["abi"])


stk = contract("0x000000000000000000000000000000004c4e0003", "IStaking")
gv = contract("0x000000000000000000000000000000004c4e0004", "IGovernance")
att = contract(PRECOMPILE, "IAttributionSettlement")
agent = dev[8]


def transact_value(acct, fn, value):
    tx = fn.build_transaction({"from": acct.address, "value": value, "nonce": w3.eth.get_transaction_count(acct.address), "chainId": CHAIN_ID})
    return wait(send(acct, tx))


r = transact_value(agent, stk.functions.stake(), 150 * OPEN)
ev = stk.events.Staked().process_receipt(r)
check("staking_stake", r["status"] == 1 and ev[0]["args"]["agent"] == agent.address and ev[0]["args"]["amount"] == 150 * OPEN, r)
free, locked, unbonding, _ = stk.functions.stakeOf(agent.address).call()
check("staking_stake_of", (free, locked, unbonding) == (150 * OPEN, 0, 0), (free, locked, unbonding))
r = transact(agent, stk.functions.unbond(10 * OPEN))
ev = stk.events.Unbonding().process_receipt(r)
check("staking_unbond", r["status"] == 1 and ev[0]["args"]["amount"] == 10 * OPEN)
try:
    stk.functions.withdraw().call({"from": agent.address})
    raise AssertionError("withdraw before the unbonding delay accepted")
except ContractLogicError as e:
    check("staking_withdraw_refused", "unbonding ends at" in str(e), e)
bonded, unb, held = stk.functions.totals().call()
check("staking_totals", bonded >= 140 * OPEN and unb >= 10 * OPEN and held == 0, (bonded, unb, held))
check("staking_slashes", stk.functions.slashCount().call() == 0)
params = gv.functions.params().call()
check("governance_params", tuple(params[:4]) == (8000, 1000, 500, 500) and params[4] == 100 * OPEN and params[12] == dev[0].address, params)
r = transact(agent, gv.functions.proposeParam(0, 50 * OPEN))
ev = gv.events.Proposed().process_receipt(r)
pid = ev[0]["args"]["proposalId"]
check("governance_propose", r["status"] == 1 and ev[0]["args"]["proposer"] == agent.address and ev[0]["args"]["value"] == 50 * OPEN)
r = transact(agent, gv.functions.vote(pid, True))
ev = gv.events.Voted().process_receipt(r)
check("governance_vote", ev[0]["args"]["weight"] == 140 * OPEN and gv.functions.hasVoted(pid, agent.address).call())
p = gv.functions.proposalOf(pid).call()
check("governance_proposal_of", p[0] == 1 and p[3] == agent.address and p[5] == 140 * OPEN and p[8] == 1, p)
try:
    gv.functions.execute(pid).call({"from": agent.address})
    raise AssertionError("execution before the vote ended accepted")
except ContractLogicError as e:
    check("governance_execute_refused", "has not ended" in str(e), e)
try:
    gv.functions.proposeSplit(9000, 1000, 1, 0).call({"from": agent.address})
    raise AssertionError("a split over 10,000 bps accepted")
except ContractLogicError as e:
    check("governance_split_refused", "10,000 basis points" in str(e), e)
# an agent's answer, signed as EIP-712 typed data by eth-account, hashes as the chain does
typed = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "version", "type": "string"},
            {"name": "chainId", "type": "uint256"},
            {"name": "verifyingContract", "type": "address"},
        ],
        "Answer": [
            {"name": "requestId", "type": "uint256"},
            {"name": "queryCommitment", "type": "bytes32"},
            {"name": "predictedClass", "type": "uint64"},
            {"name": "payoutDigest", "type": "bytes32"},
        ],
    },
    "primaryType": "Answer",
    "domain": {"name": "Lineage", "version": "1", "chainId": CHAIN_ID, "verifyingContract": Web3.to_checksum_address(PRECOMPILE)},
    "message": {"requestId": 12345, "queryCommitment": b"\x00" * 32, "predictedClass": 7, "payoutDigest": b"\x33" * 32},
}
from eth_account.messages import encode_typed_data  # noqa: E402

signed = agent.sign_message(encode_typed_data(full_message=typed))
check("settlement_answer_hash_is_eip712", att.functions.answerHash(12345, 7, b"\x33" * 32).call() == signed.message_hash)
try:
    att.functions.reportAnswer(12345, 7, b"\x33" * 32, signed.signature).call({"from": dev[9].address})
    raise AssertionError("a report on a request nobody accepted went through")
except ContractLogicError as e:
    check("settlement_report_refused", "no agent accepted" in str(e), e)
try:
    att.functions.acceptRequest(12345).call({"from": agent.address})
    raise AssertionError("accepting a request that does not exist went through")
except ContractLogicError as e:
    check("settlement_accept_refused", "no open request" in str(e), e)
check("settlement_views", att.functions.splitOf(12345).call() == [0, 0, 0, 0] and att.functions.settlementOf(12345).call()[6] == 0)

# fee history, a limit refused, and a historical state refused
fh = w3.eth.fee_history(4, "latest", [25, 75])
check("fee_history", len(fh["baseFeePerGas"]) == len(fh["gasUsedRatio"]) + 1 and len(fh["reward"]) == len(fh["gasUsedRatio"]))
head = w3.eth.block_number
try:
    w3.eth.get_balance(a.address, 0 if head > 0 else "earliest")
    ok_hist = head == 0
except Web3RPCError as e:
    ok_hist = "historical state" in str(e)
check("historical_state_refused", ok_hist)

print(json.dumps({"client": "web3.py", "version": __import__("web3").__version__, "checks": len(checked), "checked": checked}))
