"""Dense rows to the projection net's first layer in one pass (``CompactProjectionNet``).

The fused version of what the estimator does in two kernels
(``projection.dense_rows`` to packed bits, then the first layer on them), for
dense input, a block of rows at a time (``block_rows``: 8 rows in float64 lanes, or
16 uint8 rows in two halves of float32 lanes with exact sums):

1. the block's packed bits by ``pnet.kernels.projection.group_bits`` on the
   hyperplanes' bit groups (``Hyperplanes.block_cache``: +-1 entries, sparse_sign,
   ternary and local): the function the estimator's projection runs, so the bits are
   the same bits. (Gaussian models project first, then run the layer on the bits.)
2. the first layer on each row's packed bits, with the row formulas of
   ``pnet.kernels.bits``: float32 weights by ``gather_add`` (ascending k) on the
   list of set bits (``set_bits``), quantised weights by ``plane_add_int8_block``
   (an exact int32 sum by popcounts over the weights' bit planes, ``plane_sum``,
   then ``* scale + bias``, ``counts_to_z``; every row's counts of the block before
   any row's sums): the very functions the packed path runs.

The same functions, so ``z`` is bitwise the two-kernel result by construction.
Speed comes from doing less: the packed words of a block stay in an 8-row scratch
instead of a (n, n_words) array written and re-read, the set bits are listed
without a branch (so the float32 gather loop has no "is this bit set?" test), and
for quantised weights the popcounts replace ~3,600 int8 additions per MNIST row
(720 bits, 10 classes) by 960 AND+POPCNT pairs (``python -m bench.compact``,
``python -m bench.instructions``).

Every kernel checks that its rows are finite as it reads them (``group_bits``
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
from .bits import (SET_BITS_PAD, gather_add, plane_add_int8, plane_add_int8_block,
                   set_bits)
from .lanes import words_view
from .projection import block_rows, cache_of, group_bits, group_scratch, pack_row, row_sums


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
# ranges of a batch on threads through them. ``groups`` is the hyperplanes' bit groups
# (``Hyperplanes.block_cache()[1:]``, ``projection.group_bits``).
@jit
def float_rows(X, start, stop, groups, W, bias, finite, out):
    """First-layer pre-activations of dense rows, float32 W and bias with padded
    columns (``pnet._hyperplanes.pad_columns``); finite[i] = row i is."""
    n_bits = W.shape[0]
    width = block_rows(X)
    table, masks = group_scratch(X, n_bits)
    packed = np.empty((width, (n_bits + 63) // 64), dtype=np.uint64)
    idx = np.empty(n_bits + SET_BITS_PAD, dtype=np.int64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        mark_finite(group_bits(X, first, nrow, groups[0], groups[1], groups[2], groups[3],
                               table, masks, packed), first, nrow, finite)
        for r in range(nrow):
            gather_add(idx, set_bits(packed[r], n_bits, idx), W, bias, out[first + r])


@jit
def int8_rows(X, start, stop, groups, n_bits, planes, scale, bias, finite, out):
    """First-layer pre-activations of dense rows, integer weights as bit planes
    (``pnet._quantize.weight_planes``); finite[i] = row i is."""
    width = block_rows(X)
    table, masks = group_scratch(X, n_bits)
    packed = np.empty((width, planes.shape[0]), dtype=np.uint64)
    counts = np.empty((width, planes.shape[1]), dtype=np.int64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        mark_finite(group_bits(X, first, nrow, groups[0], groups[1], groups[2], groups[3],
                               table, masks, packed), first, nrow, finite)
        plane_add_int8_block(packed[:nrow], planes, scale, bias, counts,
                             out[first:first + nrow])


# -- one row: z (fan_out,) float32 in the caller's scratch; returns argmax(z) or -1 ----
# ``x`` is the row, 1-D; c0, c1, c2 the dense cache's arrays, None past its length
# (``cache_of``); ``model`` the first layer's weights and ``work`` the scratch, each one
# array with a header of offsets (``row_model``, ``row_work``): numba's dispatcher spends
# ~0.1 us typing and unboxing each array argument, and a call with 12 of them spent a
# third of ``predict_one`` there. ``row_sums`` adds with the adders of ``feature_sums``,
# one row's non-zero features in ascending order, and ``pack_row`` tests ``acc > 0`` as
# ``pack_lanes`` does: the bits of the batch kernels, by construction.

#: work's header: the starts of feats, acc, packed, ints and z, the end, len(z)
WORK_HEADER = 7
#: model's header: the matrix's rows and columns, the starts of the matrix and of the
#: two float32 vectors, their lengths
MODEL_HEADER = 7


def row_work(n_features, n_bits, n_ints, n_out):
    """(work, z): the one-row kernels' scratch, an int64 array, and z, the float32 view
    of it the kernel writes the first layer's pre-activations to. Its sections
    (``work_views``): feats (n_features,) int64, acc (n_bits,) float64, packed
    (n_words,) uint64, ints (n_ints,) int64 (popcounts or set bits), z."""
    sizes = (n_features, n_bits, (n_bits + 63) // 64, n_ints, (n_out + 1) // 2)
    starts = np.cumsum((WORK_HEADER,) + sizes)
    work = np.zeros(starts[-1], dtype=np.int64)
    work[:WORK_HEADER] = (*starts, n_out)
    return work, work[starts[4]:starts[5]].view(np.float32)[:n_out]


def row_model(matrix, v1, v2):
    """The one-row kernels' weights as one int64 array: a header, ``matrix`` (C order,
    a whole number of 8-byte words: uint64 planes, or float32 with an even number of
    columns) and the float32 vectors v1, v2 (``model_views``)."""
    parts = [np.ascontiguousarray(matrix).reshape(-1).view(np.int64)]
    for v in (v1, v2):
        v = np.asarray(v, dtype=np.float32)
        parts.append(np.concatenate([v, np.zeros(len(v) % 2, np.float32)]).view(np.int64))
    starts = np.cumsum([MODEL_HEADER] + [len(p) for p in parts])
    header = np.array([*matrix.shape, *starts[:3], len(v1), len(v2)], dtype=np.int64)
    return np.concatenate([header] + parts)


@jit(inline="always")
def work_views(work):
    """(feats, acc, packed, ints, z) of ``row_work``'s array."""
    return (words_view(work, work[0], work[1] - work[0], np.int64),
            words_view(work, work[1], work[2] - work[1], np.float64),
            words_view(work, work[2], work[3] - work[2], np.uint64),
            words_view(work, work[3], work[4] - work[3], np.int64),
            words_view(work, work[4], work[6], np.float32))


@jit(inline="always")
def model_views(model, dtype):
    """(matrix of ``dtype``, v1, v2) of ``row_model``'s array."""
    return (words_view(model, model[2], (model[0], model[1]), dtype),
            words_view(model, model[3], model[5], np.float32),
            words_view(model, model[4], model[6], np.float32))


@jit
def float_row_kernel(x, c0, c1, c2, model, work):
    """model: ``row_model(W, bias, empty)``, the padded float32 weights (``pad_columns``)."""
    feats, acc, packed, idx, z = work_views(work)
    W, bias, _ = model_views(model, np.float32)
    if row_sums(x, cache_of(c0, c1, c2), feats, acc):
        return -1
    pack_row(acc, packed)
    gather_add(idx, set_bits(packed, W.shape[0], idx), W, bias, z)
    return first_max(z)


@jit
def int8_row_kernel(x, c0, c1, c2, model, work):
    """model: ``row_model(planes, scale, bias)``, the weights' bit planes."""
    feats, acc, packed, counts, z = work_views(work)
    planes, scale, bias = model_views(model, np.uint64)
    if row_sums(x, cache_of(c0, c1, c2), feats, acc):
        return -1
    pack_row(acc, packed)
    plane_add_int8(packed, planes, scale, bias, counts, z)
    return first_max(z)
