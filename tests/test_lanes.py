"""``pnet.kernels.lanes``: eight float64 rows in one vector, each lane against numpy;
the union of a block's non-zero features; a block moved into a lane table by 8 x 8
tiles; typed views of one int64 array."""
import itertools

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_array_equal

from pnet.kernels.lanes import (BYTE_LANES, LANES, lanes_add_at, lanes_axpy_at,
                                lanes_from_rows, lanes_nonfinite, lanes_positive, lanes_sub_at)
from pnet.kernels.table import (HALVES, lane_table, lanes_add_entry, lanes_add_signed,
                                lanes_load, lanes_positive_of, lanes_set_at, set_byte,
                                set_masks, sums_zero, table_set, tile_to_table)
from pnet.kernels.projection import union_features


@njit
def read_lanes(X, start, nrow, j, acc):
    """acc[0] = the lanes of X[start:start + nrow, j]; returns the non-finite mask."""
    x = lanes_from_rows(X, start, nrow, j)
    acc[0, :] = 0.0
    lanes_add_at(acc, 0, x)
    return lanes_nonfinite(x)


@njit
def update_one(acc, k, s, x, op):
    """acc[k] op x: a block accumulator with Lanes x, or one row's with a float64 x."""
    if op == 0:
        lanes_add_at(acc, k, x)
    elif op == 1:
        lanes_sub_at(acc, k, x)
    else:
        lanes_axpy_at(acc, k, s, x)


@njit
def update(acc, k, s, X, start, nrow, j, op):
    update_one(acc, k, s, lanes_from_rows(X, start, nrow, j), op)


@njit
def positive(acc, k):
    return lanes_positive(acc, k)


def test_lanes_are_eight_rows():
    assert LANES == BYTE_LANES == 8


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_from_rows_reads_the_block_and_zeroes_missing_rows(rng, dtype, layout):
    base = rng.standard_normal((21, 14)).astype(dtype)
    X = {"C": base, "F": np.asfortranarray(base), "strided": base[::2, ::3]}[layout]
    acc = np.empty((1, LANES))
    for start in range(X.shape[0]):
        for nrow in range(1, min(LANES, X.shape[0] - start) + 1):
            for j in range(X.shape[1]):
                assert read_lanes(X, start, nrow, j, acc) == 0
                expected = np.zeros(LANES)
                expected[:nrow] = X[start:start + nrow, j].astype(np.float64)
                assert_array_equal(acc[0], expected)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_flags_exactly_the_bad_lanes(value):
    acc = np.empty((1, LANES))
    for bad_rows in range(2 ** LANES):
        X = np.ones((LANES, 3))
        for r in range(LANES):
            if bad_rows >> r & 1:
                X[r, 1] = value
        assert read_lanes(X, 0, LANES, 1, acc) == bad_rows
        assert read_lanes(X, 0, LANES, 0, acc) == 0
        for nrow in range(1, LANES):  # lanes past nrow are zero, so never flagged
            assert read_lanes(X, 0, nrow, 1, acc) == bad_rows & (2 ** nrow - 1)
    huge = np.array([[np.finfo(np.float64).max], [-5e-324], [0.0], [-0.0], [1e-300],
                     [-np.finfo(np.float64).max], [5e-324], [np.finfo(np.float64).tiny]])
    assert read_lanes(huge, 0, LANES, 0, acc) == 0


def test_updates_are_the_scalar_operations(rng):
    """Each lane is IEEE float64: a product, then a sum (never fused), per lane."""
    X = rng.standard_normal((LANES, 5)) * 10.0 ** rng.integers(-20, 20, size=(LANES, 5))
    for op in range(3):
        acc = rng.standard_normal((6, LANES))
        expected = acc.copy()
        for k, j, s in [(0, 0, 1.0), (5, 3, -1.0), (2, 4, 0.37), (2, 1, -3e10)]:
            update(acc, k, s, X, 0, LANES, j, op)
            x = X[:, j]
            expected[k] = (expected[k] + x if op == 0 else expected[k] - x if op == 1
                           else expected[k] + x * s)
        assert_array_equal(acc, expected)


def test_one_row_updates_are_the_scalar_operations(rng):
    """One row: acc[k] (+= x | -= x | += x * s), float64, a product then a sum."""
    xs = rng.standard_normal(40) * 10.0 ** rng.integers(-20, 20, size=40)
    for op in range(3):
        acc = rng.standard_normal(6)
        expected = acc.copy()
        for i, x in enumerate(xs):
            k, s = i % 6, [1.0, -1.0, 0.37, -3e10][i % 4]
            update_one(acc, np.int32(k), s, x, op)
            expected[k] = (expected[k] + x if op == 0 else expected[k] - x if op == 1
                           else expected[k] + x * s)
        assert_array_equal(acc, expected)


def test_positive_is_strictly_greater_than_zero():
    acc = np.array([[1.0, -1.0, 0.0, -0.0, 2.0, -5e-324, 1e300, 0.0],
                    [np.nan, 5e-324, np.inf, -np.inf, -np.nan, -1.0, 0.5, 3.0]])
    assert positive(acc, 0) == 0b01010001
    assert positive(acc, 1) == 0b11000110


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_byte_lanes_are_eight_float32_rows(rng, layout):
    """uint8 rows: 8 lanes of float32 values, zero past nrow, never non-finite; the
    updates on a float32 (n, 8) accumulator are numpy's float32 operations."""
    X = rng.integers(0, 256, size=(19, 6)).astype(np.uint8)
    X = {"C": X, "F": np.asfortranarray(X), "strided": np.repeat(X, 3, axis=1)[:, ::3]}[layout]
    acc = np.zeros((3, BYTE_LANES), dtype=np.float32)
    for start, nrow in [(0, 8), (11, 8), (16, 3), (5, 1)]:
        for j in range(X.shape[1]):
            expected = np.zeros(BYTE_LANES, dtype=np.float32)
            expected[:nrow] = X[start:start + nrow, j]
            assert read_lanes(X, start, nrow, j, acc) == 0
            assert_array_equal(acc[0], expected)
            for op, s in [(0, 1.0), (1, 1.0), (2, -1.0), (2, 1.0)]:
                acc[1] = rng.integers(-1000, 1000, BYTE_LANES)
                before = acc[1].copy()
                update(acc, 1, s, X, start, nrow, j, op)
                want = {0: before + expected, 1: before - expected}.get(
                    op, before + expected * np.float32(s))
                assert_array_equal(acc[1], want)
    acc[2] = [1, -1, 0, -0.0, np.nan, 1e-45, np.inf, -np.inf]
    assert positive(acc, 2) == 0b01100001


def special_rows(rng, n, dtype):
    """Rows of n values: random sparse, all zero, all non-zero, -0.0, NaN / inf at the
    ends of words, one non-zero value at each word boundary."""
    rows = [np.where(rng.random(n) < 0.2, rng.standard_normal(n), 0.0), np.zeros(n),
            np.ones(n), np.full(n, -0.0)]
    special = np.zeros(n)
    special[::63] = np.nan
    special[1::64] = np.inf
    special[2::65] = -np.inf
    rows.append(special)
    edges = np.zeros(n)
    edges[[j for j in range(n) if j % 64 in (0, 63)]] = 3.0
    rows.append(edges)
    if dtype == np.uint8:
        return [np.nan_to_num(np.abs(r), posinf=255).clip(0, 255).astype(np.uint8) for r in rows]
    return [r.astype(dtype) for r in rows]


@njit
def union_of(X, start, nrow):
    feats = np.full(X.shape[1] + 1, -1, dtype=np.int64)
    mask = np.full(X.shape[1], 7, dtype=np.uint8)  # stale scratch
    return feats[:union_features(X, start, nrow, mask, feats)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_union_features_are_flatnonzero(rng, dtype):
    """``union_features`` of 1-8 rows lists exactly ``np.flatnonzero`` of the rows'
    OR, ascending, whatever the mask held before, for every length and row layout
    (NaN and inf are non-zero, -0.0 is zero)."""
    for n in (0, 1, 5, 63, 64, 65, 200, 784):
        rows = special_rows(rng, n, dtype)
        X = np.array(rows + [r[::-1] for r in rows], dtype=dtype)
        for Y in (X, np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2]):
            for start in range(0, len(Y), 3):
                for nrow in range(1, min(BYTE_LANES, len(Y) - start) + 1):
                    block = Y[start:start + nrow]
                    assert_array_equal(union_of(Y, start, nrow),
                                       np.flatnonzero((block != 0).any(axis=0)))


# -- the lane table of the by-bit block sums -------------------------------------------
@njit
def tables_for(X, signs, n):
    """A fresh lane table of n rows for blocks of X summed in the dtype of ``signs``
    ((n, 8) for float64 sums, (n, 2, 8) for float32 sums), every element 7."""
    table = lane_table(np.zeros(HALVES * LANES * n + LANES), n, X, signs)
    table.reshape(table.size)[:] = 7
    return table


@njit
def tile(X, start, j, table, h):
    return tile_to_table(X, start, j, table, h)


@njit
def set_half(X, table, k, h, start, nrow):
    """``table_set`` of the lanes of X[start:start + nrow, k] into half h of row k."""
    table_set(table, k, h, lanes_from_rows(X, start, nrow, k))


@njit
def flag_half(X, table, k, h, start, nrow):
    """``set_half``'s non-finite mask."""
    return table_set(table, k, h, lanes_from_rows(X, start, nrow, k))


ROWS_AND_SUMS = [(np.float32, np.float64), (np.float64, np.float64), (np.uint8, np.float32),
                 (np.float32, np.float32), (np.float64, np.float32)]


@pytest.mark.parametrize("dtype,sums", ROWS_AND_SUMS)
def test_tile_to_table_is_the_transposed_block(rng, dtype, sums):
    """``tile_to_table`` writes table[j + c, (h,) r] = X[start + r, j + c] for the 8 x 8
    tile exactly (float32 as it is, uint8 to float32, float64 as it is or, for
    float32 sums, rounded to nearest as numpy rounds it: bit patterns compared),
    into half h of a wide table (float32 sums), touches no other lane of the table,
    and flags exactly the rows with a NaN or +-inf inside the tile as stored (a
    float64 beyond float32's range too, for float32 sums); ``table_set`` writes
    one feature's lanes (float32 rows' narrowed back exactly) and flags the same."""
    base = rng.standard_normal((21, 19)) * 10.0 ** rng.integers(-30, 30, size=(21, 19))
    base[rng.random(base.shape) < 0.3] = 0.0
    base[3, 4], base[5, 6], base[6, 7] = -0.0, 5e-324, np.finfo(np.float32).max
    if dtype == np.uint8:
        X = rng.integers(0, 256, size=base.shape).astype(np.uint8)
    else:
        X = base.astype(dtype)
    wide = np.float64 if dtype == np.float64 and sums == np.float64 else np.float32
    signs = np.ones(1, dtype=sums)
    halves = HALVES if sums == np.float32 else 1  # ``block_halves``
    for (start, j), half in itertools.product([(0, 0), (5, 3), (13, 11), (7, 8)], range(halves)):
        table = tables_for(X, signs, X.shape[1])
        shape = (X.shape[1], HALVES, LANES) if halves == 2 else (X.shape[1], LANES)
        assert table.shape == shape and table.dtype == wide
        assert table.ctypes.data % 64 == 0  # and so every row is aligned
        assert tile(X, start, j, table, half) == 0
        expected = np.full(shape, 7, dtype=wide)
        where = (slice(j, j + 8), half) if halves == 2 else slice(j, j + 8)
        expected[where] = X[start:start + 8, j:j + 8].T.astype(wide)
        assert_array_equal(table.view(np.uint8), expected.view(np.uint8))
        set_half(X, table, 17, half, start, 5)  # 5 rows: lanes 5-7 are 0
        lanes = np.zeros(LANES, dtype=wide)
        lanes[:5] = X[start:start + 5, 17]
        expected[(17, half) if halves == 2 else 17] = lanes
        assert_array_equal(table.view(np.uint8), expected.view(np.uint8))
    if dtype == np.uint8:
        return
    values = [np.nan, np.inf, -np.inf]
    if wide != dtype:  # rounded to float32: +-inf from 2**128 - 2**103 on, not below
        values += [2.0**128 - 2.0**103, -1e39]
        edge = np.nextafter(2.0**128 - 2.0**103, 0)
        Y = X.copy()
        Y[5:13, 3:11] = edge
        table = tables_for(Y, signs, Y.shape[1])
        assert tile(Y, 5, 3, table, 0) == 0 and table[3, 0, 0] == np.finfo(np.float32).max
    for value in values:
        for (r, c), half in itertools.product([(0, 0), (3, 7), (7, 2)], range(halves)):
            Y = X.copy()
            Y[5 + r, 3 + c] = value
            Y[4, 3] = Y[13, 3] = Y[5, 2] = Y[5, 11] = value  # outside the tile
            table = tables_for(Y, signs, Y.shape[1])
            assert tile(Y, 5, 3, table, half) == 1 << r
            assert flag_half(Y, table, 3 + c, half, 5, 8) == 1 << r


@njit
def gathered(table, rows, signs):
    """The last row of table (zeros) plus table[rows[i]] * signs[i], in order, in lanes,
    stored to the last row; its > 0 mask."""
    s = lanes_load(table, table.shape[0] - 1)
    for i in range(rows.shape[0]):
        s = lanes_add_signed(s, lanes_load(table, rows[i]), signs[i])
    lanes_set_at(table, table.shape[0] - 1, s)
    return lanes_positive_of(s)


@njit
def entry_sums(table, rows, signs, m0, m1):
    """The by-bit sums of a block in ``table`` from +0.0 (``sums_zero``) over the
    entries (rows[i], signs[i]) of the lane table (``lanes_add_entry``); their masks by
    ``set_masks`` to byte 3 of m0 (and of m1, the second half of a wide table)."""
    a = sums_zero(table)
    for i in range(rows.shape[0]):
        a = lanes_add_entry(a, table, rows[i], signs[i])
    set_masks(m0, m1, 3, a)


@pytest.mark.parametrize("dtype,sums", ROWS_AND_SUMS)
def test_an_entry_goes_to_every_row_of_the_block(rng, dtype, sums):
    """``lanes_add_entry`` adds s * table[k] to the sums of every row of the block: 8
    float64 lanes from a float64 or float32 table (widened), 16 float32 lanes from a
    wide (n, 2, 8) table (float32 sums); ``set_masks`` writes the first 8 rows' > 0
    mask to m0 and, for a wide table only, the next 8 rows' to m1."""
    like = np.empty((1, 1), dtype=dtype)
    for trial in range(10):
        table = tables_for(like, np.ones(1, dtype=sums), 7)
        flat = table.reshape(7, -1)  # row k: the lanes of feature k, both halves
        flat[:6] = rng.integers(-9, 10, size=flat[:6].shape)
        flat[6] = 0.0
        rows = rng.integers(0, 7, size=10)
        signs = rng.choice([-1.0, 1.0], size=10)
        m0, m1 = np.zeros(2, dtype=np.uint64), np.full(2, 5, dtype=np.uint64)
        entry_sums(table, rows, signs.astype(sums), m0, m1)
        want = sum((flat[k].astype(np.float64) * s for k, s in zip(rows, signs)),
                   np.zeros(flat.shape[1]))  # integers: exact in every dtype
        masks = [sum(1 << r for r in range(LANES) if want[8 * h + r] > 0)
                 for h in range(flat.shape[1] // LANES)]
        assert m0[0] == np.uint64(masks[0] << 24) and m0[1] == 0
        if sums == np.float32:
            assert m1[0] == (5 & ~np.uint64(0xFF << 24)) | np.uint64(masks[1] << 24)
        else:
            assert np.all(m1 == 5)


@pytest.mark.parametrize("wide", [np.float64, np.float32])
def test_lane_loads_and_sums_are_the_scalar_operations(rng, wide):
    """``lanes_add_signed`` is acc + v * s per lane for s = +-1, the sum rounded once
    (numpy's product, then sum: the product is exact) on values whose sums round,
    cancel, overflow and meet -0.0, NaN and inf; ``lanes_positive_of`` is > 0
    strictly; ``lanes_set_at`` stores the lanes."""
    like = np.empty((1, 1), dtype=wide)  # a (7, 8) table of wide
    big = np.finfo(wide).max
    for trial in range(20):
        table = tables_for(like, np.ones(1), 7)
        values = rng.standard_normal((6, LANES)) * 10.0 ** rng.integers(-30, 30, (6, LANES))
        values[0, :5] = [0.0, -0.0, np.nan, -np.inf, big]
        values[1, 4] = big  # + big + big overflows to inf in lane 4
        values[2, 5], values[3, 5] = 1.0, 2.0 ** -60  # 1 + 2**-60 rounds to 1
        table[:6] = values.astype(wide)
        table[6] = 0.0
        rows = rng.integers(0, 6, size=12)
        signs = rng.choice([-1.0, 1.0], size=12)
        want = np.zeros(LANES, dtype=wide)
        for k, s in zip(rows, signs):
            want = want + table[k] * wide(s)
        mask = gathered(table, rows, signs)
        assert_array_equal(table[6], want)
        assert mask == sum(1 << r for r in range(LANES) if want[r] > 0)


@njit
def bytes_of(n_words, where, values):
    words = np.zeros(n_words, dtype=np.uint64)
    for i in range(where.shape[0]):
        set_byte(words, where[i], values[i])
    return words


def test_set_byte_writes_one_byte_of_the_words():
    where = np.array([0, 7, 8, 13, 23])
    values = np.array([0xAB, 0x1FF, 1, 0x80, 0x7F])  # only the low byte is written
    expected = np.zeros(24, dtype=np.uint8)
    expected[where] = values & 0xFF
    assert_array_equal(bytes_of(3, where, values).view(np.uint8), expected)
