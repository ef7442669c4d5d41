"""Dense rows to the projection net's first layer in one pass (``CompactProjectionNet``).

The fused version of what the estimator does in two kernels
(``projection.dense_*_kernel`` to packed bits, then ``bits.gather_add_kernel``),
for dense input, row by row:

1. ``acc[k] = <x, r_k>`` by the projection sums of ``pnet.kernels.projection``
   (``dense_sums`` on the hyperplanes' dense cache tuple: ternary lists, a
   sparse_sign table or a gaussian matrix), the functions the estimator's
   projection runs, so the bits ``acc[k] > 0`` are the same bits.
2. the first layer on those bits, with the row formulas of ``pnet.kernels.bits``:
   float32 weights by ``gather_add`` (ascending k) on the list of positive sums
   (``projection.positive_bits``), the very function the packed path calls on
   its list of set bits; quantised weights by ``plane_add_int8`` (an exact
   int32 sum by popcounts over the weights' bit planes, then ``* scale +
   bias``) on the row's packed bits (``projection.pack_row``), the very
   functions the packed path runs.

The same functions, so ``z`` is bitwise the two-kernel result by construction.
Speed comes from doing less: no packed words are written and re-read for
float32, whose set bits are first compacted into an index list without a
branch (``positive_bits``), so the gather loop has no "is this bit set?" test,
which mispredicts about every other bit when half the bits are set; the
non-zero features are listed the same way. For quantised weights the popcounts
replace ~3,600 int8 additions per MNIST row (720 bits, 10 classes) by 960
AND+POPCNT pairs (``python -m bench.compact``, ``python -m bench.instructions``).

Every kernel checks that its rows are finite as it reads them (``dense_sums``
returns it: one comparison per non-zero value), so the compact model needs no
separate pass over a batch (sklearn's ``check_array`` spends ~16 % of an int8
predict of 10,000 MNIST rows on it). Batch kernels parallelise over blocks of
rows (``prange``), each block owning its scratch, and write ``finite[i]``; the
single-row kernels are serial (waking a thread pool costs more than a row's
work), use the caller's scratch and return ``argmax(z)`` (first maximum, as
numpy), or -1 for a non-finite ``x``.
"""
import numpy as np
from numba import prange

from ._jit import jit, parallel_jit
from .bits import gather_add, plane_add_int8
from .projection import dense_sums, pack_row, positive_bits


# -- pieces ----------------------------------------------------------------------------
@jit
def first_max(z):
    best = 0
    for c in range(1, z.shape[0]):
        if z[c] > z[best]:
            best = c
    return best


# -- batches: out (n, fan_out) float32 ------------------------------------------------
# ``*_rows`` run rows [start, stop) serially (the caller uses them directly for a
# batch of at most one block: a parallel launch would only add its overhead);
# ``*_kernel`` run blocks of ``block`` rows in parallel through them. ``cache`` is
# the hyperplanes' dense cache tuple (``projection.dense_sums``).
@jit
def float_rows(X, start, stop, cache, W, bias, finite, out):
    """First-layer pre-activations of dense rows, float32 W; finite[i] = row i is."""
    nz = np.empty(X.shape[1], dtype=np.int64)
    acc = np.empty(W.shape[0])
    idx = np.empty(W.shape[0], dtype=np.int64)
    for i in range(start, stop):
        finite[i] = dense_sums(X[i], cache, nz, acc)
        gather_add(idx, positive_bits(acc, idx), W, bias, out[i])


@jit
def int8_rows(X, start, stop, cache, n_bits, planes, scale, bias, finite, out):
    """First-layer pre-activations of dense rows, integer weights as bit planes
    (``pnet._quantize.weight_planes``); finite[i] = row i is."""
    nz = np.empty(X.shape[1], dtype=np.int64)
    acc = np.empty(n_bits)
    packed = np.empty(planes.shape[2], dtype=np.uint64)
    iacc = np.empty(planes.shape[0], dtype=np.int32)
    for i in range(start, stop):
        finite[i] = dense_sums(X[i], cache, nz, acc)
        pack_row(acc, packed)
        plane_add_int8(packed, planes, scale, bias, iacc, out[i])


@parallel_jit
def float_kernel(X, cache, W, bias, finite, block, out):
    n = X.shape[0]
    for blk in prange((n + block - 1) // block):
        float_rows(X, blk * block, min(n, (blk + 1) * block), cache, W, bias, finite, out)


@parallel_jit
def int8_kernel(X, cache, n_bits, planes, scale, bias, finite, block, out):
    n = X.shape[0]
    for blk in prange((n + block - 1) // block):
        int8_rows(X, blk * block, min(n, (blk + 1) * block), cache, n_bits, planes, scale,
                  bias, finite, out)


# -- one row: z (fan_out,) float32 in the caller's scratch; returns argmax(z) or -1 ----
@jit
def float_row_kernel(x, cache, W, bias, nz, acc, idx, z):
    if not dense_sums(x, cache, nz, acc):
        return -1
    gather_add(idx, positive_bits(acc, idx), W, bias, z)
    return first_max(z)


@jit
def int8_row_kernel(x, cache, planes, scale, bias, nz, acc, packed, iacc, z):
    if not dense_sums(x, cache, nz, acc):
        return -1
    pack_row(acc, packed)
    plane_add_int8(packed, planes, scale, bias, iacc, z)
    return first_max(z)
