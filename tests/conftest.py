"""Shared fixtures: a seeded generator, numba thread pinning, reference matrices."""
import contextlib

import numba
import numpy as np
import pytest

import naive
from pnet.kernels import hashing

#: thread counts the tests run the parallel kernels with (capped by the machine)
THREADS = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})


@contextlib.contextmanager
def numba_threads(n):
    """Run the enclosed block with ``numba.set_num_threads(n)``, then restore."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def run_with_threads(n, func, *args, **kwargs):
    """``func(*args, **kwargs)`` under ``n`` numba threads; the previous count is restored."""
    with numba_threads(n):
        return func(*args, **kwargs)


@pytest.fixture
def rng():
    return np.random.default_rng(20170630)


@pytest.fixture
def with_threads():
    return run_with_threads


def kernel_matrix(seed, features, n_bits, projection, density):
    """The hyperplane matrix for arbitrary uint64 feature ids, as the kernels see it.

    ternary, sparse_sign: the numpy twin itself (integer-only, so exact everywhere).
    gaussian: the kernel's own entries (``gaussian_matrix_kernel``), after checking
    them against the twin to 1e-12. numpy's log/cos may differ from libm's in the
    last ulp (on this machine ~0.2% of entries do), and the projection tests want
    exact bits, so they must use the same entries as the projection kernels.
    """
    features = np.asarray(features, dtype=np.uint64)
    R_twin = naive.hyperplane_matrix(seed, features, n_bits, projection, density)
    if projection in ("ternary", "sparse_sign"):
        return R_twin
    key = np.uint64(hashing.seed_key(np.uint64(seed)))
    R = np.empty((features.shape[0], n_bits))
    hashing.gaussian_matrix_kernel(key, features, R)
    np.testing.assert_allclose(R, R_twin, rtol=1e-12, atol=1e-15)
    return R


@pytest.fixture
def reference_matrix():
    return kernel_matrix
