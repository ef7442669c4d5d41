"""The projection layer: kernels vs numpy twin, LSH property, ``LSHProjection``."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import naive
import pnet._hyperplanes as hyperplanes_module
from pnet.kernels.lanes import LANES
from pnet.kernels.table import HALVES
from pnet.kernels.lanes import block_sums_of
from pnet.kernels.projection import (feature_sums, group_bits, group_scratch, pack_lanes,
                                     pack_row, row_sums)
from conftest import THREADS
from pnet import Hyperplanes, LSHProjection
from pnet._hyperplanes import bit_groups, resolve_density, unpack

SEED = 1234
N_FEATURES = 13
#: (projection, density); 'auto' resolves from n_features and the rows (resolve_density)
PROJECTIONS = [("sparse_sign", 1 / 3), ("sparse_sign", "auto"), ("ternary", 1 / 3),
               ("ternary", "auto"), ("gaussian", 1 / 3)]
PROJECTION_IDS = ["sparse_sign-1/3", "sparse_sign-auto", "ternary-1/3", "ternary-auto",
                  "gaussian"]


def n_words(n_bits):
    return (n_bits + 63) // 64


def awkward_rows(rng, n_features=N_FEATURES, n_random=140):
    """A batch that hits the edge cases of ``bit = <x, r> > 0``, float64.

    All-zero rows (every sum is exactly 0: every bit 0), constant rows (ternary sums
    are c * (#plus - #minus), often exactly 0), one-hot rows (bit = sign of one entry;
    a zero entry gives 0), small-integer rows (exact zero sums), tiny and huge values,
    then sparse-ish Gaussian rows with negatives, ~150 rows in all so that the
    kernels run more than one block of rows.
    """
    D = n_features
    special = [
        np.zeros(D),
        np.full(D, 1.0),
        np.full(D, -2.5),
        np.full(D, 1e-30),
        np.full(D, 3e30),
        np.eye(D)[0],
        -np.eye(D)[D - 1],
        np.zeros(D),
    ]
    small_ints = rng.integers(-2, 3, size=(6, D)).astype(np.float64)
    mask = rng.random((n_random, D)) < 0.7
    gaussian = rng.standard_normal((n_random, D)) * mask
    return np.vstack([np.array(special), small_ints, gaussian])


def order_sensitive_rows(R, rng, n_rows=6, sums="float64"):
    """Rows whose bits change if ``<x, r_k>`` is summed in another order (float64).

    For a bit k and features a < b < c with non-zero entries: two huge products
    x_b r_bk = 2**60 and x_c r_ck ~ -2**60 that nearly cancel, and a small product
    x_a r_ak that almost cancels their residual. Summed in ascending order the small
    term is added to 2**60 first and rounded on its grid (spacing 256); summed in
    descending order it is not. Only rows where the two orders give different bits
    are kept, so a kernel that does not add in ascending feature order fails. For
    float32 sums the huge products are 2**31 (the same spacing, 256).
    """
    big = 2.0**60 if sums == "float64" else 2.0**31
    n_features, n_bits = R.shape
    rows = []
    for _ in range(1000):
        k = rng.integers(n_bits)
        nonzero = np.flatnonzero(R[:, k])
        if nonzero.shape[0] < 3:
            continue
        a, b, c = np.sort(rng.choice(nonzero, 3, replace=False))
        x = np.zeros(n_features)
        x[b] = big / R[b, k]
        x[c] = -big * rng.uniform(0.999, 1.001) / R[c, k]
        residual = x[b] * R[b, k] + x[c] * R[c, k]
        x[a] = (-residual + rng.uniform(-200, 200)) / R[a, k]
        ascending = naive.project(x[None], R, sums)
        descending = naive.project(x[None, ::-1], R[::-1], sums)
        if np.any(ascending != descending):
            rows.append(x)
            if len(rows) == n_rows:
                return np.array(rows)
    raise AssertionError("could not build order-sensitive rows")


def make_hyperplanes(projection, density, n_bits, n_features=N_FEATURES, seed=SEED,
                     sums="float64"):
    density = resolve_density(density, n_features)
    return Hyperplanes(seed, n_features, n_bits, projection, density, sums=sums), density


def expected_bits(X, projection, density, n_bits, reference_matrix, seed=SEED, sums="float64"):
    """The twin's bits for dense X with feature ids 0..D-1, summed in ``sums``."""
    R = reference_matrix(seed, np.arange(X.shape[1]), n_bits, projection, density)
    return naive.project(np.asarray(X).astype(np.float64), R, sums)


#: the projection sums' dtypes (``Hyperplanes``' ``sums``), and every projection with
#: each it takes (gaussian: float64 only)
SUMS = ["float64", "float32"]
PROJECTION_SUMS = [(p, d, s) for p, d in PROJECTIONS for s in SUMS
                   if not (p == "gaussian" and s == "float32")]
PROJECTION_SUMS_IDS = [f"{i}-{s}" for i, (p, _) in zip(PROJECTION_IDS, PROJECTIONS)
                       for s in SUMS if not (p == "gaussian" and s == "float32")]


# -- dense input vs the twin ------------------------------------------------------------
@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
@pytest.mark.parametrize("n_bits", [64, 100, 128, 720])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("readonly", [False, True], ids=["writable", "readonly"])
@pytest.mark.parametrize("threads", THREADS)
def test_dense_projection_equals_twin(rng, reference_matrix, with_threads, projection,
                                      density, n_bits, dtype, order, readonly, threads, sums):
    hp, density = make_hyperplanes(projection, density, n_bits, sums=sums)
    R = reference_matrix(SEED, np.arange(N_FEATURES), n_bits, projection, density)
    X = np.vstack([awkward_rows(rng), order_sensitive_rows(R, rng, sums=sums)])
    X = np.asarray(X.astype(dtype), order=order)
    if readonly:
        X.setflags(write=False)

    bits = with_threads(threads, hp.project, X)
    expected = expected_bits(X, projection, density, n_bits, reference_matrix, sums=sums)
    assert bits.dtype == np.uint64 and bits.shape == (X.shape[0], n_words(n_bits))
    assert_array_equal(bits, expected)

    # the data are not trivial: zero rows give no bits, the rest about half
    assert np.all(bits[0] == 0) and np.all(bits[7] == 0)
    assert 0.3 < naive.unpack(bits, n_bits).mean() < 0.7
    # unused high bits of the last word are 0
    if n_bits % 64:
        assert np.all(bits[:, -1] >> np.uint64(n_bits % 64) == 0)

    empty = with_threads(threads, hp.project, X[:0])
    assert empty.dtype == np.uint64 and empty.shape == (0, n_words(n_bits))


@pytest.mark.parametrize("projection,density", PROJECTIONS, ids=PROJECTION_IDS)
@pytest.mark.parametrize("n_bits", [100, 720])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("threads", THREADS)
def test_uint8_rows_equal_the_twin(rng, reference_matrix, with_threads, projection, density,
                                   n_bits, layout, threads):
    """uint8 rows, 8 per block in float32 (``takes_bytes``), give the twin's float64 bits:
    rows of 255s (the largest sums), single pixels, zero rows, a partial last block."""
    hp, density = make_hyperplanes(projection, density, n_bits)
    X = rng.integers(0, 256, size=(301, N_FEATURES)).astype(np.uint8)
    X[rng.random(X.shape) < 0.4] = 0
    X[:8] = 255
    X[8:16] = 0
    X[np.arange(16, 16 + N_FEATURES), np.arange(N_FEATURES)] = rng.integers(1, 256, N_FEATURES)
    X[16:16 + N_FEATURES] *= np.eye(N_FEATURES, dtype=np.uint8)
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=1)[:, ::2]
    bits = with_threads(threads, hp.project, X)
    assert_array_equal(bits, expected_bits(X, projection, density, n_bits, reference_matrix))
    assert_array_equal(bits, hp.project(X.astype(np.float64)))
    assert hp.takes_bytes() == (projection != "gaussian")
    if projection != "gaussian":  # integers below 2**24: float32 sums are the same sums
        hp32 = Hyperplanes(SEED, N_FEATURES, n_bits, projection, density, sums="float32")
        assert_array_equal(with_threads(threads, hp32.project, X), bits)
        assert_array_equal(hp32.project(X.astype(np.float32)), bits)


def test_uint8_rows_are_exact_up_to_max_byte_features():
    """The rule that keeps float32 sums exact: 255 * n_features < 2**24."""
    limit = hyperplanes_module.MAX_BYTE_FEATURES
    assert 255 * limit < 2 ** 24 <= 255 * (limit + 1)
    assert Hyperplanes(SEED, limit, 64, "sparse_sign", 2 / 64).takes_bytes()
    wide = Hyperplanes(SEED, limit + 1, 64, "sparse_sign", 2 / 64)
    assert not wide.takes_bytes()
    X = np.zeros((3, limit + 1), dtype=np.uint8)
    X[:, ::1000] = 255
    assert_array_equal(wide.project(X), wide.project(X.astype(np.float64)))


def test_ties_give_zero_bits():
    # a sum of exactly 0 must give bit 0 (strictly positive only): with density 1
    # and the row (1, 1) the sum is r_0 + r_1, exactly 0 whenever the signs differ
    hp = Hyperplanes(5, 2, 512, "ternary", 1.0)
    R = naive.hyperplane_matrix(5, 2, 512, "ternary", 1.0)
    bits = naive.unpack(hp.project(np.ones((1, 2))), 512)[0]
    assert_array_equal(bits, (R[0] + R[1] > 0).astype(np.uint8))
    assert np.count_nonzero(R[0] + R[1] == 0) > 100  # many exact ties were tested
    assert_array_equal(naive.unpack(hp.project(np.zeros((3, 2))), 512), 0)


def test_gaussian_bits_equal_the_pure_numpy_twin(rng):
    # The twin's own gaussian entries (numpy log/cos) may differ from libm's in the
    # last ulp, so bits could differ only where |<x, r>| is within ~1e-15 of 0.
    # Exact zeros (all-zero rows) are unaffected; random data land nowhere that close.
    X = awkward_rows(rng)
    hp = Hyperplanes(SEED, N_FEATURES, 300, "gaussian")
    R = naive.hyperplane_matrix(SEED, N_FEATURES, 300, "gaussian")
    assert_array_equal(hp.project(X), naive.project(X, R))


@pytest.mark.parametrize("projection", ["ternary", "gaussian"])
def test_without_cache_equals_cached(rng, monkeypatch, projection):
    # beyond MAX_CACHE_ENTRIES both kinds hash each row's non-zero features on the fly
    X = awkward_rows(rng)
    cached = Hyperplanes(SEED, N_FEATURES, 200, projection, 0.3)
    expected = cached.project(X)
    assert cached._cache[0] == ("lists" if projection == "ternary" else "matrix")
    monkeypatch.setattr(hyperplanes_module, "MAX_CACHE_ENTRIES", N_FEATURES * 200 - 1)
    hp = Hyperplanes(SEED, N_FEATURES, 200, projection, 0.3)
    assert_array_equal(hp.project(X), expected)
    assert hp._cache == ("none",)


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_a_wide_model_costs_what_the_row_costs(rng, quantize):
    # 2^20 hashed features, 720 bits, density 1/3: a materialised ternary cache would
    # be 250M entries (~4 GB, and ~1 s of hashing per 2^18 features); before the bound
    # the first predict_one of such a model took 16.5 s and 2.9 GB.
    import tracemalloc

    from pnet import CompactProjectionNet
    from pnet._quantize import quantize_columns

    n_features, n_bits = 2**20, 720
    weights = rng.normal(size=(n_bits, 5)).astype(np.float32)
    scales = None
    if quantize:
        weights, scale = quantize_columns(weights)
        scales = [scale]
    model = CompactProjectionNet(SEED, n_features, 60, 12, "ternary", 1 / 3, "relu",
                                 np.arange(5), [weights], [np.zeros(5, np.float32)], scales)
    x = np.zeros(n_features)
    cols = rng.choice(n_features, size=30, replace=False)
    x[cols] = rng.random(30)
    tracemalloc.start()
    label = model.predict_one(x)
    proba = model.predict(np.stack([x, 2 * x]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64e6  # the two dense input rows alone are 16 MB
    assert model.hyperplanes._cache == ("none",)
    sparse = sp.csr_matrix(x[None])
    assert label == model.predict(sparse)[0] == proba[0] == proba[1]  # 2x: same bits
    assert_array_equal(model.decision_function(x[None]), model.decision_function(sparse))
    R = naive.hyperplane_matrix(SEED, np.sort(cols).astype(np.uint64), n_bits, "ternary",
                                1 / 3)
    bits = naive.project(x[np.sort(cols)][None], R)
    assert_array_equal(model.hyperplanes.project(sparse), bits)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_without_cache_equals_cached(rng, monkeypatch, reference_matrix, dtype):
    # beyond MAX_CACHE_ENTRIES dense gaussian input goes through the on-the-fly kernel
    X = awkward_rows(rng).astype(dtype)
    cached = Hyperplanes(SEED, N_FEATURES, 200, "gaussian").project(X)
    monkeypatch.setattr(hyperplanes_module, "MAX_CACHE_ENTRIES", 0)
    hp = Hyperplanes(SEED, N_FEATURES, 200, "gaussian")
    uncached = hp.project(X)
    assert hp._cache == ("none",)
    assert_array_equal(uncached, cached)
    assert_array_equal(uncached, expected_bits(X, "gaussian", 1 / 3, 200, reference_matrix))


# -- sparse input -----------------------------------------------------------------------
def unsorted_csr_with_duplicates(rng, X):
    """CSR of X built by hand: each row's entries shuffled, some values stored as two
    halves (x/2 + x/2 == x exactly), some explicit zeros."""
    data, indices, indptr = [], [], [0]
    for row in X:
        entries = []
        for j in np.flatnonzero(row):
            if rng.random() < 0.4:
                entries += [(row[j] / 2, j), (row[j] / 2, j)]
            else:
                entries.append((row[j], j))
        for j in np.flatnonzero(row == 0)[:1]:
            entries.append((0.0, j))
        order = rng.permutation(len(entries))
        data += [entries[o][0] for o in order]
        indices += [entries[o][1] for o in order]
        indptr.append(len(data))
    S = sp.csr_matrix((np.array(data, dtype=X.dtype), np.array(indices, dtype=np.int32),
                       np.array(indptr, dtype=np.int32)), shape=X.shape)
    assert not S.has_canonical_format
    assert_array_equal(S.toarray(), X)  # the same data, exactly
    return S


def stored_arrays(S):
    if S.format == "coo":
        return S.data, S.row, S.col
    return S.data, S.indices, S.indptr


@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", THREADS)
def test_sparse_input_gives_the_dense_bits(rng, with_threads, reference_matrix, projection,
                                           density, dtype, threads, sums):
    hp, density = make_hyperplanes(projection, density, 100, sums=sums)
    R = reference_matrix(SEED, np.arange(N_FEATURES), 100, projection, density)
    X = np.vstack([awkward_rows(rng), order_sensitive_rows(R, rng, sums=sums)]).astype(dtype)
    dense_bits = hp.project(X)
    assert_array_equal(dense_bits, naive.project(X, R, sums))
    csr = sp.csr_matrix(X)
    forms = {
        "csr": csr,
        "csc": sp.csc_matrix(X),
        "csr_array": sp.csr_array(X),
        "coo": sp.coo_matrix(X),
        "csr_int64_indices": sp.csr_matrix(
            (csr.data, csr.indices.astype(np.int64), csr.indptr.astype(np.int64)),
            shape=X.shape),
        "unsorted_duplicates_zeros": unsorted_csr_with_duplicates(rng, X),
    }
    for name, S in forms.items():
        before = [a.copy() for a in stored_arrays(S)]
        bits = with_threads(threads, hp.project, S)
        assert_array_equal(bits, dense_bits, err_msg=name)
        # the caller's arrays are not modified (not sorted, not summed, not cast)
        for a, b in zip(stored_arrays(S), before):
            assert a.dtype == b.dtype
            assert_array_equal(a, b, err_msg=name)
    empty = hp.project(sp.csr_matrix((0, N_FEATURES), dtype=dtype))
    assert empty.shape == (0, n_words(100))


def test_unsorted_csr_caller_arrays_untouched(rng):
    X = awkward_rows(rng)
    S = unsorted_csr_with_duplicates(rng, X)
    data, indices, indptr = S.data.copy(), S.indices.copy(), S.indptr.copy()
    bits = Hyperplanes(SEED, N_FEATURES, 128, "gaussian").project(S)
    assert_array_equal(bits, Hyperplanes(SEED, N_FEATURES, 128, "gaussian").project(X))
    assert_array_equal(S.data, data)
    assert_array_equal(S.indices, indices)
    assert_array_equal(S.indptr, indptr)
    assert S.nnz == data.shape[0]


def random_id_rows(rng, ids, n_rows, dtype):
    """CSR rows over the given feature ids, each row's ids in random order, no
    duplicates; row 0 is empty, row 1 stores an explicit zero."""
    data, features, indptr = [], [], [0]
    for i in range(n_rows):
        size = 0 if i == 0 else rng.integers(1, ids.shape[0] + 1)
        chosen = rng.permutation(ids)[:size]
        values = rng.standard_normal(size)
        if i == 1:
            values[0] = 0.0
        if i == 2:
            values[:] = rng.integers(-1, 2, size)
        data += list(values)
        features += list(chosen)
        indptr.append(len(data))
    return (np.array(data, dtype=dtype), np.array(features, dtype=np.uint64),
            np.array(indptr, dtype=np.int64))


@pytest.mark.parametrize("projection,density", [("ternary", 1 / 3), ("ternary", 0.05),
                                                ("gaussian", 1 / 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", THREADS)
def test_project_csr_with_arbitrary_64bit_ids(rng, reference_matrix, with_threads,
                                              projection, density, dtype, threads):
    hashed = rng.integers(2**63, 2**64 - 1, size=9, dtype=np.uint64, endpoint=True)
    ids = np.unique(np.concatenate([
        np.array([0, 7, 2**63, 2**63 + 1, 2**64 - 2, 2**64 - 1], dtype=np.uint64), hashed]))
    R = reference_matrix(SEED, ids, 100, projection, density)
    data, features, indptr = random_id_rows(rng, ids, 100, dtype)
    if dtype == np.float64:  # append rows whose bits depend on the summation order
        for x in order_sensitive_rows(R, rng):
            stored = np.flatnonzero(x)[::-1]  # stored in descending id order
            data = np.concatenate([data, x[stored]])
            features = np.concatenate([features, ids[stored]])
            indptr = np.append(indptr, indptr[-1] + stored.shape[0])
    copies = data.copy(), features.copy(), indptr.copy()
    hp = Hyperplanes(SEED, None, 100, projection, density)

    bits = with_threads(threads, hp.project_csr, data, features, indptr)

    # twin: the "compressed" dense matrix, one column per id in ascending order
    rows = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    Xc = np.zeros((indptr.shape[0] - 1, ids.shape[0]))
    Xc[rows, np.searchsorted(ids, features)] = data.astype(np.float64)
    assert_array_equal(bits, naive.project(Xc, R))
    assert np.all(bits[0] == 0)  # the empty row
    for original, after in zip(copies, (data, features, indptr)):
        assert_array_equal(after, original)

    # pre-sorted rows flagged as sorted give the same bits
    order = np.lexsort((features, rows))
    assert_array_equal(hp.project_csr(data[order], features[order], indptr, True), bits)


def test_project_csr_duplicate_ids_equal_summed_row():
    # repeated ids are summed first, (x1 + x2) * r, not x1 * r + x2 * r: a near-tie
    # must not flip a bit (text rows repeat hashed n-grams)
    R = naive.hyperplane_matrix(0, [0, 1], 64, "ternary", 1.0)
    k = np.flatnonzero((R[0] < 0) & (R[1] > 0))[0]
    hp = Hyperplanes(0, None, 64, "ternary", 1.0)
    duplicated = hp.project_csr(np.array([1.0, 1.0, 1e-17]), np.array([0, 1, 1], np.uint64),
                                np.array([0, 3]))
    summed = hp.project_csr(np.array([1.0, 1.0 + 1e-17]), np.array([0, 1], np.uint64),
                            np.array([0, 2]))
    assert naive.unpack(summed, 64)[0, k] == 0  # -1 + 1 == 0: not > 0
    assert_array_equal(duplicated, summed)


@pytest.mark.parametrize("projection", ["sparse_sign", "ternary", "local"])
def test_float32_sums_round_repeated_ids_after_summing_them(projection):
    """Repeated ids are summed in the data's dtype first, then the sum is rounded to
    float32 as the dense row's value is: 1 + 2**24 + 1 = 2**24 + 2 (exact in float32),
    where float32 partial sums would give 2**24 (1 + 2**24 rounds to 2**24)."""
    window = (2, 2, 1, 2) if projection == "local" else None
    hp = Hyperplanes(3, 4, 256, projection, 0.5, window, sums="float32")
    data = np.array([1.0, 2.0**24, 1.0, -2.0**24, 1.0])
    ids = np.array([0, 0, 0, 1, 2], np.uint64)
    dense = np.zeros((1, 4))
    np.add.at(dense[0], ids.astype(np.int64), data)
    assert dense[0, 0] == 2.0**24 + 2
    expected = hp.project(dense)
    before = data.copy()
    assert_array_equal(hp.project_csr(data, ids, np.array([0, 5])), expected)
    assert_array_equal(data, before)  # the caller's data are not summed in place
    assert_array_equal(hp.project(sp.csr_matrix((data, ids.astype(np.int64), [0, 5]),
                                                shape=(1, 4))), expected)
    R = (naive.local_matrix(3, 256, hp.window, 0.5) if projection == "local" else
         naive.hyperplane_matrix(3, 4, 256, projection, 0.5))
    assert_array_equal(expected, naive.project(dense, R, "float32"))
    partial = np.array([[np.float32(np.float32(1.0) + np.float32(2**24)) + np.float32(1.0),
                         -2.0**24, 1.0, 0.0]])  # what float32 partial sums would give
    assert (naive.project(partial, R, "float32") != expected).any()  # the test can fail


def test_dense_input_with_the_wrong_feature_count_is_refused():
    with pytest.raises(ValueError, match="for 5 features"):
        Hyperplanes(0, 5, 64).project(np.ones((2, 10)))


# -- a row's bits depend on the row only ------------------------------------------------
@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
def test_bits_do_not_depend_on_batch_order_or_threads(rng, monkeypatch, with_threads,
                                                      reference_matrix, projection, density,
                                                      sums):
    hp, density = make_hyperplanes(projection, density, 200, sums=sums)
    R = reference_matrix(SEED, np.arange(N_FEATURES), 200, projection, density)
    X = np.vstack([awkward_rows(rng), order_sensitive_rows(R, rng, sums=sums)])
    reference = with_threads(1, hp.project, X)
    one_by_one = np.vstack([hp.project(X[i:i + 1]) for i in range(X.shape[0])])
    assert_array_equal(one_by_one, reference)
    perm = rng.permutation(X.shape[0])
    assert_array_equal(hp.project(X[perm]), reference[perm])
    assert_array_equal(hp.project(sp.csr_matrix(X[perm])), reference[perm])
    for block in (1, 7, 1000):  # rows per prange iteration
        monkeypatch.setattr(hyperplanes_module, "BLOCK_ROWS", block)
        for threads in THREADS:
            assert_array_equal(with_threads(threads, hp.project, X), reference)
            assert_array_equal(with_threads(threads, hp.project, sp.csr_matrix(X)), reference)


@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_rows_bits_do_not_depend_on_its_block(rng, reference_matrix, projection, density,
                                                dtype, sums):
    """Dense float rows are summed ``LANES`` (8) at a time (``group_bits``,
    ``feature_sums``): a row's lane also adds +-0 * r for the features only its
    neighbours have. Its bits must be the twin's of the row alone, whatever the
    neighbours, its lane and its -0.0 entries. (uint8 rows, 16 a block by bit:
    ``test_bits_by_bit_are_the_bits_by_feature``.) Float32 sums go 16 rows a block
    by bit."""
    n_bits = 200
    hp, density = make_hyperplanes(projection, density, n_bits, sums=sums)
    R = reference_matrix(SEED, np.arange(N_FEATURES), n_bits, projection, density)
    rows = order_sensitive_rows(R, rng, sums=sums).astype(dtype)
    signed_zeros = rows.copy()
    signed_zeros[signed_zeros == 0] = -0.0
    width = HALVES * LANES if sums == "float32" else LANES
    neighbours = rng.standard_normal((width - 1, N_FEATURES)).astype(dtype)  # all non-zero
    for x in np.vstack([rows, signed_zeros]):
        alone = naive.project(x[None].astype(np.float64), R, sums)
        for lane in range(width):  # every lane, in every size of block that has it
            for n_rows in range(lane + 1, width + 1):
                block = np.vstack([neighbours[:lane], x[None], neighbours[lane:]])[:n_rows]
                assert_array_equal(hp.project(block)[lane], alone[0])
        nan_neighbour = np.vstack([x, np.full(N_FEATURES, np.nan, dtype)])
        assert_array_equal(hp.project(nan_neighbour)[0], alone[0])


# -- the block kernels: by bit and by feature ------------------------------------------
@pytest.mark.parametrize("projection,density", PROJECTIONS[:4] + [("local", None)],
                         ids=PROJECTION_IDS[:4] + ["local"])
@pytest.mark.parametrize("n_bits", [1, 7, 100, 720])
def test_bit_groups_hold_each_entry_once_in_ascending_feature_order(projection, density,
                                                                   n_bits):
    """``block_cache``'s groups are the hyperplanes (the matrix they rebuild is
    ``matrix()``); each bit's entries come in ascending feature order, then only
    padding (the zero row, sign +1); the slots are the bits, once each, then n_bits;
    a group is as long as its longest bit, and groups get no longer."""
    n_features = 36
    if projection == "local":
        hp = Hyperplanes(SEED, n_features, n_bits, "local", 1 / 3, window=(6, 6, 2, 4))
    else:
        hp, _ = make_hyperplanes(projection, density, n_bits, n_features=n_features)
    kind, slots, gptr, gidx, gsgn = hp.block_cache()
    assert kind == "groups" and len(slots) == 8 * (len(gptr) - 1) >= n_bits
    assert_array_equal(np.sort(slots[:n_bits]), np.arange(n_bits))
    assert np.all(slots[n_bits:] == n_bits)
    R = hp.matrix()
    rebuilt = np.zeros((n_features + 1, n_bits + 1))
    lengths = np.diff(gptr) // 8
    assert np.all(np.diff(gptr) % 8 == 0) and np.all(np.diff(lengths) <= 0)
    for g, length in enumerate(lengths):
        entries = slice(gptr[g], gptr[g + 1])
        for b in range(8):
            features, signs = gidx[entries][b::8], gsgn[entries][b::8]
            real = features < n_features
            n_real = real.sum()
            assert np.all(real[:n_real]) and np.all(signs[n_real:] == 1.0)
            assert np.all(np.diff(features[:n_real]) > 0)
            assert np.all(np.abs(signs[:n_real]) == 1.0)
            rebuilt[features, slots[8 * g + b]] += signs
        assert length == np.count_nonzero(R[:, slots[8 * g]])  # the group's first bit
    assert_array_equal(rebuilt[:n_features, :n_bits], R)
    assert not rebuilt[:n_features, n_bits].any()  # padding slots: the zero row only


@njit
def bits_by_bit(X, groups, n_bits, width):
    """The packed bits and non-finite flags of X's rows through ``group_bits`` (the
    batch kernels' projection), blocks of ``width`` rows (1 to ``block_rows(table)``)."""
    table, masks = group_scratch(X, groups[3], n_bits)
    packed = np.empty((16, (n_bits + 63) // 64), dtype=np.uint64)
    out = np.zeros((X.shape[0], packed.shape[1]), dtype=np.uint64)
    bad = np.zeros(X.shape[0], dtype=np.bool_)
    for first in range(0, X.shape[0], width):
        nrow = min(width, X.shape[0] - first)
        mask = group_bits(X, first, nrow, groups[0], groups[1], groups[2], groups[3], table,
                          masks, packed)
        for r in range(nrow):
            out[first + r] = packed[r]
            bad[first + r] = (mask >> r) & 1
    return out, bad


@njit
def bits_by_feature(X, cache, sums, n_bits, width):
    """The same through ``feature_sums`` and ``pack_lanes`` on the dense cache,
    summed in the dtype of ``sums``."""
    union = np.empty(X.shape[1], dtype=np.uint8)
    feats = np.empty(X.shape[1], dtype=np.int64)
    acc = block_sums_of(np.empty((n_bits, 8)), X, sums)
    packed = np.empty((8, (n_bits + 63) // 64), dtype=np.uint64)
    out = np.zeros((X.shape[0], packed.shape[1]), dtype=np.uint64)
    bad = np.zeros(X.shape[0], dtype=np.bool_)
    for first in range(0, X.shape[0], width):
        nrow = min(width, X.shape[0] - first)
        mask = feature_sums(X, first, nrow, cache, union, feats, acc)
        pack_lanes(acc, nrow, packed)
        for r in range(nrow):
            out[first + r] = packed[r]
            bad[first + r] = (mask >> r) & 1
    return out, bad


@pytest.mark.parametrize("projection,density", PROJECTIONS[:4], ids=PROJECTION_IDS[:4])
@pytest.mark.parametrize("n_features", [3, 8, 13, 43])
@pytest.mark.parametrize("dtype,sums", [(np.float32, "float64"), (np.float64, "float64"),
                                        (np.uint8, "float64"), (np.float32, "float32")])
def test_bits_by_bit_are_the_bits_by_feature(rng, reference_matrix, projection, density,
                                             n_features, dtype, sums):
    """``group_bits`` (by bit: tiles of 8 x 8 values for full blocks of contiguous
    rows, a value at a time otherwise) gives the bits and the non-finite rows that
    ``feature_sums`` gives on the dense cache (by feature), and the twin's: for 1-8 rows a
    block, every layout, bit counts with and without a padded group, order-sensitive
    rows, and NaN / +-inf anywhere."""
    for n_bits in (1, 9, 64, 130):
        hp, d = make_hyperplanes(projection, density, n_bits, n_features=n_features, sums=sums)
        if dtype == np.uint8:
            X = rng.integers(0, 256, size=(67, n_features)).astype(np.uint8)
            X[rng.random(X.shape) < 0.4] = 0
        else:
            R = reference_matrix(SEED, np.arange(n_features), n_bits, projection, d)
            X = awkward_rows(rng, n_features, 40)
            if n_bits > 1 and n_features > 3:
                X = np.vstack([X, order_sensitive_rows(R, rng, 3, sums)])
            X = X.astype(dtype)
        groups, dense = hp.groups_for(X), hp.dense_cache()[1:]
        expected = expected_bits(X, projection, d, n_bits, reference_matrix, sums=sums)
        layouts = [X, np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2], X[::-1][::-1],
                   X[:, ::-1][:, ::-1]]
        # ``block_rows``: 16 rows for float32 sums (uint8 rows sum in float32 always)
        block = HALVES * LANES if dtype == np.uint8 or sums == "float32" else LANES
        for Y in layouts:
            for width in [w for w in (16, 13, 8, 5, 1) if w <= block]:  # full, partial
                bits, bad = bits_by_bit(Y, groups, n_bits, width)
                assert_array_equal(bits, expected)
                assert not bad.any()
                assert_array_equal(bits, bits_by_feature(Y, dense, hp.sums_template(), n_bits, min(width, 8))[0])
        if dtype == np.uint8:
            continue
        for value in (np.nan, np.inf, -np.inf):
            broken = X[:24].copy()
            where = [(0, 0), (7, n_features - 1), (9, n_features // 2), (18, 0),
                     (23, 2 % n_features)]
            for i, j in where:
                broken[i, j] = value
            for Y in (broken, np.asfortranarray(broken)):
                for width in (8, 3):
                    _, bad = bits_by_bit(Y, groups, n_bits, width)
                    assert_array_equal(bad, np.isin(np.arange(24), [i for i, _ in where]))
                    assert_array_equal(bad, bits_by_feature(Y, dense, hp.sums_template(), n_bits, width)[1])


@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
@pytest.mark.parametrize("share", [0.0, 2.0], ids=["by-bit", "by-feature"])
def test_either_block_path_gives_the_twins_bits(rng, reference_matrix, monkeypatch,
                                                projection, density, share, sums):
    """``project`` goes by bit or by feature by the batch's first rows (``by_bit``):
    forced either way, the twin's bits, dense and sparse rows alike; and the choice
    follows the share of non-zero features."""
    hp, d = make_hyperplanes(projection, density, 100, n_features=40, sums=sums)
    R = reference_matrix(SEED, np.arange(40), 100, projection, d)
    sparse_rows = np.zeros((30, 40))
    sparse_rows[np.arange(30), np.arange(30)] = rng.standard_normal(30)
    dense_rows = rng.standard_normal((30, 40))
    groups = hp.block_cache()[0] == "groups"
    assert hp.by_bit(dense_rows) == groups and not hp.by_bit(sparse_rows)
    monkeypatch.setattr(hyperplanes_module, "BY_BIT_SHARE", share)
    monkeypatch.setattr(hyperplanes_module, "BY_BIT_SHARE_LONG", share)
    assert hp.by_bit(sparse_rows) == (groups and share == 0.0)
    for X in (sparse_rows, dense_rows, np.vstack([sparse_rows, dense_rows])):
        for Y in (X, X.astype(np.float32)):
            assert_array_equal(hp.project(Y), naive.project(Y.astype(np.float64), R, sums))


def test_long_lists_need_a_larger_share_to_go_by_bit(rng):
    """By bit pays at a share of non-zero features of ``BY_BIT_SHARE`` for hyperplanes
    of few entries a feature and ``BY_BIT_SHARE_LONG`` for long lists."""
    X = np.zeros((16, 100))
    X[:, :50] = rng.standard_normal((16, 50))  # half the features non-zero
    short = Hyperplanes(SEED, 100, 200, "sparse_sign", 8 / 100)  # 16 entries a feature
    long_lists = Hyperplanes(SEED, 100, 200, "ternary", 1 / 3)  # ~67 a feature
    assert short.block_cache()[3].size <= hyperplanes_module.LONG_LISTS * 100
    assert long_lists.block_cache()[3].size > hyperplanes_module.LONG_LISTS * 100
    assert short.by_bit(X) and not long_lists.by_bit(X)
    X[:, 50:70] = 1.0  # 70 %
    assert long_lists.by_bit(X)


def test_bit_groups_of_no_entries():
    """Bits with no entries at all (every feature's entries elsewhere) still get a slot:
    their sums are 0, their bits 0."""
    slots, gptr, gidx, gsgn = bit_groups([0, 1, 1], [2, 2, 0], [1.0, -1.0, 1.0], 2, 11)
    assert_array_equal(slots, [2, 0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 11, 11, 11])
    assert_array_equal(gptr, [0, 16, 16])
    assert_array_equal(gidx, [0, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2])
    assert_array_equal(gsgn[[0, 1, 8]], [1.0, 1.0, -1.0])


@njit
def one_row_bits(X, cache, acc):
    """Each row of X alone through ``row_sums`` into ``acc`` (n_bits,) of the sums'
    dtype and ``pack_row`` (the single-row kernels' projection), and its non-finite
    flag. ``row_sums`` gets feats of exactly n_features slots, followed by sentinels
    that must stay."""
    n_bits = acc.shape[0]
    guarded = np.full(X.shape[1] + 8, -7, dtype=np.int64)
    feats = guarded[:X.shape[1]]
    out = np.zeros((X.shape[0], (n_bits + 63) // 64), dtype=np.uint64)
    bad = np.zeros(X.shape[0], dtype=np.bool_)
    for i in range(X.shape[0]):
        bad[i] = row_sums(X[i], cache, feats, acc)
        pack_row(acc, out[i])
    if not np.all(guarded[X.shape[1]:] == -7):
        raise AssertionError("row_sums wrote past its feats")
    return out, bad


@njit
def pack_rows_one_by_one(acc, out):
    for i in range(acc.shape[0]):
        pack_row(acc[i], out[i])


@pytest.mark.parametrize("n_bits", [1, 7, 8, 9, 63, 64, 65, 127, 200, 723])
def test_pack_row_is_acc_strictly_positive(rng, n_bits):
    """``pack_row`` sets bit k where acc[k] > 0 (not 0.0, -0.0 or NaN), for whole
    and partial bytes and words, over whatever the output held before."""
    acc = rng.standard_normal((40, n_bits))
    acc[rng.random(acc.shape) < 0.2] = 0.0
    acc[rng.random(acc.shape) < 0.05] = -0.0
    acc[rng.random(acc.shape) < 0.05] = np.nan
    acc[rng.random(acc.shape) < 0.02] = 5e-324
    out = np.full((40, (n_bits + 63) // 64), 0xA5A5A5A5A5A5A5A5, dtype=np.uint64)
    pack_rows_one_by_one(acc, out)
    assert_array_equal(out, naive.pack(acc > 0))


@pytest.mark.parametrize("projection,density,sums", PROJECTION_SUMS, ids=PROJECTION_SUMS_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_row_sums_are_the_twins(rng, reference_matrix, projection, density, dtype, sums):
    """``row_sums`` (one row, scalar adds through the block's adders) gives the twin's
    bits on rows that fail in any other summation order, on awkward rows, strided
    rows and -0.0 entries; and flags exactly the non-finite rows."""
    n_bits = 200
    hp, density = make_hyperplanes(projection, density, n_bits, sums=sums)
    R = reference_matrix(SEED, np.arange(N_FEATURES), n_bits, projection, density)
    X = np.vstack([order_sensitive_rows(R, rng, sums=sums), awkward_rows(rng)]).astype(dtype)
    X[X.shape[0] // 2:][X[X.shape[0] // 2:] == 0] = -0.0
    expected = naive.project(X.astype(np.float64), R, sums)
    cache = hp.dense_cache()[1:]
    for rows in (X, np.asfortranarray(X), np.repeat(X, 3, axis=1)[:, ::3]):
        bits, bad = one_row_bits(rows, cache, np.empty(n_bits, dtype=sums))
        assert_array_equal(bits, expected)
        assert_array_equal(bits, hp.project(rows))  # the block kernel's bits
        assert not bad.any()
    for value in (np.nan, np.inf, -np.inf):
        broken = X[:20].copy()
        broken[3:20:4, 5] = value
        assert_array_equal(one_row_bits(broken, cache, np.empty(n_bits, dtype=sums))[1],
                           np.isin(np.arange(20), [3, 7, 11, 15, 19]))


@pytest.mark.parametrize("projection,density", PROJECTIONS, ids=PROJECTION_IDS)
def test_same_seed_same_bits_different_seed_different_bits(rng, projection, density):
    X = rng.standard_normal((150, N_FEATURES))  # no ties
    a, _ = make_hyperplanes(projection, density, 720, seed=7)
    b, _ = make_hyperplanes(projection, density, 720, seed=7)
    c, density = make_hyperplanes(projection, density, 720, seed=8)
    bits_a = a.project(X)
    assert_array_equal(b.project(X), bits_a)
    assert_array_equal(pickle.loads(pickle.dumps(a)).project(X), bits_a)
    # Independent hyperplanes: for Gaussian rows (no ties) bit k is 1 with
    # probability q = (1 - e) / 2, where e = (1 - s)**D is the chance that a ternary
    # hyperplane touches no feature (its bit is 0 for every row); the two seeds'
    # bits then differ with probability 2 q (1 - q).
    e = (1 - density) ** N_FEATURES if projection == "ternary" else 0.0
    q = (1 - e) / 2
    n = X.shape[0] * 720
    differ = np.mean(naive.unpack(bits_a, 720) != naive.unpack(c.project(X), 720))
    # binomial over all bits, plus the fluctuation of the number of empty hyperplanes
    bound = 5 * np.sqrt(0.25 / n) + 5 * np.sqrt(e * (1 - e) / 720)
    assert abs(differ - 2 * q * (1 - q)) < bound


# -- the LSH property: P(bit differs) = angle / pi ---------------------------------------
def pairs_with_spread_angles(rng, n_pairs=200, n_features=50):
    """Gaussian x, and y = cos(a) x + sin(a) z with a uniform in [0, pi]: angles cover
    (0, pi) instead of bunching at pi/2 as two independent Gaussians would."""
    x = rng.standard_normal((n_pairs, n_features))
    z = rng.standard_normal((n_pairs, n_features))
    a = rng.uniform(0, np.pi, n_pairs)
    y = np.cos(a)[:, None] * x + np.sin(a)[:, None] * z
    cos = np.sum(x * y, axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    return x, y, np.arccos(np.clip(cos, -1, 1)) / np.pi


def bit_difference(hp, x, y, n_bits):
    return np.mean(unpack(hp.project(x), n_bits) != unpack(hp.project(y), n_bits), axis=1)


def test_lsh_gaussian_bits_estimate_the_angle(rng):
    n_bits = 4096
    x, y, p = pairs_with_spread_angles(rng)
    f = bit_difference(Hyperplanes(3, 50, n_bits, "gaussian"), x, y, n_bits)
    # each bit differs independently with probability p = angle / pi (Charikar 2002):
    # f ~ Binomial(n_bits, p) / n_bits, variance p (1 - p) / n_bits
    var = np.maximum(p * (1 - p), 1 / n_bits) / n_bits
    assert abs(np.mean(f - p)) < 5 * np.sqrt(var.sum()) / p.shape[0]  # 5 standard errors
    assert np.max(np.abs(f - p) / np.sqrt(var)) < 5.5  # every pair, 200 pairs
    assert np.corrcoef(f, p)[0, 1] > 0.99


@pytest.mark.parametrize("density", [1 / 3, "auto"])
def test_lsh_ternary_bits_approximate_the_angle(rng, density):
    # A ternary hyperplane is not spherically symmetric, so P(bit differs) is
    # angle / pi only approximately: <x, r> and <y, r> are sums over the ~s*D
    # features r touches, close to jointly Gaussian by the CLT for Gaussian data
    # (s*D ~ 17 at 1/3 and ~7 at 'auto' in 50 dims), and a hyperplane that touches
    # nothing gives bit 0 to both. Hence a correlation and loose absolute bounds.
    n_bits = 4096
    x, y, p = pairs_with_spread_angles(rng)
    hp = Hyperplanes(3, 50, n_bits, "ternary", resolve_density(density, 50))
    f = bit_difference(hp, x, y, n_bits)
    assert np.corrcoef(f, p)[0, 1] > 0.95
    assert abs(np.mean(f - p)) < 0.02
    assert np.max(np.abs(f - p)) < 0.06


# -- LSHProjection ------------------------------------------------------------------------
@pytest.fixture
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def test_fit_transform_shapes_and_attributes(digits):
    X, _ = digits
    est = LSHProjection(n_projections=7, n_bits=11, random_state=0)
    assert est.fit(X) is est
    assert est.n_features_in_ == 64
    assert est.n_output_bits_ == 77
    assert est.density_ == pytest.approx(1 / 8)  # 'auto': 8 / 64 = 1 / sqrt(64)
    assert 0 <= est.seed_ < 2**31
    packed = est.transform(X)
    assert packed.dtype == np.uint64 and packed.shape == (400, 2)
    assert_array_equal(est.fit_transform(X), packed)
    assert est.get_feature_names_out().shape == (2,)
    # the transform is the twin's projection with the fitted seed and density
    R = naive.hyperplane_matrix(est.seed_, 64, 77, est.projection, est.density_)
    assert_array_equal(packed, naive.project(X, R))


@pytest.mark.parametrize("projection", ["ternary", "gaussian"])
def test_dense_output_is_unpacked_float32(digits, projection):
    X, _ = digits
    packed = LSHProjection(n_projections=5, n_bits=20, projection=projection,
                           random_state=3).fit_transform(X)
    est = LSHProjection(n_projections=5, n_bits=20, projection=projection, output="dense",
                        random_state=3)
    dense = est.fit_transform(X)
    assert dense.dtype == np.float32 and dense.shape == (400, 100)
    assert set(np.unique(dense)) == {0.0, 1.0}
    assert_array_equal(dense, naive.unpack(packed, 100).astype(np.float32))
    assert est.get_feature_names_out().shape == (100,)


@pytest.mark.parametrize("projection", ["sparse_sign", "ternary", "gaussian"])
def test_uint8_input_is_read_as_it_is(digits, projection, monkeypatch):
    X = digits[0].astype(np.uint8)  # 0..16
    X[::7] *= 15  # up to 240
    est = LSHProjection(n_projections=6, n_bits=20, projection=projection,
                        random_state=2).fit(X)
    seen = []
    project = Hyperplanes.project
    monkeypatch.setattr(Hyperplanes, "project",
                        lambda self, X: seen.append(X.dtype) or project(self, X))
    bits = est.transform(X)
    assert seen == [np.uint8]  # no float copy first
    assert_array_equal(bits, est.transform(X.astype(np.float64)))
    R = naive.hyperplane_matrix(est.seed_, 64, 120, projection, est.density_)
    assert_array_equal(bits, naive.project(X.astype(np.float64), R))


def test_sparse_and_float32_input_give_the_same_bits(digits):
    X, _ = digits
    est = LSHProjection(n_projections=4, n_bits=30, random_state=1).fit(X)
    bits = est.transform(X)
    assert_array_equal(est.transform(sp.csr_matrix(X)), bits)
    assert_array_equal(est.transform(sp.csc_matrix(X)), bits)
    # digits are small integers: exact in float32
    assert_array_equal(est.transform(X.astype(np.float32)), bits)


def test_random_state_fixes_the_seed(digits):
    X, _ = digits
    a = LSHProjection(n_projections=4, n_bits=16, random_state=5).fit(X)
    b = LSHProjection(n_projections=4, n_bits=16, random_state=5).fit(X)
    c = LSHProjection(n_projections=4, n_bits=16, random_state=6).fit(X)
    assert a.seed_ == b.seed_ != c.seed_
    assert_array_equal(a.transform(X), b.transform(X))
    assert np.any(a.transform(X) != c.transform(X))


def test_pipeline_and_clone(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(),
                         LSHProjection(n_projections=20, n_bits=16, output="dense",
                                       random_state=0),
                         LogisticRegression(max_iter=300))
    pipe.fit(X, y)
    # 320 random-hyperplane bits of standardised digits are enough to fit 400 digits
    assert pipe.score(X, y) > 0.9
    bits = pipe[:-1].transform(X)
    assert bits.shape == (400, 320)
    assert_array_equal(bits, pipe[1].transform(pipe[0].transform(X)))

    est = pipe[1]
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "seed_")
    assert_array_equal(twin.fit(pipe[0].transform(X)).transform(pipe[0].transform(X)), bits)


def test_pickle_round_trip_drops_the_hyperplane_cache(rng):
    X = rng.standard_normal((20, 784))
    est = LSHProjection(projection="gaussian", random_state=0).fit(X)
    bits = est.transform(X)  # materialises a 784 x 720 float64 cache (4.5 MB)
    assert est.hyperplanes_._cache is not None and est.hyperplanes_._cache[0] == "matrix"
    blob = pickle.dumps(est)
    assert len(blob) < 4096
    restored = pickle.loads(blob)
    assert restored.hyperplanes_._cache is None
    assert restored.hyperplanes_ == est.hyperplanes_
    assert_array_equal(restored.transform(X), bits)
    assert est.hyperplanes_._cache is not None  # pickling does not drop the live cache
    signs = Hyperplanes(SEED, 784, 720, "sparse_sign", 8 / 784)
    bits = signs.project(X)
    pixels = rng.integers(0, 256, size=(20, 784)).astype(np.uint8)
    pixel_bits = signs.project(pixels)
    assert signs._groups[0] == "groups" and signs._signs32 is not None
    restored = pickle.loads(pickle.dumps(signs))
    assert restored._cache is None and restored._groups is None and restored._signs32 is None
    assert_array_equal(restored.project(X), bits)
    assert_array_equal(restored.project(pixels), pixel_bits)


def test_groups_for_gives_signs_in_the_dtype_of_the_sums():
    """``groups_for``: the block cache's groups for float rows as they are; for uint8
    rows the same slots, pointers and features with the signs in float32 (equal
    values), built once."""
    hp = Hyperplanes(SEED, 64, 100, "sparse_sign", 8 / 64)
    slots, gptr, gidx, gsgn = hp.block_cache()[1:]
    for dtype in (np.float32, np.float64):
        got = hp.groups_for(np.zeros((2, 64), dtype=dtype))
        assert all(a is b for a, b in zip(got, (slots, gptr, gidx, gsgn)))
    got = hp.groups_for(np.zeros((2, 64), dtype=np.uint8))
    assert all(a is b for a, b in zip(got[:3], (slots, gptr, gidx)))
    assert got[3].dtype == np.float32 and np.all(np.abs(got[3]) == 1)
    assert_array_equal(got[3], gsgn)
    assert hp.groups_for(np.zeros((1, 64), dtype=np.uint8))[3] is got[3]
    hp.drop_caches()
    assert hp._cache is None and hp._groups is None and hp._signs32 is None
    assert_array_equal(hp.groups_for(np.zeros((1, 64), dtype=np.uint8))[3], gsgn)


@pytest.mark.parametrize("bad, match", [
    (np.array([[0.0, np.nan, 1.0]]), "NaN"),
    (np.array([[0.0, np.inf, 1.0]]), "infinity"),
    (np.array([[0.0, -np.inf, 1.0]]), "infinity"),
    (np.array([0.0, 1.0, 2.0]), "Expected 2D array"),
    (np.array([[1.0 + 1j, 0.0, 1.0]]), "[Cc]omplex"),
    (np.empty((0, 3)), "0 sample"),
    (np.empty((2, 0)), "0 feature"),
], ids=["nan", "inf", "-inf", "1d", "complex", "no rows", "no columns"])
def test_bad_input_raises(bad, match):
    X = np.arange(12.0).reshape(4, 3)
    with pytest.raises(ValueError, match=match):
        LSHProjection(random_state=0).fit(bad)
    est = LSHProjection(random_state=0).fit(X)
    with pytest.raises(ValueError, match=match):
        est.transform(bad)


def test_wrong_feature_count_at_transform():
    est = LSHProjection(random_state=0).fit(np.ones((4, 8)))
    with pytest.raises(ValueError, match="X has 5 features, but LSHProjection is expecting 8"):
        est.transform(np.ones((4, 5)))
    with pytest.raises(ValueError, match="X has 5 features, but LSHProjection is expecting 8"):
        est.transform(sp.csr_matrix(np.ones((4, 5))))


@pytest.mark.parametrize("params, match", [
    (dict(n_bits=0), "n_bits"),
    (dict(n_projections=-1), "n_projections"),
    (dict(projection="uniform"), "projection"),
    (dict(density=0.0), "density"),
    (dict(density=1.5), "density"),
    (dict(output="sparse"), "output"),
    (dict(sums="float16"), "sums"),
    (dict(sums="float32", projection="gaussian"), "sums='float32' needs"),
])
def test_bad_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        LSHProjection(**params).fit(np.ones((3, 4)))


@parametrize_with_checks([
    LSHProjection(n_projections=4, n_bits=8, random_state=0),
    LSHProjection(output="dense", projection="gaussian", random_state=0),
])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_project_csr_canonical_rows_skip_the_sort_and_agree(rng):
    # rows already sorted and free of repeats take the O(nnz) fast path; a repeat
    # in an otherwise sorted row must still be summed
    hp = Hyperplanes(3, None, 100, "ternary", 1 / 3)
    X = sp.random(30, 50, density=0.2, format="csr", random_state=0)
    X.sort_indices()
    features = X.indices.astype(np.uint64)
    fast = hp.project_csr(X.data, features, X.indptr, sorted_features=False)
    assert_array_equal(fast, hp.project_csr(X.data, features, X.indptr, True))
    assert_array_equal(fast, hp.project(X))
    row = X[:1].toarray()[0]
    j = np.flatnonzero(row)[0]
    split = hp.project_csr(np.r_[row[j] / 2, row[j] / 2, row[j + 1:][row[j + 1:] != 0]],
                           np.r_[j, j, np.flatnonzero(row[j + 1:]) + j + 1].astype(np.uint64),
                           np.array([0, 2 + np.count_nonzero(row[j + 1:])]))
    assert_array_equal(split, hp.project(X[:1]))


@pytest.mark.parametrize("projection, resolved", [("sparse_sign", "float32"),
                                                  ("ternary", "float32"),
                                                  ("gaussian", "float64")])
def test_lsh_projection_sums(digits, projection, resolved):
    """'auto' sums: float32 for +-1 entries, float64 for gaussian; the transform is
    the hyperplanes' projection in that dtype; float32 sums refuse float64 values
    that round to +-inf in float32 (float64 sums take them)."""
    X = digits[0].astype(np.float64)
    est = LSHProjection(projection=projection, random_state=0).fit(X)
    assert est.sums_ == est.hyperplanes_.sums == resolved
    R = naive.hyperplane_matrix(est.seed_, X.shape[1], est.n_output_bits_, projection,
                                est.density_)
    if projection != "gaussian":  # (its own entries may differ in the last ulp)
        assert_array_equal(est.transform(X), naive.project(X, R, resolved))
    big = X[:3].copy()
    big[1, 5] = 2.0**128 - 2.0**103  # rounds to inf in float32
    if resolved == "float32":
        with pytest.raises(ValueError, match="beyond float32's range.*projection sums"):
            est.transform(big)
        big[1, 5] = np.nextafter(big[1, 5], 0)  # rounds to float32's max: taken
        assert_array_equal(est.transform(big), est.transform(big.astype(np.float32)))
    else:
        est.transform(big)
    float64 = LSHProjection(projection=projection, random_state=0, sums="float64").fit(X)
    assert float64.sums_ == "float64" and float64.seed_ == est.seed_


def test_lsh_projections_pickled_before_float32_sums_keep_float64_sums(digits):
    """pnet 0.2.0 pickles have no sums on the transformer or its hyperplanes: they
    sum in float64 as fitted, and get_params, clone and a new fit work."""
    X = digits[0].astype(np.float64)
    est = LSHProjection(random_state=0, sums="float64").fit(X)
    del est.__dict__["sums"], est.__dict__["sums_"], est.hyperplanes_.__dict__["sums"]
    old = pickle.loads(pickle.dumps(est))
    assert old.get_params()["sums"] == "float64" and old.hyperplanes_.sums == "float64"
    assert_array_equal(old.transform(X), LSHProjection(random_state=0, sums="float64")
                       .fit(X).transform(X))
    assert clone(old).fit(X).sums_ == "float64"
    repr(old)
