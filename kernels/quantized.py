"""int8 weights on packed bits: the quantised projection net's first layer.

Symmetric per-output-unit quantisation (``pnet.compact``) stores
``W[:, c] ~= scale[c] * Wq[:, c]`` with ``Wq`` int8. On bits ``b`` the first
layer is then

    z[c] = bias[c] + scale[c] * sum_{k : b_k = 1} Wq[k, c]

and the sum is a sum of integers: ``gather_add_int8_kernel`` accumulates it in
int32, exactly, so the order of the additions (threads, blocks) cannot change
it. ``|sum| <= 128 * n_bits`` fits int32 for ``n_bits < 2**24``; the wrappers
check it. ``dequantize_kernel`` then applies ``float32(sum) * scale + bias`` in
float32, one multiplication and one addition per entry (no fused multiply-add:
the jit policy has no fastmath), the same two roundings as numpy's
``acc.astype(np.float32) * scale + bias``.

Packed layout (see ``pnet.kernels.bits``): bit k in word ``k // 64`` at position
``k % 64``, least significant bit first; unused high bits of the last word are 0.
"""
import numpy as np
from numba import prange

from ._jit import jit, parallel_jit

_ONE = np.uint64(1)


@jit
def set_bits(packed_row, n_bits, idx):
    """idx[:m] = the set bits k of a packed row, ascending; returns m (branch-free)."""
    m = 0
    for k in range(n_bits):
        idx[m] = k
        m += np.int64((packed_row[k >> 6] >> np.uint64(k & 63)) & _ONE)
    return m


@jit
def gather_add_int8_row(packed_row, Wq, idx, acc):
    """acc[c] = sum over set bits k of packed_row of Wq[k, c]  (int32, exact)."""
    n_bits, n_out = Wq.shape
    for c in range(n_out):
        acc[c] = 0
    for t in range(set_bits(packed_row, n_bits, idx)):
        k = idx[t]
        for c in range(n_out):
            acc[c] += Wq[k, c]


@parallel_jit
def gather_add_int8_kernel(packed, Wq, block, out):
    """out[i] = sum over set bits k of row i of Wq[k]: (n, n_out) int32, exact.

    Parallel over blocks of ``block`` rows; each block owns its scratch (the
    indices of a row's set bits, an int32 row).
    """
    n = packed.shape[0]
    n_bits, n_out = Wq.shape
    n_blocks = (n + block - 1) // block
    for blk in prange(n_blocks):
        idx = np.empty(n_bits, dtype=np.int64)
        acc = np.empty(n_out, dtype=np.int32)
        for i in range(blk * block, min(n, (blk + 1) * block)):
            gather_add_int8_row(packed[i], Wq, idx, acc)
            for c in range(n_out):
                out[i, c] = acc[c]


@parallel_jit
def dequantize_kernel(acc, scale, bias, out):
    """out[i, c] = float32(acc[i, c]) * scale[c] + bias[c], in float32."""
    n, n_out = acc.shape
    for i in prange(n):
        for c in range(n_out):
            out[i, c] = np.float32(acc[i, c]) * scale[c] + bias[c]
