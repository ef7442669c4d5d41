"""pnet on dask: peak memory against rows on a synthetic stream, and a 2-worker
cluster against the in-process ``partial_fit`` loop.

Run ``python -m bench.dask_scale [--quick | --full]`` (needs ``pip install -e '.[dask]'``).

Stream
    Block i (``BLOCK`` rows) is drawn from its own seed: 32 standard-normal float32
    features, the label is the argmax of 4 fixed random directions plus noise. A
    block exists only while it is used; the stream is never materialised. The model
    is ``ProjectionNetClassifier(n_projections=20, n_bits=8)`` trained alone (no
    trainer: the rows are cheap, the scaling is the point), one epoch.
Runs
    Every measurement is a fresh process reporting its peak resident set (``VmHWM``
    from /proc/self/status; on a cluster, its largest worker's). "loop" calls
    ``partial_fit`` block by block, then predicts block by block counting correct
    labels. The dask runs fit a dask array of the stream through dask-ml's
    ``Incremental(shuffle_blocks=False)`` or ``pnet.dask.fit_blocks``, then count
    ``(ParallelPostFit(model).predict(X) == y).sum()``: on dask's threaded scheduler
    (2 threads, one numba thread each: ``pnet.dask.serial_numba_threads``), or on
    ``LocalCluster(n_workers=2, threads_per_worker=1)`` (worker processes,
    ``pnet.dask.OneNumbaThread``, warmed up). Every run must give the loop's weights
    (sha256) and count of correct predictions.
Scheduling overhead
    The Incremental chain on the cluster, same stream, with an estimator whose
    ``partial_fit`` does nothing (pickled to the pnet model's size), less the time
    the loop spends drawing the blocks.

Sizes: --quick 1e5 and 3e5 rows; default 1e5 and 1e6 rows (~10 min on a loaded
2-core machine); --full adds 1e7 rows for the loop and the threaded runs.
"""
import argparse
import hashlib
import importlib.metadata
import json
import pickle
import subprocess
import sys
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator

from ._common import (Goal, add_mode_arguments, format_machine_info, machine_info,
                      markdown_table, mode_name, print_section)

BLOCK = 100_000
N_FEATURES = 32
N_CLASSES = 4
SEED = 14
GOAL_MEMORY = Goal("peak RSS at 10^7 rows / peak RSS at 10^5 rows", 1.5, False, "×", 14)


# -- the stream ------------------------------------------------------------------------
def make_block(i, rows=BLOCK):
    """Block i of the stream: (X float32 (rows, N_FEATURES), y int64 (rows,))."""
    directions = np.random.default_rng(SEED).standard_normal((N_FEATURES, N_CLASSES))
    rng = np.random.default_rng([SEED, i])
    X = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    y = np.argmax(X @ directions + 0.5 * rng.standard_normal((rows, N_CLASSES)), axis=1)
    return X, y


def dask_stream(n_rows):
    """(X, y) dask arrays of the stream's first n_rows (whole blocks), built lazily."""
    import dask.array as da

    n_blocks = n_rows // BLOCK
    X = da.map_blocks(lambda block_id: make_block(block_id[0])[0],
                      chunks=((BLOCK,) * n_blocks, (N_FEATURES,)), dtype=np.float32,
                      meta=np.empty((0, N_FEATURES), np.float32))
    y = da.map_blocks(lambda block_id: make_block(block_id[0])[1], chunks=((BLOCK,) * n_blocks,),
                      dtype=np.int64, meta=np.empty((0,), np.int64))
    return X, y


def make_model():
    from pnet import ProjectionNetClassifier

    return ProjectionNetClassifier(n_projections=20, n_bits=8, trainer_weight=0,
                                   distillation_weight=0, random_state=0)


def digest(clf):
    h = hashlib.sha256()
    for W in [*clf.coefs_, *clf.intercepts_]:
        h.update(np.ascontiguousarray(W).tobytes())
    return h.hexdigest()[:16]


class NoOp(BaseEstimator):
    """An estimator for the overhead run: ``partial_fit`` does nothing; it pickles to
    about ``size`` bytes, as the pnet model does."""

    def __init__(self, size=0):
        self.size = size
        self.payload = bytes(size)

    def partial_fit(self, X, y, classes=None):
        return self

    fit = partial_fit

    def score(self, X, y):
        return 0.0


# -- one measurement, in a fresh process -------------------------------------------------
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_loop(n_rows):
    clf, classes = make_model(), np.arange(N_CLASSES)
    start, drawing = time.perf_counter(), 0.0
    for i in range(n_rows // BLOCK):
        t = time.perf_counter()
        X, y = make_block(i)
        drawing += time.perf_counter() - t
        clf.partial_fit(X, y, classes=classes)
    fit = time.perf_counter() - start
    start, correct = time.perf_counter(), 0
    for i in range(n_rows // BLOCK):
        X, y = make_block(i)
        correct += int(np.sum(clf.predict(X) == y))
    return {"fit": fit, "predict": time.perf_counter() - start, "correct": correct,
            "digest": digest(clf), "drawing": drawing,
            "model_bytes": len(pickle.dumps(clf))}


def run_dask(n_rows, route, client=None, estimator=None):
    """Fit through ``route`` ('incremental': dask-ml's Incremental; 'fit_blocks':
    pnet.dask.fit_blocks), then a blockwise predict (ParallelPostFit) counting correct
    labels; on ``client``, or dask's threaded scheduler with 2 one-numba-thread threads."""
    import dask
    from dask_ml.wrappers import Incremental, ParallelPostFit

    from pnet.dask import fit_blocks, serial_numba_threads

    X, y = dask_stream(n_rows)
    model = make_model() if estimator is None else estimator
    config = {} if client is not None else {"pool": serial_numba_threads(2)}
    with dask.config.set(config):
        start = time.perf_counter()
        if route == "incremental":
            model = Incremental(model, shuffle_blocks=False).partial_fit(
                X, y, classes=np.arange(N_CLASSES)).estimator_
        else:
            model = fit_blocks(model, X, y, classes=np.arange(N_CLASSES))
        fit = time.perf_counter() - start
        if estimator is not None:  # the overhead run: no model to predict with
            return {"fit": fit}
        start = time.perf_counter()
        correct = int((ParallelPostFit(model).predict(X) == y).sum().compute())
        predict = time.perf_counter() - start
    return {"fit": fit, "predict": predict, "correct": correct, "digest": digest(model)}


def run_cluster(n_rows, route, model_bytes):
    """``run_dask`` on a LocalCluster of 2 worker processes x 1 thread; with
    ``model_bytes``, also the no-op chain that measures the scheduling overhead."""
    from distributed import Client, LocalCluster

    from pnet.dask import OneNumbaThread

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(OneNumbaThread())
        # warm-up: numba's cached kernels loaded in every worker's task thread
        client.gather([client.submit(_warm_up, workers=[w], pure=False)
                       for w in client.scheduler_info()["workers"]])
        result = run_dask(n_rows, route, client)
        result["worker_peak"] = max(client.run(peak_mib).values())
        if model_bytes:
            result["noop_fit"] = run_dask(n_rows, route, client, NoOp(model_bytes))["fit"]
    return result


def _warm_up():
    X, y = make_block(0, 1000)
    return make_model().partial_fit(X, y, classes=np.arange(N_CLASSES)).predict(X)


def child(mode, n_rows, model_bytes):
    """One measurement; ``mode`` is 'loop', 'threads-<route>' or 'cluster-<route>'."""
    warnings.simplefilter("ignore")
    where, _, route = mode.partition("-")
    if where == "loop":
        result = run_loop(n_rows)
    elif where == "threads":
        result = run_dask(n_rows, route)
    else:
        result = run_cluster(n_rows, route, model_bytes)
    result["peak"] = peak_mib()
    print(json.dumps(result))


def measure(mode, n_rows, model_bytes=0):
    out = subprocess.run([sys.executable, "-m", "bench.dask_scale", "--child", mode,
                          str(n_rows), str(model_bytes)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- the report ----------------------------------------------------------------------------
RUNS = {"loop": "in-process partial_fit loop",
        "threads-incremental": "Incremental, threaded scheduler",
        "threads-fit_blocks": "pnet.dask.fit_blocks, threaded scheduler",
        "cluster-incremental": "Incremental, LocalCluster 2 x 1",
        "cluster-fit_blocks": "pnet.dask.fit_blocks, LocalCluster 2 x 1"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_mode_arguments(parser, quick="1e5 and 3e5 rows", full="adds 1e7 rows (~15 min)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], int(args.child[1]), int(args.child[2]))
    mode = mode_name(args)
    sizes = {"quick": [100_000, 300_000], "default": [100_000, 1_000_000],
             "full": [100_000, 1_000_000, 10_000_000]}[mode]
    cluster_sizes = sizes[:2]
    info = machine_info()
    for name in ("dask", "distributed", "dask_ml", "scipy"):
        info[name] = importlib.metadata.version(name.replace("_", "-"))
    print(f"# bench.dask_scale ({mode})\n\n```text\n{format_machine_info(info)}\n```")
    print(f"block {BLOCK:,} rows x {N_FEATURES} float32 features "
          f"({BLOCK * N_FEATURES * 4 / 2**20:.1f} MiB), {N_CLASSES} classes", flush=True)

    results = {}
    for n_rows in sizes:
        for run in RUNS:
            if run.startswith("cluster") and n_rows not in cluster_sizes:
                continue
            model_bytes = results["loop", n_rows]["model_bytes"] \
                if run == "cluster-incremental" and n_rows == cluster_sizes[-1] else 0
            results[run, n_rows] = measure(run, n_rows, model_bytes)
            r = results[run, n_rows]
            print(f"{run} {n_rows:,}: {json.dumps(r)}", flush=True)
    rows = []
    for (run, n_rows), r in results.items():
        peak = r.get("worker_peak", r["peak"])
        first = results[run, sizes[0]]
        rows.append([f"{n_rows:,}", RUNS[run], f"{peak:.0f}",
                     f"{peak / first.get('worker_peak', first['peak']):.2f}×",
                     f"{r['fit']:.1f}", f"{r['predict']:.1f}",
                     f"{r['correct'] / n_rows:.4f}", r["digest"]])
    print_section("Peak RSS against rows (a fresh process per row; cluster: its largest "
                  "worker)", markdown_table(
                      ["rows", "run", "peak RSS MiB", "/ at 1e5 rows", "fit s", "predict s",
                       "accuracy", "weights sha256"], rows))
    same = all(r["digest"] == results["loop", n]["digest"]
               and r["correct"] == results["loop", n]["correct"]
               for (run, n), r in results.items())
    print(f"identical weights and correct-count in every run at each size: {same}")
    if sizes[-1] == 10_000_000:
        for run in ("loop", "threads-incremental", "threads-fit_blocks"):
            ratio = results[run, sizes[-1]]["peak"] / results[run, sizes[0]]["peak"]
            print(GOAL_MEMORY.line(ratio, f"{RUNS[run]}: {ratio:.2f}×"))

    n_rows = cluster_sizes[-1]
    loop, n_blocks = results["loop", n_rows], n_rows // BLOCK
    cluster = results["cluster-incremental", n_rows]
    overhead = cluster["noop_fit"] - loop["drawing"]
    lines = [f"scheduling overhead: Incremental with a no-op partial_fit "
             f"({loop['model_bytes']:,}-byte model) {cluster['noop_fit']:.2f} s, less the "
             f"loop's block drawing {loop['drawing']:.2f} s = {overhead:.2f} s "
             f"({overhead / n_blocks * 1e3:.0f} ms per block)"]
    for run in ("cluster-incremental", "cluster-fit_blocks"):
        r = results[run, n_rows]
        extra = r["fit"] - loop["fit"]
        lines.append(f"{RUNS[run]}: fit {r['fit']:.2f} s / loop {loop['fit']:.2f} s = "
                     f"{r['fit'] / loop['fit']:.2f}×, {extra:+.2f} s "
                     f"({'within' if extra <= max(overhead, 0) else 'beyond'} the overhead); "
                     f"predict {r['predict']:.2f} s / loop {loop['predict']:.2f} s = "
                     f"{r['predict'] / loop['predict']:.2f}×")
    print_section(f"2-worker cluster against the in-process loop, {n_rows:,} rows",
                  "\n".join(lines))


if __name__ == "__main__":
    main()
