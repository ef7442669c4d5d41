"""pnet's text models against their peers, same run, same splits (issues 10 and 11).

``python -m bench.text [--quick | --full] [--datasets kaomoji langid] [--no-lstm]``
(default: ~30 min per dataset on 2 cores under load 5-15, ~8 min for both before the
search grew; ``--quick`` a few minutes on subsamples; ``--full``: every training row,
30 / 20 epochs, LogisticRegression, more rounds). Per dataset, on
``bench.datasets``' fixed splits (default: kaomoji trains on a stratified subsample):

1. Linear models on sklearn's ``HashingVectorizer(analyzer='char_wb', ngram_range=(1,
   4))`` at 2**18 columns (float32) and at equal bytes (the most columns whose int8
   weights, one float32 scale per class as pnet's int8, + float32 biases fit).
2. fastText (minn=1, maxn=4, 15 epochs, lr 0.5): dim 16 and, per budget, the best
   ``quantize(cutoff, qnorm=True, retrain=True)`` of a few dims (bytes: the ``.ftz``).
3. ``TextProjectionNetClassifier`` at <= 16,000 bytes (``to_compact().size_bytes``):
   each of ``PNET_CONFIGS``' search alone (``epochs``: 20 in the default mode), then
   the first (plain ternary) alone vs joint (``joint_epochs``: 8), all labels and 20 %
   labels + unlabelled rows (-1); "alone" drops those rows (5x fewer steps per
   epoch), so a control trains it 5x the epochs.
4. Predict rows/s: all test rows in one call, and one string at a time (``predict_one``;
   the peers' ``predict([s])``) at 1 and 2 numba/BLAS threads.
5. LSTM vs MLP trainer (issue 11) on ``langid-order`` (the label is the first of two
   words' language: order carries it); ``--full`` adds langid's phrases.

Times: medians of interleaved rounds (fastText's training rounds run between pnet's
fits); a pnet fit is timed once. Each family's best point is chosen on the test split.
"""
import argparse
import contextlib
import os
import statistics
import tempfile
import time
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from pnet import TextProjectionNetClassifier
from pnet.textfront import choose_density
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
ONE_SECONDS = 0.5  # one-at-a-time rounds: as many strings (<= mode 'one') as take this
ROW_FORMAT = (str, str, "{:.2f}".format, "{:.2f}".format, "{:,}".format, "{:.1f}".format)
GOALS = dict(relative_acc=0.95, fit_ratio=3.0, one_speedup=10.0, lstm_gain=3.0,
             lstm_torch=2.0)  # issue 10 item 5, issue 11 item 4

MODES = {  # train / test: rows kept per dataset (stratified; absent: the whole split)
    "quick": dict(train={"kaomoji": 3000, "langid": 3000, "langid-order": 3000},
                  test={"kaomoji": 2000, "langid": 2000, "langid-order": 1000}, epochs=3,
                  joint_epochs=3, rounds=1, one=50, ft_dims=(4, 8), lstm_epochs=3,
                  lstm_datasets=("langid-order",), logistic=False),
    "default": dict(train={"kaomoji": 12000}, test={}, epochs=20, joint_epochs=8, rounds=3,
                    one=300, ft_dims=(2, 4, 8), lstm_epochs=8,
                    lstm_datasets=("langid-order",), logistic=False),
    "full": dict(train={}, test={}, epochs=30, joint_epochs=20, rounds=5, one=1000,
                 ft_dims=(2, 4, 8, 12), lstm_epochs=10,
                 lstm_datasets=("langid-order", "langid"), logistic=True),
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


def load_split(name, mode, phrases_only=False):
    """(X_train, X_test, y_train, y_test, classes), labels as ints 0..C-1."""
    X_train, X_test, y_train, y_test = datasets.load(name)
    X_train, y_train = subsample(X_train, y_train, mode["train"].get(name))
    X_test, y_test = subsample(X_test, y_test, mode["test"].get(name))
    if phrases_only:  # texts of more than one word
        X_train, y_train = zip(*[(t, y) for t, y in zip(X_train, y_train) if " " in t])
        X_test, y_test = zip(*[(t, y) for t, y in zip(X_test, y_test) if " " in t])
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
    """Rows [model, columns, format, acc, F1, bytes, fit s] and the full hinge pipeline."""
    X_train, X_test, y_train, y_test, classes = split
    C = classes.shape[0]
    equal = (BUDGET - 2 * 4 * C) // C  # int8 weights + float32 bias and scale per class
    models = {"SGDClassifier(hinge)": dict(loss="hinge"),
              "SGDClassifier(log_loss)": dict(loss="log_loss")}
    if mode["logistic"]:
        models["LogisticRegression(C=10)"] = None
    rows, pipeline = [], None
    for columns in (FULL_COLUMNS, equal):
        vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4),
                                       n_features=columns)
        start = time.perf_counter()
        A = vectorizer.transform(X_train)
        vectorize = time.perf_counter() - start
        B = vectorizer.transform(X_test)
        for name, loss in models.items():
            model = (LogisticRegression(C=10, max_iter=300) if loss is None else
                     SGDClassifier(alpha=1e-5, max_iter=30, tol=1e-4, random_state=0, **loss))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(A, y_train)
            fit = vectorize + time.perf_counter() - start
            if columns == FULL_COLUMNS:
                pred, fmt, size = model.predict(B), "float32", stored_bytes([columns, C], None)
                pipeline = pipeline or make_pipeline(vectorizer, model)
            else:
                W = dequantize(*quantize_columns(model.coef_.T, "int8"))  # (columns, C)
                pred = np.argmax(B @ W + model.intercept_.astype(np.float32), axis=1)
                fmt, size = "int8", stored_bytes([columns, C], "int8")
            rows.append([name, columns, fmt, *scores(y_test, pred), size, fit])
    return rows, pipeline


# -- fastText ------------------------------------------------------------------------------
@contextlib.contextmanager
def quiet_stderr():
    """fd 2 to /dev/null: quantize's retraining prints progress even with verbose=0."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class FastTextPeer:
    """fastText on one split: timed training rounds of the full model (run between
    pnet's fits), and quantised models fitted to the budgets (``points``)."""

    def __init__(self, split, workdir):
        import fasttext

        self.fasttext, self.dir = fasttext, workdir
        X_train, X_test, y_train, self.y_test, _ = split
        self.train_path = os.path.join(workdir, "train.txt")
        with open(self.train_path, "w", encoding="utf-8") as f:
            f.writelines(f"__label__{y} {' '.join(t.split())}\n"
                         for t, y in zip(X_train, y_train))
        self.test = [" ".join(t.split()) for t in X_test]
        self.times = {2: [], 1: []}  # thread count -> training seconds
        self.points = []  # (dim, cutoff, bytes, acc, F1, train + quantise s, path)

    def train(self, dim, thread=2):
        return self.fasttext.train_supervised(input=self.train_path, dim=dim, thread=thread,
                                              **FASTTEXT)

    def training_round(self):
        for thread in self.times:
            start = time.perf_counter()
            self.full = self.train(16, thread)
            self.times[thread].append(time.perf_counter() - start)

    def scores(self, model):
        labels, _ = model.predict(self.test)  # predict(str) fails under numpy 2
        return scores(self.y_test, np.array([int(l[0][9:]) if l else -1 for l in labels]))

    def full_row(self):
        path = os.path.join(self.dir, "full.bin")
        self.full.save_model(path)
        return ["fastText dim 16 (.bin)", "", *self.scores(self.full), os.path.getsize(path),
                statistics.median(self.times[2])]

    def quantised(self, dim, cutoff, seconds):
        with quiet_stderr():
            model = self.fasttext.load_model(os.path.join(self.dir, f"d{dim}.bin"))
            start = time.perf_counter()
            model.quantize(input=self.train_path, cutoff=cutoff, qnorm=True, retrain=True,
                           thread=2, verbose=0)
        seconds += time.perf_counter() - start
        path = os.path.join(self.dir, f"d{dim}-c{cutoff}.ftz")
        model.save_model(path)
        self.points.append((dim, cutoff, os.path.getsize(path), *self.scores(model), seconds,
                            path))
        return self.points[-1][2]

    def fit_budgets(self, dims):
        """Per dim: the sizes at cutoffs 256 and 1024 give bytes per kept row, hence the
        cutoff that lands under each budget (shrunk 5 % while over)."""
        for dim in dims:
            start = time.perf_counter()
            self.train(dim).save_model(os.path.join(self.dir, f"d{dim}.bin"))
            seconds = time.perf_counter() - start
            low, high = (self.quantised(dim, c, seconds) for c in (256, 1024))
            for budget in FASTTEXT_BUDGETS:
                cutoff = 256 + int((budget - low) * (1024 - 256) / (high - low))
                for _ in range(4 if low <= budget else 0):
                    if self.quantised(dim, cutoff, seconds) <= budget:
                        break
                    cutoff = int(cutoff * 0.95)

    def best(self, budget):
        fits = [p for p in self.points if p[2] <= budget]
        return max(fits, key=lambda p: p[3]) if fits else None


# -- pnet ----------------------------------------------------------------------------------
#: The projection nets ``pnet_runs`` tries, each at the most projections (d = N_BITS)
#: that fit BUDGET; 'entries_per_feature' sets density = choose_density(T * d, it)
#: (the estimator's 'auto' is 4); 'epochs' overrides the mode's. Why these:
#: ``python -m bench.text_bytes`` (bench/RESULTS.md, "What closes the gap"): ternary
#: beats int4 at equal bytes; a 16-unit bottleneck fits ~4x the bits under kaomoji's 44
#: classes; langid is best at ~10 entries per feature and 8-12 epochs.
PNET_CONFIGS = {
    "ternary": dict(quantize="ternary"),
    "ternary, 10/feature": dict(quantize="ternary", entries_per_feature=10),
    "ternary, 10/feature, fewer epochs": dict(quantize="ternary", entries_per_feature=10,
                                              epochs=12),
    "ternary FC[16] identity": dict(quantize="ternary", projection_hidden_layer_sizes=(16,),
                                    activation="identity"),
    "ternary FC[16] identity, 10/feature": dict(
        quantize="ternary", projection_hidden_layer_sizes=(16,), activation="identity",
        entries_per_feature=10),
    "int4": dict(quantize="int4"),
}
SEARCH = tuple(PNET_CONFIGS)[:5]


def largest_T(fmt, n_classes, hidden=()):
    """The most projections (d = N_BITS) whose compact model (``hidden`` layer sizes
    after the bits) fits BUDGET."""
    first = (hidden or (n_classes,))[0]
    T = BUDGET * 8 // (N_BITS * first)
    while stored_bytes([T * N_BITS, *hidden, n_classes], fmt) + 8 > BUDGET:
        T -= 1
    return T


def pnet_params(config, n_classes):
    """Estimator parameters of a PNET_CONFIGS entry at the most projections that fit."""
    params = dict(PNET_CONFIGS[config])
    entries = params.pop("entries_per_feature", None)
    T = largest_T(params["quantize"], n_classes,
                  params.get("projection_hidden_layer_sizes", ()))
    params["n_projections"] = T
    if entries is not None:
        params["density"] = choose_density(T * N_BITS, entries)
    return params


def fit_pnet(split, epochs, params, y_train=None):
    X_train, X_test, y_all, y_test, _ = split
    clf = TextProjectionNetClassifier(n_bits=N_BITS, max_iter=epochs, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_all if y_train is None else y_train)
    compact = clf.to_compact()
    acc, f1 = scores(y_test, compact.predict(X_test))
    trainer = (100 * np.mean(clf.trainer_predict(X_test) == y_test)
               if params.get("trainer_weight", 1.0) > 0 else None)
    return dict(acc=acc, f1=f1, bytes=compact.size_bytes, fit=clf.fit_time_, trainer=trainer,
                model=compact)


def pnet_runs(split, mode, between, configs=SEARCH, trainers=("mlp",)):
    """{(config, training, labels): result}: every config alone on all labels
    (``mode['epochs']``), then the first with every training and label setting
    (``mode['joint_epochs']``); ``between()`` runs before each fit."""
    C, y_few, epochs = split[4].shape[0], few_labels(split[2]), mode["joint_epochs"]
    plan = [(config, "alone", "all", mode["epochs"]) for config in configs] + [
        (configs[0], f"joint ({trainer})", labels, epochs) for trainer in trainers
        for labels in ("all", "20 %")] + [
        (configs[0], "alone", "20 %", epochs),
        (configs[0], "alone, 5x epochs", "20 %", 5 * epochs)]
    results = {}
    for config, training, labels, n_epochs in plan:
        between()
        params = pnet_params(config, C)
        n_epochs = params.pop("epochs", n_epochs)  # a config's own epochs, if any
        params.update(ALONE if training.startswith("alone") else
                      dict(trainer=training[7:-1]))
        r = fit_pnet(split, n_epochs, params, y_few if labels == "20 %" else None)
        label = f"{config} T={params['n_projections']}, {n_epochs} epochs"
        results[label, training, labels] = r
        print(f"  pnet {label} {training} {labels}: {r['acc']:.2f} % ({r['fit']:.1f} s)",
              flush=True)
    return results


def pnet_row(key, r):
    config, training, labels = key
    trainer = "" if r["trainer"] is None else f", trainer {r['trainer']:.2f} %"
    return [f"pnet {config} d={N_BITS}, {training}", f"labels: {labels}{trainer}",
            r["acc"], r["f1"], r["bytes"], r["fit"]]


def throughput(split, mode, label, compact, pipeline, ft):
    """Rows [model, batch rows/s, one string rows/s at 1 and at 2 threads]."""
    models = {f"pnet compact ({label})": (compact.predict, compact.predict_one, split[1]),
              "HashingVectorizer + SGDClassifier": (
                  pipeline.predict, lambda s: pipeline.predict([s]), split[1]),
              "fastText dim 16": (ft.full.predict, lambda s: ft.full.predict([s]), ft.test)}
    if ft.best(BUDGET):
        with quiet_stderr():
            ftz = ft.fasttext.load_model(ft.best(BUDGET)[-1])
        models["fastText quantised <= 16 KB"] = (ftz.predict, lambda s: ftz.predict([s]),
                                                 ft.test)
    batch = median_times({k: lambda b=b, X=X: b(X) for k, (b, _, X) in models.items()},
                         mode["rounds"])
    counts, loops = {}, {}
    for name, (_, one, X) in models.items():  # as many strings as take ~ONE_SECONDS
        start = time.perf_counter()
        for s in X[:10]:
            one(s)
        per = (time.perf_counter() - start) / 10
        counts[name] = int(np.clip(ONE_SECONDS / per, 10, mode["one"]))
        loops[name] = lambda one=one, X=X[:counts[name]]: [one(s) for s in X]
    rates = {}
    for n in (1, 2):
        with set_threads(n):
            rates[n] = median_times(loops, mode["rounds"])
    return [[name, len(split[1]) / batch[name],
             *(counts[name] / rates[n][name] for n in (1, 2))] for name in models]


# -- report --------------------------------------------------------------------------------
def dataset_report(name, mode, workdir):
    split = load_split(name, mode)
    print(f"{name}: {len(split[0])} train / {len(split[1])} test texts, "
          f"{split[4].shape[0]} classes", flush=True)
    ft = FastTextPeer(split, workdir)

    def between():  # fastText's timed rounds, spread over pnet's fits
        if len(ft.times[2]) < mode["rounds"]:
            ft.training_round()

    pnet = pnet_runs(split, mode, between)
    while len(ft.times[2]) < mode["rounds"]:
        ft.training_round()
    linear, pipeline = linear_peers(split, mode)
    ft.fit_budgets(mode["ft_dims"])
    rows = [[m, f"{cols:,} cols, {fmt}", *rest] for m, cols, fmt, *rest in linear]
    rows.append(ft.full_row())
    for budget in FASTTEXT_BUDGETS:
        if ft.best(budget):
            dim, cutoff, *rest, _ = ft.best(budget)
            rows.append([f"fastText .ftz <= {budget:,} B", f"dim {dim}, cutoff {cutoff}",
                         rest[1], rest[2], rest[0], rest[3]])
    rows += [pnet_row(key, r) for key, r in pnet.items()]
    print_section(f"{name}: accuracy, bytes, fit ({len(split[0]):,} train / "
                  f"{len(split[1]):,} test, {mode['epochs']} pnet epochs)",
                  markdown_table(["model", "setting", "acc %", "macro-F1 %", "bytes",
                                  "fit s"], [[f(c) for f, c in zip(ROW_FORMAT, r)] for r in rows]))
    print_section(f"{name}: fastText quantised points", "```text\n" + "\n".join(
        f"dim {p[0]}, cutoff {p[1]}: {p[2]:,} B, {p[3]:.2f} %" for p in ft.points) + "\n```")
    best = max((k for k in pnet if k[2] == "all"), key=lambda k: pnet[k]["acc"])
    tput = throughput(split, mode, f"{best[0]}, {best[1]}", pnet[best]["model"], pipeline, ft)
    print_section(f"{name}: predict throughput, rows/s (median of {mode['rounds']} "
                  "interleaved rounds; batch: all test rows, 2 threads)",
                  markdown_table(["model", "batch", "one string, 1 thread",
                                  "one string, 2 threads"],
                                 [[r[0], *(f"{x:,.0f}" for x in r[1:])] for r in tput]))
    return goal_lines(name, linear, ft, pnet[best], " ".join(best[:2]), tput)


def goal_lines(name, linear, ft, best, label, tput):
    full = max(r[3] for r in linear if r[2] == "float32")
    equal = max(r[3] for r in linear if r[2] == "int8")
    ftq = ft.best(BUDGET) or (0, 0, 0, float("nan"))
    fit2, fit1 = (statistics.median(ft.times[t]) for t in (2, 1))
    speedup = [p / s for p, s in zip(tput[0][2:], tput[1][2:])]  # at 1 and 2 threads
    acc = best["acc"]
    return [
        f"{name}: compact <= 16 KB >= {GOALS['relative_acc']}x full hashing linear: "
        f"{verdict(acc >= GOALS['relative_acc'] * full)} (pnet {label} {acc:.2f} % = "
        f"{acc / full:.3f}x of {full:.2f} %)",
        f"{name}: beats equal-bytes linear (int8): {verdict(acc > equal)} ({acc:.2f} vs "
        f"{equal:.2f} %)",
        f"{name}: beats fastText quantised <= {BUDGET:,} B: {verdict(acc > ftq[3])} "
        f"({acc:.2f} vs {ftq[3]:.2f} % at {ftq[2]:,} B)",
        f"{name}: fit <= {GOALS['fit_ratio']:g}x fastText training (2 threads): "
        f"{verdict(best['fit'] <= GOALS['fit_ratio'] * fit2)} ({best['fit']:.1f} s / "
        f"{fit2:.1f} s = {best['fit'] / fit2:.1f}x; fastText thread=1: {fit1:.1f} s)",
        f"{name}: predict_one >= {GOALS['one_speedup']:g}x pipeline predict([s]) rows/s: "
        f"1 thread {verdict(speedup[0] >= GOALS['one_speedup'])} ({fmt_ratio(speedup[0])}), "
        f"2 threads {verdict(speedup[1] >= GOALS['one_speedup'])} ({fmt_ratio(speedup[1])})"]


# -- LSTM vs MLP trainer (issue 11) -------------------------------------------------------
def lstm_report(name, mode):
    """Trainer and projection net accuracy, fit time, per trainer; the goal lines."""
    split = load_split(name, mode, phrases_only=True)
    seen = {w for t in split[0] for w in t.split()}
    unseen = np.mean([w not in seen for t in split[1] for w in t.split()])
    runs = pnet_runs(split, dict(mode, epochs=mode["lstm_epochs"],
                                 joint_epochs=mode["lstm_epochs"]), lambda: None,
                     configs=("int4",), trainers=("mlp", "lstm"))
    res = {(k[1].split(" (")[-1].rstrip(")"), k[2]): r for k, r in runs.items()}
    for (training, labels), r in res.items():  # the trainer's own seconds per epoch
        r["extra"] = (r["fit"] - res["alone", labels]["fit"]) / mode["lstm_epochs"]
    print_section(f"{name}: trainers ({len(split[0]):,} train / {len(split[1]):,} test texts "
                  f"of 2-3 words, {mode['lstm_epochs']} epochs; {100 * unseen:.0f} % of test "
                  "words never occur in training; trainer s/epoch = (fit - alone fit) / "
                  "epochs)", markdown_table(
                      ["model", "setting", "acc %", "macro-F1 %", "bytes", "fit s",
                       "trainer s / epoch"],
                      [[f(c) for f, c in zip(ROW_FORMAT, pnet_row(k, r))] +
                       [f"{r['extra']:.2f}" if r["trainer"] is not None else "–"]
                       for k, r in runs.items()]))
    lstm, mlp = res["lstm", "all"]["trainer"], res["mlp", "all"]["trainer"]
    gains = {k: res[k, "20 %"]["acc"] - res["alone", "20 %"]["acc"] for k in ("lstm", "mlp")}
    control = res["lstm", "20 %"]["acc"] - res["alone, 5x epochs", "20 %"]["acc"]
    return [f"{name}: LSTM trainer >= MLP trainer: {verdict(lstm >= mlp)} ({lstm:.2f} vs "
            f"{mlp:.2f} %)",
            f"{name}, 20 % labels: projection net with the LSTM trainer - alone >= "
            f"{GOALS['lstm_gain']:g} points: {verdict(gains['lstm'] >= GOALS['lstm_gain'])} "
            f"({gains['lstm']:+.2f}; MLP trainer {gains['mlp']:+.2f}; against alone with 5x "
            f"the epochs, as many steps: {control:+.2f})"], split


def torch_epoch(split, threads):
    """Seconds per epoch of pnet's LSTMNetwork and torch's nn.LSTM: ``bench.lstm_speed``'s
    steps (embedding 64, hidden 128, mean pooling, batch 200) at the texts' length."""
    try:
        import torch
    except ImportError:
        return []
    from .lstm_speed import pnet_step, torch_step

    args = SimpleNamespace(batch=200, length=max(len(t.split()) for t in split[0]),
                           embedding_dim=64, hidden=128)
    batches = -(-len(split[0]) // args.batch)
    lines = []
    for n in threads:
        with set_threads(n):
            torch.set_num_threads(n)
            step = median_times({"pnet": pnet_step(args, "mean", False),
                                 "torch": torch_step(torch, args, "mean", False)}, 15)
        ratio = step["pnet"] / step["torch"]
        lines.append(f"LSTM epoch <= {GOALS['lstm_torch']:g}x torch's, {n} thread(s): "
                     f"{verdict(ratio <= GOALS['lstm_torch'])} ({step['pnet'] * batches:.3f} s"
                     f" / {step['torch'] * batches:.3f} s = {fmt_ratio(ratio)})")
    print_section(f"LSTM epoch: pnet vs torch {torch.__version__} nn.LSTM (forward + "
                  f"backward, {len(split[0]):,} texts, batch 200, L = {args.length})",
                  "\n".join(lines))
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="subsamples, ~2 minutes")
    group.add_argument("--full", action="store_true", help="every row, 20 epochs, LR")
    parser.add_argument("--datasets", nargs="+", default=list(datasets.TEXT_NAMES))
    parser.add_argument("--no-lstm", action="store_true", help="skip the trainer study")
    args = parser.parse_args(argv)
    mode_name = "quick" if args.quick else "full" if args.full else "default"
    mode, start, goals = MODES[mode_name], time.perf_counter(), []
    print_section(f"Machine (mode: {mode_name})", "```text\n" + format_machine_info()
                  + "\n```")
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.datasets:
            os.makedirs(os.path.join(workdir, name))
            goals += dataset_report(name, mode, os.path.join(workdir, name))
    for name in [] if args.no_lstm else mode["lstm_datasets"]:
        lines, split = lstm_report(name, mode)
        goals += lines
        if name == "langid-order":
            goals += torch_epoch(split, (1, 2))
    print_section("Goals", "\n".join(f"- {line}" for line in goals))
    print(f"\ntotal {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
