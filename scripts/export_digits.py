#!/usr/bin/env python3
"""Export scikit-learn's digits dataset as a Lineage datanet contribution file.

Run once; the output (data/digits-datanet.json) is committed so builds and tests
never need Python. Re-running produces byte-identical output.

Each of the 1,797 8x8 images (pixels 0..16, 10 classes) is assigned to one of
24 contributor addresses. The split is deterministic (numpy PCG64, seed 20261122)
and deliberately uneven (Zipf-like weights), as real community datasets are.
Contributor addresses are sha256("lineage/digits/contributor/<j>")[12:].
"""
import json
import sys

import numpy as np
from sklearn.datasets import load_digits

import hashlib

N_CONTRIBUTORS = 24
SEED = 20261122
LICENCES = ["CC-BY-4.0", "CC0-1.0", "ODbL-1.0"]


def main(out_path: str) -> None:
    digits = load_digits()
    images = digits.images.astype(int)
    labels = digits.target.astype(int)
    rng = np.random.Generator(np.random.PCG64(SEED))
    weights = 1.0 / np.arange(1, N_CONTRIBUTORS + 1) ** 0.8
    weights /= weights.sum()
    owners = rng.choice(N_CONTRIBUTORS, size=len(labels), p=weights)
    addresses = [
        "0x" + hashlib.sha256(f"lineage/digits/contributor/{j}".encode()).digest()[12:].hex()
        for j in range(N_CONTRIBUTORS)
    ]
    contributions = []
    for i in range(len(labels)):
        j = int(owners[i])
        contributions.append(
            {
                "contributor": addresses[j],
                "licence": LICENCES[j % len(LICENCES)],
                "payload": {
                    "label": int(labels[i]),
                    "pixels": [int(p) for p in images[i].reshape(-1)],
                },
            }
        )
    doc = {
        "format": "lineage-datanet",
        "version": 1,
        "name": "sklearn-digits",
        "description": "scikit-learn digits (UCI optical recognition of handwritten digits, test set): 8x8 images, pixels 0..16, labels 0..9",
        "contributions": contributions,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(contributions)} contributions from {len(set(owners))} contributors to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "data/digits-datanet.json")
