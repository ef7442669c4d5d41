"""Write the model files of tests/data, to check that files written before still load.

The models are built from integer arithmetic (the same on every numpy), so the
test can rebuild them and compare. The committed files were written by pnet at
commit cb4e1d9 (before the hardened reader), under numpy 1.24.4 and 2.4.6::

    git archive cb4e1d9 | tar -x -C /tmp/pnet-old
    python -m venv /tmp/np1 && /tmp/np1/bin/pip install numpy==1.24.4 /tmp/pnet-old
    cd /tmp && /tmp/np1/bin/python /path/to/tests/data/make_model_files.py /path/to/tests/data

(numpy 2.4.6 wrote byte-identical files). Run it from outside the repository,
so that ``import pnet`` is the installed one.
"""
import sys

import numpy as np


def golden_models(CompactProjectionNet):
    """{name: model}: float32 without hidden layer (int labels), int8 with one (str labels)."""
    def weights(*shape, scale=64):
        n = np.arange(np.prod(shape)).reshape(shape)
        return ((n * 37 + 11) % 29 - 14).astype(np.float32) / scale

    flat = CompactProjectionNet(
        seed=12345, n_features=7, n_projections=3, n_bits=4, projection="ternary",
        density=0.5, activation="relu", classes=np.array([3, 5, 9]),
        coefs=[weights(12, 3)], intercepts=[weights(3, scale=8)])
    wide = [weights(12, 5), weights(5, 4)]
    scales = [np.abs(W).max(axis=0).astype(np.float32) / 127 for W in wide]
    quantized = [np.round(W / s).astype(np.int8) for W, s in zip(wide, scales)]
    hidden = CompactProjectionNet(
        seed=2**63 - 1, n_features=5, n_projections=2, n_bits=6, projection="gaussian",
        density=1.0, activation="tanh", classes=np.array(["cat", "dog", "émeu", "z"]),
        coefs=quantized, intercepts=[weights(5, scale=8), weights(4, scale=8)],
        scales=scales)
    return {"float32-flat": flat, "int8-hidden": hidden}


if __name__ == "__main__":
    from pnet import CompactProjectionNet

    for name, model in golden_models(CompactProjectionNet).items():
        model.save(f"{sys.argv[1]}/{name}.pnet")
