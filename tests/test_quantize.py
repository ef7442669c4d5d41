"""Narrow weight formats (int8, int4, ternary): quantisation, packed storage, sizes, the
exact integer gather-add, and training for a format (straight-through estimator)."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import naive
from pnet import ProjectionNetClassifier
from pnet._hyperplanes import pack
from pnet._quantize import (WEIGHT_BITS, dequantize, fake_quantize, first_layer_int8,
                            pack_weights, quantize_columns, stored_bytes, unpack_weights,
                            value_range)

FORMATS = sorted(WEIGHT_BITS)


def pack_twin(values, bits):
    """The stored byte stream, built one bit at a time: value i's two's-complement bits
    at positions bits * i ... bits * i + bits - 1 of the stream, least significant first."""
    stream = []
    for v in np.asarray(values).ravel().tolist():
        code = v & ((1 << bits) - 1)
        stream += [(code >> b) & 1 for b in range(bits)]
    stream += [0] * (-len(stream) % 8)
    return np.array([sum(stream[8 * i + b] << b for b in range(8))
                     for i in range(len(stream) // 8)], dtype=np.uint8)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (33, 5), (0, 4)])
def test_pack_and_unpack_equal_the_twin(rng, fmt, shape):
    top = value_range(fmt)
    Wq = rng.integers(-top, top + 1, size=shape).astype(np.int8)
    packed = pack_weights(Wq, fmt)
    assert_array_equal(packed, pack_twin(Wq, WEIGHT_BITS[fmt]))
    assert packed.nbytes == -(-Wq.size * WEIGHT_BITS[fmt] // 8)
    assert_array_equal(unpack_weights(packed, fmt, shape), Wq)


@pytest.mark.parametrize("fmt", FORMATS)
def test_quantize_columns_ranges_zero_columns_and_error(rng, fmt):
    W = rng.normal(size=(50, 4)) * [1.0, 1e-3, 10.0, 0.0]  # the last column is all zero
    Wq, scale = quantize_columns(W, fmt)
    assert Wq.dtype == np.int8 and scale.dtype == np.float32
    assert np.abs(Wq).max() <= value_range(fmt)
    assert scale[3] == 0 and not Wq[:, 3].any()
    error = np.abs(dequantize(Wq, scale) - W)[:, :3] / np.abs(W[:, :3]).max(axis=0)
    assert error.max() <= {"int8": 0.5 / 127, "int4": 0.5 / 7, "ternary": 1.0}[fmt] + 1e-6
    if fmt == "ternary":  # weights beyond 0.7 mean|W| keep their sign, the rest are 0
        kept = np.abs(W[:, 0]) > 0.7 * np.abs(W[:, 0]).mean()
        assert_array_equal(Wq[:, 0], np.sign(W[:, 0]) * kept)
        assert scale[0] == pytest.approx(np.abs(W[kept, 0]).mean(), rel=1e-6)
    assert_array_equal(fake_quantize(W.astype(np.float32), fmt), dequantize(Wq, scale))


@pytest.mark.parametrize("fmt", FORMATS)
def test_integer_gather_add_is_exact_for_every_format(rng, fmt):
    B = rng.random((90, 130)) < 0.5
    Wq, scale = quantize_columns(rng.normal(size=(130, 6)), fmt)
    bias = rng.normal(size=6).astype(np.float32)
    Z = first_layer_int8(pack(B), Wq, scale, bias)
    sums = B.astype(np.int64) @ Wq.astype(np.int64)  # exact integers
    assert_array_equal(Z, sums.astype(np.float32) * scale + bias)


def test_stored_bytes_counts_packed_weights_biases_and_scales():
    assert stored_bytes([720, 10], None) == 4 * (720 * 10 + 10)
    assert stored_bytes([720, 10], "int8") == 7200 + 80
    assert stored_bytes([720, 10], "int4") == 3600 + 80
    assert stored_bytes([720, 10], "ternary") == 1800 + 80
    assert stored_bytes([7, 3, 2], "int4") == (11 + 24) + (3 + 16)  # 21 and 6 nibbles


# -- training for a format -----------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1200] / 16, y[:1200], X[1200:] / 16, y[1200:]


def _fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ProjectionNetClassifier(**{**dict(n_projections=20, n_bits=8, max_iter=40,
                                                 random_state=0), **params}).fit(X, y)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("hidden", [(), (16,)])
def test_trained_for_a_format_ships_it_with_the_same_predictions(digits, fmt, hidden):
    X, y, X_test, y_test = digits
    clf = _fit(X, y, quantize=fmt, projection_hidden_layer_sizes=hidden)
    compact = clf.to_compact()  # 'auto': the trained format
    assert compact.quantize == fmt
    assert compact.size_bytes == clf.projection_size_bytes_
    assert_array_equal(compact.predict_proba(X_test), clf.predict_proba(X_test))
    assert_array_equal(compact.predict(X_test), clf.predict(X_test))
    assert compact.predict_one(X_test[0]) == clf.predict(X_test[:1])[0]
    for Wq in compact.coefs_:
        assert np.abs(Wq).max() <= value_range(fmt)
    assert clf.score(X_test, y_test) > 0.8  # measured 0.90-0.93


def test_straight_through_gradient_is_the_float_gradient_at_the_quantised_weights(digits):
    X, y, _, _ = digits
    qat = _fit(X, y, quantize="int4", projection_hidden_layer_sizes=(8,), max_iter=2)
    twin = _fit(X, y, projection_hidden_layer_sizes=(8,), max_iter=2)
    twin.coefs_ = [fake_quantize(W, "int4") for W in qat.coefs_]
    twin.intercepts_ = qat.intercepts_
    twin.trainer_coefs_, twin.trainer_intercepts_ = qat.trainer_coefs_, qat.trainer_intercepts_
    Xb = X[:50].astype(np.float32)
    bits = naive.unpack(qat.hyperplanes_.project(Xb), 160).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[y[:50]]
    w = np.ones(50)
    q_loss, _, q_grads = qat._loss_and_grads(Xb, bits, Y, w, True)
    t_loss, _, t_grads = twin._loss_and_grads(Xb, bits, Y, w, True)
    n_trainer = len(qat.trainer_coefs_) * 2
    # identical forward and backward through the quantised weights; only the L2
    # penalty differs (it is on the float32 weights being trained)
    for i, (g, h) in enumerate(zip(q_grads, t_grads)):
        if i < n_trainer or i >= n_trainer + len(qat.coefs_):  # trainer, intercepts
            assert_array_equal(g, h)
        else:
            W, Wq = qat.coefs_[i - n_trainer], twin.coefs_[i - n_trainer]
            np.testing.assert_allclose(g - h, qat.alpha / 50 * (W - Wq), rtol=1e-4,
                                       atol=1e-7)
