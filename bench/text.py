"""pnet's text models against their peers, same run, same splits (issues 10 and 11).

``python -m bench.text [--quick | --full] [--datasets kaomoji langid] [--no-lstm]``
(default ~8 minutes on 2 shared cores; ``--quick`` ~2 minutes on small subsamples;
``--full`` every training row, 20 epochs, LogisticRegression, more rounds).

Per dataset (``bench.datasets``' fixed splits; the default mode trains kaomoji on a
stratified subsample of its training split, the same for every model):

1. **Linear peers** on ``HashingVectorizer(analyzer='char_wb', ngram_range=(1, 4))``
   (sklearn's own hashing, not pnet's front): ``SGDClassifier`` (hinge, and log_loss:
   a logistic regression fitted by SGD; alpha 1e-5) and, with ``--full``,
   ``LogisticRegression`` (lbfgs, C=10: 2-3 minutes a fit here). At full size (2**18
   columns, float32 weights + biases) and at **equal bytes**: the most columns whose
   int8 weights (one float32 scale per class, ``pnet._quantize.quantize_columns``,
   as pnet's int8) + float32 biases and scales fit the budget, scored after int8.
2. **fastText** (``train_supervised``, minn=1, maxn=4, 15 epochs, lr 0.5) on the
   same training texts (whitespace runs joined by one space): the full model (dim 16)
   and, per budget, the best of ``quantize(cutoff=..., qnorm=True, retrain=True)`` of
   models of a few dims, cutoffs chosen to land just under the budget. Its bytes are
   the ``.ftz`` file's size: everything it reads at inference (dictionary, codes,
   codebooks, output matrix, header). The full model's are its ``.bin`` file's.
3. **pnet**: ``TextProjectionNetClassifier`` at <= 16,000 bytes
   (``to_compact().size_bytes``: packed weights + float32 biases and scales + the
   8-byte seed), d = 13, int4 and ternary; alone vs joint (MLP trainer), with all
   labels and with 20 % labels + the rest unlabelled (-1).
4. **Predict throughput**: all test rows in one call, and one string at a time
   (``predict_one``; the peers' ``predict([s])``).
5. **LSTM vs MLP trainer** (issue 11) on ``langid-order`` (``bench.datasets``: two
   words, the label is the first word's language: order carries the label), and with
   ``--full`` also on langid's phrases (2-3 words drawn independently: order carries
   nothing there, and most test words never occur in training).

Bytes are counted one way for every model: stored numbers at their width
(``pnet._quantize.stored_bytes``); fastText by its file. Times are medians of
interleaved rounds (fastText's training rounds run between pnet's fits, so both see
the same load); each pnet fit is timed once (``fit_time_``). Models are chosen on
the test split for every family alike (no validation split): the peers' best points
are as optimistic as pnet's.
"""
import argparse
import contextlib
import os
import statistics
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from pnet import TextProjectionNetClassifier
from pnet._quantize import dequantize, quantize_columns, stored_bytes

from . import datasets
from ._common import (fmt_ratio, format_machine_info, markdown_table, print_section,
                      set_threads)

BUDGET = 16_000  # bytes: "<= 16 KB", the stricter reading
FASTTEXT_BUDGETS = (8_000, 16_000)
FULL_COLUMNS = 2**18
N_BITS = 13
LABELLED = 0.2  # fraction of training rows that keep their label in the few-label runs
ALONE = dict(trainer_weight=0.0, distillation_weight=0.0)
FASTTEXT = dict(minn=1, maxn=4, epoch=15, lr=0.5, wordNgrams=1, verbose=0)
#: goals of issue 10 (item 5) and issue 11 (item 4)
GOAL_RELATIVE_ACC = 0.95
GOAL_FIT_RATIO = 3.0
GOAL_ONE_SPEEDUP = 10.0
GOAL_LSTM_GAIN = 3.0  # points, 20 % labels: projection net with the LSTM trainer - alone
GOAL_LSTM_TORCH = 2.0

MODES = {  # train / test: rows kept per dataset (stratified; absent: the whole split)
    "quick": dict(train={"kaomoji": 3000, "langid": 3000, "langid-order": 3000},
                  test={"kaomoji": 2000, "langid": 2000, "langid-order": 1000}, epochs=3,
                  rounds=1, one=50, ft_dims=(4, 8), lstm_epochs=3,
                  lstm_datasets=("langid-order",), logistic=False, ternary_joint=False),
    "default": dict(train={"kaomoji": 12000}, test={}, epochs=8, rounds=3, one=300,
                    ft_dims=(2, 4, 8), lstm_epochs=8, lstm_datasets=("langid-order",),
                    logistic=False, ternary_joint=False),
    "full": dict(train={}, test={}, epochs=20, rounds=5, one=1000, ft_dims=(2, 4, 8, 12),
                 lstm_epochs=10, lstm_datasets=("langid-order", "langid"), logistic=True,
                 ternary_joint=True),
}


def verdict(ok):
    return "MET" if ok else "NOT MET"


def scores(y_true, y_pred):
    """(accuracy %, macro-F1 %)."""
    return (100 * np.mean(y_true == y_pred),
            100 * f1_score(y_true, y_pred, average="macro", zero_division=0))


def median_times(functions, rounds):
    """Median seconds per call of each function over ``rounds`` interleaved rounds,
    after one untimed call each."""
    for f in functions.values():
        f()
    times = {name: [] for name in functions}
    for _ in range(rounds):
        for name, f in functions.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def subsample(X, y, n):
    if n is None:
        return X, y
    X, _, y, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=0)
    return X, y


def load_split(name, mode):
    """The split with labels as ints 0..C-1, subsampled as the mode says, and the labels."""
    X_train, X_test, y_train, y_test = datasets.load(name)
    X_train, y_train = subsample(X_train, y_train, mode["train"].get(name))
    X_test, y_test = subsample(X_test, y_test, mode["test"].get(name))
    classes = np.unique(y_train)
    return (list(X_train), list(X_test), np.searchsorted(classes, y_train),
            np.searchsorted(classes, y_test), classes)


def few_labels(y):
    """y with all but a stratified LABELLED fraction set to -1 (unlabelled)."""
    keep, _ = train_test_split(np.arange(y.shape[0]), train_size=LABELLED, stratify=y,
                               random_state=0)
    out = np.full_like(y, -1)
    out[keep] = y[keep]
    return out


# -- linear peers --------------------------------------------------------------------------
def linear_peers(split, mode):
    """Rows (model, columns, weights, acc, F1, bytes, fit s) and the full hinge pipeline."""
    X_train, X_test, y_train, y_test, classes = split
    C = classes.shape[0]
    equal = (BUDGET - 2 * 4 * C) // C  # int8 weights + float32 bias and scale per class
    assert stored_bytes([equal, C], "int8") <= BUDGET
    models = {"SGDClassifier(hinge)": lambda: SGDClassifier(alpha=1e-5, max_iter=30, tol=1e-4,
                                                            random_state=0),
              "SGDClassifier(log_loss)": lambda: SGDClassifier(
                  loss="log_loss", alpha=1e-5, max_iter=30, tol=1e-4, random_state=0)}
    if mode["logistic"]:
        models["LogisticRegression(C=10)"] = lambda: LogisticRegression(C=10, max_iter=300)
    rows, pipeline = [], None
    for columns in (FULL_COLUMNS, equal):
        vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4),
                                       n_features=columns)
        start = time.perf_counter()
        A = vectorizer.transform(X_train)
        vectorize = time.perf_counter() - start
        B = vectorizer.transform(X_test)
        for name, make in models.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = make().fit(A, y_train)
            fit = vectorize + time.perf_counter() - start
            if columns == FULL_COLUMNS:
                pred, fmt, size = model.predict(B), "float32", stored_bytes([columns, C], None)
                if pipeline is None:
                    pipeline = make_pipeline(vectorizer, model)
            else:
                W = dequantize(*quantize_columns(model.coef_.T, "int8"))  # (columns, C)
                pred = np.argmax(B @ W + model.intercept_.astype(np.float32), axis=1)
                fmt, size = "int8", stored_bytes([columns, C], "int8")
            rows.append([name, columns, fmt, *scores(y_test, pred), size, fit])
            print(f"  linear {name} {columns} {fmt}: {rows[-1][3]:.2f} %", flush=True)
    return rows, pipeline


# -- fastText ------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_stderr():
    """File descriptor 2 to /dev/null: quantize's retraining prints progress from C++
    even with verbose=0, and load_model prints a notice."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def ft_line(text):
    return " ".join(text.split())


class FastTextPeer:
    """fastText on one split: timed training rounds (called between pnet fits), the
    full model, and quantised models fitted to the budgets."""

    def __init__(self, split, workdir):
        import fasttext

        self.fasttext = fasttext
        X_train, X_test, y_train, self.y_test, _ = split
        self.dir = workdir
        self.train_path = os.path.join(workdir, "train.txt")
        with open(self.train_path, "w", encoding="utf-8") as f:
            f.writelines(f"__label__{y} {ft_line(t)}\n" for t, y in zip(X_train, y_train))
        self.test = [ft_line(t) for t in X_test]
        self.times = {2: [], 1: []}
        self.points = []  # (dim, cutoff, bytes, acc, F1, train + quantise s)

    def train(self, dim, thread=2):
        return self.fasttext.train_supervised(input=self.train_path, dim=dim, thread=thread,
                                              **FASTTEXT)

    def training_round(self):
        """One timed training of the full model (dim 16) per thread count."""
        for thread in self.times:
            start = time.perf_counter()
            model = self.train(16, thread)
            self.times[thread].append(time.perf_counter() - start)
        self.full = model

    def predict(self, model, texts):
        labels, _ = model.predict(texts)
        return np.array([int(l[0][len("__label__"):]) if l else -1 for l in labels])

    def full_row(self):
        path = os.path.join(self.dir, "full.bin")
        self.full.save_model(path)
        return ["fastText dim 16 (.bin)", *scores(self.y_test, self.predict(self.full,
                                                                            self.test)),
                os.path.getsize(path), statistics.median(self.times[2])]

    def quantised(self, dim, cutoff, seconds_train):
        with quiet_stderr():
            model = self.fasttext.load_model(os.path.join(self.dir, f"d{dim}.bin"))
            start = time.perf_counter()
            model.quantize(input=self.train_path, cutoff=cutoff, qnorm=True, retrain=True,
                           thread=2, verbose=0)
        seconds = seconds_train + time.perf_counter() - start
        path = os.path.join(self.dir, f"d{dim}-c{cutoff}.ftz")
        model.save_model(path)
        point = (dim, cutoff, os.path.getsize(path),
                 *scores(self.y_test, self.predict(model, self.test)), seconds, path)
        self.points.append(point)
        return point

    def fit_budgets(self, dims):
        """Per dim: sizes at cutoffs 256 and 1024 give bytes per kept row; then the
        cutoff that lands under each budget (shrunk 5 % while over)."""
        for dim in dims:
            start = time.perf_counter()
            self.train(dim).save_model(os.path.join(self.dir, f"d{dim}.bin"))
            seconds = time.perf_counter() - start
            low, high = (self.quantised(dim, c, seconds) for c in (256, 1024))
            per_row = (high[2] - low[2]) / (1024 - 256)
            for budget in FASTTEXT_BUDGETS:
                if low[2] > budget or high[2] <= budget:
                    continue
                cutoff = 256 + int((budget - low[2]) / per_row)
                for _ in range(4):
                    if self.quantised(dim, cutoff, seconds)[2] <= budget:
                        break
                    cutoff = int(cutoff * 0.95)
            print(f"  fastText dim {dim}: {len(self.points)} points so far", flush=True)

    def best(self, budget):
        fits = [p for p in self.points if p[2] <= budget]
        return max(fits, key=lambda p: p[3]) if fits else None


# -- pnet ----------------------------------------------------------------------------------
def largest_T(fmt, n_classes):
    """The most projections (d = N_BITS) whose compact model fits BUDGET."""
    T = BUDGET * 8 // (N_BITS * n_classes)
    while stored_bytes([T * N_BITS, n_classes], fmt) + 8 > BUDGET:
        T -= 1
    return T


def fit_pnet(split, epochs, params, y_train=None):
    X_train, X_test, y_full, y_test, _ = split
    clf = TextProjectionNetClassifier(n_bits=N_BITS, max_iter=epochs, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_full if y_train is None else y_train)
    compact = clf.to_compact()
    acc, f1 = scores(y_test, compact.predict(X_test))
    trainer = (100 * np.mean(clf.trainer_predict(X_test) == y_test)
               if params.get("trainer_weight", 1.0) > 0 else None)
    return dict(acc=acc, f1=f1, bytes=compact.size_bytes, fit=clf.fit_time_, trainer=trainer,
                model=compact)


def pnet_runs(split, mode, between):
    """{(config, training, labels): result}; ``between()`` runs before each fit."""
    C = split[4].shape[0]
    y_few = few_labels(split[2])
    int4 = f"int4 T={largest_T('int4', C)}"
    ternary = f"ternary T={largest_T('ternary', C)}"
    plan = [(int4, "alone", "all"), (int4, "joint", "all"), (int4, "alone", "20 %"),
            (int4, "joint", "20 %"), (ternary, "alone", "all")]
    if mode["ternary_joint"]:
        plan += [(ternary, "joint", "all")]
    results = {}
    for config, training, labels in plan:
        between()
        fmt, T = config.split(" T=")
        params = dict(n_projections=int(T), quantize=fmt, **(ALONE if training == "alone"
                                                               else {}))
        results[config, training, labels] = fit_pnet(
            split, mode["epochs"], params, y_few if labels == "20 %" else None)
        r = results[config, training, labels]
        print(f"  pnet {config} {training} {labels}: {r['acc']:.2f} % "
              f"({r['fit']:.1f} s)", flush=True)
    return results


def throughput(split, mode, label, compact, pipeline, ft):
    """Rows (model, batch rows/s, one string rows/s at 1 and 2 numba/BLAS threads):
    medians of interleaved rounds. fastText gets its texts whitespace-joined."""
    X_test = split[1]
    ones = X_test[:mode["one"]]
    ft_test, ft_ones = ft.test, ft.test[:mode["one"]]
    models = {f"pnet compact ({label})": (lambda: compact.predict(X_test),
                                          lambda: [compact.predict_one(s) for s in ones]),
              "HashingVectorizer + SGDClassifier": (
                  lambda: pipeline.predict(X_test),
                  lambda: [pipeline.predict([s]) for s in ones]),
              "fastText dim 16": (lambda: ft.full.predict(ft_test),
                                  lambda: [ft.full.predict([s]) for s in ft_ones])}
    if ft.best(BUDGET):
        with quiet_stderr():
            ftz = ft.fasttext.load_model(ft.best(BUDGET)[-1])
        models["fastText quantised <= 16 KB"] = (lambda: ftz.predict(ft_test),
                                                 lambda: [ftz.predict([s]) for s in ft_ones])
    batch = median_times({k: v[0] for k, v in models.items()}, mode["rounds"])
    one = {}
    for n in (1, 2):
        with set_threads(n):
            one[n] = median_times({k: v[1] for k, v in models.items()}, mode["rounds"])
    return [[name, f"{len(X_test) / batch[name]:,.0f}",
             *(f"{len(ones) / one[n][name]:,.0f}" for n in (1, 2))] for name in models]


# -- LSTM vs MLP trainer (issue 11) -------------------------------------------------------
def lstm_study(name, mode):
    """Trainer and projection net accuracy and fit time per trainer, on langid-order or
    langid's phrases (its texts of 2-3 words)."""
    X_train, X_test, y_train, y_test, classes = load_split(name, mode)
    train = [i for i, t in enumerate(X_train) if " " in t]
    test = [i for i, t in enumerate(X_test) if " " in t]
    split = ([X_train[i] for i in train], [X_test[i] for i in test], y_train[train],
             y_test[test], classes)
    seen = {w for t in split[0] for w in t.split()}
    unseen = np.mean([w not in seen for t in split[1] for w in t.split()])
    C = classes.shape[0]
    base = dict(n_projections=largest_T("int4", C), quantize="int4")
    y_few = few_labels(split[2])
    rows, results = [], {}
    for labels, y in (("all", None), ("20 %", y_few)):
        for trainer in ("none (alone)", "mlp", "lstm"):
            params = dict(base, **(ALONE if trainer.startswith("none") else
                                   dict(trainer=trainer)))
            r = results[trainer, labels] = fit_pnet(split, mode["lstm_epochs"], params, y)
            alone = results["none (alone)", labels]["fit"]  # the trainer's own cost below
            rows.append([labels, trainer, "–" if r["trainer"] is None else f"{r['trainer']:.2f}",
                         f"{r['acc']:.2f}", f"{r['fit']:.1f}",
                         f"{r['fit'] / mode['lstm_epochs']:.2f}",
                         "–" if r["trainer"] is None else
                         f"{(r['fit'] - alone) / mode['lstm_epochs']:.2f}"])
            print(f"  {name} {labels} {trainer}: {r['acc']:.2f} %", flush=True)
    return split, unseen, rows, results


def torch_epoch(split, threads):
    """Seconds per epoch of pnet's LSTMNetwork and torch's nn.LSTM (bench.lstm_speed's
    steps: embedding 64, hidden 128, mean pooling, batch 200) on the phrases' length."""
    try:
        import torch
    except ImportError:
        return None
    from types import SimpleNamespace

    from .lstm_speed import pnet_step, torch_step

    length = max(len(t.split()) for t in split[0])
    args = SimpleNamespace(batch=200, length=length, embedding_dim=64, hidden=128)
    batches = -(-len(split[0]) // args.batch)
    rows = []
    for n in threads:
        with set_threads(n):
            torch.set_num_threads(n)
            step = median_times({"pnet": pnet_step(args, "mean", False),
                                 "torch": torch_step(torch, args, "mean", False)}, 15)
        rows.append([n, f"{step['pnet'] * batches:.3f}", f"{step['torch'] * batches:.3f}",
                     fmt_ratio(step["pnet"] / step["torch"])])
    return torch.__version__, length, rows


# -- report --------------------------------------------------------------------------------
def dataset_report(name, mode, workdir):
    split = load_split(name, mode)
    X_train, X_test, y_train, _, classes = split
    print(f"{name}: {len(X_train)} train / {len(X_test)} test texts, {classes.shape[0]} "
          "classes", flush=True)
    ft = FastTextPeer(split, workdir)
    def between():  # fastText's timed rounds, spread over pnet's fits
        if len(ft.times[2]) < mode["rounds"]:
            ft.training_round()

    pnet = pnet_runs(split, mode, between)
    while len(ft.times[2]) < mode["rounds"]:
        ft.training_round()
    linear, pipeline = linear_peers(split, mode)
    ft.fit_budgets(mode["ft_dims"])
    rows = [[m, f"{cols:,} cols, {fmt}", f"{acc:.2f}", f"{f1:.2f}", f"{size:,}", f"{fit:.1f}"]
            for m, cols, fmt, acc, f1, size, fit in linear]
    full = ft.full_row()
    rows.append([full[0], "", f"{full[1]:.2f}", f"{full[2]:.2f}", f"{full[3]:,}",
                 f"{full[4]:.1f}"])
    for budget in FASTTEXT_BUDGETS:
        p = ft.best(budget)
        if p:
            rows.append([f"fastText .ftz <= {budget:,} B", f"dim {p[0]}, cutoff {p[1]}",
                         f"{p[3]:.2f}", f"{p[4]:.2f}", f"{p[2]:,}", f"{p[5]:.1f}"])
    for (config, training, labels), r in pnet.items():
        rows.append([f"pnet {config} d={N_BITS}, {training}", f"labels: {labels}"
                     + ("" if r["trainer"] is None else f", trainer {r['trainer']:.2f} %"),
                     f"{r['acc']:.2f}", f"{r['f1']:.2f}", f"{r['bytes']:,}", f"{r['fit']:.1f}"])
    print_section(f"{name}: accuracy, bytes, fit ({len(X_train):,} train / {len(X_test):,} "
                  f"test, {mode['epochs']} pnet epochs)",
                  markdown_table(["model", "setting", "acc %", "macro-F1 %", "bytes",
                                  "fit s"], rows))
    points = "\n".join(f"dim {p[0]}, cutoff {p[1]}: {p[2]:,} B, {p[3]:.2f} %"
                       for p in ft.points)
    print_section(f"{name}: fastText quantised points", "```text\n" + points + "\n```")
    best_key = max((k for k in pnet if k[2] == "all"), key=lambda k: pnet[k]["acc"])
    tput = throughput(split, mode, f"{best_key[0]}, {best_key[1]}", pnet[best_key]["model"],
                      pipeline, ft)
    print_section(f"{name}: predict throughput (median of {mode['rounds']} interleaved "
                  f"rounds; batch: all test rows, 2 threads; one at a time: {mode['one']} "
                  "strings)",
                  markdown_table(["model", "batch rows/s", "one string rows/s, 1 thread",
                                  "one string rows/s, 2 threads"], tput))
    return goal_lines(name, linear, ft, pnet, best_key, tput)


def goal_lines(name, linear, ft, pnet, best_key, tput):
    best = pnet[best_key]
    full = max(r[3] for r in linear if r[2] == "float32")
    equal = max(r[3] for r in linear if r[2] == "int8")
    ftq = ft.best(BUDGET)
    ft_acc = ftq[3] if ftq else float("nan")
    fit2, fit1 = (statistics.median(ft.times[t]) for t in (2, 1))
    rates = [[float(cell.replace(",", "")) for cell in row[2:]] for row in tput[:2]]
    speedup = [p / s for p, s in zip(*rates)]  # pnet / pipeline, at 1 and 2 threads
    label = f"pnet {best_key[0]} {best_key[1]}"
    return [
        f"{name}: compact <= 16 KB >= {GOAL_RELATIVE_ACC}x full hashing linear: "
        f"{verdict(best['acc'] >= GOAL_RELATIVE_ACC * full)} ({label} {best['acc']:.2f} % "
        f"= {best['acc'] / full:.3f}x of {full:.2f} %)",
        f"{name}: beats equal-bytes linear (int8): {verdict(best['acc'] > equal)} "
        f"({best['acc']:.2f} vs {equal:.2f} %)",
        f"{name}: beats fastText quantised <= {BUDGET:,} B: {verdict(best['acc'] > ft_acc)} "
        f"({best['acc']:.2f} vs {ft_acc:.2f} % at {ftq[2] if ftq else 0:,} B)",
        f"{name}: fit <= {GOAL_FIT_RATIO:g}x fastText training (2 threads): "
        f"{verdict(best['fit'] <= GOAL_FIT_RATIO * fit2)} ({best['fit']:.1f} s / {fit2:.1f} s "
        f"= {best['fit'] / fit2:.1f}x; fastText thread=1: {fit1:.1f} s)",
        f"{name}: predict_one >= {GOAL_ONE_SPEEDUP:g}x pipeline predict([s]) rows/s: "
        f"1 thread {verdict(speedup[0] >= GOAL_ONE_SPEEDUP)} ({fmt_ratio(speedup[0])}), "
        f"2 threads {verdict(speedup[1] >= GOAL_ONE_SPEEDUP)} ({fmt_ratio(speedup[1])})"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="small subsamples, ~2 min")
    group.add_argument("--full", action="store_true", help="every row, 20 epochs, LR")
    parser.add_argument("--datasets", nargs="+", default=list(datasets.TEXT_NAMES))
    parser.add_argument("--no-lstm", action="store_true", help="skip the LSTM study")
    args = parser.parse_args(argv)
    mode_name = "quick" if args.quick else "full" if args.full else "default"
    mode = MODES[mode_name]
    start = time.perf_counter()
    print_section(f"Machine (mode: {mode_name})", "```text\n" + format_machine_info()
                  + "\n```")
    goals = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.datasets:
            os.makedirs(os.path.join(workdir, name))
            goals += dataset_report(name, mode, os.path.join(workdir, name))
    if not args.no_lstm:
        goals += lstm_report(mode)
    print_section("Goals", "\n".join(f"- {line}" for line in goals))
    print(f"\ntotal {time.perf_counter() - start:.0f} s", flush=True)


def lstm_report(mode):
    """The trainer study on each of ``mode['lstm_datasets']``, goals on langid-order."""
    lines = []
    for name in mode["lstm_datasets"]:
        split, unseen, rows, results = lstm_study(name, mode)
        print_section(f"{name}: trainers ({len(split[0]):,} train / {len(split[1]):,} test "
                      f"texts of 2-3 words, {mode['lstm_epochs']} epochs; "
                      f"{100 * unseen:.0f} % of test words never occur in training)",
                      markdown_table(["labels", "trainer", "trainer acc %", "projection acc %",
                                      "fit s", "fit s / epoch", "trainer s / epoch"], rows))
        lstm, mlp = results["lstm", "all"]["trainer"], results["mlp", "all"]["trainer"]
        gain = results["lstm", "20 %"]["acc"] - results["none (alone)", "20 %"]["acc"]
        lines += [f"{name}: LSTM trainer >= MLP trainer: {verdict(lstm >= mlp)} "
                  f"({lstm:.2f} vs {mlp:.2f} %)",
                  f"{name}, 20 % labels: projection net with the LSTM trainer - alone >= "
                  f"{GOAL_LSTM_GAIN:g} points: {verdict(gain >= GOAL_LSTM_GAIN)} ({gain:+.2f}; "
                  f"with the MLP trainer "
                  f"{results['mlp', '20 %']['acc'] - results['none (alone)', '20 %']['acc']:+.2f})"]
    speed = torch_epoch(split, (1, 2))
    if speed is not None:
        version, length, table = speed
        print_section(f"LSTM epoch, pnet vs torch {version} nn.LSTM (forward + backward, "
                      f"{len(split[0]):,} texts, batch 200, L = {length})",
                      markdown_table(["threads", "pnet s", "torch s", "pnet / torch"], table))
        worst = max(float(r[3].rstrip("×")) for r in table)
        lines.append(f"LSTM epoch <= {GOAL_LSTM_TORCH:g}x torch: "
                     f"{verdict(worst <= GOAL_LSTM_TORCH)} (worst {worst:.2f}x)")
    return lines


if __name__ == "__main__":
    main()
