"""Symmetric int8 quantisation of the projection net's weights, and the int8 first layer.

One float32 scale per output unit (column) c of a weight matrix W (fan_in, fan_out)::

    scale[c] = max_k |W[k, c]| / 127
    Wq[k, c] = round(W[k, c] / scale[c])          in [-127, 127], int8
    W[k, c] ~= scale[c] * Wq[k, c]                 error <= scale[c] / 2

An all-zero column gets ``scale = 0`` and ``Wq = 0`` (it dequantises to exact
zeros). Biases stay float32. The first layer on packed bits is an integer
gather-add (``pnet.kernels.bits.gather_add_int8``): ``z = float32(sum Wq[k]) * scale + bias``.

This module owns the arithmetic of quantisation and the int8 kernel wrappers;
the model object and its file live in ``pnet.compact``.
"""
import numpy as np

from ._hyperplanes import BLOCK_ROWS, over_rows
from .kernels import bits as _bits

INT8_MAX = 127
#: n_bits * 128 must stay below 2**31 for the int32 accumulators
MAX_INT8_BITS = (2**31 - 1) // 128


def quantize_columns(W):
    """(Wq int8, scale float32 (fan_out,)) with W[:, c] ~= scale[c] * Wq[:, c]."""
    W = np.asarray(W, dtype=np.float64)
    peak = np.abs(W).max(axis=0) if W.shape[0] else np.zeros(W.shape[1])  # (fan_out,)
    scale = (peak / INT8_MAX).astype(np.float32)  # (fan_out,)
    safe = np.where(scale > 0, scale, 1).astype(np.float64)  # a zero column stays 0
    Wq = np.clip(np.rint(W / safe), -INT8_MAX, INT8_MAX).astype(np.int8)
    return Wq, scale


def dequantize(Wq, scale):
    """float32 ``Wq * scale`` (fan_in, fan_out)."""
    return Wq.astype(np.float32) * np.asarray(scale, dtype=np.float32)[None, :]


def _check_int8_bits(Wq):
    if Wq.shape[0] > MAX_INT8_BITS:
        raise ValueError(f"{Wq.shape[0]} bits overflow the int32 accumulators of the int8 "
                         f"first layer (at most {MAX_INT8_BITS}).")


def gather_add_int8(packed, Wq):
    """``sum_{k : bit k set} Wq[k]`` per row, (n, fan_out) int32 (exact)."""
    _check_int8_bits(Wq)
    out = np.empty((packed.shape[0], Wq.shape[1]), dtype=np.int32)
    if out.shape[0]:
        _bits.gather_sum_int8_kernel(np.ascontiguousarray(packed, dtype=np.uint64),
                                     np.ascontiguousarray(Wq, dtype=np.int8), BLOCK_ROWS, out)
    return out


def first_layer_int8(packed, Wq, scale, bias):
    """``float32(gather_add_int8(packed, Wq)) * scale + bias``: (n, fan_out) float32."""
    _check_int8_bits(Wq)
    out = np.empty((packed.shape[0], Wq.shape[1]), dtype=np.float32)
    return over_rows(_bits.gather_add_int8_rows, _bits.gather_add_int8_kernel, out.shape[0],
                     np.ascontiguousarray(packed, dtype=np.uint64),
                     np.ascontiguousarray(Wq, dtype=np.int8),
                     np.ascontiguousarray(scale, dtype=np.float32),
                     np.ascontiguousarray(bias, dtype=np.float32), out=out)
