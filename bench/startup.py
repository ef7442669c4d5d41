"""Start-up cost of pnet: import time, and the numba compile that the first call pays.

Run ``python -m bench.startup [--quick]``. This module owns the start-up
benchmark only. Every measurement is a new Python process (``subprocess``):

- ``import pnet`` alone, next to the imports it stands on (a bare interpreter,
  ``import numpy``, ``import numpy, numba, sklearn``), so the share that is
  pnet's own is visible.
- cold start: ``import pnet`` + the first call, with ``NUMBA_CACHE_DIR`` set to a
  fresh, empty temporary directory: every kernel the call needs is compiled.
  Two first calls, each in its own processes: ``LSHProjection(random_state=0)
  .fit(X).transform(X)`` on digits (the projection alone), and the shipped
  model's: ``pnet.load`` of a compact int8 file (a ProjectionNetClassifier fitted
  on digits by the parent), its first ``predict`` of the 1,797 digits (a batch,
  split over threads) and then its first ``predict_one``; and the same with the
  digits as uint8 (the 8-row byte kernels, compiled on their own).
- cached start: the same, in a second process with the same ``NUMBA_CACHE_DIR``:
  the kernels are loaded from numba's on-disk cache (``cache=True``).

``--python PATH`` (repeatable) times the first calls in other interpreters too,
e.g. a virtualenv holding another commit of pnet (``pip install --no-deps -e
<worktree>``), rounds interleaved with this one, each with its own cache
directories: the comparison the "start-up must not get worse" goal needs on a
machine whose speed drifts. (Their ``import pnet`` must not find this checkout:
run from a directory outside it, e.g. ``cd /tmp && python -m bench.startup``
with this checkout on ``PYTHONPATH`` only for the parent.) Compare virtualenvs
holding the same packages, this checkout in one of them too: numba's one-time
set-up imports the ``numba_extensions`` entry point of every installed package,
so an environment with more packages (e.g. pydata ``sparse``) pays ~0.15 s more
on every first call, cached or not, whatever the pnet version.

Times inside the child use ``time.perf_counter``; "process wall" is measured by
the parent and includes interpreter start and exit.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from ._common import (add_mode_arguments, format_machine_info, load_average, machine_info,
                      markdown_table, mode_name, print_section)

#: The child process: times ``import pnet`` and the first fit + transform.
_FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
import pnet
t1 = time.perf_counter()
import numpy as np
X = np.load(sys.argv[1])
t2 = time.perf_counter()
bits = pnet.LSHProjection(random_state=0).fit(X).transform(X)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first call": t3 - t2, "shape": bits.shape}))
"""

#: The child process: times ``import pnet``, loading a compact model, its first
#: ``predict`` of a batch and then its first ``predict_one``; of the rows as loaded
#: (float64) or, with a third argument "uint8", as uint8 (digits: 0..16).
_COMPACT_CALL = """
import json, sys, time
t0 = time.perf_counter()
import pnet
t1 = time.perf_counter()
import numpy as np
X = np.load(sys.argv[1])
if sys.argv[3:] == ["uint8"]:
    X = X.astype(np.uint8)
model = pnet.load(sys.argv[2])
t2 = time.perf_counter()
model.predict(X)
t3 = time.perf_counter()
model.predict_one(X[0])
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first predict": t3 - t2,
                  "first predict_one": t4 - t3, "first call": t4 - t2}))
"""

#: Reference imports, each timed in its own process.
_IMPORTS = {
    "python -c pass": "",
    "import numpy": "import numpy",
    "import numpy, numba, sklearn": "import numpy, numba, sklearn.base",
    "import pnet": "import pnet",
}
_TIMED_IMPORT = """
import json, time
t0 = time.perf_counter()
{statement}
print(json.dumps({{"import": time.perf_counter() - t0}}))
"""


def run_child(code, args=(), cache_dir=None, python=sys.executable):
    """Run ``code`` in a new interpreter; its JSON line plus the process wall time."""
    env = dict(os.environ)
    if python != sys.executable:  # another install: don't mix in this checkout's path
        env.pop("PYTHONPATH", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    start = time.perf_counter()
    done = subprocess.run([python, "-c", code, *map(str, args)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child process failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def bench_imports(repeat):
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        for name, statement in _IMPORTS.items():
            runs = [run_child(_TIMED_IMPORT.format(statement=statement), cache_dir=cache)
                    for _ in range(repeat)]
            rows.append([f"`{name}`", *_min_median([r["import"] for r in runs]),
                         *_min_median([r["wall"] for r in runs])])
    print_section(
        "Import time (new process each, best and median of "
        f"{repeat})",
        "`import pnet` compiles nothing: numba compiles each kernel on its first call.\n\n"
        + markdown_table(["statement", "import best", "import median", "process wall best",
                          "process wall median"], rows))


def bench_first_call(repeat_cold, repeat_cached, pythons):
    """Cold and cached first calls of both children, for each interpreter, the rounds
    (one cold process and its cached ones per interpreter) interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        X_path, model_path = _inputs(Path(tmp))
        children = {"LSHProjection fit + transform": (_FIRST_CALL, [X_path]),
                    "compact int8: load, predict(1,797 rows), predict_one":
                        (_COMPACT_CALL, [X_path, model_path]),
                    "compact int8, uint8 rows: load, predict(1,797 rows), predict_one":
                        (_COMPACT_CALL, [X_path, model_path, "uint8"])}
        runs = {}  # (child, python, "cold" | "cached") -> [result]
        n_files = {}
        for i in range(repeat_cold):
            for child, (code, args) in children.items():
                for python in pythons:
                    cache = Path(tempfile.mkdtemp(prefix="numba-cache-", dir=tmp))
                    runs.setdefault((child, python, "cold"), []).append(
                        run_child(code, args, cache, python))
                    n_files.setdefault((child, python), []).append(
                        sum(1 for _ in cache.rglob("*.nbc")))
                    runs.setdefault((child, python, "cached"), []).extend(
                        run_child(code, args, cache, python) for _ in range(repeat_cached))
    for child in children:
        rows = []
        for python in pythons:
            for start in ("cold", "cached"):
                results = runs[child, python, start]
                row = [_python_name(python, pythons), start, len(results),
                       *_min_median([r["import"] for r in results]),
                       *_min_median([r["first call"] for r in results])]
                if "first predict" in results[0]:
                    row += [_min_median([r["load"] for r in results])[1],
                            _min_median([r["first predict"] for r in results])[1],
                            _min_median([r["first predict_one"] for r in results])[1]]
                rows.append(row + [_min_median([r["wall"] for r in results])[1]])
        header = ["python", "start", "runs", "import best", "import median",
                  "first call best", "first call median"]
        if "first predict" in runs[child, pythons[0], "cold"][0]:
            header += ["load, median", "of which predict, median",
                       "of which predict_one, median"]
        files = ", ".join(f"{_python_name(p, pythons)}: {_span(n_files[child, p])}"
                          for p in pythons)
        print_section(
            f"Cold and cached start: `import pnet` + first call ({child})",
            "Best and median over new processes; \"first call\" excludes the import "
            "and the model file's load (numba's one-time set-up and the hyperplane "
            "table's compile, where they happen, fall in the load). Compiled-code files (`*.nbc`) each cold run "
            f"wrote to its cache: {files}.\n\n" + markdown_table(header + [
                "process wall median"], rows))


def _inputs(tmp):
    """(digits .npy, compact int8 model file) written to ``tmp``, by this process."""
    from pnet import ProjectionNetClassifier
    from pnet.compact import CompactProjectionNet

    X, y = load_digits(return_X_y=True)
    X_path, model_path = tmp / "digits.npy", tmp / "digits-int8.pnet"
    np.save(X_path, X)  # (1797, 64) float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 5 epochs are enough here
        clf = ProjectionNetClassifier(random_state=0, max_iter=5).fit(X, y)
    CompactProjectionNet.from_classifier(clf, quantize="int8").save(model_path)
    return X_path, model_path


def _python_name(python, pythons):
    return "this checkout" if python == pythons[0] else python


def _span(counts):
    return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


def _min_median(values):
    return f"{min(values):.2f} s", f"{statistics.median(values):.2f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, quick="one cold and one cached run")
    parser.add_argument("--python", action="append", default=[], metavar="PATH",
                        help="another interpreter to time alongside (repeatable)")
    args = parser.parse_args(argv)
    quick = mode_name(args) == "quick"
    repeat_imports, repeat_cold, repeat_cached = (1, 1, 1) if quick else (5, 3, 2)

    print("## Start-up (numba compile and cache)", flush=True)
    load_before = load_average()
    bench_imports(repeat_imports)
    bench_first_call(repeat_cold, repeat_cached, [sys.executable, *args.python])
    info = machine_info()
    info["load average"] = f"{load_before} before, {info['load average']} after"
    print("\n```text\n" + format_machine_info(info) + "\n```")


if __name__ == "__main__":
    main()
