"""Does the projection net learn from the trainer? Joint training against training alone.

``python -m bench.apprenticeship [--quick | --full] [--dataset mnist]``

Every configuration trains the same projection net (same ``random_state``: the
same hyperplanes, the same initial weights, the same shuffles) and differs only in
the loss. "alone" is ``trainer_weight = distillation_weight = 0``; the others
add the trainer and the distillation term in the ways issue 3 asked to try:
the weight lambda2, the temperature tau, distillation only (lambda3 = 0), and a
trainer warm-up (epochs with lambda2 = 0 first, then lambda2 switched on with
``warm_start``). Accuracy is the projection net's on the held-out split, mean and
standard deviation over model seeds; "gain" is the difference to "alone" in
accuracy points.
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from pnet import ProjectionNetClassifier

from . import datasets
from ._common import format_machine_info, markdown_table, print_section, set_threads

ALONE = dict(trainer_weight=0.0, distillation_weight=0.0)

#: name -> (estimator parameters, warm-up epochs with distillation off)
CONFIGS = {
    "alone (lambda1 = lambda2 = 0)": (ALONE, 0),
    "joint, default (1, 0.1, 1), tau 1": (dict(), 0),
    "joint, lambda2 = 1": (dict(distillation_weight=1.0), 0),
    "joint, lambda2 = 1, tau 2": (dict(distillation_weight=1.0, temperature=2.0), 0),
    "joint, lambda2 = 1, tau 4": (dict(distillation_weight=1.0, temperature=4.0), 0),
    "distillation only (lambda3 = 0)": (dict(distillation_weight=1.0, projection_weight=0.0), 0),
    "trainer warm-up 10 epochs, then lambda2 = 1": (dict(distillation_weight=1.0), 10),
}
FULL_ONLY = {
    "joint, lambda2 = 3": (dict(distillation_weight=3.0), 0),
    "joint, lambda2 = 1, tau 2, lambda3 = 0.3": (
        dict(distillation_weight=1.0, temperature=2.0, projection_weight=0.3), 0),
    "joint, trainer alpha = 1 (softer teacher)": (dict(distillation_weight=1.0, alpha=1.0), 0),
}


def fit(params, warmup, epochs, seed, X, y):
    """Fixed epochs (no early stop), optionally with distillation off for ``warmup`` epochs."""
    base = dict(max_iter=epochs, tol=0.0, n_iter_no_change=10**6, random_state=seed)
    clf = ProjectionNetClassifier(**base, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if warmup:
            clf.set_params(distillation_weight=0.0, max_iter=warmup, warm_start=True)
            clf.fit(X, y)
            clf.set_params(distillation_weight=params["distillation_weight"],
                           max_iter=epochs - warmup)
        clf.fit(X, y)
    return clf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 15 epochs")
    parser.add_argument("--full", action="store_true", help="5 seeds, 60 epochs, more configs")
    parser.add_argument("--dataset", default="mnist", choices=["digits", "mnist"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    seeds, epochs = (2, 15) if args.quick else (5, 60) if args.full else (3, 30)
    configs = {**CONFIGS, **(FULL_ONLY if args.full else {})}

    X_train, X_test, y_train, y_test = datasets.load(args.dataset)
    rows, alone = [], None
    with set_threads(args.threads):
        print_section("machine", format_machine_info())
        for name, (params, warmup) in configs.items():
            start = time.perf_counter()
            acc, trainer_acc = [], []
            for seed in range(seeds):
                clf = fit(params, warmup, epochs, seed, X_train, y_train)
                acc.append(clf.score(X_test, y_test))
                if clf._trains_trainer:
                    trainer_acc.append(np.mean(clf.trainer_predict(X_test) == y_test))
            acc = 100 * np.asarray(acc)
            alone = acc.mean() if alone is None else alone
            rows.append([name, f"{acc.mean():.2f} ± {acc.std():.2f}",
                         f"{acc.mean() - alone:+.2f}",
                         f"{100 * np.mean(trainer_acc):.2f}" if trainer_acc else "-",
                         f"{(time.perf_counter() - start) / seeds:.1f}"])
            print(" | ".join(rows[-1]), flush=True)
    title = (f"{args.dataset}: projection net T=60, d=12 (720 bits) -> softmax, "
             f"{epochs} epochs, {seeds} seeds")
    print_section(title, markdown_table(
        ["configuration", "projection acc. %", "gain vs alone", "trainer acc. %",
         "fit s / seed"], rows))
    best = max(rows[1:], key=lambda r: float(r[2]))
    verdict = "MET" if float(best[2]) >= 1.5 else "NOT MET"
    print(f"goal: joint - alone >= +1.5 points: {verdict} (best: {best[0]}, {best[2]})")


if __name__ == "__main__":
    main()
