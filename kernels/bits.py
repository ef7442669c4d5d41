"""Packed bits and the projection net's first layer on them.

Layout: a row of ``n_bits`` bits is ``ceil(n_bits / 64)`` uint64 words; bit k
lives in word ``k // 64`` at position ``k % 64`` (least significant bit first);
the unused high bits of the last word are 0.

The first layer of the projection net on bits ``b`` is a gather-add,
``z = bias + sum_{k : b_k = 1} W[k]``, i.e. ``b @ W + bias`` without
multiplications; its weight gradient ``dW = b.T @ dZ`` is the matching
scatter-add. Both add in ascending order (bits for the gather, rows for the
scatter), so results do not depend on the thread count.
"""
import numpy as np
from numba import prange

from ._jit import parallel_jit

_ONE = np.uint64(1)


@parallel_jit
def pack_kernel(B, out):
    """B (n, n_bits) of 0/non-zero -> out (n, n_words) uint64."""
    n, n_bits = B.shape
    for i in prange(n):
        for w in range(out.shape[1]):
            word = np.uint64(0)
            for b in range(min(64, n_bits - 64 * w)):
                if B[i, 64 * w + b] != 0:
                    word |= _ONE << np.uint64(b)
            out[i, w] = word


@parallel_jit
def unpack_kernel(packed, out):
    """packed (n, n_words) -> out (n, n_bits) of 0/1 in out's dtype."""
    n, n_bits = out.shape
    for i in prange(n):
        for k in range(n_bits):
            out[i, k] = (packed[i, k >> 6] >> np.uint64(k & 63)) & _ONE


@parallel_jit
def gather_add_kernel(packed, W, bias, out):
    """out[i] = bias + sum over set bits k of row i of W[k]  (ascending k)."""
    n = packed.shape[0]
    n_bits, n_out = W.shape
    for i in prange(n):
        for c in range(n_out):
            out[i, c] = bias[c]
        for w in range(packed.shape[1]):
            word = packed[i, w]
            if word == 0:
                continue
            for b in range(min(64, n_bits - 64 * w)):
                if (word >> np.uint64(b)) & _ONE:
                    k = 64 * w + b
                    for c in range(n_out):
                        out[i, c] += W[k, c]


@parallel_jit
def scatter_add_kernel(packed, G, out):
    """out[k] = sum over rows i with bit k set of G[i]  (ascending i).

    Parallel over words: each word's 64 output rows belong to one iteration.
    """
    n = packed.shape[0]
    n_bits, n_out = out.shape
    for w in prange(packed.shape[1]):
        for b in range(min(64, n_bits - 64 * w)):
            for c in range(n_out):
                out[64 * w + b, c] = 0.0
        for i in range(n):
            word = packed[i, w]
            if word == 0:
                continue
            for b in range(min(64, n_bits - 64 * w)):
                if (word >> np.uint64(b)) & _ONE:
                    k = 64 * w + b
                    for c in range(n_out):
                        out[k, c] += G[i, c]
