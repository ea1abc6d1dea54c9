#!/usr/bin/env python3
"""Split the shipped digits set into the datanet (training set) and the
held-out query set, deterministically.

Input: a lineage-datanet file whose contributions are scikit-learn's digits
in its order (index i = sklearn index i). Held out: every image whose index
is 4 mod 5 (359 of 1797). The datanet keeps the rest (1438), each with its
sklearn `index`, sorted by (contributor, index) so that every contributor's
examples are one contiguous segment. Run once; its outputs are committed.

usage: split-digits.py ALL.json DATANET.json HELDOUT.json
"""
import json
import sys

src, out_datanet, out_heldout = sys.argv[1:4]
d = json.load(open(src))
contributions = d["contributions"]
for i, c in enumerate(contributions):
    c.setdefault("index", i)
train = [c for c in contributions if c["index"] % 5 != 4]
held = [c for c in contributions if c["index"] % 5 == 4]
train.sort(key=lambda c: (int(c["contributor"], 16), c["index"]))
datanet = {
    "format": "lineage-datanet",
    "version": 1,
    "name": "sklearn-digits",
    "description": "scikit-learn digits (8x8 images, pixels 0..16, labels 0..9): the training "
    "split (every image whose scikit-learn index is not 4 mod 5), sorted by contributor; "
    "`index` is the image's index in scikit-learn's order",
    "contributions": [
        {"contributor": c["contributor"], "licence": c["licence"], "payload": c["payload"], "index": c["index"]}
        for c in train
    ],
}
heldout = {
    "format": "lineage-queries",
    "version": 1,
    "name": "sklearn-digits-heldout",
    "description": "held-out queries: the scikit-learn digits whose index is 4 mod 5; never in the datanet",
    "queries": [{"index": c["index"], "label": c["payload"]["label"], "pixels": c["payload"]["pixels"]} for c in held],
}
json.dump(datanet, open(out_datanet, "w"), separators=(",", ":"))
json.dump(heldout, open(out_heldout, "w"), separators=(",", ":"))
print(f"datanet {len(train)} examples, held out {len(held)}")
