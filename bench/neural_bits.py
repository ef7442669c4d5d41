"""How many neural bits does a task need? Accuracy against T*d bits and model bytes.

``python -m bench.neural_bits [--quick | --full] [--dataset mnist|digits|kaomoji|all]``

The paper's study (Ravi 2017, ALGORITHM.md section 1): sweep the number of
projection functions T (``n_projections``) and the bits per function d
(``n_bits``), train the projection net, and plot its held-out accuracy against
the bits ``T * d`` and against the model's bytes. (pnet draws one hyperplane per
bit, from (seed, feature, bit index): T and d enter only through T * d, so two
grid points with the same product give the same model.) Every point is trained four
ways: with no hidden layer (bits -> softmax, the plain ProjectionNet) or with
"+FC[128]" (bits -> 128 ReLU -> softmax), each "alone" (``trainer_weight =
distillation_weight = 0``) or "joint" (the estimator's defaults: the (256, 256)
trainer MLP, lambdas 1, 0.1, 1). Joint training costs a trainer, so outside
``--full`` it runs only on a few points (``Mode.joint``). Epochs are fixed
(``tol = 0``, no early stop); accuracy is the mean and standard deviation over
model seeds (``random_state``: hyperplanes, initial weights, shuffles) on the
fixed 25 % test split of ``bench.datasets`` (split seed 0). For one
``random_state``, "alone" and "joint" share hyperplanes and initial weights.

Model bytes
    ``float32``: ``clf.projection_size_bytes_`` (4 bytes per weight and bias
    after the bit layer + 8 bytes of seed; the hyperplanes are recomputed, never
    stored). ``int8``: ``clf.to_compact(quantize="int8").size_bytes`` (1 byte
    per weight, 4 per output-unit scale and per bias, 8 for the seed), and "int8
    acc." is that compact model's test accuracy (``bench._points``).

Datasets
    digits and mnist (5,000-image subset): the raw pixels, projected by the
    default ternary hyperplanes (density 1/sqrt(n_features)). Baseline in the
    same run: ``LogisticRegression`` on the same pixels.

    kaomoji (44 unbalanced categories): ``HashingVectorizer(analyzer='char_wb',
    ngram_range=(1, 3), n_features=2**20, alternate_sign=False, norm='l2')``,
    CSR straight into the estimator; the projection layer hashes every non-zero
    on the fly (no 2**20 x bits matrix). Hyperplane density 1/3 (Achlioptas;
    ``TEXT_DENSITY``): the 'auto' density 1/sqrt(2**20) = 1/1024 leaves a
    ~48-n-gram text with ~0.05 non-zero terms per bit, so most bits are a
    constant 0 and the rest a hashed bag of n-grams rather than random
    hyperplanes; one 'auto' point is run next to it for comparison. Macro-F1 is
    reported next to accuracy (classes range from ~12,000 to ~100 texts).
    Baseline in the same run: log-loss linear model by ``SGDClassifier`` on the
    same hashed features (lbfgs ``LogisticRegression`` is too slow there;
    see ``baseline``). Joint training on 2**20 features is skipped: the (256, 256)
    trainer's first layer alone would be 2**20 x 256 float32 = 1 GiB (4 GiB with
    Adam's moments and scratch). Instead one point (``Mode.text_joint``) is run
    on ``n_features = 2**14`` with ``trainer_hidden_layer_sizes = (128,)``,
    alone and joint, on that same feature space ("alone" builds no trainer).
    Outside ``--full`` the kaomoji training set is a stratified subsample
    (``Mode.text_train``) and the epochs fewer (``Mode.text_epochs``); the
    test split is always complete.

"Bits needed": per dataset and per curve (hidden, mode), the smallest bits, the
smallest float32 bytes and the smallest int8 bytes whose mean accuracy is within
1 point of the best mean accuracy of the dataset (or of the curve). The MNIST
goal (``bench._common.GOALS['acc_10kb']``: >= 92 % at <= 10,240 bytes) is
checked twice: float32 bytes with float32 accuracy, and int8 bytes with int8
accuracy. The budget-by-budget comparison with equal-size baselines is
``bench.budgets``.

Outputs: markdown tables on stdout; ``bench/out/neural_bits[_<dataset>][_<mode>].csv``
and ``.png`` (two panels per dataset: accuracy vs bits, accuracy vs bytes, log x).
Fit seconds are wall clock on a possibly shared machine: noisy, for orientation.

This module owns the study's grid and its runs; one point is fitted and measured
by ``bench._points``, the tables, CSV and plot are ``bench._neural_bits_report``.
"""
import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score

from . import datasets
from ._common import (add_mode_arguments, format_machine_info, mode_name, print_section,
                      set_threads)
from ._neural_bits_report import bits_needed, goal_verdict, plot, table, write_csv
from ._points import MODES_TRAINED, progress, run_point
from pnet._quantize import stored_bytes

from .baselines import quantized_accuracy

OUT = Path(__file__).resolve().parent / "out"
HIDDEN = ((), (128,))
TEXT_DENSITY = 1 / 3
TEXT_FEATURES = 2**20
TEXT_JOINT_FEATURES = 2**14
TEXT_JOINT_TRAINER = (128,)


@dataclass
class Mode:
    T: tuple              # n_projections swept
    d: tuple              # n_bits swept
    seeds: int
    epochs: int
    joint: tuple          # (T, d) points also trained jointly; None: every point
    text_T: tuple
    text_d: tuple
    text_train: int       # kaomoji training texts (stratified subsample); None: all
    text_epochs: int
    text_joint: tuple     # (T, d) points of the 2**14-feature alone/joint comparison


MODES = {
    "quick": Mode(T=(8, 20, 60, 120), d=(10, 12), seeds=2, epochs=15, joint=((60, 12),),
                  text_T=(8, 20, 60), text_d=(12,), text_train=8_000, text_epochs=8,
                  text_joint=()),
    "default": Mode(T=(8, 20, 40, 60, 80, 120), d=(10, 12, 14), seeds=2, epochs=30,
                    joint=((60, 12), (120, 14)),
                    text_T=(8, 20, 60, 120), text_d=(10, 12, 14), text_train=20_000,
                    text_epochs=10, text_joint=((60, 12),)),
    "full": Mode(T=(8, 10, 15, 20, 30, 40, 50, 60, 70, 80, 100, 120, 160, 200),
                 d=(8, 10, 11, 12, 13, 14, 16), seeds=3, epochs=30, joint=None,
                 text_T=(8, 20, 40, 60, 80, 120, 200), text_d=(8, 10, 12, 14, 16),
                 text_train=None, text_epochs=30, text_joint=((60, 12), (120, 14))),
}


def baseline(name):
    """(estimator, label): LogisticRegression (lbfgs) on pixels; on 2**20 hashed
    text lbfgs took 11 minutes (74.5 % on 20,000 texts), so text gets the same
    log-loss by SGD. Its alpha = 1e-6 was picked once from {1e-4, 1e-5, 1e-6}
    (66.8, 81.2, 83.8 % on the default split): an optimistic baseline."""
    if name == "kaomoji":
        return SGDClassifier(loss="log_loss", alpha=1e-6, max_iter=30, tol=None,
                             random_state=0, n_jobs=2), "SGD log-loss"
    return LogisticRegression(max_iter=1000), "LogisticRegression"


def run_baseline(data):
    """A linear model on the same features, fitted in this run (see ``baseline``)."""
    start = time.perf_counter()
    X_train = data.X_train / 16 if data.name == "digits" else data.X_train  # pixels 0..16
    X_test = data.X_test / 16 if data.name == "digits" else data.X_test
    clf, name = baseline(data.name)
    clf.fit(X_train, data.y_train)
    seconds = time.perf_counter() - start
    pred = clf.predict(X_test)
    n_numbers = clf.coef_.size + clf.intercept_.size
    # int8 as bench.baselines counts and scores it; not for the 2**20 x 44 text weights
    acc8 = float("nan") if data.name == "kaomoji" else quantized_accuracy(
        [clf.coef_.T], [clf.intercept_], X_test, data.y_test, clf.classes_)
    return dict(dataset=data.name, features=data.features, n_train=data.X_train.shape[0],
                T="", d="", bits="", hidden="-", mode=name, density="",
                epochs="", seeds=1, acc=100 * np.mean(pred == data.y_test), acc_sd=0.0,
                f1=100 * f1_score(data.y_test, pred, average="macro"), f1_sd=0.0,
                acc_int8=acc8, acc_int8_sd=0.0, bytes_float32=4 * n_numbers,
                bytes_int8=stored_bytes([clf.coef_.shape[1], clf.coef_.shape[0]], "int8"),
                fit_s=seconds, trainer_acc=float("nan"))


# -- the sweeps ------------------------------------------------------------------------
def sweep(data, Ts, ds, joint_points, seeds, epochs, extra_alone=None, extra_joint=None):
    rows = []
    for T in Ts:
        for d in ds:
            for hidden in HIDDEN:
                for mode in MODES_TRAINED:
                    if mode == "joint" and joint_points is not None \
                            and (T, d) not in joint_points:
                        continue
                    extra = extra_alone if mode == "alone" else extra_joint
                    rows.append(run_point(data, T, d, hidden, mode, seeds, epochs, extra))
                    progress(rows[-1])
    return rows


def study_images(name, mode):
    data = datasets.images(name)
    rows = [run_baseline(data)]
    progress(rows[-1])
    return rows + sweep(data, mode.T, mode.d, mode.joint, mode.seeds, mode.epochs)


def study_text(mode):
    data = datasets.hashed_text(mode.text_train, TEXT_FEATURES)
    alone = dict(density=TEXT_DENSITY)
    rows = [run_baseline(data)]
    progress(rows[-1])
    rows += sweep(data, mode.text_T, mode.text_d, (), mode.seeds, mode.text_epochs,
                  extra_alone=alone)
    # the 'auto' density next to 1/3, at the middle point
    rows.append(run_point(data, 60, 12, (), "alone", mode.seeds, mode.text_epochs,
                          dict(alone, density="auto")))
    progress(rows[-1])
    if mode.text_joint:  # alone and joint on a feature space small enough for a trainer
        small = datasets.hashed_text(mode.text_train, TEXT_JOINT_FEATURES)
        extra = dict(density=TEXT_DENSITY, trainer_hidden_layer_sizes=TEXT_JOINT_TRAINER)
        for T, d in mode.text_joint:
            rows += sweep(small, (T,), (d,), None, mode.seeds, mode.text_epochs,
                          extra_alone=extra, extra_joint=extra)
    return rows


# -- entry point ----------------------------------------------------------------------------
def output_stem(dataset, name):
    stem = "neural_bits"
    if dataset != "all":
        stem += f"_{dataset}"
    if name != "default":
        stem += f"_{name}"
    return stem


def describe(name, mode):
    if name == "kaomoji":
        n_train = "all" if mode.text_train is None else f"{mode.text_train:,} (stratified)"
        return (f"kaomoji, training texts {n_train}, {mode.text_epochs} epochs, "
                f"{mode.seeds} seeds, hashed char_wb 1-3-grams (2^20 columns), "
                f"hyperplane density {TEXT_DENSITY:.3g}; alone on the grid, "
                f"alone vs joint at {list(mode.text_joint)} on 2^14 columns with a (128,) "
                "trainer; full test split")
    joint = "every point" if mode.joint is None else f"{list(mode.joint)}"
    return (f"{name}, {mode.epochs} epochs, {mode.seeds} seeds, alone on every (T, d), "
            f"joint at {joint}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_mode_arguments(parser, quick="a small grid, ~1 minute", full="the dense grid (long)")
    parser.add_argument("--dataset", default="all", choices=[*datasets.NAMES, "all"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    name = mode_name(args)
    mode = MODES[name]
    names = list(datasets.NAMES) if args.dataset == "all" else [args.dataset]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = output_stem(args.dataset, name)

    rows_by_dataset = {}
    with set_threads(args.threads):
        print_section("machine", format_machine_info())
        for dataset in names:
            print(f"\n{describe(dataset, mode)}", flush=True)
            start = time.perf_counter()
            rows = study_text(mode) if dataset == "kaomoji" else study_images(dataset, mode)
            minutes = (time.perf_counter() - start) / 60
            rows_by_dataset[dataset] = rows
            print_section(f"{dataset}: accuracy against neural bits ({name} mode, "
                          f"{minutes:.1f} min)", describe(dataset, mode) + "\n\n" + table(rows))
            print_section(f"{dataset}: how many bits does the task need?", bits_needed(rows))
            if dataset == "mnist":
                print_section("mnist: the 10 KB goal", goal_verdict(rows))
    all_rows = [r for rows in rows_by_dataset.values() for r in rows]
    csv_path, png_path = args.out / f"{stem}.csv", args.out / f"{stem}.png"
    write_csv(all_rows, csv_path)
    plot(rows_by_dataset, png_path)
    print(f"\nwrote {csv_path} and {png_path}")


if __name__ == "__main__":
    main()
