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

Weight formats (images)
    Every point above is trained in float32 and shipped as int8 after training.
    The narrow formats (``Mode.formats``: int4 and ternary; binary is not a pnet
    format, ternary is its 2-bit neighbour) are trained for their format
    (``ProjectionNetClassifier(quantize=...)``, straight-through estimator), alone,
    at every T and d in ``Mode.format_d`` (one d: only T * d matters), with no
    hidden layer and with FC[128]. Each (hidden, alone / joint, trained format) is
    a model family; ``fronts`` prints each family's Pareto front of compact
    accuracy against compact bytes.

Model bytes
    ``float32``: ``clf.projection_size_bytes_`` (4 bytes per weight and bias
    after the bit layer + 8 bytes of seed; the hyperplanes are recomputed, never
    stored), for the float32-trained points. ``compact``:
    ``clf.to_compact(fmt).size_bytes`` in the compact format (int8 for the float32
    points: 1 byte per weight, 4 per output-unit scale and per bias, 8 for the
    seed; int4 and ternary pack 4 and 2 bits a weight), and "compact acc." is that
    compact model's test accuracy (``bench._points``).

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

"Bits needed": per dataset and per curve (hidden, mode, trained format), the
smallest bits, the smallest float32 bytes and the smallest compact bytes whose
mean accuracy is within 1 point of the best mean accuracy of the dataset (or of
the curve). The MNIST goal (``bench._common.GOALS['acc_10kb']``: >= 92 % at <=
10,240 bytes) is checked twice: float32 bytes with float32 accuracy, and compact
bytes with compact accuracy (any format). The budget-by-budget comparison with
equal-size baselines is ``bench.budgets``.

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

from pnet._quantize import stored_bytes

from . import datasets
from ._common import (add_mode_arguments, format_machine_info, mode_name, print_section,
                      set_threads)
from ._neural_bits_report import (bits_needed, fronts, goal_verdict, plot, table,
                                  write_csv)
from ._points import MODES_TRAINED, progress, run_point
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
    formats: tuple = ("int4", "ternary")  # narrow formats trained for (images, alone)
    format_d: tuple = (12,)               # their n_bits (only T * d matters)


MODES = {
    "quick": Mode(T=(8, 20, 60, 120), d=(10, 12), seeds=2, epochs=15, joint=((60, 12),),
                  text_T=(8, 20, 60), text_d=(12,), text_train=8_000, text_epochs=8,
                  text_joint=(), formats=("ternary",)),
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
    text = data.name == "kaomoji"
    W, b = [clf.coef_.T], [clf.intercept_]
    acc8 = float("nan") if text else quantized_accuracy(W, b, X_test, data.y_test,
                                                         clf.classes_)
    train8 = float("nan") if text else quantized_accuracy(W, b, X_train, data.y_train,
                                                           clf.classes_)
    return dict(dataset=data.name, features=data.features, n_train=data.X_train.shape[0],
                T="", d="", bits="", hidden="-", mode=name, trained="float64",
                format="int8", density="", epochs="", seeds=1,
                acc=100 * np.mean(pred == data.y_test), acc_sd=0.0,
                f1=100 * f1_score(data.y_test, pred, average="macro"), f1_sd=0.0,
                acc_compact=acc8, acc_compact_sd=0.0, train_acc_compact=train8,
                bytes_float32=4 * n_numbers,
                bytes_compact=stored_bytes([clf.coef_.shape[1], clf.coef_.shape[0]], "int8"),
                fit_s=seconds, trainer_acc=float("nan"))


# -- the sweeps ------------------------------------------------------------------------
def sweep(data, Ts, ds, joint_points, seeds, epochs, extra_alone=None, extra_joint=None,
          fmt=None):
    """Every (T, d, hidden, alone / joint) point; ``fmt``: trained for that format, alone
    only (None: float32, then int8 after training)."""
    rows = []
    modes = MODES_TRAINED if fmt is None else ("alone",)
    for T in Ts:
        for d in ds:
            for hidden in HIDDEN:
                for mode in modes:
                    if mode == "joint" and joint_points is not None \
                            and (T, d) not in joint_points:
                        continue
                    extra = extra_alone if mode == "alone" else extra_joint
                    rows.append(run_point(data, T, d, hidden, mode, seeds, epochs, extra,
                                          fmt))
                    progress(rows[-1])
    return rows


def study_images(name, mode):
    data = datasets.images(name)
    rows = [run_baseline(data)]
    progress(rows[-1])
    rows += sweep(data, mode.T, mode.d, mode.joint, mode.seeds, mode.epochs)
    for fmt in mode.formats:  # trained for a narrow format: more bits at the same bytes
        rows += sweep(data, mode.T, mode.format_d, (), mode.seeds, mode.epochs, fmt=fmt)
    return rows


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
            f"joint at {joint}; trained for {', '.join(mode.formats)} (alone) at every T, "
            f"d in {mode.format_d}")


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
            print_section(f"{dataset}: Pareto front of each model family (compact "
                          "accuracy against compact bytes)", fronts(rows))
            if dataset == "mnist":
                print_section("mnist: the 10 KB goal", goal_verdict(rows))
    all_rows = [r for rows in rows_by_dataset.values() for r in rows]
    csv_path, png_path = args.out / f"{stem}.csv", args.out / f"{stem}.png"
    write_csv(all_rows, csv_path)
    plot(rows_by_dataset, png_path)
    print(f"\nwrote {csv_path} and {png_path}")


if __name__ == "__main__":
    main()
