"""Inputs to packed projection bits: ``bit k = 1 if <x, r_k> > 0 else 0``.

The projection sum ``acc[k] = <x, r_k>`` is written once per source of
hyperplane entries, for one row:

``dense_sums``   dense rows, from a cache of the hyperplanes in RAM
``hashed_sums``  entries hashed on the fly for the row's non-zero features
                 (CSR rows, and any model too wide to cache)

``dense_sums(x, cache, nz, acc)`` visits x's non-zero features and adds each
one's entries with the adder of the cache's layout (``add_feature``), the tuple of
arrays ``Hyperplanes.dense_cache`` holds: (indptr, split, bits), ternary
lists (``signed_lists_add``); (bits, signs), a sparse_sign table
(``table_add``); (R,), a gaussian matrix (``matrix_add``). numba picks the
adder from the tuple's type at compile time and inlines it (``inline="always"``:
left to LLVM, the two-loop ternary adder stayed a call per feature, +29,000
instructions per MNIST row), so the loop, and every row kernel that calls it, is
written once for every layout.

Each accumulates in float64, one feature at a time, in ascending feature order
(CSR rows are canonical: sorted ids, no repeats; the wrappers see to it),
skipping zero entries of ``x`` (adding ``0 * r`` cannot change the sign test,
so skipping is exact). A ternary entry is +-1, so ``acc[k] += x``,
``acc[k] -= x`` and ``acc[k] += e * x`` are the same operation: every source
gives the same sums, hence the same bits. A row's bits therefore depend
on nothing but the row: not the batch it comes in, not the thread count, and
dense and CSR inputs of the same data give the same bits.

The bits are then either packed (``pack_row``) or listed (``positive_bits``,
for the gather-add of ``pnet.kernels.bits``); both test ``acc[k] > 0``.

Batch kernels parallelise over blocks of rows (``prange``); each block owns its
scratch and writes only its own output rows. ``*_rows`` functions run rows
``[start, stop)`` serially (a batch of one block needs no thread pool).

Packed layout (see ``pnet.kernels.bits``): bit k in word ``k // 64`` at position
``k % 64``, least significant bit first; unused high bits of the last word are 0.
"""
import numpy as np
from numba import prange, types
from numba.extending import overload

from ._jit import jit, parallel_jit
from .hashing import (SPARSE_SIGN, TERNARY, entry_hash, feature_key, gaussian_entry,
                      sparse_sign_entries, ternary_entry)


# -- the projection sum, one row ----------------------------------------------------------
@jit
def nonzero_features(x, nz):
    """nz[:m] = the j with x[j] != 0, ascending; returns m (branch-free)."""
    m = 0
    for j in range(x.shape[0]):
        nz[m] = j
        m += x[j] != 0.0
    return m


@jit(inline="always")
def signed_lists_add(indptr, split, bits, j, v, acc):
    """Feature j's ternary entries from per-feature bit lists: its +1 bits are
    ``bits[indptr[j]:split[j]]``, its -1 bits ``bits[split[j]:indptr[j + 1]]``."""
    for p in range(indptr[j], split[j]):
        acc[bits[p]] += v
    for p in range(split[j], indptr[j + 1]):
        acc[bits[p]] -= v


@jit(inline="always")
def table_add(tbits, tsigns, j, v, acc):
    """Feature j's sparse_sign entries from a table of E per feature: ``tsigns[j, e]``
    at bit ``tbits[j, e]``, e < E (distinct bits)."""
    for e in range(tbits.shape[1]):
        acc[tbits[j, e]] += v * tsigns[j, e]


@jit(inline="always")
def matrix_add(R, j, v, acc):
    """Feature j's entries from the materialised matrix R (D, n_bits)."""
    for k in range(R.shape[1]):
        acc[k] += v * R[j, k]


def add_feature(cache, j, v, acc):
    """acc += v * r[j] from a dense cache tuple (jit code only): the layout's adder."""
    raise NotImplementedError("add_feature is a numba overload; call it from jit code")


@overload(add_feature, inline="always")
def _add_feature(cache, j, v, acc):
    if not isinstance(cache, types.BaseTuple):
        return None
    if len(cache) == 3:
        return lambda cache, j, v, acc: signed_lists_add(cache[0], cache[1], cache[2], j, v,
                                                         acc)
    if len(cache) == 2:
        return lambda cache, j, v, acc: table_add(cache[0], cache[1], j, v, acc)
    if len(cache) == 1:
        return lambda cache, j, v, acc: matrix_add(cache[0], j, v, acc)
    return None


@jit
def dense_sums(x, cache, nz, acc):
    """acc[k] = <x, r_k> of dense row x, from a dense cache tuple (``add_feature``).

    Returns whether x is finite: its zeros are, and each non-zero value is tested
    as it is read (NaN and +-inf fail ``|v| < inf``), so the check costs one
    comparison per non-zero feature instead of a pass over the row."""
    acc[:] = 0.0
    finite = True
    for t in range(nonzero_features(x, nz)):
        j = nz[t]
        v = np.float64(x[j])
        finite &= abs(v) < np.inf
        add_feature(cache, j, v, acc)
    return finite


@jit
def hashed_sums(data, features, start, stop, key, kind, threshold, n_entries, seen, ebits,
                esigns, acc):
    """acc[k] = <x, r_k> for the CSR row ``data[start:stop]`` at uint64 ``features``,
    each entry hashed on the fly: no (n_features, n_bits) matrix, no feature limit.

    sparse_sign draws each feature's ``n_entries`` entries (``sparse_sign_entries``,
    into the scratch ``seen``, ``ebits``, ``esigns``); ternary and gaussian hash
    every (feature, bit) pair."""
    acc[:] = 0.0
    n_bits = acc.shape[0]
    for p in range(start, stop):
        x = np.float64(data[p])
        if x != 0.0:
            fkey = feature_key(key, features[p])
            if kind == SPARSE_SIGN:
                sparse_sign_entries(fkey, n_bits, n_entries, seen, ebits, esigns)
                for e in range(n_entries):
                    acc[ebits[e]] += x * esigns[e]
            elif kind == TERNARY:
                for k in range(n_bits):
                    e = ternary_entry(entry_hash(fkey, k), threshold)
                    if e != 0.0:
                        acc[k] += e * x
            else:
                for k in range(n_bits):
                    acc[k] += x * gaussian_entry(entry_hash(fkey, k))


# -- sums to bits -----------------------------------------------------------------------
@jit
def pack_row(acc, out_row):
    """out_row[w] |= 1 << b for every k = 64 w + b with acc[k] > 0 (strictly)."""
    n_bits = acc.shape[0]
    for w in range(out_row.shape[0]):
        word = np.uint64(0)
        stop = min(64, n_bits - 64 * w)
        for b in range(stop):
            if acc[64 * w + b] > 0.0:
                word |= np.uint64(1) << np.uint64(b)
        out_row[w] = word


@jit
def positive_bits(acc, idx):
    """idx[:m] = the k with acc[k] > 0 (strictly), ascending; returns m (branch-free).

    The same bits as ``pack_row`` sets, as an index list for the gather-add.
    """
    m = 0
    for k in range(acc.shape[0]):
        idx[m] = k
        m += acc[k] > 0.0
    return m


# -- batches to packed bits ---------------------------------------------------------------
@jit
def dense_rows(X, start, stop, cache, n_bits, out):
    """Dense rows [start, stop) through a dense cache (``dense_sums``)."""
    nz = np.empty(X.shape[1], dtype=np.int64)
    acc = np.empty(n_bits)
    for i in range(start, stop):
        dense_sums(X[i], cache, nz, acc)
        pack_row(acc, out[i])


@parallel_jit
def dense_kernel(X, cache, n_bits, block, out):
    n = X.shape[0]
    for blk in prange((n + block - 1) // block):
        dense_rows(X, blk * block, min(n, (blk + 1) * block), cache, n_bits, out)


@jit
def csr_rows(data, start, stop, features, indptr, key, kind, threshold, n_entries, n_bits,
             out):
    """CSR rows [start, stop), hyperplane entries hashed on the fly (``hashed_sums``)."""
    acc = np.empty(n_bits)
    seen = np.zeros((n_bits + 63) // 64, dtype=np.uint64)
    ebits = np.empty(max(n_entries, 1), dtype=np.int64)
    esigns = np.empty(max(n_entries, 1))
    for i in range(start, stop):
        hashed_sums(data, features, indptr[i], indptr[i + 1], key, kind, threshold,
                    n_entries, seen, ebits, esigns, acc)
        pack_row(acc, out[i])


@parallel_jit
def csr_kernel(data, features, indptr, key, kind, threshold, n_entries, n_bits, block, out):
    n = indptr.shape[0] - 1
    for blk in prange((n + block - 1) // block):
        csr_rows(data, blk * block, min(n, (blk + 1) * block), features, indptr, key, kind,
                 threshold, n_entries, n_bits, out)
