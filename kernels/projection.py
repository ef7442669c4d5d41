"""Inputs to packed projection bits: ``bit k = 1 if <x, r_k> > 0 else 0``.

Every kernel accumulates ``<x, r_k>`` in float64, one feature at a time, in the
order the features are stored (ascending column index; the wrappers sort CSR
indices), skipping zero entries of ``x`` (adding ``0 * r`` cannot change the
sign test, so skipping is exact). The result of a row therefore depends on
nothing but the row: not the batch it comes in, not the thread count, and dense
and CSR inputs of the same data give the same bits.

Kernels parallelise over blocks of rows (``prange``); each block owns its
scratch accumulator and writes only its own output rows.

Packed layout (see ``pnet.kernels.bits``): bit k in word ``k // 64`` at position
``k % 64``, least significant bit first; unused high bits of the last word are 0.
"""
import numpy as np
from numba import prange

from ._jit import jit, parallel_jit
from .hashing import TERNARY, entry_hash, feature_key, gaussian_entry, ternary_entry


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


@parallel_jit
def dense_ternary_kernel(X, indptr, bits, signs, n_bits, block, out):
    """Dense X (n, D) with a ternary hyperplane cache (per-feature bit lists).

    ``indptr``/``bits``/``signs`` are the CSR-by-feature lists built by
    ``hashing.ternary_lists_kernel``; the row is scattered feature by feature.
    """
    n, n_features = X.shape
    n_blocks = (n + block - 1) // block
    for blk in prange(n_blocks):
        acc = np.empty(n_bits)
        for i in range(blk * block, min(n, (blk + 1) * block)):
            acc[:] = 0.0
            for j in range(n_features):
                x = np.float64(X[i, j])
                if x != 0.0:
                    for p in range(indptr[j], indptr[j + 1]):
                        acc[bits[p]] += signs[p] * x
            pack_row(acc, out[i])


@parallel_jit
def dense_matrix_kernel(X, R, block, out):
    """Dense X (n, D) against a materialised hyperplane matrix R (D, n_bits)."""
    n, n_features = X.shape
    n_bits = R.shape[1]
    n_blocks = (n + block - 1) // block
    for blk in prange(n_blocks):
        acc = np.empty(n_bits)
        for i in range(blk * block, min(n, (blk + 1) * block)):
            acc[:] = 0.0
            for j in range(n_features):
                x = np.float64(X[i, j])
                if x != 0.0:
                    for k in range(n_bits):
                        acc[k] += x * R[j, k]
            pack_row(acc, out[i])


@parallel_jit
def csr_kernel(data, features, indptr, key, kind, threshold, n_bits, block, out):
    """CSR rows, hyperplane entries hashed on the fly for each stored non-zero.

    ``features`` holds uint64 feature ids (column indices, or hashed n-grams);
    no (n_features, n_bits) matrix exists, so the feature space is unbounded.
    """
    n = indptr.shape[0] - 1
    n_blocks = (n + block - 1) // block
    for blk in prange(n_blocks):
        acc = np.empty(n_bits)
        for i in range(blk * block, min(n, (blk + 1) * block)):
            acc[:] = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                x = np.float64(data[p])
                if x != 0.0:
                    fkey = feature_key(key, features[p])
                    if kind == TERNARY:
                        for k in range(n_bits):
                            e = ternary_entry(entry_hash(fkey, k), threshold)
                            if e != 0.0:
                                acc[k] += e * x
                    else:
                        for k in range(n_bits):
                            acc[k] += x * gaussian_entry(entry_hash(fkey, k))
            pack_row(acc, out[i])
