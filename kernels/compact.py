"""Dense rows to the projection net's first layer in one pass (``CompactProjectionNet``).

The fused version of what the estimator does in two kernels
(``projection.dense_rows`` to packed bits, then the first layer on them), for
dense input, a block of rows at a time (``block_rows``: 8 rows in float64 lanes, or
16 uint8 rows in one 16-lane float32 vector, ``WideLanes``, with exact sums):

1. the block's packed bits by ``pnet.kernels.projection.group_bits`` on the
   hyperplanes' bit groups (``Hyperplanes.groups_for``: +-1 entries, sparse_sign,
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
from .lanes import row_sums_of, word_matrix, word_vector
from .projection import block_rows, group_bits, group_scratch, pack_row, row_sums


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
# (``Hyperplanes.groups_for(X)``, ``projection.group_bits``).
@jit
def float_rows(X, start, stop, groups, W, bias, finite, out):
    """First-layer pre-activations of dense rows, float32 W and bias with padded
    columns (``pnet._hyperplanes.pad_columns``); finite[i] = row i is."""
    n_bits = W.shape[0]
    table, masks = group_scratch(X, groups[3], n_bits)
    width = block_rows(table)
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
    table, masks = group_scratch(X, groups[3], n_bits)
    width = block_rows(table)
    packed = np.empty((width, planes.shape[0]), dtype=np.uint64)
    counts = np.empty((width, planes.shape[1]), dtype=np.int64)
    for first in range(start, stop, width):
        nrow = min(width, stop - first)
        mark_finite(group_bits(X, first, nrow, groups[0], groups[1], groups[2], groups[3],
                               table, masks, packed), first, nrow, finite)
        plane_add_int8_block(packed[:nrow], planes, scale, bias, counts,
                             out[first:first + nrow])


# -- one row: z (fan_out,) float32 in the caller's scratch; returns argmax(z) or -1 ----
# ``kernel(x, model, work)``: ``x`` the row, 1-D; ``model`` the first layer's weights and
# the hyperplanes' dense cache, ``work`` the scratch, each one int64 array of sections
# (``pack_words``; ``row_model``, ``row_work``). numba's dispatcher spends ~0.1 us
# typing and unboxing each array argument: a call with 12 of them spent a third of
# ``predict_one`` there, and with 6 (the cache's arrays apart) ~0.4 us more than with
# these 3 (``bench/RESULTS.md``, "The cache in the model array"). The cache's layout
# is a constant of the kernel (one kernel per layout and arithmetic: ``ROW_KERNELS``),
# so the kernel knows the types of its sections. ``row_sums`` adds with the adders of
# ``feature_sums``, one row's non-zero features in ascending order, and ``pack_row``
# tests ``acc > 0`` as ``pack_lanes`` does: the bits of the batch kernels, by
# construction.

def pack_words(arrays):
    """One int64 array holding ``arrays`` (1-D or 2-D, each in C order and padded to a
    whole number of 8-byte words) after a header of 3 int64 per array: its start, in
    words, and its shape (n0, n1; n1 = 1 for a 1-D array). jit code reads section i
    as ``word_vector(buf, i, dtype)`` or ``word_matrix(buf, i, dtype)``; the sections
    are views of it, in numpy ``sections(buf, dtypes)``."""
    parts, header = [], []
    start = 3 * len(arrays)
    for a in arrays:
        a = np.ascontiguousarray(a)
        if a.ndim not in (1, 2):
            raise ValueError(f"pack_words packs 1-D and 2-D arrays, got {a.ndim}-D")
        raw = a.reshape(-1).view(np.uint8)
        words = np.zeros(-(-raw.size // 8), dtype=np.int64)
        words.view(np.uint8)[:raw.size] = raw
        header += [start, a.shape[0], a.shape[1] if a.ndim == 2 else 1]
        parts.append(words)
        start += words.size
    return np.concatenate([np.array(header, dtype=np.int64)] + parts)


def sections(buf, dtypes):
    """The sections of a ``pack_words`` array as flat numpy views of it, of ``dtypes``
    (the writer's dtypes: the header holds shapes, not types)."""
    out = []
    for i, dtype in enumerate(dtypes):
        start, n0, n1 = (int(v) for v in buf[3 * i:3 * i + 3])
        count = n0 * n1
        words = -(-count * np.dtype(dtype).itemsize // 8)
        out.append(buf[start:start + words].view(dtype)[:count])
    return out


#: the dtypes of the dense cache's arrays, by layout (``Hyperplanes.dense_cache``)
CACHE_DTYPES = {"table": (np.int32, np.float64),  # bits, signs (n_features, E)
                "lists": (np.int64, np.int64, np.int32),  # indptr, split, bits
                "matrix": (np.float64,)}  # R (n_features, n_bits)


def row_model(cache, matrix, v1, v2):
    """The one-row kernels' model, one int64 array (``pack_words``): sections 0-2 the
    first layer (``matrix``: float32 weights with padded columns, or uint64 bit
    planes; the float32 vectors v1, v2), then the dense cache's arrays (``cache``:
    ``Hyperplanes.dense_cache()``, its layout name first), a copy: one argument
    instead of four. For a gaussian model's float64 matrix the copy is as large as
    the cache (at most ``MAX_CACHE_ENTRIES`` * 8 bytes)."""
    layout, arrays = cache[0], cache[1:]
    if tuple(a.dtype for a in arrays) != CACHE_DTYPES[layout]:  # the kernels' types
        raise TypeError(f"a '{layout}' cache of dtypes {[a.dtype for a in arrays]}, "
                        f"expected {CACHE_DTYPES[layout]}")
    return pack_words([matrix, np.asarray(v1, dtype=np.float32),
                       np.asarray(v2, dtype=np.float32), *arrays])


def row_work(n_features, n_bits, n_ints, n_out):
    """(work, z): the one-row kernels' scratch, one int64 array (``pack_words``), and
    z, the float32 view of it the kernel writes the first layer's pre-activations to.
    Its sections (``work_views``): feats (n_features,) int64, acc (n_bits,) float64,
    packed (n_words,) uint64, ints (n_ints,) int64 (popcounts or set bits), z."""
    dtypes = (np.int64, np.float64, np.uint64, np.int64, np.float32)
    sizes = (n_features, n_bits, (n_bits + 63) // 64, n_ints, n_out)
    work = pack_words([np.zeros(n, dtype=t) for n, t in zip(sizes, dtypes)])
    return work, sections(work, dtypes)[4]


@jit(inline="always")
def work_views(work, x):
    """(feats, acc, packed, ints, z) of ``row_work``'s array for the row x: acc in
    the dtype of x's sums (``row_sums_of``)."""
    return (word_vector(work, 0, np.int64), row_sums_of(word_vector(work, 1, np.float64), x),
            word_vector(work, 2, np.uint64), word_vector(work, 3, np.int64),
            word_vector(work, 4, np.float32))


@jit(inline="always")
def table_of(model):
    """The 'table' cache of a ``row_model`` array: (bits, signs)."""
    return word_matrix(model, 3, np.int32), word_matrix(model, 4, np.float64)


@jit(inline="always")
def lists_of(model):
    """The 'lists' cache of a ``row_model`` array: (indptr, split, bits)."""
    return (word_vector(model, 3, np.int64), word_vector(model, 4, np.int64),
            word_vector(model, 5, np.int32))


@jit(inline="always")
def matrix_of(model):
    """The 'matrix' cache of a ``row_model`` array: (R,)."""
    return (word_matrix(model, 3, np.float64),)


@jit(inline="always")
def float_row(x, cache, model, work):
    """model: ``row_model(cache, W, bias, empty)``, the padded float32 weights
    (``pad_columns``)."""
    feats, acc, packed, idx, z = work_views(work, x)
    W, bias = word_matrix(model, 0, np.float32), word_vector(model, 1, np.float32)
    if row_sums(x, cache, feats, acc):
        return -1
    pack_row(acc, packed)
    gather_add(idx, set_bits(packed, W.shape[0], idx), W, bias, z)
    return first_max(z)


@jit(inline="always")
def int8_row(x, cache, model, work):
    """model: ``row_model(cache, planes, scale, bias)``, the weights' bit planes."""
    feats, acc, packed, counts, z = work_views(work, x)
    if row_sums(x, cache, feats, acc):
        return -1
    pack_row(acc, packed)
    plane_add_int8(packed, word_matrix(model, 0, np.uint64), word_vector(model, 1, np.float32),
                   word_vector(model, 2, np.float32), counts, z)
    return first_max(z)


# The kernels, one per cache layout and arithmetic (each compiled on its first call).
@jit
def float_row_table(x, model, work):
    return float_row(x, table_of(model), model, work)


@jit
def float_row_lists(x, model, work):
    return float_row(x, lists_of(model), model, work)


@jit
def float_row_matrix(x, model, work):
    return float_row(x, matrix_of(model), model, work)


@jit
def int8_row_table(x, model, work):
    return int8_row(x, table_of(model), model, work)


@jit
def int8_row_lists(x, model, work):
    return int8_row(x, lists_of(model), model, work)


@jit
def int8_row_matrix(x, model, work):
    return int8_row(x, matrix_of(model), model, work)


#: (arithmetic, cache layout) -> the single-row kernel. Its model must be a ``row_model``
#: of that layout and arithmetic: the sections' header is read without checks, so any
#: other array is read as offsets and shapes (``CompactProjectionNet._row_setup`` builds
#: both from one ``Hyperplanes``).
ROW_KERNELS = {(None, "table"): float_row_table, (None, "lists"): float_row_lists,
               (None, "matrix"): float_row_matrix, ("int8", "table"): int8_row_table,
               ("int8", "lists"): int8_row_lists, ("int8", "matrix"): int8_row_matrix}
