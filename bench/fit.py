"""What ``fit`` costs beyond time: peak memory, and time when another process is busy.

Run ``python -m bench.fit [--quick | --full]``. Peers in the same run:
``sklearn.neural_network.MLPClassifier((256, 256))``, which does the same
minibatch work as pnet's trainer.

Memory
    Each fit runs in a fresh process on synthetic float32 rows of 784 features
    (MNIST's width), ``max_iter=2``. The child reports its peak resident set
    (``VmHWM`` from /proc/self/status) after building the data and after the fit.
    pnet is shown with and without ``early_stopping`` (which once kept a second
    copy of the data).
Load
    ``fit`` is timed with the machine as it is ("idle") and with one extra
    process spinning on a core ("loaded"), interleaved round by round, medians
    reported. pnet runs its minibatch loop with one BLAS thread
    (``pnet.training._training_threads``); the row "pnet, BLAS at caller's
    threads" removes that limit, to show what it is for. The slowdown column is
    loaded / idle for the same configuration.

Sizes: --quick 20,000 rows (memory) and 5,000 rows x 3 epochs (load);
default 100,000 rows and 10,000 x 5 epochs; --full adds rounds.
"""
import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time

from ._common import (add_mode_arguments, format_machine_info, load_average, markdown_table,
                      mode_name, print_section)

#: Child process for the memory rows: prints peak RSS before and after ``fit``.
_MEMORY_CHILD = """
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")

def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

which, n = sys.argv[1], int(sys.argv[2])
from sklearn.neural_network import MLPClassifier
from pnet import ProjectionNetClassifier
rng = np.random.default_rng(0)
X = rng.random((n, 784), dtype=np.float32)
y = (X[:, :10].sum(axis=1) * 2).astype(int) % 10
before = peak_mib()
if which == "mlp":
    est = MLPClassifier((256, 256), max_iter=2, random_state=0)
else:
    est = ProjectionNetClassifier(max_iter=2, random_state=0,
                                  early_stopping=which == "pnet-early")
est.fit(X, y)
print(json.dumps({"data": before, "peak": peak_mib(), "X": X.nbytes / 2**20}))
"""

_NAMES = {"mlp": "MLPClassifier((256, 256))", "pnet": "ProjectionNetClassifier",
          "pnet-early": "ProjectionNetClassifier(early_stopping=True)"}


def memory_rows(n_rows):
    rows, results = [], {}
    for which in ("mlp", "pnet", "pnet-early"):
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, which, str(n_rows)],
                             capture_output=True, text=True, check=True).stdout
        results[which] = json.loads(out.strip().splitlines()[-1])
    mlp_peak = results["mlp"]["peak"]
    for which, r in results.items():
        rows.append([_NAMES[which], f"{r['X']:.0f}", f"{r['data']:.0f}", f"{r['peak']:.0f}",
                     f"{r['peak'] - r['data']:.0f}", f"{r['peak'] / mlp_peak:.2f}×"])
    return rows


# -- fit under load ------------------------------------------------------------------------
def _busy():
    """One process spinning on a core until killed."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def load_rows(n_rows, epochs, rounds):
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPClassifier

    import pnet.training as training
    from pnet import ProjectionNetClassifier

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.random((n_rows, 784), dtype=np.float32)
    y = (X[:, :10].sum(axis=1) * 2).astype(int) % 10
    limited = training._training_threads

    def pnet_fit(blas_limit):
        def run():
            training._training_threads = limited if blas_limit else contextlib.nullcontext
            try:
                ProjectionNetClassifier(max_iter=epochs, tol=0, random_state=0).fit(X, y)
            finally:
                training._training_threads = limited
        return run

    candidates = {
        "MLPClassifier((256, 256))": lambda: MLPClassifier(
            (256, 256), max_iter=epochs, tol=0, random_state=0).fit(X, y),
        "ProjectionNetClassifier": pnet_fit(True),
        "pnet, BLAS at caller's threads": pnet_fit(False),
    }
    for f in candidates.values():  # warm-up: numba cache, page faults
        f()
    times = {(name, state): [] for name in candidates for state in ("idle", "loaded")}
    for _ in range(rounds):
        for state in ("idle", "loaded"):
            busy = _busy() if state == "loaded" else None
            try:
                time.sleep(0.2 if busy else 0)
                for name, f in candidates.items():
                    start = time.perf_counter()
                    f()
                    times[name, state].append(time.perf_counter() - start)
            finally:
                if busy:
                    busy.kill()
                    busy.wait()
    rows = []
    mlp = "MLPClassifier((256, 256))"
    for name in candidates:
        idle = statistics.median(times[name, "idle"])
        loaded = statistics.median(times[name, "loaded"])
        rows.append([name, f"{idle:.2f}", f"{loaded:.2f}", f"{loaded / idle:.1f}×",
                     f"{idle / statistics.median(times[mlp, 'idle']):.2f}×"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_mode_arguments(parser, quick="small sizes (~1 min)", full="more rounds")
    args = parser.parse_args(argv)
    mode = mode_name(args)
    n_memory = 20_000 if mode == "quick" else 100_000
    n_load, epochs = (5_000, 3) if mode == "quick" else (10_000, 5)
    rounds = 5 if mode == "full" else 3
    print_section("Machine", f"```text\n{format_machine_info()}\n```")
    print_section(
        f"Peak memory of fit, {n_memory:,} x 784 float32 rows, max_iter=2 (MiB)",
        markdown_table(["estimator", "X", "RSS with data", "peak RSS in fit",
                        "fit's own", "peak vs MLP"], memory_rows(n_memory)))
    print_section(
        f"fit with one core busy, {n_load:,} x 784, {epochs} epochs, median of {rounds} "
        f"(load before: {load_average()})",
        markdown_table(["estimator", "idle s", "loaded s", "slowdown", "idle vs MLP"],
                       load_rows(n_load, epochs, rounds)))


if __name__ == "__main__":
    main()
