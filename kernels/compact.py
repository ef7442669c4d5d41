"""Dense rows to the projection net's first layer in one pass (``CompactProjectionNet``).

The fused version of what the estimator does in two kernels
(``projection.dense_rows`` to packed bits, then the first layer on them), for
dense input, a block of rows at a time (``block_lanes``: 4 float rows, or 8 uint8 rows
with exact float32 sums):

1. ``acc[k, r] = <x_r, r_k>`` by the projection sums of ``pnet.kernels.projection``
   (``block_sums`` on the hyperplanes' dense cache tuple: ternary lists, a
   sparse_sign table or a gaussian matrix) and packed (``pack_lanes``): the
   functions the estimator's projection runs, so the bits are the same bits.
2. the first layer on each row's packed bits, with the row formulas of
   ``pnet.kernels.bits``: float32 weights by ``gather_add`` (ascending k) on the
   list of set bits (``set_bits``), quantised weights by ``plane_add_int8`` (an
   exact int32 sum by popcounts over the weights' bit planes, then ``* scale +
   bias``): the very functions the packed path runs.

The same functions, so ``z`` is bitwise the two-kernel result by construction.
Speed comes from doing less: the packed words of a block stay in a 4-row scratch
instead of a (n, n_words) array written and re-read, the set bits are listed
without a branch (so the float32 gather loop has no "is this bit set?" test), and
for quantised weights the popcounts replace ~3,600 int8 additions per MNIST row
(720 bits, 10 classes) by 960 AND+POPCNT pairs (``python -m bench.compact``,
``python -m bench.instructions``).

Every kernel checks that its rows are finite as it reads them (``block_sums``
returns the non-finite rows of a block), so the compact model needs no separate
pass over a batch (sklearn's ``check_array`` spends ~16 % of an int8 predict of
10,000 MNIST rows on it). Batch kernels run rows [start, stop), each call owning
its scratch (``pnet._hyperplanes.over_rows`` runs ranges of rows on threads), and
write ``finite[i]``; the single-row kernels run one row through the one-row
forms of the same functions (``row_sums``, ``pack_row``; the same first layer),
are serial (waking a thread costs more than a row's work), use the caller's
scratch and return ``argmax(z)`` (first maximum, as numpy), or -1 for a
non-finite row.
"""
import numpy as np

from ._jit import jit
from .bits import gather_add, plane_add_int8, set_bits
from .lanes import LANES, block_lanes, block_sums_of
from .projection import block_sums, cache_of, pack_lanes, pack_row, row_sums


# -- pieces ----------------------------------------------------------------------------
@jit(inline="always")  # a few lines, called once per row kernel: no compile of its own
def first_max(z):
    best = 0
    for c in range(1, z.shape[0]):
        if z[c] > z[best]:
            best = c
    return best


@jit(inline="always")
def mark_finite(bad, first, nrow, finite):
    """finite[first + r] = row r of a block is finite (bit r of ``bad`` clear)."""
    for r in range(nrow):
        finite[first + r] = ((bad >> r) & 1) == 0


# -- batches: out (n, fan_out) float32 ------------------------------------------------
# ``*_rows`` run rows [start, stop) serially; ``pnet._hyperplanes.over_rows`` runs
# ranges of a batch on threads through them. ``cache`` is the hyperplanes' dense
# cache tuple (``projection.block_sums``).
@jit
def float_rows(X, start, stop, cache, W, bias, finite, out):
    """First-layer pre-activations of dense rows, float32 W and bias with padded
    columns (``pnet._hyperplanes.pad_columns``); finite[i] = row i is."""
    n_bits = W.shape[0]
    width = block_lanes(X)
    mask = np.empty(X.shape[1], dtype=np.uint8)
    feats = np.empty(X.shape[1], dtype=np.int64)
    acc = block_sums_of(np.empty((n_bits, LANES)), X)
    packed = np.empty((width, (n_bits + 63) // 64), dtype=np.uint64)
    idx = np.empty(n_bits, dtype=np.int64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        mark_finite(block_sums(X, first, nrow, cache, mask, feats, acc), first, nrow, finite)
        pack_lanes(acc, nrow, packed)
        for r in range(nrow):
            gather_add(idx, set_bits(packed[r], n_bits, idx), W, bias, out[first + r])


@jit
def int8_rows(X, start, stop, cache, n_bits, planes, scale, bias, finite, out):
    """First-layer pre-activations of dense rows, integer weights as bit planes
    (``pnet._quantize.weight_planes``); finite[i] = row i is."""
    width = block_lanes(X)
    mask = np.empty(X.shape[1], dtype=np.uint8)
    feats = np.empty(X.shape[1], dtype=np.int64)
    acc = block_sums_of(np.empty((n_bits, LANES)), X)
    packed = np.empty((width, planes.shape[0]), dtype=np.uint64)
    counts = np.empty(planes.shape[1], dtype=np.int64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        mark_finite(block_sums(X, first, nrow, cache, mask, feats, acc), first, nrow, finite)
        pack_lanes(acc, nrow, packed)
        for r in range(nrow):
            plane_add_int8(packed[r], planes, scale, bias, counts, out[first + r])


# -- one row: z (fan_out,) float32 in the caller's scratch; returns argmax(z) or -1 ----
# ``x`` is the row, 1-D; c0, c1, c2 the dense cache's arrays, None past its length
# (``cache_of``); the scratch: feats (n_features,) int64, acc (n_bits,) float64,
# packed (n_words,) uint64. ``row_sums`` adds with the adders of ``block_sums``, one
# row's non-zero features in ascending order, and ``pack_row`` tests ``acc > 0`` as
# ``pack_lanes`` does: the bits of the batch kernels, by construction.
@jit
def float_row_kernel(x, c0, c1, c2, W, bias, feats, acc, packed, idx, z):
    if row_sums(x, cache_of(c0, c1, c2), feats, acc):
        return -1
    pack_row(acc, packed)
    gather_add(idx, set_bits(packed, W.shape[0], idx), W, bias, z)
    return first_max(z)


@jit
def int8_row_kernel(x, c0, c1, c2, planes, scale, bias, feats, acc, packed, counts, z):
    if row_sums(x, cache_of(c0, c1, c2), feats, acc):
        return -1
    pack_row(acc, packed)
    plane_add_int8(packed, planes, scale, bias, counts, z)
    return first_max(z)
