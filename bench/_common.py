"""Helpers shared by every benchmark: machine description, timing, threads, tables.

This module owns *how* we measure and print; it knows nothing about pnet's
algorithms. Benchmarks import it as ``from ._common import ...``.

- ``machine_info()``: CPU, cores, numba and BLAS threads, library versions and the
  pnet commit, so that every pasted table says where it came from.
- ``best_of(f, repeat, number)``: best seconds per call (``time.perf_counter``),
  after one warm-up call (numba compiles or loads its cache on the first call);
  ``best_of_each`` does the same for several functions with interleaved rounds.
- ``set_threads(n)``: numba threads and BLAS/OpenMP threads set to the same n,
  restored on exit.
- ``markdown_table(header, rows)``: the tables pasted into bench/RESULTS.md.
- Modes, goals and verdicts, for every benchmark: ``add_mode_arguments`` /
  ``mode_name`` (``--quick`` for development, the default run of a few minutes,
  ``--full`` for the study), ``GOALS`` (every goal the issues set, with its
  target) and ``Goal.verdict`` ("MET" / "NOT MET"), so a goal is stated once.
- ``most_that_fits(size, budget)``: the largest count whose size fits a budget.
"""
import contextlib
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import threadpoolctl

#: Environment variables that change BLAS or threading behaviour; reported when set,
#: never changed by the benchmarks.
_REPORTED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                 "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                 "NUMBA_THREADING_LAYER", "NUMBA_CACHE_DIR")

REPO = Path(__file__).resolve().parent.parent


# -- the machine ---------------------------------------------------------------------
def cpu_model():
    """CPU model name from /proc/cpuinfo, else lscpu, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def _git_commit():
    """Short commit of the repo, with '+dirty' when pnet/ or kernels/ have local edits."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "pnet", "kernels"],
                               cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def _version(module_name):
    try:
        module = __import__(module_name)
    except ImportError:
        return "not installed"
    return getattr(module, "__version__", "unknown")


def machine_info():
    """Where the numbers come from, as an ordered dict of strings."""
    try:
        layer = numba.threading_layer()  # only known after a parallel kernel has run
    except ValueError:
        layer = "not yet chosen"
    blas = [f"{p['internal_api']} {p['version']} in {Path(p['filepath']).parent.name} "
            f"({p.get('architecture', '?')}, {p['threading_layer']}, "
            f"{p['num_threads']} threads)"
            for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    info = {
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} logical, {affinity} usable",
        "numba threads": f"{numba.get_num_threads()} in use of {numba.config.NUMBA_NUM_THREADS} "
                         f"(layer: {layer})",
        "blas": "; ".join(blas) or "none found",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": _version("sklearn"),
        "pnet": f"{_version('pnet')} (commit {_git_commit()})",
        "platform": platform.platform(),
        "load average": load_average(),
    }
    env = {k: os.environ[k] for k in _REPORTED_ENV if k in os.environ}
    info["env"] = (", ".join(f"{k}={v}" for k, v in env.items())
                   or "(none of the BLAS/thread variables set)")
    return info


def load_average():
    """1/5/15-minute load averages: on a shared 2-core machine, a busy neighbour
    shows here and slows the 2-thread rows most."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def format_machine_info(info=None):
    """The machine info as aligned ``key: value`` lines (for a ``text`` code block)."""
    info = machine_info() if info is None else info
    width = max(map(len, info))
    return "\n".join(f"{k:<{width}} : {v}" for k, v in info.items())


# -- timing ----------------------------------------------------------------------------
def _seconds(f, number):
    start = time.perf_counter()
    for _ in range(number):
        f()
    return time.perf_counter() - start


def best_of(f, repeat=5, number=None, min_time=0.02, warmup=True):
    """Best seconds per call of ``f()`` over ``repeat`` rounds of ``number`` calls.

    One warm-up call comes first (compilation, cache loading, page faults), unless
    ``warmup=False`` because the caller warmed up on a smaller input. With
    ``number=None`` the calls per round grow tenfold until a round takes at least
    ``min_time`` seconds, so microsecond calls are not lost in timer noise.
    """
    if warmup:
        f()
    if number is None:
        number = 1
        while _seconds(f, number) < min_time and number < 10**6:
            number *= 10
    return min(_seconds(f, number) for _ in range(repeat)) / number


#: seconds between candidates in ``best_of_each`` (OpenBLAS workers spin after a call)
SETTLE = 0.2


def best_of_each(functions, repeat=5, number=None, min_time=0.02):
    """``best_of`` for several functions, their rounds interleaved.

    ``functions`` maps a name to a callable; returns name -> best seconds per call.
    Alternating the rounds means a burst of load from another process slows every
    candidate alike instead of one of them, which keeps the *ratios* honest on a
    shared machine. Each timed round is preceded by a pause of ``SETTLE`` seconds
    and one untimed call of the same function. The pause: OpenBLAS's workers keep
    spinning for tens of milliseconds after a call returns, so a candidate timed
    right after ``MLPClassifier.predict`` at 2 threads ran on one free core
    (measured: pnet's int8 predict of 10,000 MNIST rows 22-25 ms right after the
    MLP or 50 ms later, 13.4-13.8 ms after a 0.2 s pause); one untimed call of a
    13 ms candidate did not cover it. The call: caches, and the candidate's own
    thread pool awake, as in a steady stream of calls.
    """
    numbers = {}
    for name, f in functions.items():
        f()
        numbers[name] = number or 1
        while number is None and _seconds(f, numbers[name]) < min_time \
                and numbers[name] < 10**6:
            numbers[name] *= 10
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeat):
        for name, f in functions.items():
            time.sleep(SETTLE)  # the previous candidate's thread pool goes idle
            f()
            best[name] = min(best[name], _seconds(f, numbers[name]) / numbers[name])
    return best


def median_latency(f, rows, calls, budget=float("inf"), warmup=5):
    """Median seconds of ``f(row)`` over up to ``calls`` calls cycling through ``rows``,
    after ``warmup`` untimed calls; stops early (after at least 20 calls) once
    ``budget`` seconds are spent. Returns (median seconds, calls made)."""
    for x in rows[:warmup]:
        f(x)  # compile / warm caches
    times = []
    for i in range(calls):
        x = rows[i % len(rows)]
        start = time.perf_counter()
        f(x)
        times.append(time.perf_counter() - start)
        if i >= 20 and sum(times) > budget:
            break
    return statistics.median(times), len(times)


@contextlib.contextmanager
def set_threads(n):
    """Run the block with n numba threads and n BLAS/OpenMP threads; restore after.

    Import numpy/scipy (and anything else that loads a BLAS) before entering:
    threadpoolctl limits only the libraries already loaded.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpoolctl.threadpool_limits(limits=n):
            yield n
    finally:
        numba.set_num_threads(previous)


def thread_counts():
    """1 and the machine's numba maximum (just [1] on a single-core machine)."""
    return sorted({1, numba.config.NUMBA_NUM_THREADS})


# -- sizes ---------------------------------------------------------------------------
def most_that_fits(size, budget):
    """The largest n >= 0 with ``size(n) <= budget`` (0 when none), for ``size``
    non-decreasing in n: how many bits, hidden units or pixels a byte budget holds."""
    if size(0) > budget:
        return 0
    lo, hi = 0, 1
    while size(hi) <= budget:
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # size(lo) fits, size(hi) does not
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if size(mid) <= budget else (lo, mid)
    return lo


# -- printing --------------------------------------------------------------------------
def fmt_time(seconds):
    """Seconds with a unit that keeps 3 significant digits readable."""
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(ratio):
    return f"{ratio:.2f}×"


def markdown_table(header, rows):
    """A GitHub-markdown table; cells are converted with str(); numbers right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_looks_numeric(row[i]) for row in cells[1:]) for i in range(len(header))]

    def line(row):
        return "| " + " | ".join(c.rjust(w) if num else c.ljust(w)
                                 for c, w, num in zip(row, widths, numeric)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2))
                          for w, num in zip(widths, numeric)) + "|"
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def _looks_numeric(text):
    return bool(text) and (text[0].isdigit() or text[0] in "-+.")


def print_section(title, body):
    """A markdown heading and its body, flushed immediately (long runs show progress)."""
    print(f"\n### {title}\n\n{body}", flush=True)



# -- modes, goals and verdicts -------------------------------------------------------------
MODE_NAMES = ("quick", "default", "full")


def add_mode_arguments(parser, quick, full=None):
    """``--quick`` (and ``--full`` when ``full`` describes it), mutually exclusive."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help=quick)
    if full is not None:
        group.add_argument("--full", action="store_true", help=full)
    return group


def mode_name(args):
    """'quick', 'full' or 'default' from the parsed ``add_mode_arguments`` flags."""
    if args.quick:
        return "quick"
    return "full" if getattr(args, "full", False) else "default"


@dataclass(frozen=True)
class Goal:
    """A measurable goal: ``measured >= target`` (``at_least``) or ``<= target``."""
    what: str
    target: float
    at_least: bool = True
    unit: str = ""
    issue: int = 0

    def met(self, measured):
        return measured >= self.target if self.at_least else measured <= self.target

    def verdict(self, measured):
        return "MET" if self.met(measured) else "NOT MET"

    @property
    def text(self):
        return f"{self.what} {'>=' if self.at_least else '<='} {self.target:g}{self.unit}"

    def line(self, measured, detail=""):
        """One line for the report: the goal, MET / NOT MET, the measurement."""
        return f"goal: {self.text}: {self.verdict(measured)} ({detail or measured})"


#: issue 9's size limit for the accuracy goal (``size_bytes`` of the compact model)
GOAL_10KB_BYTES = 10_240

#: Every goal the issues set, stated once; benchmarks print ``GOALS[key].line(...)``.
GOALS = {
    # issue 1-2: speed of the estimator and the compact model against MLPClassifier
    "fit": Goal("joint fit time / MLPClassifier(256, 256) fit time", 0.5, False, "×"),
    "batch": Goal("compact 10,000-row predict time / MLPClassifier's", 0.2, False, "×"),
    "row": Goal("compact single-row predict time / MLPClassifier's", 0.06, False, "×"),
    "compression": Goal("trainer bytes / compact int8 bytes", 25.0, True, "×"),
    "gaussian": Goal("gaussian projection time / numpy GEMM floor", 1.2, False, "×"),
    "ternary": Goal("ternary projection time / numpy GEMM floor", 0.2, False, "×"),
    "sparse_sign": Goal("sparse_sign projection time / numpy GEMM floor", 0.2, False, "×"),
    # issue 9: accuracy per byte (MNIST subset, compact int8 bytes)
    "acc_10kb": Goal("best test accuracy of a compact model of <= 10,240 bytes", 92.0,
                     True, " %", 9),
    "acc_10kb_stretch": Goal("(stretch) best test accuracy at <= 10,240 bytes", 94.0,
                             True, " %", 9),
    "budget_margin": Goal("pnet's best - best equal-size baseline, every budget 4-64 KB",
                          1.0, True, " points", 9),
    "few_labels_gain": Goal("joint - alone, 750 labels + 3,000 unlabelled rows, mean of "
                            "seeds", 3.0, True, " points", 9),
    "all_labels_gain": Goal("joint - alone, all labels, paired over 5 seeds", 1.0, True,
                            " points", 9),
}
