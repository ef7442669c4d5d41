"""What closes the text accuracy gap at <= 16,000 bytes? (issue 10's accuracy goals)

``python -m bench.text_bytes [--datasets kaomoji langid] [--seeds 0 1] [--quick]
--config "quantize=ternary hidden=16 epochs=8" [--config ...]``

Each ``--config`` is a space-separated list of ``key=value`` changes to the study's
base point, ``TextProjectionNetClassifier(n_bits=13, quantize='ternary',
max_iter=8, trainer_weight=0, distillation_weight=0)`` (the projection net alone),
on ``bench.text``'s splits (default mode: kaomoji on its 12,000-text training
subsample, full test splits). Keys:

- ``hidden``: the projection net's hidden layer sizes, '16' or '16,16' (bits -> FC[h]
  -> classes); ``T``: projections (default: the most whose compact model, at its
  format and hidden sizes, fits 16,000 bytes: ``bench.text.largest_T``);
- ``epochs``, ``lr``, ``batch``: ``max_iter``, ``learning_rate_init``, ``batch_size``;
- ``joint``: the trainer's distillation weight (``trainer_weight=1``; 'joint=1');
- anything else is passed to the estimator as it is (``quantize``, ``density``,
  ``alpha``, ``temperature``, ``char_ngram_range=(1,5)``, ``counts``, ...).

Prints one line per fit (dataset, config, seed, test accuracy of ``to_compact()``,
its bytes, fit seconds, the trainer's accuracy when joint) as it goes, then a
markdown table of the means over seeds.
"""
import argparse
import ast
import statistics
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from pnet import TextProjectionNetClassifier

from . import datasets
from ._common import format_machine_info, markdown_table, print_section
from .text import BUDGET, MODES, N_BITS, load_split, largest_T

BASE = dict(n_bits=N_BITS, quantize="ternary", max_iter=8, trainer_weight=0.0,
            distillation_weight=0.0)
RENAMED = dict(epochs="max_iter", lr="learning_rate_init", batch="batch_size",
               T="n_projections")


def parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word: 'ternary', 'auto'


def parse_config(text):
    """'quantize=int4 hidden=16 joint=1' -> estimator parameters (T filled in later)."""
    params = dict(BASE)
    for item in text.split():
        key, _, value = item.partition("=")
        value = parse_value(value)
        if key == "hidden":
            params["projection_hidden_layer_sizes"] = (
                tuple(value) if isinstance(value, tuple) else (value,))
        elif key == "joint":
            params.update(trainer_weight=1.0, distillation_weight=float(value))
        else:
            params[RENAMED.get(key, key)] = value
    return params


def fit_point(split, params, seed):
    X_train, X_test, y_train, y_test, classes = split
    params = dict(params)
    hidden = params.get("projection_hidden_layer_sizes", ())
    params.setdefault("n_projections",
                      largest_T(params["quantize"], classes.shape[0], hidden))
    clf = TextProjectionNetClassifier(random_state=seed, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    fit = time.perf_counter() - start
    compact = clf.to_compact()
    acc = 100 * np.mean(compact.predict(X_test) == y_test)
    trainer = (100 * np.mean(clf.trainer_predict(X_test) == y_test)
               if params["trainer_weight"] > 0 else None)
    return dict(acc=acc, bytes=compact.size_bytes, fit=fit, trainer=trainer,
                T=params["n_projections"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets.TEXT_NAMES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--quick", action="store_true", help="bench.text's quick subsamples")
    parser.add_argument("--config", action="append", required=True)
    args = parser.parse_args(argv)
    mode = MODES["quick" if args.quick else "default"]
    print_section("Machine", "```text\n" + format_machine_info() + "\n```")
    rows = []
    for name in args.datasets:
        split = load_split(name, mode)
        for config in args.config:
            runs = []
            for seed in args.seeds:
                r = fit_point(split, parse_config(config), seed)
                runs.append(r)
                trainer = "" if r["trainer"] is None else f" trainer {r['trainer']:.2f} %"
                print(f"{name} | {config} | seed {seed} | T={r['T']} | {r['acc']:.2f} % | "
                      f"{r['bytes']:,} B | {r['fit']:.1f} s{trainer}", flush=True)
            accs = [r["acc"] for r in runs]
            spread = f" ± {statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
            rows.append([name, config, f"{runs[0]['T']} x {N_BITS}",
                         f"{statistics.mean(accs):.2f}{spread}", f"{runs[0]['bytes']:,}",
                         f"{statistics.median(r['fit'] for r in runs):.1f}",
                         " ".join(str(s) for s in args.seeds)])
    print_section(f"Accuracy at <= {BUDGET:,} B (mean over seeds ± sd)", markdown_table(
        ["dataset", "config", "T x d", "acc %", "bytes", "fit s", "seeds"], rows))


if __name__ == "__main__":
    main()
