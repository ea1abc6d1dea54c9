#!/usr/bin/env python3
"""EZKL side of the peer benchmark: the same 64-16-10 MLP (weights from
onnx.json, written by `export_peer`) as an ONNX graph built with the `onnx`
package, then EZKL's settings, calibration, compile, SRS, setup, witness,
prove and verify, each timed. Input private, output public, parameters
fixed (baked into the key) — the visibility Lineage's inference circuit has.

usage: ezkl_run.py WORKDIR   (writes WORKDIR/ezkl/* and WORKDIR/ezkl.json)
"""
import asyncio
import inspect
import json
import os
import sys
import time

import ezkl
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

work = sys.argv[1]
out = os.path.join(work, "ezkl")
os.makedirs(out, exist_ok=True)
spec = json.load(open(os.path.join(work, "onnx.json")))
p = lambda name: os.path.join(out, name)


def call(f, *args, **kw):
    r = f(*args, **kw)
    if inspect.isawaitable(r):
        r = asyncio.run(r)
    return r


# 1. the ONNX graph: Gemm → Relu → Gemm, weights as initializers
w1 = np.array(spec["w1"], dtype=np.float32).reshape(16, 64)
w2 = np.array(spec["w2"], dtype=np.float32).reshape(10, 16)
b1 = np.array(spec["b1"], dtype=np.float32)
b2 = np.array(spec["b2"], dtype=np.float32)
graph = helper.make_graph(
    [
        helper.make_node("Gemm", ["input", "W1", "B1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "W2", "B2"], ["output"], transB=1),
    ],
    "lineage_mlp",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
    [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 10])],
    [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "B1"),
     numpy_helper.from_array(w2, "W2"), numpy_helper.from_array(b2, "B2")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, p("network.onnx"))
json.dump({"input_data": spec["input_data"]}, open(p("input.json"), "w"))

# 2. EZKL
times = {}


def timed(name, f, *args, **kw):
    t = time.perf_counter()
    r = call(f, *args, **kw)
    times[name] = time.perf_counter() - t
    return r


args = ezkl.PyRunArgs()
args.input_visibility = "private"
args.output_visibility = "public"
args.param_visibility = "fixed"
assert timed("gen_settings_s", ezkl.gen_settings, p("network.onnx"), p("settings.json"), py_run_args=args)
timed("calibrate_s", ezkl.calibrate_settings, p("input.json"), p("network.onnx"), p("settings.json"), "resources")
assert timed("compile_s", ezkl.compile_circuit, p("network.onnx"), p("network.ezkl"), p("settings.json"))
logrows = json.load(open(p("settings.json")))["run_args"]["logrows"]
timed("srs_s", ezkl.gen_srs, p("kzg.srs"), logrows)
timed("witness_s", ezkl.gen_witness, p("input.json"), p("network.ezkl"), p("witness.json"), srs_path=p("kzg.srs"))
assert timed("setup_s", ezkl.setup, p("network.ezkl"), p("vk.key"), p("pk.key"), srs_path=p("kzg.srs"))
timed("prove_s", ezkl.prove, p("witness.json"), p("network.ezkl"), p("pk.key"), p("proof.json"), srs_path=p("kzg.srs"))
assert timed("verify_s", ezkl.verify, p("proof.json"), p("settings.json"), p("vk.key"), srs_path=p("kzg.srs"))

proof = json.load(open(p("proof.json")))
raw = proof.get("proof") or proof.get("hex_proof") or ""
proof_bytes = len(raw) if isinstance(raw, list) else (len(raw) - 2) // 2 if str(raw).startswith("0x") else len(str(raw)) // 2
witness = json.load(open(p("witness.json")))
R = 21888242871839275222246405745257275088548364400416034343698204186575808495617  # BN254 scalar modulus


def signed(felt_hex):  # witness field elements are little-endian hex
    v = int.from_bytes(bytes.fromhex(felt_hex), "little")
    return v - R if v > R // 2 else v


outputs = [signed(x) for x in witness["outputs"][0]]
result = {
    "logrows": logrows,
    "pk_bytes": os.path.getsize(p("pk.key")),
    "vk_bytes": os.path.getsize(p("vk.key")),
    "proof_bytes": proof_bytes,
    "predicted_class": int(np.argmax(outputs)),
    **times,
}
json.dump(result, open(os.path.join(work, "ezkl.json"), "w"), indent=1)
print(json.dumps(result, indent=1))
