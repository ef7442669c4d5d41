"""Narrow weight formats on the MNIST subset: the projection net trained for int4 and
ternary weights (``ProjectionNetClassifier(quantize=...)``), at the same bytes.

Run ``python -m bench.formats [--quick]``. For each seed, "alone" and "joint" fits of
int4 (T*d = 1,680 bits) and ternary (T*d = 3,360 bits): both are 8,488 bytes
(``to_compact().size_bytes``: packed weights + float32 biases and scales + seed).
Accuracy is the compact model's on the test split (identical to the estimator's:
trained for its format). Issue 9's goal: >= 92 % at <= 10,240 bytes.
"""
import argparse
import statistics
import time
import warnings

import numpy as np

from pnet import ProjectionNetClassifier

from . import datasets
from ._common import format_machine_info, markdown_table, print_section

CONFIGS = [("int4", 120, 14), ("ternary", 240, 14)]
MODES = {"alone": dict(trainer_weight=0, distillation_weight=0), "joint": {}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 epochs")
    args = parser.parse_args(argv)
    seeds, epochs = (range(1), 10) if args.quick else (range(3), 30)
    warnings.simplefilter("ignore")
    X_train, X_test, y_train, y_test = datasets.load("mnist")
    results = {}
    for seed in seeds:
        for mode, kw in MODES.items():
            for fmt, T, d in CONFIGS:
                start = time.perf_counter()
                clf = ProjectionNetClassifier(n_projections=T, n_bits=d, quantize=fmt,
                                              max_iter=epochs, random_state=seed, **kw)
                compact = clf.fit(X_train, y_train).to_compact()
                accuracy = float(np.mean(compact.predict(X_test) == y_test))
                results.setdefault((fmt, T * d, mode), []).append(
                    (accuracy, compact.size_bytes, time.perf_counter() - start))
    rows = []
    for (fmt, bits, mode), runs in results.items():
        accs = [100 * a for a, _, _ in runs]
        spread = f" ± {statistics.stdev(accs):.2f}" if len(accs) > 1 else ""
        rows.append([fmt, f"{bits:,}", mode, f"{statistics.mean(accs):.2f}{spread}",
                     f"{runs[0][1]:,}", f"{statistics.median(t for _, _, t in runs):.1f}",
                     "met" if statistics.mean(accs) >= 92 and runs[0][1] <= 10240 else
                     "not met"])
    print_section("Machine", f"```text\n{format_machine_info()}\n```")
    print_section(f"MNIST subset, {epochs} epochs, seeds {list(seeds)}",
                  markdown_table(["format", "bits", "training", "accuracy %", "bytes",
                                  "fit s", ">= 92 % at <= 10 KB"], rows))


if __name__ == "__main__":
    main()
