"""Hyperplane entries as a pure function of (seed, feature, bit): kernels vs twin."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import naive
from pnet import Hyperplanes
from pnet._hyperplanes import density_threshold, resolve_density
from pnet.kernels import hashing

U64_MAX = 2**64 - 1
EDGE_U64 = [0, 1, 2, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**63 + 1, U64_MAX - 1, U64_MAX]


def test_splitmix64_reference_vectors():
    # h(j, k) is the splitmix64 stream seeded with feature_key(j); these are the
    # published outputs of splitmix64 (Vigna's reference) for states 0 and 1234567.
    assert [hashing.entry_hash(0, k) for k in range(2)] == [0xE220A8397B1DCDAF,
                                                            0x6E789E6AA1B965F4]
    assert [hashing.entry_hash(1234567, k) for k in range(3)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423]
    assert [naive.mix64_int(1234567 + (k + 1) * naive.GOLDEN) for k in range(3)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423]


def test_mix64_kernel_equals_twins(rng):
    values = EDGE_U64 + [int(v) for v in rng.integers(0, 2**64, size=200, dtype=np.uint64)]
    expected = [naive.mix64_int(v) for v in values]
    assert [int(hashing.mix64(np.uint64(v))) for v in values] == expected
    # Python ints below 2**63 (typed int64 by numba) are coerced to uint64 inside.
    # Python ints >= 2**63 are not tried: once an int64 signature exists, numba's
    # dispatcher sends every Python int to it and raises OverflowError (a numba
    # limitation; pnet's wrappers always pass np.uint64).
    small = [v for v in values if v < 2**63]
    assert [int(hashing.mix64(v)) for v in small] == [naive.mix64_int(v) for v in small]
    assert naive.mix64(np.array(values, dtype=np.uint64)).tolist() == expected


def test_entry_hash_kernel_equals_twin_over_many_ids(rng):
    seeds = [0, 1, 42, 2**31 - 1, 2**63 - 1] + rng.integers(0, 2**63, size=3).tolist()
    features = [np.uint64(f) for f in EDGE_U64] + list(
        rng.integers(0, 2**64, size=6, dtype=np.uint64))
    bits = [0, 1, 63, 64, 719, 10**6]
    n_checked = 0
    # numba returns a uint64 as a Python int: wrap it back into np.uint64 before
    # passing it on (see the note on Python ints >= 2**63 above).
    for seed in seeds:
        key = np.uint64(hashing.seed_key(seed))
        assert int(key) == naive.mix64_int(seed)
        assert int(hashing.seed_key(np.uint64(seed))) == int(key)
        for feature in features:
            fkey = np.uint64(hashing.feature_key(key, feature))
            assert int(fkey) == naive.mix64_int(int(key) ^ int(feature))
            for bit in bits:
                h = hashing.entry_hash(fkey, bit)
                assert int(h) == naive.entry_hash_int(seed, int(feature), bit)
                n_checked += 1
        # the vectorised twin agrees with the scalar one, ids near 2**64 - 1 included
        H = naive.entry_hashes(seed, np.array(features, dtype=np.uint64), 720)
        assert H.dtype == np.uint64 and H.shape == (len(features), 720)
        for i, feature in enumerate(features):
            for bit in (0, 63, 64, 719):
                assert int(H[i, bit]) == naive.entry_hash_int(seed, int(feature), bit)
    assert n_checked == len(seeds) * len(features) * len(bits)


def test_kernel_argument_types_do_not_change_the_hash():
    # numba types a Python int < 2**63 as int64; mixing it with uint64 must not
    # turn the arithmetic into float64 (it used to).
    expected = naive.entry_hash_int(5, 2**64 - 1, 3)
    key = np.uint64(hashing.seed_key(5))
    for feature in (np.uint64(2**64 - 1), np.int64(-1)):  # same 64 bits
        for bit in (3, np.int64(3), np.uint64(3), np.int32(3)):
            fkey = np.uint64(hashing.feature_key(key, feature))
            assert int(hashing.entry_hash(fkey, bit)) == expected
    small = naive.entry_hash_int(5, 12345, 3)
    for feature in (12345, np.int64(12345), np.uint64(12345), np.int32(12345)):
        fkey = np.uint64(hashing.feature_key(key, feature))
        assert int(hashing.entry_hash(fkey, 3)) == small


@pytest.mark.parametrize("density", [1 / 3, 1 / 28, 0.5, 1.0, 1e-3])
def test_ternary_matrix_equals_twin_exactly(density):
    hp = Hyperplanes(17, 60, 200, "ternary", density)
    R = hp.matrix()
    assert R.dtype == np.float64 and R.shape == (60, 200)
    assert_array_equal(R, naive.hyperplane_matrix(17, 60, 200, "ternary", density))
    assert set(np.unique(R)) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("seed", [0, 3, 2**62 + 12345])
def test_gaussian_matrix_equals_twin(seed):
    hp = Hyperplanes(seed, 50, 130, "gaussian")
    R = hp.matrix()
    assert R.dtype == np.float64 and R.shape == (50, 130)
    # log/cos of numpy and of libm (numba) may differ in the last ulp
    assert_allclose(R, naive.hyperplane_matrix(seed, 50, 130, "gaussian"), rtol=1e-12,
                    atol=1e-15)


def test_ternary_lists_match_the_matrix():
    hp = Hyperplanes(8, 40, 150, "ternary", 0.2)
    indptr, bits, signs = hp.ternary_lists()
    R = naive.hyperplane_matrix(8, 40, 150, "ternary", 0.2)
    assert_array_equal(np.diff(indptr), np.count_nonzero(R, axis=1))
    for j in range(40):
        row_bits = bits[indptr[j]:indptr[j + 1]]
        assert_array_equal(row_bits, np.flatnonzero(R[j]))  # ascending
        assert_array_equal(signs[indptr[j]:indptr[j + 1]], R[j, row_bits])


@pytest.mark.parametrize("n_bits,density", [(200, 1 / 3), (720, 8 / 784), (64, 1.0),
                                            (100, 1e-4), (65, 0.5)])
def test_sparse_sign_table_equals_twin_exactly(n_bits, density):
    hp = Hyperplanes(17, 60, n_bits, "sparse_sign", density)
    E = naive.sparse_sign_count(n_bits, density)
    assert hp.n_entries == E
    bits, signs = hp.table()
    assert bits.shape == signs.shape == (60, E) and bits.dtype == np.int32
    for j in range(60):
        expected = naive.sparse_sign_entries(17, j, n_bits, E)
        assert_array_equal(bits[j], [k for k, _ in expected])  # in the order drawn
        assert_array_equal(signs[j], [s for _, s in expected])
    R = hp.matrix()
    assert_array_equal(R, naive.hyperplane_matrix(17, 60, n_bits, "sparse_sign", density))
    assert_array_equal(np.count_nonzero(R, axis=1), E)  # exactly E distinct bits each


def test_sparse_sign_bit_count_must_fit_32_bits():
    with pytest.raises(ValueError, match="sparse_sign hyperplanes need"):
        Hyperplanes(0, 10, 2**32, "sparse_sign", 1e-9)
    assert Hyperplanes(0, 10, 2**32 - 1, "sparse_sign", 1e-9).n_entries == 4


def test_sparse_sign_of_arbitrary_feature_ids():
    """Text ids are any uint64; the on-the-fly draws equal the twin's for each."""
    ids = np.array([0, 1, 2**63, 2**64 - 1, 12345678901234567], dtype=np.uint64)
    hp = Hyperplanes(2**62 + 5, None, 1000, "sparse_sign", 0.01)
    bits, signs = hp.table(ids)
    for row, j in enumerate(ids):
        expected = naive.sparse_sign_entries(2**62 + 5, int(j), 1000, 10)
        assert_array_equal(bits[row], [k for k, _ in expected])
        assert_array_equal(signs[row], [s for _, s in expected])


def test_sparse_sign_bits_and_signs_are_uniform():
    """Each bit is drawn about equally often (chi-square), signs are balanced."""
    bits, signs = Hyperplanes(3, 20_000, 500, "sparse_sign", 0.02).table()
    counts = np.bincount(bits.ravel(), minlength=500)  # 200,000 draws, 400 per bit
    expected = bits.size / 500
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 499 + 5 * np.sqrt(2 * 499)  # 5 sd above a chi-square(499) mean
    assert abs(np.mean(signs > 0) - 0.5) < 5 * np.sqrt(0.25 / signs.size)


def test_entries_are_a_pure_function_of_seed_feature_bit():
    # (sparse_sign: of seed, feature, n_bits and E, since a feature's E bits are drawn
    # among n_bits; see the tests above)
    for projection in ("ternary", "gaussian"):
        big = Hyperplanes(9, 30, 300, projection).matrix()
        small = Hyperplanes(9, 7, 100, projection).matrix()
        assert_array_equal(small, big[:7, :100])
        assert_array_equal(Hyperplanes(9, 30, 300, projection).matrix(), big)  # repeatable


def test_different_seeds_give_independent_hyperplanes():
    a = Hyperplanes(1, 30, 300, "ternary", 1 / 3).matrix()
    b = Hyperplanes(2, 30, 300, "ternary", 1 / 3).matrix()
    # independent ternary entries agree with probability (1 - s)**2 + s**2 / 2
    s, n = 1 / 3, a.size
    p = (1 - s) ** 2 + s**2 / 2
    assert abs(np.mean(a == b) - p) < 5 * np.sqrt(p * (1 - p) / n)
    g1 = Hyperplanes(1, 30, 300, "gaussian").matrix()
    g2 = Hyperplanes(2, 30, 300, "gaussian").matrix()
    assert np.mean(g1 == g2) == 0.0
    assert abs(np.corrcoef(g1.ravel(), g2.ravel())[0, 1]) < 5 / np.sqrt(n)


@pytest.mark.parametrize("density", [1 / 3, 1 / np.sqrt(784), 0.9])
def test_ternary_density_and_sign_balance(density):
    R = Hyperplanes(11, 200, 500, "ternary", density).matrix()
    n = R.size
    nonzero = np.count_nonzero(R)
    # binomial(n, density): 5 standard errors
    assert abs(nonzero / n - density) < 5 * np.sqrt(density * (1 - density) / n)
    positive = np.count_nonzero(R > 0)
    assert abs(positive / nonzero - 0.5) < 5 * np.sqrt(0.25 / nonzero)


def test_ternary_density_one_has_no_zeros():
    assert np.count_nonzero(Hyperplanes(0, 20, 100, "ternary", 1.0).matrix() == 0) == 0


def test_gaussian_moments():
    r = Hyperplanes(12, 200, 500, "gaussian").matrix().ravel()
    n = r.size  # 100_000
    # mean of n N(0, 1): standard error 1/sqrt(n); sample std: standard error 1/sqrt(2n)
    assert abs(r.mean()) < 5 / np.sqrt(n)
    assert abs(r.std() - 1.0) < 5 / np.sqrt(2 * n)
    # shape: P(r < 0) = 1/2, P(|r| < 1) = 0.6827, P(|r| < 2) = 0.9545 (binomial bounds)
    for frac, p in [(np.mean(r < 0), 0.5), (np.mean(abs(r) < 1), 0.682689),
                    (np.mean(abs(r) < 2), 0.954500)]:
        assert abs(frac - p) < 5 * np.sqrt(p * (1 - p) / n)
    assert np.all(np.isfinite(r))


def test_density_threshold_and_auto_density():
    assert density_threshold(1 / 3) == np.uint64(round(2**53 / 3))
    assert density_threshold(1.0) == np.uint64(2**53)
    assert density_threshold(0.5) == np.uint64(2**52)
    assert resolve_density("auto", 784) == pytest.approx(8 / 784, rel=1e-15)
    # ~8 entries per hyperplane below the 1/sqrt(D) ceiling; floored for very sparse rows
    assert resolve_density("auto", 784, 150.0) == pytest.approx(8 / 784, rel=1e-15)
    assert resolve_density("auto", 64, 30.0) == pytest.approx(1 / 8, rel=1e-15)
    assert resolve_density("auto", 784, 0) == pytest.approx(8 / 784, rel=1e-15)  # all zeros
    assert resolve_density("auto", 2**18, 60.0) == pytest.approx(1 / (16 * 60), rel=1e-15)
    assert resolve_density("auto", 2**20, 30.0) == pytest.approx(2.0**-10, rel=1e-15)
    assert resolve_density(0.25, 784) == 0.25
