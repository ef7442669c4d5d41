"""Shipping the projection net alone: speed, size and accuracy against scikit-learn's MLP.

Run ``python -m bench.compact [--quick | --full]`` (default: a few minutes, mostly
training; ``--quick`` trains for 10 epochs instead of 30 and times fewer rounds;
``--full`` adds 100,000-row batches to the grid below). This module
owns the deployment benchmark only; it calls pnet's public objects
(``ProjectionNetClassifier``, ``CompactProjectionNet``) and, in the profile, the
private steps of ``CompactProjectionNet.decision_function``.

On the MNIST subset (``bench.datasets.load('mnist')``: 3,750 train / 1,250 test
images, pixels in [0, 1] as float32), with numba and BLAS at 2 threads:

- trains sklearn ``MLPClassifier((256, 256), random_state=0)`` and
  ``ProjectionNetClassifier(random_state=0)`` (defaults: T = 60, d = 12, a
  (256, 256) trainer), the same number of epochs;
- 10,000-row ``predict`` (the test set tiled): MLPClassifier, the compact model in
  float32 and int8, the int8 model on the same rows as uint8 pixels (0..255: read as
  they are, 8 rows per block, exact float32 sums, the float rows' bits; checked), and
  the estimator itself (best of n, rounds interleaved);
- where the compact model's 10,000 rows go: validation, projection, first layer,
  softmax, argmax;
- predict at 1 and 2 threads (numba and BLAS alike) and batches of 1, 32 and
  10,000 rows (``--full``: 100,000), on MNIST rows and on dense-uniform rows
  (every pixel non-zero): MLPClassifier, the compact int8 model (float32 rows and
  uint8 pixels), the compact float32 model (the estimator's twin), the estimator;
- single-row latency, the median over many calls cycling through the test rows:
  ``MLPClassifier.predict(x[None])``, ``compact.predict_one(x)``,
  ``compact.predict(x[None])``, the estimator's ``predict(x[None])``;
- model bytes: the MLP's weights and biases as sklearn stores them and in float32,
  the trainer's (float32), the compact model's (float32, int8), compression ratios;
- accuracy of every model, next to the sizes;
- MET / NOT MET for the goals (``bench._common.GOALS``): 10k predict <= 0.2x
  MLPClassifier's; single row (``predict_one`` and the public ``predict(x[None])``
  of the compact model and the estimator) <= 0.06x MLPClassifier's; ``predict_one``
  <= 3 µs; int8 model >= 25x smaller than the trainer.
"""
import argparse
import time
import warnings
from dataclasses import dataclass

import numba
import numpy as np
import threadpoolctl
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from pnet import ProjectionNetClassifier
from pnet.layers import first_layer
from pnet.losses import softmax
from pnet._quantize import first_layer_int8

from ._common import (GOALS, add_mode_arguments, best_of_each, fmt_ratio, fmt_time,
                      format_machine_info, load_average, machine_info, markdown_table,
                      median_latency, mode_name, print_section, set_threads)
from .datasets import as_pixels, load

THREADS = 2
N_ROWS = 10_000


@dataclass
class Mode:
    max_iter: int      # epochs of both models
    repeat: int        # timing rounds of the 10k predict, best kept
    row_calls: int     # single-row calls, median kept
    grid_batches: tuple = (1, 32, 10_000)  # batch sizes of the threads x batch grid


MODES = {
    "quick": Mode(max_iter=10, repeat=3, row_calls=500),
    "default": Mode(max_iter=30, repeat=7, row_calls=2_000),
    "full": Mode(max_iter=30, repeat=7, row_calls=5_000,
                 grid_batches=(1, 32, 10_000, 100_000)),
}
GRID_THREADS = (1, 2)


# -- models --------------------------------------------------------------------------------
def train(mode, X_train, y_train):
    """(mlp, clf, fit seconds of each): both models, same epochs, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        mlp = MLPClassifier((256, 256), random_state=0, max_iter=mode.max_iter)
        mlp.fit(X_train, y_train)
        t_mlp = time.perf_counter() - start
        start = time.perf_counter()
        clf = ProjectionNetClassifier(random_state=0, max_iter=mode.max_iter)
        clf.fit(X_train, y_train)
        t_clf = time.perf_counter() - start
    return mlp, clf, t_mlp, t_clf


def _latency(f, rows, calls):
    return median_latency(f, rows, calls, warmup=20)[0]


def mlp_bytes(mlp, itemsize=None):
    """Bytes of the MLP's weights and biases, at sklearn's dtype or at ``itemsize``."""
    arrays = [*mlp.coefs_, *mlp.intercepts_]
    return sum(a.size * (itemsize or a.itemsize) for a in arrays)




def profile_batch(model, X, repeat):
    """Seconds of each step of ``model.predict_proba(X)`` (dense X)."""
    Xv = model._validate(X)
    packed = model.hyperplanes.project(Xv)
    logits = model.decision_function(Xv)
    W, b = model.coefs_[0], model.intercepts_[0]
    if model.quantize is None:
        on_packed = lambda: first_layer(packed, W, b)  # noqa: E731
    else:
        on_packed = lambda: first_layer_int8(packed, W, model.scales_[0], b)  # noqa: E731
    steps = {
        "validation (check_array)": lambda: model._validate(X),
        "fused projection + first layer (what predict runs)":
            lambda: model._first_layer_dense(Xv),
        "  projection alone (Hyperplanes.project, packed)":
            lambda: model.hyperplanes.project(Xv),
        "  first layer alone, on packed bits": on_packed,
        "argmax (predict)": lambda: np.argmax(logits, axis=1),
        "softmax in float64 (predict_proba)": lambda: softmax(logits.astype(np.float64)),
        "whole predict": lambda: model.predict(X),
    }
    return best_of_each(steps, repeat)


# -- main --------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compact", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, quick="10 epochs instead of 30, fewer timing rounds",
                       full="adds 100,000-row batches to the threads x batch grid")
    args = parser.parse_args(argv)
    name = mode_name(args)
    mode = MODES[name]
    print(f"## Compact projection net against MLPClassifier (mode: {name}, MNIST subset)",
          flush=True)
    load_before = load_average()

    X_train, X_test, y_train, y_test = load("mnist")
    X10 = np.ascontiguousarray(np.tile(X_test, (-(-N_ROWS // len(X_test)), 1))[:N_ROWS])
    with set_threads(THREADS):
        blas = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                if p["user_api"] == "blas"]
        print(f"\nthreads: numba {numba.get_num_threads()}, BLAS {blas}", flush=True)
        mlp, clf, t_mlp, t_clf = train(mode, X_train, y_train)
        f32, i8 = clf.to_compact(), clf.to_compact("int8")
        results = measure(mode, mlp, clf, f32, i8, X10, X_test)
        profiles = {"float32": profile_batch(f32, X10, mode.repeat),
                    "int8": profile_batch(i8, X10, mode.repeat)}
    grid = batch_grid(mode, mlp, clf, f32, i8, X_test)

    accuracy = {
        "MLPClassifier": mlp.score(X_test, y_test),
        "ProjectionNetClassifier (trainer net)": float(np.mean(clf.trainer_predict(X_test)
                                                               == y_test)),
        "ProjectionNetClassifier (projection net)": clf.score(X_test, y_test),
        "compact float32": float(np.mean(f32.predict(X_test) == y_test)),
        "compact int8": float(np.mean(i8.predict(X_test) == y_test)),
    }
    agreement = float(np.mean(f32.predict(X_test) == i8.predict(X_test)))
    print_training(mode, t_mlp, t_clf, accuracy, agreement, clf, f32, X_test)
    print_batch(results)
    print_profile(profiles)
    print_rows(results)
    print_grid(grid)
    sizes = print_sizes(mlp, clf, f32, i8, accuracy)
    print_goals(results, sizes, accuracy)
    info = machine_info()
    info["load average"] = f"{load_before} before, {info['load average']} after"
    print("\n```text\n" + format_machine_info(info) + "\n```")


def measure(mode, mlp, clf, f32, i8, X10, X_test):
    P10 = as_pixels(X10)
    batch = best_of_each({
        "MLPClassifier.predict": lambda: mlp.predict(X10),
        "compact float32 predict": lambda: f32.predict(X10),
        "compact int8 predict": lambda: i8.predict(X10),
        "compact int8 predict, uint8 pixels": lambda: i8.predict(P10),
        "ProjectionNetClassifier.predict": lambda: clf.predict(X10),
    }, mode.repeat, number=1)
    rows = list(X_test)
    single = {
        "MLPClassifier.predict(x[None])": _latency(lambda x: mlp.predict(x[None]),
                                                         rows, mode.row_calls),
        "compact float32 predict_one(x)": _latency(f32.predict_one, rows,
                                                         mode.row_calls),
        "compact int8 predict_one(x)": _latency(i8.predict_one, rows, mode.row_calls),
        "compact float32 predict(x[None])": _latency(lambda x: f32.predict(x[None]),
                                                           rows, mode.row_calls),
        "ProjectionNetClassifier.predict(x[None])": _latency(
            lambda x: clf.predict(x[None]), rows, mode.row_calls),
    }
    same = all(f32.predict_one(x) == p for x, p in zip(rows, f32.predict(X_test)))
    pixels_exact = np.array_equal(i8.decision_function(P10),
                                  i8.decision_function(P10.astype(np.float64)))
    return {"batch": batch, "single": single, "predict_one == predict": same,
            "uint8 == float64 pixels": pixels_exact}


def batch_grid(mode, mlp, clf, f32, i8, X_test):
    """{(rows kind, threads, batch): {predict: seconds per call}}, interleaved rounds.

    Rows: the MNIST test images (81 % zero pixels) and dense-uniform rows (every
    pixel non-zero, uniform in [0, 1]: the projection's worst case, 5x the
    non-zeros), tiled to each batch size; numba and BLAS threads set alike.
    """
    rng = np.random.default_rng(0)
    kinds = {"MNIST": X_test,
             "dense-uniform": rng.random((len(X_test), X_test.shape[1]), dtype=np.float32)}
    # the same rows as 8-bit pixels: the compact model reads them as they are, 8 rows
    # per block, with exact float32 sums (the same bits as the float rows' pixels)
    grid = {}
    for kind, rows in kinds.items():
        for threads in GRID_THREADS:
            with set_threads(threads):
                for n in mode.grid_batches:
                    X = np.ascontiguousarray(np.tile(rows, (-(-n // len(rows)), 1))[:n])
                    P = as_pixels(X)
                    repeat = mode.repeat if n >= 10_000 else 3
                    grid[kind, threads, n] = best_of_each({
                        "MLPClassifier": lambda: mlp.predict(X),
                        "compact int8": lambda: i8.predict(X),
                        "compact int8, uint8": lambda: i8.predict(P),
                        "compact float32": lambda: f32.predict(X),
                        "ProjectionNetClassifier": lambda: clf.predict(X),
                    }, repeat, number=None if n < 10_000 else 1)
                    print(f"  grid {kind} threads={threads} rows={n:,} done", flush=True)
    return grid


# -- printing ------------------------------------------------------------------------------
def print_training(mode, t_mlp, t_clf, accuracy, agreement, clf, f32, X_test):
    identical = np.array_equal(f32.predict_proba(X_test), clf.predict_proba(X_test))
    body = markdown_table(["model", "test accuracy"],
                          [[k, f"{100 * v:.2f}%"] for k, v in accuracy.items()])
    print_section(
        f"Accuracy ({mode.max_iter} epochs each; fit: MLPClassifier {t_mlp:.1f} s, "
        f"ProjectionNetClassifier {t_clf:.1f} s)",
        body + f"\n\nint8 agrees with float32 on {100 * agreement:.2f}% of the test rows; "
        f"compact float32 probabilities bitwise equal to the estimator's: {identical}.")


def print_batch(results):
    t = results["batch"]
    ref = t["MLPClassifier.predict"]
    rows = [[k, fmt_time(v), f"{N_ROWS / v:,.0f}", fmt_ratio(v / ref)] for k, v in t.items()]
    print_section(f"Predict {N_ROWS:,} rows (best of n, rounds interleaved)",
                  markdown_table(["predict", "time", "rows/s", "/ MLPClassifier"], rows))


def print_profile(profiles):
    rows = []
    for fmt, steps in profiles.items():
        whole = steps["whole predict"]
        for step, t in steps.items():
            rows.append([fmt, step, fmt_time(t), f"{100 * t / whole:.0f}%"])
    print_section(
        f"Where the compact model's {N_ROWS:,}-row predict goes",
        "Each step timed on its own (best of n). predict = validation + fused kernel + "
        "argmax; the indented rows are the two-kernel path that CSR input takes (and the "
        "estimator), shown for comparison.\n\n"
        + markdown_table(["weights", "step", "time", "share of predict"], rows))


def print_rows(results):
    t = results["single"]
    ref = t["MLPClassifier.predict(x[None])"]
    rows = [[k, fmt_time(v), fmt_ratio(v / ref)] for k, v in t.items()]
    print_section(
        "Single-row latency (median over calls cycling through the test rows)",
        markdown_table(["call", "median", "/ MLPClassifier"], rows)
        + f"\n\npredict_one gives predict's class on every test row: "
          f"{results['predict_one == predict']}. The int8 model's logits of the "
          f"{N_ROWS:,} rows as uint8 pixels equal those of the same pixels in float64, "
          f"bit for bit: {results['uint8 == float64 pixels']}.")


def print_grid(grid):
    rows = []
    for (kind, threads, n), t in grid.items():
        ref = t["MLPClassifier"]
        rows.append([kind, threads, f"{n:,}", fmt_time(ref), fmt_time(t["compact int8"]),
                     fmt_ratio(t["compact int8"] / ref), fmt_time(t["compact int8, uint8"]),
                     fmt_ratio(t["compact int8, uint8"] / ref),
                     fmt_time(t["compact float32"]), fmt_time(t["ProjectionNetClassifier"]),
                     fmt_ratio(t["ProjectionNetClassifier"] / t["compact float32"]),
                     fmt_ratio(t["ProjectionNetClassifier"] / t["compact int8"])])
    print_section(
        "predict by threads and batch size (numba and BLAS threads alike; best of n, "
        "rounds interleaved; the estimator predicts through its compact twin, the "
        "float32 model: its own kernels, so estimator / compact float32 is ~1 by "
        "construction, and / compact int8 is float32 weights against int8)",
        markdown_table(["rows", "threads", "batch", "MLPClassifier", "compact int8",
                        "/ MLP", "compact int8, uint8 rows", "/ MLP", "compact float32",
                        "estimator", "estimator / compact float32",
                        "estimator / compact int8"], rows))


def print_sizes(mlp, clf, f32, i8, accuracy):
    sizes = {
        f"MLPClassifier as stored ({mlp.coefs_[0].dtype})": mlp_bytes(mlp),
        "MLPClassifier in float64": mlp_bytes(mlp, 8),
        "MLPClassifier in float32": mlp_bytes(mlp, 4),
        "trainer net (float32)": clf.trainer_size_bytes_,
        "compact float32": f32.size_bytes,
        "compact int8": i8.size_bytes,
    }
    acc = {"compact float32": accuracy["compact float32"],
           "compact int8": accuracy["compact int8"],
           "trainer net (float32)": accuracy["ProjectionNetClassifier (trainer net)"]}
    rows = [[k, f"{v:,}", fmt_ratio(v / i8.size_bytes),
             f"{100 * acc.get(k, accuracy['MLPClassifier']):.2f}%"] for k, v in sizes.items()]
    print_section(
        "Model bytes (weights, biases, int8 scales, + 8-byte seed for the compact models)",
        markdown_table(["model", "bytes", "/ compact int8", "accuracy"], rows)
        + f"\n\nCompression ratio (trainer / compact): float32 "
          f"{clf.trainer_size_bytes_ / f32.size_bytes:.1f}×, int8 "
          f"{clf.trainer_size_bytes_ / i8.size_bytes:.1f}×.")
    return sizes


def print_goals(results, sizes, accuracy):
    batch, single = results["batch"], results["single"]
    mlp_batch = batch["MLPClassifier.predict"]
    mlp_row = single["MLPClassifier.predict(x[None])"]
    rows = []
    for call in ("compact float32 predict", "compact int8 predict",
                 "compact int8 predict, uint8 pixels"):
        r = batch[call] / mlp_batch
        rows.append([f"{N_ROWS:,}-row {call}", _target(GOALS["batch"]), fmt_ratio(r),
                     GOALS["batch"].verdict(r)])
    for call in ("compact float32 predict_one(x)", "compact int8 predict_one(x)",
                 "compact float32 predict(x[None])",
                 "ProjectionNetClassifier.predict(x[None])"):
        r = single[call] / mlp_row
        rows.append([f"single row, {call}", _target(GOALS["row"]), fmt_ratio(r),
                     GOALS["row"].verdict(r)])
    t = single["compact int8 predict_one(x)"]
    rows.append(["single row, compact int8 predict_one(x)", "<= 3 µs", fmt_time(t),
                 "MET" if t <= 3e-6 else "NOT MET"])
    ratio = sizes["trainer net (float32)"] / sizes["compact int8"]
    rows.append([f"int8 model vs trainer (accuracy {100 * accuracy['compact int8']:.2f}% vs "
                 f"{100 * accuracy['ProjectionNetClassifier (trainer net)']:.2f}%)",
                 f">= {GOALS['compression'].target:.0f}× smaller", f"{ratio:.1f}×",
                 GOALS["compression"].verdict(ratio)])
    print_section("Goals", markdown_table(["goal", "target", "measured", ""], rows))


def _target(goal):
    return f"{'>=' if goal.at_least else '<='} {goal.target:g}×"


if __name__ == "__main__":
    main()
