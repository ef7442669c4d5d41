"""``pnet.kernels.columns``: a row's output columns in the lanes of one register.

The gather-add keeps its running sums there; each lane must add exactly what the
scalar loop adds, in the same order, and writes must stop at the output's end.
"""
import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_array_equal

import naive
from conftest import THREADS
from pnet._hyperplanes import gather_add, pad_columns
from pnet.kernels.columns import (columns_add_row, columns_at, columns_store, columns_width,
                                  width_of)

DTYPES = [np.float32, np.float64]


@njit
def _sum_rows(W, rows, bias, c0, out):
    v = columns_at(bias, c0)
    for k in rows:
        v = columns_add_row(v, W, k, c0)
    columns_store(v, out, c0)
    return columns_width(W)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [1, 3, 4, 5, 8, 9, 16, 17])
def test_one_register_adds_lane_by_lane_and_stores_only_inside(rng, dtype, n_out):
    width = width_of(np.dtype(dtype))
    assert width == {np.float32: 8, np.float64: 4}[dtype]
    W = (rng.standard_normal((50, n_out)) * 10.0 ** rng.integers(-6, 6, (50, 1))).astype(dtype)
    bias = rng.standard_normal(n_out).astype(dtype)
    W_pad, bias_pad = pad_columns(W, bias)
    assert W_pad.shape[1] % (2 * width) == 0 and W_pad.shape[1] - n_out < 2 * width
    rows = rng.integers(0, 50, 40)
    for c0 in range(0, n_out, width):
        backing = np.full(n_out + 2 * width, 7.0, dtype=dtype)  # sentinels after z
        z = backing[:n_out]
        assert _sum_rows(W_pad, rows, bias_pad, c0, z) == width
        expected = bias[c0:c0 + width].copy()
        for k in rows:  # the scalar loop, in the same order
            expected += W[k, c0:c0 + width]
        assert_array_equal(z[c0:c0 + width], expected)
        assert_array_equal(backing[n_out:], 7.0)  # nothing written past z's end
        assert_array_equal(z[:c0], 7.0)  # nor before this register's columns


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [1, 5, 8, 9, 16, 17, 24, 33])
@pytest.mark.parametrize("threads", THREADS)
def test_gather_add_equals_the_ordered_twin_bit_for_bit(rng, with_threads, dtype, n_out,
                                                          threads):
    packed = rng.integers(0, 2**63, (200, 12), dtype=np.uint64)
    packed[:, -1] &= np.uint64((1 << 16) - 1)  # 720 bits
    packed[0] = 0  # a row with no set bit: the bias
    W = (rng.standard_normal((720, n_out)) * 10.0 ** rng.integers(-4, 4, (720, 1)))
    W = W.astype(dtype)
    bias = rng.standard_normal(n_out).astype(dtype)
    Z = with_threads(threads, gather_add, packed, W, bias)
    assert Z.dtype == dtype and Z.shape == (200, n_out)
    assert_array_equal(Z, naive.gather_add_in_order(packed, W, bias))
    assert_array_equal(Z[0], bias)


def test_pad_columns_leaves_the_weights_and_pads_zeros(rng):
    W = rng.standard_normal((6, 3)).astype(np.float32)
    W_pad, bias_pad = pad_columns(W, np.arange(3, dtype=np.float32))
    assert W_pad.flags.c_contiguous and W_pad.shape == (6, 16) and bias_pad.shape == (16,)
    assert_array_equal(W_pad[:, :3], W)
    assert_array_equal(W_pad[:, 3:], 0)
    assert_array_equal(bias_pad, [0, 1, 2] + [0] * 13)
