"""Shift augmentation at 32 and 64 KB: does it give the projection net its 1-point lead?

``python -m bench.augment [--quick | --full]``

Issue 9's margin goal (pnet's best compact model >= the best equal-size int8
baseline + 1 point) is met at 4-16 KB and not at 32 and 64 KB (``bench.budgets``),
where both families fit every training row: data, not bytes, is the limit. This
study gives both families more data the same way, consistent shift augmentation,
and asks whether the lead opens *when the baseline is augmented too* (the fair
comparison; the plain baseline is shown as well).

Data: the MNIST subset (``bench.datasets``, split seed 0: 3,750 train / 1,250
test). Every epoch each raw 28 x 28 training image gets ``COPIES`` (2) fresh copies
shifted by (dy, dx) in -2..2, not (0, 0), zero fill (``bench.apprenticeship.
shifted``, from ``np.random.default_rng([seed, 1])``); the shift is applied to the
raw image, then the feature map. For a seed both families get the same copies. An
augmented epoch is the 3,750 originals + 7,500 copies: 3x the optimiser steps of
a plain epoch, so each family also has a plain control with 3x the epochs.

pnet: ``ProjectionNetClassifier`` on 2x2-pooled pixels, no hidden layer, d = 12,
trained for its compact format (``quantize=``) with fixed epochs
(``bench._points``), the best configuration of the 90-epoch budgets table (32 KB:
int4, T = 544; 64 KB: int8, T = 545). Augmented runs call ``fit`` once per epoch
with ``warm_start=True, max_iter=1`` (checked at start: equal to one ``fit`` bit
for bit when no copies are added). "alone": ``trainer_weight =
distillation_weight = 0``; "joint": distillation weight 3, the trainer MLP (256,
256) on the same input, with the copies either labelled (trainer and projection
net learn from them) or -1 rows (only the trainer's soft targets reach the
projection net; the trainer never trains on a shifted image). Accuracy and bytes
are the compact model's (``to_compact``, ``size_bytes``).

Baseline: the budgets table's best int8 baseline, ``MLPClassifier((h,))`` on
pool2-crop20 (32 KB: h = 258; 64 KB: h = 554), adam, batch 200, fixed epochs,
int8 after training (``bench.baselines.quantized_accuracy``), bytes
``pnet._quantize.stored_bytes``. Augmented runs call ``partial_fit`` once per
epoch (Adam state and the random stream carry over; equal to ``fit`` after one
epoch, not after more, because ``fit`` and ``partial_fit`` shuffle differently:
the full mode also runs the loop without copies as its control). ``--full`` adds
the baselines on other inputs at their widest int8 width, pnet alone + aug in
the other formats filling each budget, and at 32 KB pnet with a hidden layer
(int4 bits -> FC[32] or FC[64] -> softmax), plain, alone + aug and joint + aug.

Modes: ``--quick`` 32 KB, 1 seed, 3 epochs (< 2 min, a smoke test); default
32 KB, 1 seed, 30 epochs (a few minutes); ``--full`` 32 and 64 KB, 2 seeds, 90
epochs, the extras (~35 min on one core). The result is in bench/RESULTS.md
("Shift augmentation at 32 and 64 KB").
"""
import argparse
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from pnet import ProjectionNetClassifier
from pnet._quantize import stored_bytes

from . import baselines, datasets
from ._common import (GOALS, add_mode_arguments, format_machine_info, markdown_table,
                      mode_name, most_that_fits, print_section, set_threads)
from ._points import ALONE, compact_size, fit_one, fixed_epochs
from .apprenticeship import shifted

KB = 1024
D = 12
COPIES = 2
BATCH = 200
PNET_INPUT = "pool2"
#: the 90-epoch budgets table's best pnet (format, T) and int8 baseline (input, width)
PNET_MODEL = {32: ("int4", 544), 64: ("int8", 545)}
BASE_MODEL = {32: ("pool2-crop20", 258), 64: ("pool2-crop20", 554)}
#: --full: the other pnet formats filling each budget, the baselines' other inputs
PNET_EXTRA = {32: (("ternary", 1089), ("int8", 272)), 64: (("int4", 1090), ("ternary", 2181))}
#: --full: pnet with a hidden layer, int4, T filling the budget
PNET_HIDDEN = {32: ((32,), (64,)), 64: ()}
BASE_EXTRA_INPUTS = ("pool2", "crop20", "pool4")


@dataclass(frozen=True)
class Mode:
    budgets_kb: tuple
    seeds: int
    epochs: int
    extras: bool


MODES = {"quick": Mode((32,), 1, 3, False),
         "default": Mode((32,), 1, 30, False),
         "full": Mode((32, 64), 2, 90, True)}

# the pairs compared, (a, b): a - b per seed
PAIRS = (("pnet joint + aug (labelled)", "baseline + aug"),
         ("pnet alone + aug (labelled)", "baseline + aug"),
         ("pnet joint + aug (labelled)", "baseline plain"),
         ("pnet joint + aug (labelled)", "pnet alone plain, 3x epochs"),
         ("pnet alone + aug (labelled)", "pnet alone plain, 3x epochs"),
         ("pnet joint + aug (-1 rows)", "pnet alone plain, 3x epochs"),
         ("baseline + aug", "baseline plain, 3x epochs"),
         ("pnet alone plain", "baseline plain"))


class Study:
    """The data, its feature maps, and one fitted-and-measured row per call."""

    def __init__(self):
        self.data = datasets.images("mnist")  # split seed 0
        self.classes = np.unique(self.data.y_train)
        self.maps = {name: (f(self.data.X_train), f(self.data.X_test))
                     for name, f in baselines.FEATURE_MAPS.items() if name != "pixels"}

    def copies(self, seed, epochs):
        """Per epoch: ``COPIES`` shifted copies of every raw training image, stacked."""
        rng = np.random.default_rng([seed, 1])
        for _ in range(epochs):
            yield np.concatenate([shifted(self.data.X_train, rng) for _ in range(COPIES)])

    def copy_labels(self, labelled):
        y = self.data.y_train
        return np.tile(y, COPIES) if labelled else np.full(COPIES * len(y), -1, dtype=y.dtype)

    # -- pnet ------------------------------------------------------------------------------
    def pnet_fit(self, fmt, T, seed, epochs, joint=False, aug=False, labelled=True, hidden=()):
        X, X_test = self.maps[PNET_INPUT]
        y = self.data.y_train
        extra = dict(distillation_weight=3.0) if joint else None
        if not aug:
            data = datasets.Data("mnist", PNET_INPUT, X, X_test, y, self.data.y_test)
            return fit_one(data, T, D, hidden, "joint" if joint else "alone", seed, epochs,
                           extra, fmt)
        clf = ProjectionNetClassifier(
            n_projections=T, n_bits=D, projection_hidden_layer_sizes=hidden, quantize=fmt,
            warm_start=True, **fixed_epochs(1, seed), **(extra if joint else ALONE))
        to_input = baselines.FEATURE_MAPS[PNET_INPUT]
        for raw in self.copies(seed, epochs):
            clf.fit(np.concatenate([X, to_input(raw)]),
                    np.concatenate([y, self.copy_labels(labelled)]))
        return clf

    def pnet(self, name, kb, fmt, T, seed, epochs, **how):
        start = time.perf_counter()
        clf = self.pnet_fit(fmt, T, seed, epochs, **how)
        seconds = time.perf_counter() - start
        X, X_test = self.maps[PNET_INPUT]
        compact = clf.to_compact(quantize=fmt)
        hidden = how.get("hidden", ())
        if compact.size_bytes != compact_size(T * D, hidden, len(self.classes), fmt) \
                or compact.size_bytes > kb * KB:
            raise RuntimeError(f"{fmt} T={T}: {compact.size_bytes} bytes, budget {kb} KB")
        joint = how.get("joint", False)
        return dict(family="pnet", name=name, kb=kb, seed=seed, bytes=compact.size_bytes,
                    epochs=epochs, model=f"{fmt} {PNET_INPUT} -> {T * D} bits (T={T})"
                    + "".join(f" -> {h}" for h in hidden),
                    test=_percent(compact.predict(X_test), self.data.y_test),
                    train=_percent(compact.predict(X), self.data.y_train),
                    trainer=(_percent(clf.trainer_predict(X_test), self.data.y_test)
                             if joint else None), seconds=seconds)

    # -- the int8 MLP baseline ---------------------------------------------------------------
    def mlp_fit(self, inputs, width, seed, epochs, aug=False, loop=False):
        X, _ = self.maps[inputs]
        y = self.data.y_train
        if not (aug or loop):  # as bench.baselines trains it
            return MLPClassifier((width,), max_iter=epochs, tol=0.0, n_iter_no_change=10**6,
                                 batch_size=BATCH, random_state=seed).fit(X, y)
        model = MLPClassifier((width,), max_iter=1, tol=0.0, n_iter_no_change=10**6,
                              batch_size=BATCH, random_state=np.random.RandomState(seed))
        to_input = baselines.FEATURE_MAPS[inputs]
        for raw in (self.copies(seed, epochs) if aug else [None] * epochs):
            if raw is None:
                model.partial_fit(X, y, classes=self.classes)
            else:
                model.partial_fit(np.concatenate([X, to_input(raw)]),
                                  np.concatenate([y, self.copy_labels(True)]),
                                  classes=self.classes)
        return model

    def mlp(self, name, kb, inputs, width, seed, epochs, **how):
        start = time.perf_counter()
        model = self.mlp_fit(inputs, width, seed, epochs, **how)
        seconds = time.perf_counter() - start
        X, X_test = self.maps[inputs]
        size = stored_bytes([X.shape[1], width, len(self.classes)], "int8")
        if size > kb * KB:
            raise RuntimeError(f"MLP {inputs} -> {width}: {size} bytes, budget {kb} KB")

        def accuracy(A, y):
            return baselines.quantized_accuracy(model.coefs_, model.intercepts_, A, y,
                                                model.classes_, "int8")

        return dict(family="baseline", name=name, kb=kb, seed=seed, bytes=size,
                    epochs=epochs, model=f"int8 MLP {inputs} -> {width}",
                    test=accuracy(X_test, self.data.y_test),
                    train=accuracy(X, self.data.y_train), trainer=None, seconds=seconds)

    def widest(self, kb, inputs):
        return baselines.widest_hidden(kb * KB, self.maps[inputs][0].shape[1],
                                       len(self.classes), "int8")

    # -- the check ----------------------------------------------------------------------------
    def check_epoch_loop(self):
        """pnet's fit-per-epoch loop equals one fit() when no copies are added."""
        X, X_test = self.maps[PNET_INPUT]
        y = self.data.y_train
        data = datasets.Data("mnist", PNET_INPUT, X, X_test, y, self.data.y_test)
        one = fit_one(data, 60, D, (), "alone", 0, 3, None, "int4")
        loop = ProjectionNetClassifier(n_projections=60, n_bits=D, quantize="int4",
                                       warm_start=True, **fixed_epochs(1, 0), **ALONE)
        for _ in range(3):
            loop.fit(X, y)
        if not all(np.array_equal(a, b) for a, b in zip(one.coefs_, loop.coefs_)):
            raise RuntimeError("pnet's warm-start epoch loop differs from one fit()")


def _percent(predicted, y):
    return 100.0 * float(np.mean(predicted == y))


def rows_for(study, kb, seed, mode):
    """Every configuration of one budget and seed (a list of measured rows)."""
    fmt, T = PNET_MODEL[kb]
    inputs, width = BASE_MODEL[kb]
    E = mode.epochs
    rows = [
        study.mlp("baseline plain", kb, inputs, width, seed, E),
        study.mlp("baseline plain, 3x epochs", kb, inputs, width, seed, 3 * E),
        study.mlp("baseline + aug", kb, inputs, width, seed, E, aug=True),
        study.pnet("pnet alone plain", kb, fmt, T, seed, E),
        study.pnet("pnet alone plain, 3x epochs", kb, fmt, T, seed, 3 * E),
        study.pnet("pnet alone + aug (labelled)", kb, fmt, T, seed, E, aug=True),
        study.pnet("pnet joint + aug (-1 rows)", kb, fmt, T, seed, E, joint=True, aug=True,
                   labelled=False),
        study.pnet("pnet joint + aug (labelled)", kb, fmt, T, seed, E, joint=True, aug=True),
    ]
    if mode.extras:
        rows.append(study.mlp("baseline plain (epoch loop)", kb, inputs, width, seed, E,
                              loop=True))
        for other in BASE_EXTRA_INPUTS:
            w = study.widest(kb, other)
            rows += [study.mlp(f"baseline plain ({other})", kb, other, w, seed, E),
                     study.mlp(f"baseline + aug ({other})", kb, other, w, seed, E, aug=True)]
        for other_fmt, other_T in PNET_EXTRA[kb]:
            rows.append(study.pnet(f"pnet alone + aug (labelled, {other_fmt})", kb, other_fmt,
                                   other_T, seed, E, aug=True))
        for hidden in PNET_HIDDEN[kb]:
            n_classes = len(study.classes)
            T = most_that_fits(lambda t: compact_size(t * D, hidden, n_classes, "int4"),
                               kb * KB)
            fc = f"FC[{hidden[0]}]"
            for name, how in ((f"pnet alone plain ({fc})", {}),
                              (f"pnet alone + aug (labelled, {fc})", dict(aug=True)),
                              (f"pnet joint + aug (labelled, {fc})", dict(aug=True, joint=True))):
                rows.append(study.pnet(name, kb, "int4", T, seed, E, hidden=hidden, **how))
    for r in rows:
        trainer = "" if r["trainer"] is None else f", trainer {r['trainer']:.2f} %"
        print(f"  {kb} KB seed {seed}: {r['name']:<42} {r['model']:<34} test {r['test']:6.2f} %"
              f", train {r['train']:6.2f} %{trainer}, {r['seconds']:.1f} s", flush=True)
    return rows


def groups(rows):
    """(kb, name) -> that configuration's rows, by seed."""
    out = {}
    for r in sorted(rows, key=lambda r: (r["kb"], r["family"] != "pnet", r["name"], r["seed"])):
        out.setdefault((r["kb"], r["name"]), []).append(r)
    return out


def results_table(by_config):
    body = []
    for (kb, name), g in by_config.items():
        test = np.array([r["test"] for r in g])
        trainers = [r["trainer"] for r in g if r["trainer"] is not None]
        body.append([f"{kb} KB", name, g[0]["model"], f"{g[0]['bytes']:,}", g[0]["epochs"],
                     f"{test.mean():.2f} ± {test.std():.2f}",
                     " / ".join(f"{t:.2f}" for t in test),
                     f"{np.mean([r['train'] for r in g]):.2f}",
                     f"{np.mean(trainers):.2f}" if trainers else "-",
                     f"{np.mean([r['seconds'] for r in g]):.1f}"])
    return markdown_table(["budget", "configuration", "model", "bytes", "epochs",
                           "test % (mean ± sd)", "per seed", "train %", "trainer %", "s / fit"],
                          body)


def differences(by_config, budgets_kb):
    """The paired differences of PAIRS, per budget (points, mean ± sd over seeds)."""
    body = []
    for kb in budgets_kb:
        for a, b in PAIRS:
            if (kb, a) not in by_config or (kb, b) not in by_config:
                continue
            d = np.array([x["test"] - y["test"]
                          for x, y in zip(by_config[kb, a], by_config[kb, b])])
            body.append([f"{kb} KB", f"[{a}] - [{b}]", f"{d.mean():+.2f} ± {d.std():.2f}",
                         " / ".join(f"{v:+.2f}" for v in d)])
    return markdown_table(["budget", "difference", "points (mean ± sd)", "per seed"], body)


def best(by_config, kb, family, augmented):
    """(mean test %, name) of the family's best configuration, augmented or plain."""
    means = [(np.mean([r["test"] for r in g]), name) for (b, name), g in by_config.items()
             if b == kb and g[0]["family"] == family and ("+ aug" in name) == augmented]
    return max(means)


def verdict(by_config, budgets_kb, mode_name):
    goal = GOALS["budget_margin"]
    lines = [] if mode_name == "full" else [
        f"({mode_name} mode: fewer epochs and seeds than the study; not a verdict)"]
    for kb in budgets_kb:
        pnet_acc, pnet_name = best(by_config, kb, "pnet", True)
        for augmented in (True, False):
            base_acc, base_name = best(by_config, kb, "baseline", augmented)
            lines.append(f"{kb} KB: best augmented pnet [{pnet_name}] {pnet_acc:.2f} % - best "
                         f"{'augmented' if augmented else 'plain'} baseline [{base_name}] "
                         f"{base_acc:.2f} % = {pnet_acc - base_acc:+.2f} points (goal: >= "
                         f"+{goal.target:g}; {goal.verdict(pnet_acc - base_acc)})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.augment", description=__doc__.split(
        "\n")[0])
    add_mode_arguments(parser, quick="32 KB, 1 seed, 3 epochs (< 2 min)",
                       full="32 and 64 KB, 2 seeds, 90 epochs, other inputs and formats "
                            "(~35 min)")
    parser.add_argument("--threads", type=int, default=1,
                        help="numba and BLAS threads (default 1)")
    args = parser.parse_args(argv)
    mode = MODES[mode_name(args)]
    with warnings.catch_warnings(), set_threads(args.threads):
        warnings.simplefilter("ignore", ConvergenceWarning)
        print(f"```text\n{format_machine_info()}\n```", flush=True)
        print(f"\nmode {mode_name(args)}: budgets {list(mode.budgets_kb)} KB, {mode.seeds} "
              f"seed(s), {mode.epochs} epochs ({mode.epochs} with {COPIES} shifted copies = "
              f"{3 * mode.epochs} plain epochs of steps)", flush=True)
        start = time.perf_counter()
        study = Study()
        study.check_epoch_loop()
        rows = []
        for kb in mode.budgets_kb:
            for seed in range(mode.seeds):
                rows += rows_for(study, kb, seed, mode)
        by_config = groups(rows)
        print_section("Accuracy (compact models; train: the 3,750 original rows)",
                      results_table(by_config))
        print_section("Paired differences (per seed)", differences(by_config, mode.budgets_kb))
        lines = verdict(by_config, mode.budgets_kb, mode_name(args))
        print_section("Verdict", f"```text\n{lines}\n```\n\n"
                      f"{(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
