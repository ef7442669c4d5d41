"""Side by side: MLPClassifier, LogisticRegression, ProjectionNetClassifier, compact models.

``python -m bench.compare [--quick] [--seeds N] [--threads 2]``

On 'digits' and 'mnist' (``bench.datasets.load``, split seed 0), in one process with
numba and BLAS fixed at ``--threads``, for each model seed 0..N-1:

- sklearn ``MLPClassifier((256, 256))`` (the trainer alone), fitted on the data as
  loaded and again on the other float dtype (mnist is float32 as loaded; pnet trains
  in float32, sklearn in the dtype it is given, so both fit times are shown);
- sklearn ``LogisticRegression(max_iter=1000)``;
- ``ProjectionNetClassifier()`` joint (defaults) and the same net trained alone
  (``trainer_weight=0, distillation_weight=0``);
- the joint model's compact form, float32 and int8 (``to_compact``), and the int8
  model given the images as 8-bit pixels (``bench.datasets.as_pixels``: the same
  bits, read eight rows at a time with exact sums).

MLP and pnet run exactly E epochs (``max_iter=E, batch_size=200, tol=0,
n_iter_no_change=10**6``; E = 30, quick 10). Accuracy is mean ± sd over seeds; fit
time, single-row latency (median of ~300 calls) and 10,000-row predict (test set
tiled, best of 3, rounds interleaved) are medians over seeds. Ratios are to the MLP
fitted on the data as loaded. The goal lines follow the tables.
"""
import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from pnet import ProjectionNetClassifier

from . import datasets
from .datasets import as_pixels
from ._common import (GOAL_10KB_BYTES, GOALS, add_mode_arguments, best_of_each,
                      fmt_ratio, format_machine_info, markdown_table, median_latency,
                      mode_name, print_section, set_threads)
from .compact import mlp_bytes

DATASETS = ("digits", "mnist")
N_ROWS = 10_000
ROW_CALLS = 300
#: a model whose single-row call is slow (the estimators) stops after this many seconds
ROW_BUDGET = 0.5
BATCH_REPEAT = 3
BATCH_SIZE = 200
ALONE = dict(trainer_weight=0.0, distillation_weight=0.0)

MLP = "MLPClassifier(256, 256)"
MLP_OTHER = "MLPClassifier(256, 256), other dtype"
LOGREG = "LogisticRegression"
JOINT = "ProjectionNetClassifier joint"
ALONE_NAME = "ProjectionNetClassifier alone"
F32 = "compact float32 (of joint)"
I8 = "compact int8 (of joint)"
I8_U8 = "compact int8 (of joint), uint8 pixels"


def other_dtype(X):
    return X.astype(np.float64 if X.dtype == np.float32 else np.float32)


def fixed_epochs(epochs, seed):
    return dict(max_iter=epochs, batch_size=BATCH_SIZE, tol=0.0, n_iter_no_change=10**6,
                random_state=seed)


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return model, time.perf_counter() - start


def run_seed(epochs, seed, X_train, X_test, y_train, y_test, X10):
    """One seed: fit every model, measure it. name -> dict of measurements."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = {MLP: timed_fit(MLPClassifier((256, 256), **fixed_epochs(epochs, seed)),
                               X_train, y_train)}
        if X_train.dtype == np.float32:  # pnet trains in float32: also the MLP on float64
            fits[MLP_OTHER] = timed_fit(
                MLPClassifier((256, 256), **fixed_epochs(epochs, seed)),
                other_dtype(X_train), y_train)
        fits[LOGREG] = timed_fit(LogisticRegression(max_iter=1000, random_state=seed),
                                 X_train, y_train)
        fits[JOINT] = timed_fit(ProjectionNetClassifier(**fixed_epochs(epochs, seed)),
                                X_train, y_train)
        fits[ALONE_NAME] = timed_fit(
            ProjectionNetClassifier(**fixed_epochs(epochs, seed), **ALONE), X_train, y_train)
    models = {name: m for name, (m, _) in fits.items()}
    models[F32] = models[JOINT].to_compact()
    models[I8] = models[I8_U8] = models[JOINT].to_compact("int8")
    X_test_other, X10_other = other_dtype(X_test), other_dtype(X10)
    X_test_u8, X10_u8 = as_pixels(X_test), as_pixels(X10)

    def test_input(name):
        if name == I8_U8:  # the same model, given the images as 8-bit pixels
            return X_test_u8, X10_u8
        return (X_test_other, X10_other) if name == MLP_OTHER else (X_test, X10)

    batch = best_of_each({name: (lambda m=m, X=test_input(name)[1]: m.predict(X))
                          for name, m in models.items()}, BATCH_REPEAT, number=1)
    for name, m in models.items():
        Xt = test_input(name)[0]
        if name in (F32, I8, I8_U8):
            row, n_calls = median_latency(m.predict_one, list(Xt), ROW_CALLS, ROW_BUDGET)
        else:
            row, n_calls = median_latency(lambda x, m=m: m.predict(x[None]), list(Xt),
                                              ROW_CALLS, ROW_BUDGET)
        out[name] = {
            "acc": 100 * float(np.mean(m.predict(Xt) == y_test)),
            "fit": fits[name][1] if name in fits else None,
            "row": row,
            "calls": n_calls,
            "batch": batch[name],
            "bytes": model_bytes(name, m),
        }
    out[MLP]["f32 bytes"] = mlp_bytes(models[MLP], 4)
    out[MLP]["dtype"] = str(models[MLP].coefs_[0].dtype)
    if MLP_OTHER in models:
        out[MLP_OTHER]["dtype"] = str(models[MLP_OTHER].coefs_[0].dtype)
    return out


def model_bytes(name, m):
    if name in (MLP, MLP_OTHER):
        return mlp_bytes(m)  # as sklearn stores them (the dtype it was fitted on)
    if name == LOGREG:
        return m.coef_.nbytes + m.intercept_.nbytes
    if name in (JOINT, ALONE_NAME):
        return m.projection_size_bytes_
    return m.size_bytes


def warm_up(X, y):
    """Compile / load numba's cache before anything is timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for params in ({}, ALONE):
            clf = ProjectionNetClassifier(max_iter=1, random_state=0, **params).fit(X, y)
            clf.predict(X[:5])
            for compact in (clf.to_compact(), clf.to_compact("int8")):
                for rows in (X[:100], as_pixels(X[:100])):
                    compact.predict_one(rows[0])
                    compact.predict(rows)


def summarize(per_seed):
    """name -> aggregated measurements over seeds."""
    summary = {}
    for name in per_seed[0]:
        runs = [s[name] for s in per_seed]
        acc = np.array([r["acc"] for r in runs])
        fits = [r["fit"] for r in runs if r["fit"] is not None]
        summary[name] = {
            "acc": acc.mean(), "acc sd": acc.std(), "accs": acc,
            "fit": statistics.median(fits) if fits else None,
            "row": statistics.median(r["row"] for r in runs),
            "calls": min(r["calls"] for r in runs),
            "batch": statistics.median(r["batch"] for r in runs),
            "bytes": runs[0]["bytes"],
        }
        for key in ("f32 bytes", "dtype"):
            if key in runs[0]:
                summary[name][key] = runs[0][key]
    return summary


def table(summary, X_dtype):
    ref = summary[MLP]
    f32_bytes = ref["f32 bytes"]
    rows = []
    for name, s in summary.items():
        label = name
        if name == MLP:
            label = f"{MLP}, X {X_dtype} (reference)"
        elif name == MLP_OTHER:
            label = f"{MLP}, X {s['dtype']}"
        size = f"{s['bytes']:,}"
        if "dtype" in s:
            size += f" ({s['dtype']}, as sklearn stores it)"
        rows.append([
            label,
            f"{s['acc']:.2f} ± {s['acc sd']:.2f}",
            "-" if s["fit"] is None else f"{s['fit']:.2f}",
            f"{s['row'] * 1e6:.1f}" + ("" if s["calls"] >= ROW_CALLS else f" ({s['calls']} calls)"),
            f"{N_ROWS / s['batch']:,.0f}",
            size,
            f"{f32_bytes / s['bytes']:.1f}×",
            "-" if s["fit"] is None else fmt_ratio(s["fit"] / ref["fit"]),
            fmt_ratio(s["row"] / ref["row"]),
            fmt_ratio(s["batch"] / ref["batch"]),
        ])
    return markdown_table(
        ["model", "accuracy %", "fit s", "µs/row @1", "rows/s @10k", "bytes",
         "MLP f32 bytes / bytes", "fit / MLP", "1-row time / MLP", "10k time / MLP"], rows)


def goals(summary, X_dtype):
    s = summary
    mlp_as_loaded, mlp_other = s[MLP], s[MLP_OTHER]
    lines = []
    for mlp, dtype in ((mlp_as_loaded, X_dtype), (mlp_other, mlp_other["dtype"])):
        r = s[JOINT]["fit"] / mlp["fit"]
        lines.append(GOALS["fit"].line(r, f"MLP given {dtype} X: pnet joint "
                                          f"{s[JOINT]['fit']:.2f} s / MLP {mlp['fit']:.2f} s "
                                          f"= {r:.2f}x"))
    for name in (F32, I8, I8_U8):
        r = s[name]["batch"] / mlp_as_loaded["batch"]
        lines.append(GOALS["batch"].line(r, f"{name}: {s[name]['batch'] * 1e3:.2f} ms / "
                                            f"{mlp_as_loaded['batch'] * 1e3:.2f} ms = {r:.3f}x"))
    for name in (F32, I8, I8_U8):
        r = s[name]["row"] / mlp_as_loaded["row"]
        lines.append(GOALS["row"].line(r, f"{name} predict_one: {s[name]['row'] * 1e6:.1f} µs "
                                          f"/ {mlp_as_loaded['row'] * 1e6:.1f} µs = {r:.3f}x"))
    gain = s[JOINT]["acc"] - s[ALONE_NAME]["acc"]
    lines.append(GOALS["all_labels_gain"].line(
        gain, f"{s[JOINT]['acc']:.2f} - {s[ALONE_NAME]['acc']:.2f} = {gain:+.2f}; per seed "
              f"joint {np.round(s[JOINT]['accs'], 2).tolist()}, alone "
              f"{np.round(s[ALONE_NAME]['accs'], 2).tolist()}; the paired study is "
              "bench.apprenticeship"))
    i8 = s[I8]
    acc = i8["acc"] if i8["bytes"] <= GOAL_10KB_BYTES else float("nan")
    lines.append(GOALS["acc_10kb"].line(
        acc, f"compact int8 of the default net: {i8['acc']:.2f} % mean, min "
             f"{i8['accs'].min():.2f} %, at {i8['bytes']:,} bytes; the sweep is "
             "bench.budgets"))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, quick="10 epochs, 2 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="model seeds (default 3, quick 2)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    quick = mode_name(args) == "quick"
    epochs = 10 if quick else 30
    seeds = args.seeds or (2 if quick else 3)
    start_all = time.perf_counter()
    print(f"## pnet against scikit-learn ({mode_name(args)}: "
          f"{epochs} epochs, batch {BATCH_SIZE}, {seeds} seeds, {args.threads} threads)",
          flush=True)

    summaries, dtypes = {}, {}
    with set_threads(args.threads):
        for name in DATASETS:
            X_train, X_test, y_train, y_test = datasets.load(name)
            X10 = np.ascontiguousarray(
                np.tile(X_test, (-(-N_ROWS // len(X_test)), 1))[:N_ROWS])
            warm_up(X_train, y_train)
            per_seed = []
            for seed in range(seeds):
                t0 = time.perf_counter()
                per_seed.append(run_seed(epochs, seed, X_train, X_test, y_train, y_test,
                                         X10))
                print(f"{name} seed {seed}: {time.perf_counter() - t0:.1f} s", flush=True)
            summaries[name], dtypes[name] = summarize(per_seed), str(X_train.dtype)
        info = format_machine_info()  # inside: shows the thread limits in force

    for name in DATASETS:
        print_section(
            f"{name} ({dtypes[name]} X as loaded; {epochs} epochs; {seeds} seeds)",
            table(summaries[name], dtypes[name])
            + "\n\naccuracy: mean ± sd over seeds; times: median over seeds. µs/row @1: "
              f"median of {ROW_CALLS} single-row calls or fewer when they take over "
              f"{ROW_BUDGET} s (MLP/LogReg/estimators predict(x[None]), compact "
              f"predict_one(x)); rows/s @10k: test set tiled to {N_ROWS:,} rows, best of "
              f"{BATCH_REPEAT}. bytes: MLP coefs_+intercepts_ at sklearn's stored dtype, "
              "LogReg coef_+intercept_ (float64), pnet projection_size_bytes_, compact "
              "size_bytes. Ratios to the reference MLP (X as loaded); '10k time / MLP' "
              "is the inverse of the throughput ratio.")
    print_section("Goals (mnist)", goals(summaries["mnist"], dtypes["mnist"]))
    print_section("Machine", "```text\n" + info + "\n```")
    print(f"\ntotal run time: {time.perf_counter() - start_all:.1f} s")


if __name__ == "__main__":
    main()
