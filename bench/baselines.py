"""Equal-size baselines: LogisticRegression and a one-hidden-layer MLP, int8 (and int4),
counted as pnet.

``python -m bench.baselines [--quick | --full]`` prints the baseline table alone;
``python -m bench.budgets`` runs it next to the projection net.

Every baseline is fitted on the MNIST subset's pixels (``bench.datasets``: split
seed 0, pixels scaled to [0, 1], float32; the projection net's preprocessing),
then quantised after training the way pnet quantises its compact model
(``pnet._quantize.quantize_columns``: per output column c, ``scale_c = max|W[:,
c]| / 127``, ``W_q = round(W / scale_c)``; int4 the same with 7 for 127) and scored
with the dequantised weights (``scale_c * W_q``, float32). Issue 9 defines the
baselines in int8; every fitted baseline is also scored in int4 (``FORMATS``), a
sensitivity check for the comparison with a projection net whose weights are
narrower than int8. Bytes are ``pnet._quantize.stored_bytes``, as
``CompactProjectionNet.size_bytes`` counts them: weights packed at 8 or 4 bits, 4
bytes per float32 bias and per scale; a baseline has no seed (nothing is random at
inference), but a pixel mask it needs is counted (98 bytes for 784 bits). Each
fitted model gives one row per format.

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

Sizes, n classes (10 here), int8: LogisticRegression on k inputs: ``10 k + 8 *
10`` (its ``coef_.T`` is the (k, 10) weight matrix); MLP with h hidden units: ``k
h + 10 h + 8 (h + 10)`` (int4: half the weight bytes, rounded up per matrix); at a
budget B the MLP gets the widest h that fits, for every feature map and in each
format of ``FORMATS`` (an int4 budget holds about twice the width).
LogisticRegression (lbfgs, C = 1, ``max_iter=1000``) is deterministic: one fit per
input. The MLP (``MLPClassifier((h,))``, adam, ReLU, alpha 1e-4, batch 200) runs
the same fixed epochs as the projection net (``tol = 0``, no early stop), for each
model seed. Reference points: ``MLPClassifier((256, 256))`` in float32 (as in
``bench.compare``), int8 and int4.

This module owns the baselines (feature maps, quantisation, byte counts); it
imports pnet only for ``quantize_columns`` / ``dequantize`` / ``stored_bytes``.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from pnet._quantize import dequantize, quantize_columns, stored_bytes

from . import datasets
from ._common import (add_mode_arguments, format_machine_info, markdown_table, mode_name,
                      most_that_fits, print_section)

SIDE = 28  # MNIST images are 28 x 28
MASK_BYTES = SIDE * SIDE // 8  # a stored pixel mask: one bit per pixel
REFERENCE_HIDDEN = (256, 256)
BATCH_SIZE = 200
#: formats every baseline is scored in: int8 (issue 9's baselines), int4 (sensitivity)
FORMATS = ("int8", "int4")
LOGREG = "LogisticRegression"
MLP = "MLP, one hidden layer"


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
def widest_hidden(budget, k, n_classes, fmt):
    """The most hidden units h whose [k, h, n_classes] net fits ``budget`` in ``fmt`` (0: none)."""
    return most_that_fits(lambda h: stored_bytes([k, h, n_classes], fmt), budget)


def most_pixels(budget, n_classes, fmt):
    """The most pixels k whose LogisticRegression (+ the pixel mask) fits ``budget``."""
    return most_that_fits(lambda k: stored_bytes([k, n_classes], fmt) + MASK_BYTES, budget)


# -- quantised prediction ------------------------------------------------------------------
def quantized_accuracy(coefs, intercepts, X, y, classes, fmt="int8"):
    """Accuracy (%) of a ReLU net whose weights are quantised to ``fmt`` per output column
    (None: its float32 weights)."""
    Z = np.asarray(X, dtype=np.float32)
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        W = np.asarray(W, dtype=np.float32) if fmt is None else \
            dequantize(*quantize_columns(W, fmt))
        Z = Z @ W + np.asarray(b, dtype=np.float32)
        if i < len(coefs) - 1:
            Z = np.maximum(Z, 0)
    return 100 * float(np.mean(classes[np.argmax(Z, axis=1)] == y))


def _fit(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - start


def _scores(models, X_train, X_test, data, fmt):
    """Per fitted model: (test, train) accuracy % of its ``fmt`` weights."""
    return [(quantized_accuracy(W, b, X_test, data.y_test, classes, fmt),
             quantized_accuracy(W, b, X_train, data.y_train, classes, fmt))
            for W, b, classes in models]


def _rows(family, features, sizes, hidden, models, X_train, X_test, data, accs, seconds,
          extra_bytes=0, formats=FORMATS):
    """One row per format of the fitted ``models`` [(coefs, intercepts, classes)], whose
    float test accuracies are ``accs``; ``sizes`` [k, ..., n_classes]; None: float32."""
    rows = []
    for fmt in formats:
        test, train = np.array(_scores(models, X_train, X_test, data, fmt)).T
        rows.append(dict(
            family=family, format=fmt or "float32", features=features, inputs=sizes[0],
            hidden=hidden,
            config=f"{features} -> " + (f"{hidden} -> " if hidden else "") + "softmax",
            acc=float(np.mean(accs)), acc_sd=float(np.std(accs)),
            acc_compact=float(np.mean(test)), acc_compact_sd=float(np.std(test)),
            train_acc_compact=float(np.mean(train)),
            bytes_compact=stored_bytes(sizes, fmt) + extra_bytes, seeds=len(accs),
            fit_s=float(np.mean(seconds))))
    return rows


def logistic(data, features, X_train, X_test, extra_bytes=0):
    """LogisticRegression on one input: one row per format."""
    model = LogisticRegression(max_iter=1000)
    seconds = _fit(model, X_train, data.y_train)
    acc = 100 * model.score(X_test, data.y_test)
    models = [([model.coef_.T], [model.intercept_], model.classes_)]
    return _rows(LOGREG, features, [X_train.shape[1], len(model.classes_)], 0, models,
                 X_train, X_test, data, [acc], [seconds], extra_bytes)


def _mlps(hidden, X_train, X_test, data, seeds, epochs):
    """MLPClassifier(hidden) fitted for each model seed: (models, float accuracies, seconds)."""
    models, accs, seconds = [], [], []
    for seed in range(seeds):
        model = MLPClassifier(hidden, max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                              batch_size=BATCH_SIZE, random_state=seed)
        seconds.append(_fit(model, X_train, data.y_train))
        accs.append(100 * model.score(X_test, data.y_test))
        models.append((model.coefs_, model.intercepts_, model.classes_))
    return models, accs, seconds


def mlp(data, features, X_train, X_test, hidden, seeds, epochs):
    """MLPClassifier((hidden,)) over model seeds: one row per format."""
    models, accs, seconds = _mlps((hidden,), X_train, X_test, data, seeds, epochs)
    sizes = [X_train.shape[1], hidden, len(models[0][2])]
    return _rows(MLP, features, sizes, hidden, models, X_train, X_test, data, accs, seconds)


def reference(data, seeds, epochs):
    """MLPClassifier((256, 256)): float32 bytes (as bench.compare counts), int8 and int4."""
    models, accs, seconds = _mlps(REFERENCE_HIDDEN, data.X_train, data.X_test, data, seeds,
                                  epochs)
    sizes = [data.X_train.shape[1], *REFERENCE_HIDDEN, len(models[0][2])]
    return _rows("MLPClassifier(256, 256)", "pixels", sizes, "256-256", models, data.X_train,
                 data.X_test, data, accs, seconds, formats=(None, *FORMATS))


# -- the sweep ----------------------------------------------------------------------------------
def baseline_rows(data, budgets, seeds, epochs, maps=tuple(FEATURE_MAPS), top_pixels=True,
                  verbose=True):
    """Every baseline that fits one of ``budgets`` (bytes) in a format of ``FORMATS``, on
    the feature ``maps`` (and on the highest-variance pixels when ``top_pixels``): one
    row per model and format (see the module doc)."""
    n_classes = len(np.unique(data.y_train))
    rows = []

    def done(new):
        rows.extend(new)
        if verbose:
            r = new[0]
            scores = ", ".join(f"{q['format']} {q['acc_compact']:.2f} % ({q['bytes_compact']:,} B)"
                               for q in new)
            print(f"  {r['family']}: {r['config']}: {scores}; float {r['acc']:.2f} ± "
                  f"{r['acc_sd']:.2f} %, {r['fit_s']:.1f} s/fit", flush=True)

    for name in maps:
        X_train, X_test = FEATURE_MAPS[name](data.X_train), FEATURE_MAPS[name](data.X_test)
        k = X_train.shape[1]
        if min(stored_bytes([k, n_classes], fmt) for fmt in FORMATS) <= max(budgets):
            done(logistic(data, name, X_train, X_test))
        widths = sorted({widest_hidden(b, k, n_classes, fmt) for b in budgets
                         for fmt in FORMATS} - {0})
        for h in widths:
            done(mlp(data, name, X_train, X_test, h, seeds, epochs))
    n_pixels = data.X_train.shape[1]
    # LogisticRegression on as many high-variance pixels as fit
    pixel_counts = {most_pixels(b, n_classes, fmt) for b in budgets for fmt in FORMATS}
    for k in sorted(pixel_counts) if top_pixels else ():
        if 0 < k < n_pixels:
            keep = top_variance(data.X_train, k)
            done(logistic(data, f"top{k}", data.X_train[:, keep], data.X_test[:, keep],
                          extra_bytes=MASK_BYTES))
    return rows


def table(rows):
    rows = sorted(rows, key=lambda r: (r["family"], r["format"], r["bytes_compact"]))
    return markdown_table(
        ["family", "format", "model", "inputs", "bytes", "acc. %", "train acc. %",
         "float acc. %", "seeds", "fit s"],
        [[r["family"], r["format"], r["config"], r["inputs"], f"{r['bytes_compact']:,}",
          f"{r['acc_compact']:.2f} ± {r['acc_compact_sd']:.2f}",
          f"{r['train_acc_compact']:.2f}", f"{r['acc']:.2f}", r["seeds"],
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
