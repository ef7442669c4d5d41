"""Does the projection net learn from the trainer? Joint training against training alone.

``python -m bench.apprenticeship [--quick | --full] [--study few-labels|all-labels|both]``

Two studies on the MNIST subset (``bench.datasets``, split seed 0: 3,750 training
and 1,250 test images), the projection net at its defaults (T = 60, d = 12,
bits -> softmax; trainer MLP (256, 256)):

few-labels (issue 9, goal 3)
    20 % of the training labels: for model seed s, 750 rows drawn stratified with
    ``random_state=s`` keep their label, the other 3,000 are labelled -1
    (unlabelled; they enter only the distillation term, ALGORITHM.md section 6).
    "alone" (``trainer_weight = distillation_weight = 0``) therefore sees the 750
    labelled rows only. The ceiling is the same net trained alone on all 3,750
    labels.
all-labels (issue 9, goal 4)
    Every training label; "alone" is the same net trained on them (the ceiling of
    what labels alone give this net).

Every configuration of one seed shares the labelled subset, the hyperplanes, the
initial weights and the shuffles (``random_state = s``), so differences are
paired: "vs alone" is the mean ± sd over seeds of (config - alone) and its
two-sided paired t-test (``scipy.stats.ttest_rel``). Epochs are fixed (``tol =
0``, no early stop), batch 200.

What is tried besides the paper's joint loss, and the controls that show a gain
is the teacher's (issue 9, item 3):

- more steps: "alone" on 750 rows makes 4 optimiser steps an epoch, "joint" on
  3,750 rows makes 19; "alone, as many steps" runs ``steps`` times the epochs.
- label smoothing (not an estimator option): emulated exactly in expectation by
  giving every labelled row K weighted copies, one per class (weight 1 - eps +
  eps / K for its class, eps / K for the others), with a K-fold batch size so the
  steps per epoch are unchanged.
- L2: ``alpha`` on "alone" (the grid in ``Mode.alphas``; the best is picked on the
  test split, an optimistic control).
- trainer warm-up: epochs with ``distillation_weight = 0`` first, then the
  distillation term on, with ``warm_start``.
- consistent augmentation: every epoch, each training image gets ``shifts``
  fresh copies shifted by 1-2 pixels (dy, dx in -2..2, not both 0; zero fill),
  passed as unlabelled (-1) rows: the trainer labels them through the
  distillation term, teacher and student see the same shifted input (Beyer et
  al. 2022). Its control: "alone" with the shifted copies of the labelled rows
  labelled (plain augmentation, no teacher), and "alone" with as many steps.

Goals (``bench._common.GOALS``): joint >= alone + 3 points with 750 labels (mean
of the seeds); joint - alone >= +1 point with all labels over 5 seeds (paired).
"""
import argparse
import math
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import ttest_rel
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from pnet import ProjectionNetClassifier

from . import datasets
from ._common import (GOALS, add_mode_arguments, format_machine_info, markdown_table,
                      mode_name, print_section, set_threads)
from ._points import ALONE, fixed_epochs

SIDE = 28
MAX_SHIFT = 2
BATCH = 200
N_LABELLED = 750
SMOOTHING = 0.1
STUDIES = ("few-labels", "all-labels")


@dataclass(frozen=True)
class Config:
    """One way of training the projection net (see the module docstring)."""
    params: dict = field(default_factory=dict)  # over the fixed-epoch defaults
    epochs: float = 1.0        # times Mode.epochs
    warmup: int = 0            # first epochs with distillation_weight = 0
    shifts: int = 0            # fresh shifted copies of each image per epoch
    shift_labels: bool = False  # a copy of a labelled row keeps its label (else -1)
    smoothing: float = 0.0     # label smoothing, emulated by weighted copies
    all_labels: bool = False   # the ceiling of few-labels: every training label

    @property
    def alone(self):
        return self.params.get("distillation_weight", 0.1) == 0


def alone(**kw):
    return Config(params=dict(ALONE, **kw.pop("params", {})), **kw)


def joint(weight, **kw):
    return Config(params=dict(distillation_weight=weight), **kw)


@dataclass
class Mode:
    seeds: dict               # study -> model seeds
    epochs: int
    alphas: dict              # study -> L2 grid of the "alone" control
    full: bool = False        # the longer list of configurations


MODES = {
    "quick": Mode(seeds={"few-labels": 2, "all-labels": 2}, epochs=15,
                  alphas={"few-labels": (1.0,), "all-labels": (0.1,)}),
    "default": Mode(seeds={"few-labels": 3, "all-labels": 3}, epochs=30,
                    alphas={"few-labels": (1.0,), "all-labels": (0.1,)}),
    "full": Mode(seeds={"few-labels": 5, "all-labels": 5}, epochs=30,
                 alphas={"few-labels": (0.1, 1.0, 3.0), "all-labels": (0.01, 0.1, 1.0)},
                 full=True),
}
#: the student of the capacity check (--full, all labels): T = 272 fills 32 KB in int8
BIG = dict(n_projections=272)


def configs(study, mode):
    """name -> Config; the first is the reference "alone".

    "Nx epochs" controls give "alone" the optimiser steps of a joint configuration:
    with 750 labels, joint makes 19 steps an epoch on 3,750 rows and alone 4 on
    750 (x 4.75), joint with 2 shifted copies 57 (x 14.25); with all labels,
    joint makes as many steps as alone, joint with 2 shifted copies 3x as many.
    """
    few = study == "few-labels"
    per_epoch = math.ceil(3750 / BATCH) / math.ceil(N_LABELLED / BATCH) if few else 1.0
    steps, shift_steps = per_epoch, 3 * per_epoch  # x epochs of alone to match joint
    c = {"alone": alone()}
    if few:
        c[f"alone, {steps:g}x epochs"] = alone(epochs=steps)
    c[f"alone, {shift_steps:g}x epochs"] = alone(epochs=shift_steps)
    if mode.full and few:
        c[f"alone, {3 * shift_steps:g}x epochs"] = alone(epochs=3 * shift_steps)
    if mode.full and not few:
        c["alone, 6x epochs"] = alone(epochs=6.0)
    longer = steps if few else shift_steps  # the epochs of the regularised controls
    c[f"alone, label smoothing {SMOOTHING}, {longer:g}x epochs"] = alone(
        smoothing=SMOOTHING, epochs=longer)
    for a in mode.alphas[study]:
        c[f"alone, L2 alpha = {a:g}, {longer:g}x epochs"] = alone(params=dict(alpha=a),
                                                                    epochs=longer)
    c[f"alone + 2 shifted copies (labelled), {steps:g}x epochs"] = alone(
        shifts=2, shift_labels=True, epochs=steps)
    c["joint, lambda2 = 0.1 (default)"] = joint(0.1)
    if few or mode.full:
        c["joint, lambda2 = 1"] = joint(1.0)
    c["joint, lambda2 = 3"] = joint(3.0)
    if mode.full:
        c["joint, lambda2 = 3, trainer warm-up 10 epochs"] = joint(3.0, warmup=10)
        c["joint, lambda2 = 3, 3x epochs"] = joint(3.0, epochs=3.0)
        c["joint, lambda2 = 3, tau = 2"] = Config(params=dict(distillation_weight=3.0,
                                                              temperature=2.0))
        c["joint, lambda2 = 1 + 2 shifted copies (-1)"] = joint(1.0, shifts=2)
    c["joint, lambda2 = 3 + 2 shifted copies (-1)"] = joint(3.0, shifts=2)
    c["joint, lambda2 = 3 + 2 shifted copies (labelled rows' copies labelled)"] = joint(
        3.0, shifts=2, shift_labels=True)
    if mode.full and few:
        c["joint, lambda2 = 3, 3x epochs + 2 shifted copies (labelled rows' copies labelled)"] \
            = joint(3.0, shifts=2, shift_labels=True, epochs=3.0)
    if few:
        c["ceiling: alone on all 3,750 labels, 3x epochs"] = alone(all_labels=True,
                                                                   epochs=3.0)
    elif mode.full:  # does a larger student gain from the teacher? (the capacity check)
        c["larger student (T=272, 32 KB): alone, 3x epochs"] = alone(params=BIG, epochs=3.0)
        c["larger student (T=272): joint, lambda2 = 3 + 2 shifted copies (labelled)"] = \
            Config(params=dict(BIG, distillation_weight=3.0), shifts=2, shift_labels=True)
    return c


# -- data ----------------------------------------------------------------------------------
def shifted(X, rng):
    """Each row (a 28 x 28 image) shifted by a random (dy, dx) in -2..2, not (0, 0); zero fill."""
    moves = [(dy, dx) for dy in range(-MAX_SHIFT, MAX_SHIFT + 1)
             for dx in range(-MAX_SHIFT, MAX_SHIFT + 1) if (dy, dx) != (0, 0)]
    which = rng.integers(len(moves), size=len(X))
    images = X.reshape(-1, SIDE, SIDE)
    out = np.zeros_like(images)  # (n, 28, 28)
    for i, (dy, dx) in enumerate(moves):
        rows = np.flatnonzero(which == i)
        block = np.zeros((len(rows), SIDE, SIDE), dtype=X.dtype)
        block[:, max(dy, 0):SIDE + min(dy, 0), max(dx, 0):SIDE + min(dx, 0)] = \
            images[rows, max(-dy, 0):SIDE + min(-dy, 0), max(-dx, 0):SIDE + min(-dx, 0)]
        out[rows] = block
    return out.reshape(len(X), -1)


def labels_for(study, seed, y_train):
    """y with -1 on the unlabelled rows (few-labels: all but 750, stratified by seed)."""
    if study == "all-labels":
        return y_train.copy()
    keep, _ = train_test_split(np.arange(len(y_train)), train_size=N_LABELLED,
                               stratify=y_train, random_state=seed)
    y = np.full_like(y_train, -1)
    y[keep] = y_train[keep]
    return y


def smoothed(X, y, eps):
    """Label smoothing as weighted copies: (X repeated per class, class labels, weights)."""
    labelled = y != -1
    X, y = X[labelled], y[labelled]
    classes = np.unique(y)
    K = len(classes)
    Xs = np.concatenate([X] * K)
    ys = np.repeat(classes, len(y))
    w = np.where(ys == np.tile(y, K), 1 - eps + eps / K, eps / K)
    return Xs, ys, w, K


# -- fitting ---------------------------------------------------------------------------------
def fit(cfg, mode, seed, X, y):
    """The fitted estimator and its optimiser steps, for one configuration and seed."""
    epochs = round(cfg.epochs * mode.epochs)
    clf = ProjectionNetClassifier(**fixed_epochs(epochs, seed), **cfg.params)
    weights, batch = None, BATCH
    if cfg.smoothing:
        X, y, weights, K = smoothed(X, y, cfg.smoothing)
        batch = BATCH * K
        clf.set_params(batch_size=batch)
    if cfg.alone:  # "alone" ignores -1 rows; leave them out here so the steps are right
        X, y = X[y != -1], y[y != -1]
    steps = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if cfg.warmup:  # trainer warm-up: distillation off (so -1 rows are ignored)
            clf.set_params(distillation_weight=0.0, max_iter=cfg.warmup, warm_start=True)
            clf.fit(X, y)
            steps += cfg.warmup * math.ceil(np.sum(y != -1) / batch)
            clf.set_params(distillation_weight=cfg.params["distillation_weight"],
                           max_iter=epochs - cfg.warmup)
            epochs -= cfg.warmup
        if not cfg.shifts:
            clf.fit(X, y, sample_weight=weights)
            return clf, steps + epochs * math.ceil(len(y) / batch)
        rng = np.random.default_rng([seed, 1])
        clf.set_params(max_iter=1, warm_start=True)
        for _ in range(epochs):  # fresh shifted copies every epoch
            copies = np.concatenate([shifted(X, rng) for _ in range(cfg.shifts)])
            copy_labels = np.tile(y, cfg.shifts) if cfg.shift_labels else \
                np.full(len(copies), -1, dtype=y.dtype)
            Xe, ye = np.concatenate([X, copies]), np.concatenate([y, copy_labels])
            clf.fit(Xe, ye)
            steps += math.ceil(len(ye) / batch)
    return clf, steps


def run_study(study, mode, data):
    """name -> per-seed arrays of accuracy, trainer accuracy, steps and seconds."""
    results = {}
    y_all = data.y_train
    for name, cfg in configs(study, mode).items():
        acc, tacc, steps, seconds = [], [], [], []
        for seed in range(mode.seeds[study]):
            y = y_all.copy() if cfg.all_labels else labels_for(study, seed, y_all)
            start = time.perf_counter()
            clf, n_steps = fit(cfg, mode, seed, data.X_train, y)
            seconds.append(time.perf_counter() - start)
            acc.append(100 * clf.score(data.X_test, data.y_test))
            if clf.trainer_coefs_:
                tacc.append(100 * np.mean(clf.trainer_predict(data.X_test) == data.y_test))
            steps.append(n_steps)
        results[name] = dict(acc=np.array(acc), trainer=np.array(tacc), steps=steps[0],
                             seconds=float(np.mean(seconds)))
        print(f"  {study}: {name}: {np.mean(acc):.2f} ± {np.std(acc):.2f} % "
              f"(per seed {np.round(acc, 2).tolist()}), {np.mean(seconds):.1f} s/fit",
              flush=True)
    return results


# -- report ------------------------------------------------------------------------------------
def paired(a, b):
    """(mean, sd, p) of a - b over seeds; p of the two-sided paired t-test (NaN if < 2)."""
    diff = a - b
    p = ttest_rel(a, b).pvalue if len(a) > 1 and np.any(diff != diff[0]) else float("nan")
    return diff.mean(), diff.std(ddof=1) if len(diff) > 1 else 0.0, p


def same_steps(name, results):
    """The plain "alone" row (no regulariser, no augmentation) of the same student with the
    same optimiser steps (within 1 %), or None."""
    larger = name.startswith("larger")
    pool = [n for n in results
            if (n.startswith("larger") and ": alone," in n if larger
                else re.fullmatch(r"alone(, [\d.]+x epochs)?", n))]
    steps = results[name]["steps"]
    return next((n for n in pool if abs(results[n]["steps"] - steps) <= 0.01 * steps), None)


def _diff(a, b):
    mean, sd, p = paired(a, b)
    return f"{mean:+.2f} ± {sd:.2f}", "" if np.isnan(p) else f"{p:.2g}"


def table(results):
    ref = results["alone"]["acc"]
    rows = []
    for name, r in results.items():
        twin = same_steps(name, results)
        rows.append([name, f"{r['acc'].mean():.2f} ± {r['acc'].std():.2f}",
                     *_diff(r["acc"], ref),
                     *(_diff(r["acc"], results[twin]["acc"]) if twin and twin != name
                       else ("-", "")),
                     f"{r['trainer'].mean():.2f}" if r["trainer"].size else "-",
                     f"{r['steps']:,}", f"{r['seconds']:.1f}"])
    return markdown_table(["configuration", "projection acc. %", "vs alone", "p",
                           "vs alone, same steps", "p", "trainer acc. %", "steps", "s / fit"],
                          rows) + (
        "\n\nprojection acc.: mean ± sd over seeds; \"vs\": mean ± sd (ddof 1) over seeds of "
        "the paired difference in points, p of the two-sided paired t-test; \"same steps\": "
        "against the plain \"alone\" row of the same student with as many optimiser steps.")


def verdicts(study, results):
    """The goal for the default-lambda joint row and for the best joint row, read three
    ways: against "alone" at the same epochs (the issue's wording), against "alone" with
    as many optimiser steps, and against the best "alone" control (more steps, label
    smoothing, L2, plain augmentation; picked on the test split)."""
    goal = GOALS["few_labels_gain" if study == "few-labels" else "all_labels_gain"]
    joints = {n: r for n, r in results.items() if n.startswith("joint")}
    controls = {n: r for n, r in results.items() if n.startswith("alone")}
    best = max(joints, key=lambda n: joints[n]["acc"].mean())
    best_control = max(controls, key=lambda n: controls[n]["acc"].mean())
    lines = []
    for name, label in (("joint, lambda2 = 0.1 (default)", "default lambda"),
                        (best, "best joint, picked on the test split")):
        for ref, ref_label in (("alone", "alone, same epochs"),
                               (same_steps(name, results), "alone, same steps"),
                               (best_control, f"best control: {best_control}")):
            if ref is None:
                continue
            mean, sd, p = paired(joints[name]["acc"], results[ref]["acc"])
            lines.append(goal.line(mean, f"{label} [{name}] vs {ref_label}: {mean:+.2f} ± "
                                         f"{sd:.2f} points, paired t-test p = {p:.2g}, "
                                         f"{len(joints[name]['acc'])} seeds"))
    larger = [n for n in results if n.startswith("larger")]
    if len(larger) == 2:
        mean, sd, p = paired(results[larger[1]]["acc"], results[larger[0]]["acc"])
        lines.append(f"{larger[1]} - {larger[0]}: {mean:+.2f} ± {sd:.2f} points, p = {p:.2g}")
    ceilings = [n for n in results if n.startswith("ceiling")]
    if ceilings:
        alone_acc = results["alone"]["acc"].mean()
        ceiling = results[ceilings[0]]["acc"].mean()
        gap = ceiling - alone_acc
        lines.append(f"ceiling ({ceilings[0]}) {ceiling:.2f} %: the best joint closes "
                     f"{100 * (joints[best]['acc'].mean() - alone_acc) / gap:.0f} % of the "
                     f"{gap:.2f}-point gap between 750 and 3,750 labels")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.apprenticeship",
                                     description=__doc__.splitlines()[0])
    add_mode_arguments(parser, quick="2 seeds, 15 epochs",
                       full="5 seeds each, L2 grid, warm-up, longer schedules, tau")
    parser.add_argument("--study", default="both", choices=[*STUDIES, "both"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    name = mode_name(args)
    mode = MODES[name]
    data = datasets.images("mnist")
    studies = STUDIES if args.study == "both" else (args.study,)
    with set_threads(args.threads):
        info = format_machine_info()
        for study in studies:
            start = time.perf_counter()
            results = run_study(study, mode, data)
            minutes = (time.perf_counter() - start) / 60
            print_section(
                f"{study}: projection net T=60, d=12 -> softmax, {mode.epochs} epochs, "
                f"{mode.seeds[study]} seeds ({name} mode, {minutes:.1f} min)",
                table(results) + "\n\n" + verdicts(study, results))
    print_section("machine", "```text\n" + info + "\n```")


if __name__ == "__main__":
    main()
