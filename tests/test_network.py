"""Prediction in fixed order: the hidden-layer and gather-add kernels against their
twins, and a row's answer against the same row in any batch, thread or BLAS setting.

What is claimed (README, "Reproducibility"): the projection net's logits for a row
depend on the row only. They are computed by pnet's own kernels (projection,
gather-add, ``pnet.kernels.network``), never by BLAS, so neither the batch size,
numba's or BLAS's thread count, nor the BLAS build or kernel can change them.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import naive
from conftest import THREADS, numba_threads
from pnet import ProjectionNetClassifier
from pnet._hyperplanes import BLOCK_ROWS, gather_add, pack
from pnet.layers import ACTIVATION_CODES, predict_hidden
from pnet.kernels import network

ACTIVATIONS = ("identity", "relu", "tanh", "logistic")


# -- kernels against twins -------------------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("n", [1, BLOCK_ROWS, BLOCK_ROWS + 1, 300])
@pytest.mark.parametrize("threads", THREADS)
def test_hidden_layer_equals_twin(rng, activation, n, threads):
    A = rng.normal(size=(n, 37)).astype(np.float32) * 3
    A[:, ::5] = 0  # exact zeros are skipped by the kernel
    W = rng.normal(size=(37, 11)).astype(np.float32)
    b = rng.normal(size=11).astype(np.float32)
    with numba_threads(threads):
        Z = predict_hidden(A.copy(), [(W, b)], activation)
    activated = A.copy()
    for row in activated:
        network.activate(row, ACTIVATION_CODES[activation])
    # the activation against numpy (libm vs numpy's own tanh/exp: a few ulp at most)
    assert_allclose(activated, naive.activate(A, activation), rtol=5e-7, atol=1e-7)
    # the sum, exactly: same products, same order
    assert_array_equal(Z, naive.hidden_layer(activated, W, b))


@pytest.mark.parametrize("n", [1, BLOCK_ROWS + 3])
@pytest.mark.parametrize("threads", THREADS)
def test_gather_add_adds_in_ascending_order(rng, n, threads):
    B = rng.random((n, 150)) < 0.5
    W = (rng.normal(size=(150, 7)) * 10.0 ** rng.integers(-6, 6, size=(150, 1))).astype(
        np.float32)  # mixed magnitudes: the order of the additions shows
    bias = rng.normal(size=7).astype(np.float32)
    with numba_threads(threads):
        Z = gather_add(pack(B), W, bias)
    assert_array_equal(Z, naive.gather_add_in_order(pack(B), W, bias))


# -- a row's answer depends on the row only -------------------------------------------------
@pytest.fixture(scope="module")
def hidden_models():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    models = {}
    for activation in ACTIVATIONS:
        clf = ProjectionNetClassifier(
            n_projections=24, n_bits=10, projection_hidden_layer_sizes=(40, 24),
            activation=activation, trainer_weight=0, distillation_weight=0, max_iter=3,
            random_state=0).fit(X[:600], y[:600])
        models[activation] = clf
    return X, models


def _answers(model, X, proba):
    return model.predict_proba(X) if proba else model.decision_function(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("form", ["estimator", "float32", "int8"])
def test_row_alone_equals_row_in_any_batch_and_thread_setting(hidden_models, activation,
                                                              form):
    X, models = hidden_models
    clf = models[activation]
    model = clf if form == "estimator" else clf.to_compact(
        None if form == "float32" else "int8")
    logits = (clf._logits if form == "estimator" else model.decision_function)
    reference = logits(X)  # (1797, 10): parallel blocks, default threads
    for threads in THREADS:
        with numba_threads(threads), threadpool_limits(limits=threads, user_api="blas"):
            for batch in (1, 7, BLOCK_ROWS, BLOCK_ROWS + 1, 500):
                for start in (0, 1000):
                    assert_array_equal(logits(X[start:start + batch]),
                                       reference[start:start + batch])
    if form != "estimator":
        for i in (0, 5, 1796):
            assert_array_equal(model.predict_proba_one(X[i]), model.predict_proba(X[i:i + 1])[0])
            assert model.predict_one(X[i]) == clf.classes_[np.argmax(reference[i])]
    if form == "float32":  # the compact model is the estimator, bit for bit
        assert_array_equal(reference, clf._logits(X))
        assert_array_equal(model.predict_proba(X), clf.predict_proba(X))


# -- one shared model, many threads ---------------------------------------------------------
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("quantize", [None, "int8"])
def test_predict_one_from_many_threads_on_one_model(hidden_models, quantize):
    # before per-thread scratch, 8 threads got 9-535 wrong labels of 2,000 rows
    from concurrent.futures import ThreadPoolExecutor

    X, models = hidden_models
    model = models["relu"].to_compact(quantize)
    rows = np.concatenate([X, X[:203]])  # 2,000 rows
    expected = model.predict_proba(rows)
    labels = model.classes_[np.argmax(expected, axis=1)]

    def work(chunk):
        return ([model.predict_one(x) for x in rows[chunk]],
                [model.predict_proba_one(x) for x in rows[chunk]])

    chunks = np.array_split(np.arange(rows.shape[0]), 64)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, chunks))
    for chunk, (got_labels, got_proba) in zip(chunks, results):
        assert_array_equal(got_labels, labels[chunk])
        assert_array_equal(np.array(got_proba), expected[chunk])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_plain_batches_skip_check_array_with_the_same_checks(hidden_models):
    X, models = hidden_models
    model = models["relu"].to_compact("int8")
    rows = X[:64]
    expected = model.predict_proba(rows.tolist())  # a list: the validated path
    assert_array_equal(model.predict_proba(rows), expected)
    assert_array_equal(model.predict_proba(rows.astype(np.float32)),
                       model.predict_proba(rows.astype(np.float32).tolist()))
    for bad, match in [(np.full((2, 64), np.nan), "NaN"), (np.ones((2, 63)), "63 features"),
                       (np.ones((0, 64)), "0 sample")]:
        with pytest.raises(ValueError, match=match):
            model.predict(bad)
    assert_array_equal(model.predict(rows.astype(np.int64)),  # converted by check_array
                       model.predict(rows.astype(np.int64).astype(np.float64)))
