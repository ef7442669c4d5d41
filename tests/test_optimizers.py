"""Optimisers against their textbook formulas, written the obvious way."""
import numpy as np
import pytest

from pnet.optimizers import SGD, Adam


def textbook_adam(p, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        p = p - step * m / (np.sqrt(v) + eps)
    return p


def textbook_sgd(p, grads, lr, momentum, nesterov):
    v = np.zeros_like(p)
    for g in grads:
        v = momentum * v - lr * g
        p = p + (momentum * v - lr * g if nesterov else v)
    return p


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 3)), [rng.normal(size=(4, 3)) for _ in range(5)]


def test_adam_matches_the_formula(problem):
    p0, grads = problem
    p = p0.copy()
    opt = Adam([p], learning_rate=0.01)
    for g in grads:
        opt.update([p], [g])
    np.testing.assert_allclose(p, textbook_adam(p0, grads, 0.01), rtol=1e-12)


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_matches_the_formula(problem, nesterov):
    p0, grads = problem
    p = p0.copy()
    opt = SGD([p], learning_rate=0.05, momentum=0.8, nesterov=nesterov)
    for g in grads:
        opt.update([p], [g])
    np.testing.assert_allclose(p, textbook_sgd(p0, grads, 0.05, 0.8, nesterov), rtol=1e-12)


def test_updates_are_in_place_and_keep_dtype(problem):
    p = problem[0].astype(np.float32)
    ref = p
    Adam([p]).update([p], [np.ones_like(p)])
    assert p is ref and p.dtype == np.float32


@pytest.mark.parametrize("make", [lambda p: Adam([p], learning_rate=0.01),
                                  lambda p: SGD([p], learning_rate=0.05, momentum=0.8)])
def test_row_sparse_gradients_update_their_rows_only(problem, make):
    # a RowSparse gradient is the dense update on its rows ("lazy"): other rows keep
    # their parameters and state, as if they had not been in the model this step
    from pnet.layers import RowSparse

    p0, grads = problem
    rows = np.array([0, 2])
    for dtype in (np.float64, np.float32):
        sparse_p, dense_p = p0.astype(dtype), p0[rows].astype(dtype)
        sparse_opt, dense_opt = make(sparse_p), make(dense_p)
        for g in grads:
            sparse_opt.update([sparse_p], [RowSparse(rows, g[rows].astype(dtype))])
            dense_opt.update([dense_p], [g[rows].astype(dtype)])
        # the row kernel (kernels/optim.py) performs numpy's operations in its order
        np.testing.assert_array_equal(sparse_p[rows], dense_p)
        np.testing.assert_array_equal(sparse_p[[1, 3]], p0[[1, 3]].astype(dtype))
        assert all(not s[[1, 3]].any() for s in sparse_opt.state)
