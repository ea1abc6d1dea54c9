#!/usr/bin/env python3
"""Print EZKL's figures (ezkl.json) beside Lineage's criterion estimates for
the inference bench run in the same session, and their ratios.

usage: compare.py WORKDIR CRITERION_DIR
"""
import json
import os
import sys

work, crit = sys.argv[1:3]
e = json.load(open(os.path.join(work, "ezkl.json")))
l = json.load(open(os.path.join(work, "lineage.json")))


def median_s(name):
    est = json.load(open(os.path.join(crit, "inference", name, "new", "estimates.json")))
    return est["median"]["point_estimate"] / 1e9


ours = {"prove_s": median_s("prove"), "verify_s": median_s("verify"), **l}
print(f"{'':24}{'EZKL':>14}{'Lineage':>14}{'EZKL / Lineage':>16}")
for key, label in [("prove_s", "prove (s)"), ("verify_s", "verify (s)"), ("pk_bytes", "proving key (bytes)"),
                   ("proof_bytes", "proof (bytes)"), ("logrows", "k (log2 rows)")]:
    a, b = e[key], ours[key]
    print(f"{label:24}{a:>14.4g}{b:>14.4g}{a / b:>16.1f}")
print(f"predicted class: EZKL {e['predicted_class']}, Lineage {ours['predicted_class']}")
