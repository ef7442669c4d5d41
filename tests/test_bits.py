"""Packed bits, gather-add and scatter-add: numba kernels vs numpy twins."""
import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal

import naive
from conftest import THREADS
from pnet._hyperplanes import gather_add, pack, scatter_add, unpack, unpack_rows
from pnet.kernels.bits import SET_BITS_PAD, nonzero_byte, set_bits

N_BITS = [1, 63, 64, 65, 100, 128, 720]
N_ROWS = [0, 1, 37]


def random_bits(rng, n, n_bits, p=0.5):
    return rng.random((n, n_bits)) < p


def random_packed(rng, n, n_bits):
    """Valid packed rows: random words with the unused high bits cleared."""
    return naive.pack(random_bits(rng, n, n_bits))


# -- layout -------------------------------------------------------------------------
@pytest.mark.parametrize("pack_fn", [pack, naive.pack], ids=["kernel", "twin"])
def test_layout_bit_k_in_word_k_div_64_lsb_first(pack_fn):
    B = np.zeros((6, 130), dtype=bool)
    for row, k in enumerate([0, 1, 63, 64, 100, 129]):
        B[row, k] = True
    expected = np.array([
        [1, 0, 0],
        [2, 0, 0],
        [1 << 63, 0, 0],
        [0, 1, 0],
        [0, 1 << 36, 0],
        [0, 0, 2],
    ], dtype=np.uint64)
    assert_array_equal(pack_fn(B), expected)


@njit
def listed(packed_row, n_bits, idx):
    return set_bits(packed_row, n_bits, idx)


@pytest.mark.parametrize("n_bits", N_BITS + [7, 8, 9, 56, 57, 1000])
def test_set_bits_lists_the_set_bits_in_order(rng, n_bits):
    """``set_bits`` (a byte at a time from a table) is np.flatnonzero of the row, for
    rows empty, full, sparse and dense, writes nothing past ``n_bits +
    SET_BITS_PAD`` slots (the sentinels after them stay), and lists none of the last
    word's bits at n_bits and above when they are set."""
    B = np.vstack([np.zeros(n_bits, bool), np.ones(n_bits, bool),
                   *(random_bits(rng, 6, n_bits, p) for p in (0.03, 0.5, 0.97))])
    B[-1, -1] = True  # the last bit, set
    for row, packed in zip(B, naive.pack(B)):
        idx = np.full(n_bits + SET_BITS_PAD + 3, -7, dtype=np.int64)
        m = listed(packed, n_bits, idx)
        assert m == row.sum()
        assert_array_equal(idx[:m], np.flatnonzero(row))
        assert np.all(idx[n_bits + SET_BITS_PAD:] == -7)
        if n_bits % 64:  # the last word's unused bits set: none of them listed
            dirty = packed.copy()
            dirty[-1] |= ~np.uint64(0) << np.uint64(n_bits % 64)
            assert listed(dirty, n_bits, idx) == m
            assert_array_equal(idx[:m], np.flatnonzero(row))


@njit
def nonzero_bytes(x):
    return [nonzero_byte(x, j) for j in range(x.shape[0] - 7)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
def test_nonzero_byte_is_x_not_zero(rng, dtype):
    """``nonzero_byte(x, j)`` has bit b set where x[j + b] != 0, NaN included and
    -0.0 excluded, for contiguous and strided x (every start j)."""
    x = rng.integers(-3, 4, size=40).astype(np.float64) * rng.random(40)
    x[rng.random(40) < 0.5] = 0.0
    if np.dtype(dtype).kind == "f":
        x[[2, 5, 11, 17, 23]] = [np.nan, -0.0, np.inf, -np.inf, 5e-324]
    x = np.abs(np.rint(x * 50)).astype(dtype) if np.dtype(dtype).kind in "iu" else x.astype(dtype)
    for y in (x, np.repeat(x, 3)[::3], x[::-1].copy()[::-1]):
        expected = [sum(1 << b for b in range(8) if y[j + b] != 0) for j in range(len(y) - 7)]
        assert nonzero_bytes(y) == expected


@pytest.mark.parametrize("n_bits", N_BITS)
def test_unused_high_bits_are_zero(rng, n_bits):
    packed = pack(np.ones((5, n_bits), dtype=bool))
    assert packed.shape == (5, (n_bits + 63) // 64)
    used = n_bits - 64 * (packed.shape[1] - 1)  # bits used in the last word
    expected_last = (1 << used) - 1
    assert all(int(w) == expected_last for w in packed[:, -1])
    assert np.all(packed[:, :-1] == np.uint64(2**64 - 1))


# -- pack / unpack vs twins -----------------------------------------------------------
@pytest.mark.parametrize("n_bits", N_BITS)
@pytest.mark.parametrize("n", N_ROWS)
@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_pack_equals_twin(rng, n_bits, n, dtype, order):
    # non-zero values other than 1 (negative, fractional) count as set bits
    values = rng.choice([0, 0, 0, 1, 2, -1, 0.5], size=(n, n_bits))
    if dtype in (bool, np.uint8):
        values = values != 0
    B = np.asarray(values.astype(dtype), order=order)
    B.setflags(write=False)
    packed = pack(B)
    assert packed.dtype == np.uint64
    assert packed.shape == (n, (n_bits + 63) // 64)
    assert_array_equal(packed, naive.pack(B))


@pytest.mark.parametrize("n_bits", N_BITS)
@pytest.mark.parametrize("n", N_ROWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_unpack_equals_twin(rng, n_bits, n, dtype):
    packed = random_packed(rng, n, n_bits)
    packed.setflags(write=False)
    B = unpack(packed, n_bits, dtype=dtype)
    assert B.dtype == dtype and B.shape == (n, n_bits)
    assert_array_equal(B, naive.unpack(packed, n_bits))


@pytest.mark.parametrize("n_bits", N_BITS)
def test_unpack_rows_equals_twin(rng, n_bits):
    """One minibatch of rows, in any order and with repeats (training's unpack)."""
    packed = random_packed(rng, 50, n_bits)
    rows = np.array([49, 0, 7, 7, 13, 31])
    assert_array_equal(unpack_rows(packed, rows, n_bits), naive.unpack(packed, n_bits)[rows])


@pytest.mark.parametrize("n_bits", N_BITS)
def test_round_trips(rng, n_bits):
    packed = random_packed(rng, 23, n_bits)
    assert_array_equal(pack(unpack(packed, n_bits)), packed)
    B = random_bits(rng, 23, n_bits)
    assert_array_equal(unpack(pack(B), n_bits, dtype=bool), B)
    # the twins invert each other too
    assert_array_equal(naive.pack(naive.unpack(packed, n_bits)), packed)


def test_unpack_of_fortran_packed(rng):
    packed = np.asfortranarray(random_packed(rng, 9, 200))
    assert_array_equal(unpack(packed, 200), naive.unpack(packed, 200))


# -- gather-add / scatter-add -------------------------------------------------------
@pytest.mark.parametrize("n_bits", [1, 64, 100, 720])
@pytest.mark.parametrize("n", N_ROWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", THREADS)
def test_gather_add_equals_twin(rng, with_threads, n_bits, n, dtype, threads):
    packed = random_packed(rng, n, n_bits)
    W = rng.standard_normal((n_bits, 5)).astype(dtype)
    bias = rng.standard_normal(5).astype(dtype)
    Z = with_threads(threads, gather_add, packed, W, bias)
    assert Z.dtype == dtype and Z.shape == (n, 5)
    # the kernel adds in ascending bit order, BLAS in its own: up to n_bits roundings
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert_allclose(Z, naive.gather_add(packed, W, bias), **tol)
    if n:  # a row with no set bit is the bias, exactly
        empty = np.zeros((1, packed.shape[1]), dtype=np.uint64)
        assert_array_equal(gather_add(empty, W, bias)[0], bias)


@pytest.mark.parametrize("n_bits", [1, 64, 100, 720])
@pytest.mark.parametrize("n", N_ROWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", THREADS)
def test_scatter_add_equals_twin(rng, with_threads, n_bits, n, dtype, threads):
    packed = random_packed(rng, n, n_bits)
    G = rng.standard_normal((n, 3)).astype(dtype)
    dW = with_threads(threads, scatter_add, packed, G, n_bits)
    assert dW.dtype == dtype and dW.shape == (n_bits, 3)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    assert_allclose(dW, naive.scatter_add(packed, G, n_bits), **tol)
    if n == 0:
        assert_array_equal(dW, 0.0)


def test_gather_and_scatter_do_not_depend_on_threads(rng, with_threads):
    packed = random_packed(rng, 300, 200)
    W = rng.standard_normal((200, 7))
    G = rng.standard_normal((300, 7))
    bias = rng.standard_normal(7)
    results = [(with_threads(t, gather_add, packed, W, bias),
                with_threads(t, scatter_add, packed, G, 200)) for t in THREADS]
    for Z, dW in results[1:]:
        assert_array_equal(Z, results[0][0])
        assert_array_equal(dW, results[0][1])


def test_scatter_add_is_the_adjoint_of_gather_add(rng):
    # <gather_add(b, W, 0), G> = <W, scatter_add(b, G)>: dW = B.T @ dZ is the gradient
    packed = random_packed(rng, 40, 150)
    W = rng.standard_normal((150, 4))
    G = rng.standard_normal((40, 4))
    lhs = np.sum(gather_add(packed, W, np.zeros(4)) * G)
    rhs = np.sum(W * scatter_add(packed, G, 150))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_gather_add_accepts_noncontiguous_weights(rng):
    packed = random_packed(rng, 10, 100)
    W = np.asfortranarray(rng.standard_normal((100, 6)))
    W.setflags(write=False)
    bias = rng.standard_normal(6)
    assert_allclose(gather_add(packed, W, bias), naive.gather_add(packed, W, bias),
                    rtol=1e-12, atol=1e-12)
