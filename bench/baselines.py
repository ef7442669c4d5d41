"""Equal-size baselines: LogisticRegression and a one-hidden-layer MLP, int8, counted as pnet.

``python -m bench.baselines [--quick | --full]`` prints the baseline table alone;
``python -m bench.budgets`` runs it next to the projection net.

Every baseline is fitted on the MNIST subset's pixels (``bench.datasets``: split
seed 0, pixels scaled to [0, 1], float32; the projection net's preprocessing),
then int8-quantised the way pnet quantises its compact model
(``pnet._quantize.quantize_columns``: per output column c, ``scale_c = max|W[:,
c]| / 127``, ``W_q = round(W / scale_c)``) and scored on the test split with the
dequantised weights (``scale_c * W_q``, float32). Bytes are counted as
``CompactProjectionNet.size_bytes`` counts them: 1 byte per int8 weight, 4 per
float32 bias and per scale; a baseline has no seed (nothing is random at
inference), but a pixel mask it needs is counted (98 bytes for 784 bits).

Inputs that fit a budget (nothing stored for a fixed geometry):

===============  =====  =========================================================
feature map      k      what
===============  =====  =========================================================
pixels           784    the image as loaded
crop20           400    the centre 20x20 box (MNIST digits are centred in it)
pool2            196    2x2 average pooling, 14x14
pool2-crop20     100    centre 20x20, then 2x2 average pooling, 10x10
pool4            49     4x4 average pooling, 7x7
top<k>           k      the k pixels of highest training variance (mask: 98 bytes);
                        for LogisticRegression, k is the most that fits each budget
===============  =====  =========================================================

Sizes, n classes (10 here): LogisticRegression on k inputs: ``10 k + 8 * 10``
(its ``coef_.T`` is the (k, 10) weight matrix); MLP with h hidden units:
``k h + 10 h + 8 (h + 10)``; at a budget B the MLP gets the widest h that fits,
for every feature map. LogisticRegression (lbfgs, C = 1, ``max_iter=1000``) is
deterministic: one fit per input. The MLP (``MLPClassifier((h,))``, adam, ReLU,
alpha 1e-4, batch 200) runs the same fixed epochs as the projection net (``tol =
0``, no early stop), for each model seed. Reference points: ``MLPClassifier((256,
256))`` in float32 (as in ``bench.compare``) and int8.

This module owns the baselines (feature maps, quantisation, byte counts); it
imports pnet only for ``quantize_columns`` / ``dequantize``.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from pnet._quantize import dequantize, quantize_columns

from . import datasets
from ._common import (add_mode_arguments, format_machine_info, markdown_table, mode_name,
                      print_section)

SIDE = 28  # MNIST images are 28 x 28
MASK_BYTES = SIDE * SIDE // 8  # a stored pixel mask: one bit per pixel
FLOAT_BYTES = 4
REFERENCE_HIDDEN = (256, 256)
BATCH_SIZE = 200


# -- feature maps ----------------------------------------------------------------------------
def _crop(X, side):
    lo = (SIDE - side) // 2
    return X.reshape(-1, SIDE, SIDE)[:, lo:lo + side, lo:lo + side].reshape(len(X), -1)


def _pool(X, side, p):
    """Average pooling of p x p blocks of an image of ``side`` x ``side`` pixels."""
    blocks = X.reshape(-1, side // p, p, side // p, p)
    return blocks.mean(axis=(2, 4), dtype=np.float32).reshape(len(X), -1)


FEATURE_MAPS = {
    "pixels": lambda X: X,
    "crop20": lambda X: _crop(X, 20),
    "pool2": lambda X: _pool(X, SIDE, 2),
    "pool2-crop20": lambda X: _pool(_crop(X, 20), 20, 2),
    "pool4": lambda X: _pool(X, SIDE, 4),
}


def top_variance(X_train, k):
    """Indices (ascending) of the k pixels of highest variance on the training rows."""
    return np.sort(np.argsort(X_train.var(axis=0), kind="stable")[::-1][:k])


# -- sizes -------------------------------------------------------------------------------------
def int8_bytes(sizes):
    """Bytes of an int8 net with layer sizes [k, hidden..., n_classes]: weights, biases, scales."""
    return sum(a * b + 2 * FLOAT_BYTES * b for a, b in zip(sizes[:-1], sizes[1:]))


def widest_hidden(budget, k, n_classes):
    """The most hidden units h with ``int8_bytes([k, h, n_classes]) <= budget`` (0: none)."""
    return max(0, (budget - 2 * FLOAT_BYTES * n_classes) // (k + n_classes + 2 * FLOAT_BYTES))


# -- quantised prediction ------------------------------------------------------------------
def quantized_accuracy(coefs, intercepts, X, y, classes):
    """Test accuracy (%) of a ReLU net whose weights are int8-quantised per output column."""
    Z = np.asarray(X, dtype=np.float32)
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = Z @ dequantize(*quantize_columns(W)) + np.asarray(b, dtype=np.float32)
        if i < len(coefs) - 1:
            Z = np.maximum(Z, 0)
    return 100 * float(np.mean(classes[np.argmax(Z, axis=1)] == y))


def _fit(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def _row(family, features, k, hidden, accs, accs_int8, n_bytes, seconds):
    return dict(family=family, features=features, inputs=k, hidden=hidden,
                config=f"{features} -> " + (f"{hidden} -> " if hidden else "") + "softmax",
                acc=float(np.mean(accs)), acc_sd=float(np.std(accs)),
                acc_int8=float(np.mean(accs_int8)), acc_int8_sd=float(np.std(accs_int8)),
                bytes_int8=int(n_bytes), seeds=len(accs), fit_s=float(np.mean(seconds)))


def logistic(data, features, X_train, X_test, extra_bytes=0):
    """LogisticRegression on one input, float and int8 accuracy."""
    model = LogisticRegression(max_iter=1000)
    seconds = _fit(model, X_train, data.y_train)
    acc = 100 * model.score(X_test, data.y_test)
    acc8 = quantized_accuracy([model.coef_.T], [model.intercept_], X_test, data.y_test,
                              model.classes_)
    n_bytes = int8_bytes([X_train.shape[1], len(model.classes_)]) + extra_bytes
    return _row("LogisticRegression", features, X_train.shape[1], 0, [acc], [acc8], n_bytes,
                [seconds])


def mlp(data, features, X_train, X_test, hidden, seeds, epochs):
    """MLPClassifier((hidden,)) over model seeds, float and int8 accuracy."""
    accs, accs8, seconds = [], [], []
    for seed in range(seeds):
        model = MLPClassifier((hidden,), max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                              batch_size=BATCH_SIZE, random_state=seed)
        seconds.append(_fit(model, X_train, data.y_train))
        accs.append(100 * model.score(X_test, data.y_test))
        accs8.append(quantized_accuracy(model.coefs_, model.intercepts_, X_test, data.y_test,
                                        model.classes_))
    n_bytes = int8_bytes([X_train.shape[1], hidden, len(model.classes_)])
    return _row("MLP, one hidden layer", features, X_train.shape[1], hidden, accs, accs8,
                n_bytes, seconds)


def reference(data, seeds, epochs):
    """MLPClassifier((256, 256)): float32 bytes (as bench.compare counts) and int8."""
    accs, accs8, seconds = [], [], []
    for seed in range(seeds):
        model = MLPClassifier(REFERENCE_HIDDEN, max_iter=epochs, tol=0.0,
                              n_iter_no_change=10**6, batch_size=BATCH_SIZE,
                              random_state=seed)
        seconds.append(_fit(model, data.X_train, data.y_train))
        accs.append(100 * model.score(data.X_test, data.y_test))
        accs8.append(quantized_accuracy(model.coefs_, model.intercepts_, data.X_test,
                                        data.y_test, model.classes_))
    sizes = [data.X_train.shape[1], *REFERENCE_HIDDEN, len(model.classes_)]
    n_float = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    label = "MLPClassifier(256, 256)"
    # the float32 row's "int8" accuracy is its float accuracy: the model as stored
    return [_row(label + " float32", "pixels", sizes[0], "256-256", accs, accs, 4 * n_float,
                 seconds),
            _row(label + " int8", "pixels", sizes[0], "256-256", accs, accs8, int8_bytes(sizes),
                 seconds)]


# -- the sweep ----------------------------------------------------------------------------------
def baseline_rows(data, budgets, seeds, epochs, verbose=True):
    """Every baseline that fits one of ``budgets`` (bytes): one row each (see module doc)."""
    n_classes = len(np.unique(data.y_train))
    rows = []

    def done(row):
        rows.append(row)
        if verbose:
            print(f"  {row['family']}: {row['config']}: {row['acc_int8']:.2f} ± "
                  f"{row['acc_int8_sd']:.2f} % int8 ({row['acc']:.2f} % float), "
                  f"{row['bytes_int8']:,} B, {row['fit_s']:.1f} s/fit", flush=True)

    for name, transform in FEATURE_MAPS.items():
        X_train, X_test = transform(data.X_train), transform(data.X_test)
        k = X_train.shape[1]
        if int8_bytes([k, n_classes]) <= max(budgets):
            done(logistic(data, name, X_train, X_test))
        widths = sorted({widest_hidden(b, k, n_classes) for b in budgets} - {0})
        for h in widths:
            done(mlp(data, name, X_train, X_test, h, seeds, epochs))
    n_pixels = data.X_train.shape[1]
    for budget in budgets:  # LogisticRegression on as many high-variance pixels as fit
        k = (budget - MASK_BYTES - 2 * FLOAT_BYTES * n_classes) // n_classes
        if 0 < k < n_pixels:
            keep = top_variance(data.X_train, k)
            done(logistic(data, f"top{k}", data.X_train[:, keep], data.X_test[:, keep],
                          extra_bytes=MASK_BYTES))
    return rows


def table(rows):
    rows = sorted(rows, key=lambda r: (r["family"], r["bytes_int8"]))
    return markdown_table(
        ["family", "model", "inputs", "int8 bytes", "int8 acc. %", "float acc. %", "seeds",
         "fit s"],
        [[r["family"], r["config"], r["inputs"], f"{r['bytes_int8']:,}",
          f"{r['acc_int8']:.2f} ± {r['acc_int8_sd']:.2f}", f"{r['acc']:.2f}", r["seeds"],
          f"{r['fit_s']:.1f}"] for r in rows])


MODES = {"quick": dict(budgets_kb=(2, 8, 32), seeds=1, epochs=15),
         "default": dict(budgets_kb=(2, 4, 8, 16, 32, 64), seeds=3, epochs=30),
         "full": dict(budgets_kb=(2, 4, 8, 16, 32, 64), seeds=5, epochs=30)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.baselines",
                                     description=__doc__.splitlines()[0])
    add_mode_arguments(parser, quick="3 budgets, 1 seed, 15 epochs", full="5 seeds")
    args = parser.parse_args(argv)
    mode = MODES[mode_name(args)]
    data = datasets.images("mnist")
    start = time.perf_counter()
    rows = baseline_rows(data, [1024 * b for b in mode["budgets_kb"]], mode["seeds"],
                         mode["epochs"])
    rows += reference(data, mode["seeds"], mode["epochs"])
    print_section(f"Equal-size baselines, MNIST subset ({mode_name(args)} mode, "
                  f"{time.perf_counter() - start:.0f} s)", table(rows))
    print_section("machine", "```text\n" + format_machine_info() + "\n```")


if __name__ == "__main__":
    main()
