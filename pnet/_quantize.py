"""Narrow weights for the projection net: int8, int4 and ternary, per output unit.

Formats (``WEIGHT_BITS``), each with one float32 scale per output unit (column) c
of a weight matrix W (fan_in, fan_out), ``W[:, c] ~= scale[c] * Wq[:, c]``:

=========  ====  ===========  ==================================================
format     bits  Wq range     rule
=========  ====  ===========  ==================================================
int8       8     [-127, 127]  ``scale = max|W[:, c]| / 127``, ``Wq = round(W / scale)``
int4       4     [-7, 7]      ``scale = max|W[:, c]| / 7``, ``Wq = round(W / scale)``
ternary    2     {-1, 0, 1}   ternary weight networks (Li & Liu 2016): threshold
                              ``t = 0.7 mean|W[:, c]|``, ``Wq = sign(W) [|W| > t]``,
                              ``scale = mean of |W[k, c]| over |W[k, c]| > t``
=========  ====  ===========  ==================================================

An all-zero column gets ``scale = 0`` and ``Wq = 0`` (exact zeros). Biases stay
float32. Whatever the format, the values are held in RAM as int8, and the first
layer is the same exact integer sum over the set bits, ``z = float32(sum Wq[k]) *
scale + bias``, computed from the bit planes of Wq (``weight_planes``, then
``pnet.kernels.bits.plane_add_int8``: 8 popcounts per output unit and 64 bits for
int8, 4 for int4, 2 for ternary); only storage differs: ``pack_weights`` stores
``bits`` bits per value, two's complement, in a uint8 stream (value i of the
C-order matrix at bit ``bits * i``, least significant bits first), and
``stored_bytes`` counts exactly that.

``fake_quantize`` (``dequantize(quantize_columns(W))``) is what the estimator's
forward pass uses when trained for a format (straight-through estimator).

This module owns the arithmetic of quantisation and the int8 kernel wrappers;
the model object and its file live in ``pnet.compact``.
"""
import numpy as np

from ._hyperplanes import over_rows, pack
from .kernels import bits as _bits

#: bits per stored weight of each quantised format
WEIGHT_BITS = {"int8": 8, "int4": 4, "ternary": 2}
FORMATS = (None, *WEIGHT_BITS)
INT8_MAX = 127
#: n_bits * 128 must stay below 2**31 for the int32 sums
MAX_INT8_BITS = (2**31 - 1) // 128
FLOAT_BYTES = 4


def value_range(fmt):
    """The largest |Wq| of a format: 127, 7 or 1."""
    return 2 ** (WEIGHT_BITS[fmt] - 1) - 1


def quantize_columns(W, fmt="int8"):
    """(Wq int8, scale float32 (fan_out,)) with W[:, c] ~= scale[c] * Wq[:, c]."""
    if fmt not in WEIGHT_BITS:
        raise ValueError(f"quantize must be one of {FORMATS}, got {fmt!r}.")
    W = np.asarray(W, dtype=np.float64)
    magnitude = np.abs(W)  # (fan_in, fan_out)
    if fmt == "ternary":
        threshold = 0.7 * magnitude.mean(axis=0) if W.shape[0] else np.zeros(W.shape[1])
        kept = magnitude > threshold  # (fan_in, fan_out)
        count = kept.sum(axis=0)
        scale = np.where(count > 0, (magnitude * kept).sum(axis=0) / np.maximum(count, 1),
                         0.0).astype(np.float32)
        Wq = (np.sign(W) * kept).astype(np.int8)
        return Wq, scale
    top = value_range(fmt)
    peak = magnitude.max(axis=0) if W.shape[0] else np.zeros(W.shape[1])  # (fan_out,)
    scale = (peak / top).astype(np.float32)  # (fan_out,)
    safe = np.where(scale > 0, scale, 1).astype(np.float64)  # a zero column stays 0
    Wq = np.clip(np.rint(W / safe), -top, top).astype(np.int8)
    return Wq, scale


def dequantize(Wq, scale):
    """float32 ``Wq * scale`` (fan_in, fan_out)."""
    return Wq.astype(np.float32) * np.asarray(scale, dtype=np.float32)[None, :]


def fake_quantize(W, fmt):
    """W as the format represents it, in W's dtype: the forward pass of training for it."""
    return dequantize(*quantize_columns(W, fmt)).astype(W.dtype, copy=False)


def stored_bytes(layer_sizes, fmt):
    """Bytes of a projection net's weights, biases and scales as stored in ``fmt``
    (None: float32); the 8-byte seed is not included."""
    total = 0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        if fmt is None:
            total += FLOAT_BYTES * (fan_in + 1) * fan_out
        else:  # packed weights + float32 biases and scales
            total += -(-fan_in * fan_out * WEIGHT_BITS[fmt] // 8) + 2 * FLOAT_BYTES * fan_out
    return total


def pack_weights(Wq, fmt):
    """int8 values of a format -> uint8 stream of ``bits`` bits per value (C order)."""
    bits = WEIGHT_BITS[fmt]
    values = np.ascontiguousarray(Wq, dtype=np.int8).ravel().view(np.uint8)
    if bits == 8:
        return values.copy()
    per_byte = 8 // bits
    padded = np.zeros(-(-values.size // per_byte) * per_byte, dtype=np.uint8)
    padded[:values.size] = values & ((1 << bits) - 1)  # two's complement, low bits
    groups = padded.reshape(-1, per_byte)
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    return np.bitwise_or.reduce(groups << shifts, axis=1).astype(np.uint8)


def unpack_weights(data, fmt, shape):
    """The inverse of ``pack_weights``: int8 values (shape), sign-extended."""
    bits = WEIGHT_BITS[fmt]
    count = int(np.prod(shape))
    data = np.asarray(data, dtype=np.uint8)
    if data.size != -(-count * bits // 8):
        raise ValueError(f"{data.size} bytes cannot hold {count} values of {bits} bits.")
    if bits == 8:
        return data.view(np.int8).reshape(shape).copy()
    per_byte = 8 // bits
    shifts = np.arange(per_byte, dtype=np.uint8) * bits
    fields = ((data[:, None] >> shifts) & ((1 << bits) - 1)).ravel()[:count].astype(np.int8)
    fields[fields >= 1 << (bits - 1)] -= np.int8(1 << bits)  # sign extension
    return fields.reshape(shape)


def _check_int8_bits(Wq):
    if Wq.shape[0] > MAX_INT8_BITS:
        raise ValueError(f"{Wq.shape[0]} bits overflow the int32 accumulators of the int8 "
                         f"first layer (at most {MAX_INT8_BITS}).")


def plane_count(Wq):
    """The fewest two's complement bits P that hold every value of Wq (1 to 8):
    8 for int8 weights, at most 4 for int4, 2 for ternary, 1 for all zeros."""
    if Wq.size == 0:
        return 1
    lo, hi = int(Wq.min()), int(Wq.max())
    count = 1
    while lo < -(1 << (count - 1)) or hi > (1 << (count - 1)) - 1:
        count += 1
    return count


def weight_planes(Wq):
    """The bit planes of int8 weights Wq (n_bits, fan_out): uint64 (n_words, fan_out * P)
    with column ``c * P + p`` = the packed bits k (``pnet.kernels.bits`` layout) whose
    ``Wq[k, c]`` has bit p set in P-bit two's complement (P = ``plane_count(Wq)``), one
    row per word, so that ``plane_sum`` reads word w of every plane contiguously.
    A RAM layout of the same numbers (what ``plane_add_int8`` reads), never stored."""
    Wq = np.asarray(Wq, dtype=np.int8)
    n_bits, fan_out = Wq.shape
    count = plane_count(Wq)
    values = np.ascontiguousarray(Wq.T).view(np.uint8)  # (fan_out, n_bits)
    shifts = np.arange(count, dtype=np.uint8)[None, :, None]
    bits = (values[:, None, :] >> shifts) & np.uint8(1)  # (fan_out, P, n_bits)
    packed = pack(bits.reshape(fan_out * count, n_bits))  # (fan_out * P, n_words)
    return np.ascontiguousarray(packed.T)


def first_layer_int8(packed, Wq, scale, bias, planes=None):
    """``float32(sum_{k : bit k set} Wq[k]) * scale + bias`` per row, (n, fan_out)
    float32, the sum exact in int32; ``planes`` = ``weight_planes(Wq)`` when the caller
    keeps them."""
    _check_int8_bits(Wq)
    planes = weight_planes(Wq) if planes is None else planes
    out = np.empty((packed.shape[0], Wq.shape[1]), dtype=np.float32)
    return over_rows(_bits.plane_add_int8_rows, out.shape[0],
                     np.ascontiguousarray(packed, dtype=np.uint64), planes,
                     np.ascontiguousarray(scale, dtype=np.float32),
                     np.ascontiguousarray(bias, dtype=np.float32), out=out)
