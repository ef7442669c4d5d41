"""Density of dense rows: accuracy against non-zero entries per hyperplane (issue 12).

``python -m bench.density [--quick | --full]``

The projection's cost per row is ``density * nnz(x) * T * d`` additions, so a lower
density is faster; this study measures what it costs in accuracy. On digits and the
MNIST subset (``bench.datasets``), the projection net is trained alone (30 epochs,
seeds 0-2; ``--quick``: 10 epochs, one seed; ``--full``: 5 seeds) at two sizes,
720 bits int8 (the default T = 60, d = 12) and 3,360 bits ternary (T = 280, trained
for the format), for densities of k / n_features, k = 2, 4, 8, 16, and
1 / sqrt(n_features) (Li et al., pnet's 'auto' before 0.2), for each projection
(``--projections``; default sparse_sign, whose E = round(density * T * d) entries
per feature give the same mean entries per plane, and ternary). It prints test accuracy
of the compact model (mean and sd over seeds) and the additions per row
(``density * mean nnz * T * d``). ``pnet._hyperplanes.resolve_density`` cites the
result: 'auto' = min(1 / sqrt(D), 8 / D).
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from pnet import ProjectionNetClassifier

from . import datasets
from ._common import add_mode_arguments, format_machine_info, markdown_table, mode_name

SIZES = ((60, 12, "int8"), (280, 12, "ternary"))  # (T, d, format)
ENTRIES = (2, 4, 8, 16)  # non-zero entries per hyperplane


def accuracy(X_train, y_train, X_test, y_test, T, d, fmt, density, seed, epochs,
             projection="ternary"):
    clf = ProjectionNetClassifier(n_projections=T, n_bits=d, projection=projection,
                                  density=density, quantize=fmt,
                                  max_iter=epochs, trainer_weight=0, distillation_weight=0,
                                  random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    return 100 * float(np.mean(clf.to_compact().predict(X_test) == y_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mode_arguments(parser, quick="10 epochs, 1 seed", full="5 seeds")
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    parser.add_argument("--projections", nargs="+", default=["sparse_sign", "ternary"],
                        help="hyperplane distributions to compare (default: both)")
    args = parser.parse_args(argv)
    mode = mode_name(args)
    epochs = 10 if mode == "quick" else 30
    seeds = {"quick": 1, "default": 3, "full": 5}[mode]
    print(format_machine_info())
    print(f"mode {mode}: {epochs} epochs, seeds 0-{seeds - 1}, trained alone\n")
    for name in args.datasets:
        X_train, X_test, y_train, y_test = datasets.load(name)
        D = X_train.shape[1]
        nnz = np.count_nonzero(X_train) / X_train.shape[0]
        choices = [(f"{k} / D", k / D) for k in ENTRIES if k / D <= 1]
        choices.append(("1 / sqrt(D)", 1 / np.sqrt(D)))
        rows = []
        start = time.perf_counter()
        for label, density in choices:
            for projection in args.projections:
                row = [projection, label, f"1/{1 / density:.0f}", f"{density * D:.1f}"]
                for T, d, fmt in SIZES:
                    accs = [accuracy(X_train, y_train, X_test, y_test, T, d, fmt, density,
                                     s, epochs, projection) for s in range(seeds)]
                    row += [f"{np.mean(accs):.2f} ± {np.std(accs):.2f}",
                            f"{density * nnz * T * d:,.0f}"]
                rows.append(row)
                print(f"  {name} {projection} {label}: {row[4:]}", flush=True)
        header = ["projection", "density", "value", "entries per plane"]
        for T, d, fmt in SIZES:
            header += [f"acc % ({T * d} bits {fmt})", "adds / row"]
        print(f"\n#### {name}: D = {D}, mean non-zeros per row {nnz:.1f} "
              f"({time.perf_counter() - start:.0f} s)\n")
        print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
