"""Start-up cost of pnet: import time, and the numba compile that the first call pays.

Run ``python -m bench.startup [--quick]``. This module owns the start-up
benchmark only. Every measurement is a new Python process (``subprocess``):

- ``import pnet`` alone, next to the imports it stands on (a bare interpreter,
  ``import numpy``, ``import numpy, numba, sklearn``), so the share that is
  pnet's own is visible.
- cold start: ``import pnet`` + the first
  ``LSHProjection(random_state=0).fit(X).transform(X)`` on digits with
  ``NUMBA_CACHE_DIR`` set to a fresh, empty temporary directory: every kernel
  the call needs is compiled.
- cached start: the same, in a second process with the same ``NUMBA_CACHE_DIR``:
  the kernels are loaded from numba's on-disk cache (``cache=True``).

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
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

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


def run_child(code, args=(), cache_dir=None):
    """Run ``code`` in a new interpreter; its JSON line plus the process wall time."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
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


def bench_first_call(repeat_cold, repeat_cached):
    with tempfile.TemporaryDirectory() as tmp:
        X_path = Path(tmp) / "digits.npy"
        np.save(X_path, load_digits().data)  # (1797, 64) float64
        cold, cached, n_files = [], [], []
        for i in range(repeat_cold):
            cache = Path(tmp) / f"numba-cache-{i}"
            cache.mkdir()
            cold.append(run_child(_FIRST_CALL, [X_path], cache))
            n_files.append(sum(1 for p in cache.rglob("*.nbc")))
            cached.extend(run_child(_FIRST_CALL, [X_path], cache)
                          for _ in range(repeat_cached))
    rows = []
    for name, runs in (("cold (empty NUMBA_CACHE_DIR)", cold),
                       ("cached (same NUMBA_CACHE_DIR)", cached)):
        total = [r["import"] + r["first call"] for r in runs]
        rows.append([name, len(runs), *_min_median([r["import"] for r in runs]),
                     *_min_median([r["first call"] for r in runs]), *_min_median(total),
                     *_min_median([r["wall"] for r in runs])])
    speedup = min(r["import"] + r["first call"] for r in cold) / min(
        r["import"] + r["first call"] for r in cached)
    print_section(
        "Cold and cached start: `import pnet` + first "
        "`LSHProjection(random_state=0).fit(X).transform(X)` on digits (1797 x 64)",
        "Best and median over new processes; each cold run wrote "
        f"{_span(n_files)} compiled-code files (`*.nbc`) to its cache. "
        f"Cached start is {speedup:.1f}× faster than cold (best import + first call).\n\n"
        + markdown_table(["start", "runs", "import best", "import median",
                          "first call best", "first call median", "import + call best",
                          "import + call median", "process wall best",
                          "process wall median"], rows))


def _span(counts):
    return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


def _min_median(values):
    return f"{min(values):.2f} s", f"{statistics.median(values):.2f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, quick="one cold and one cached run")
    args = parser.parse_args(argv)
    quick = mode_name(args) == "quick"
    repeat_imports, repeat_cold, repeat_cached = (1, 1, 1) if quick else (5, 3, 2)

    print("## Start-up (numba compile and cache)", flush=True)
    load_before = load_average()
    bench_imports(repeat_imports)
    bench_first_call(repeat_cold, repeat_cached)
    info = machine_info()
    info["load average"] = f"{load_before} before, {info['load average']} after"
    print("\n```text\n" + format_machine_info(info) + "\n```")


if __name__ == "__main__":
    main()
