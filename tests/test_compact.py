"""CompactProjectionNet: equality with the estimator, int8, save/load round trips.

The integer first layer (bit planes and popcounts) is compared with its numpy twin
(``gather_add_int8_twin`` below, ``B @ Wq`` in int64) exactly; the float32 compact
model with the estimator bit for bit. Corrupt
and hostile model files are in ``test_modelfile.py``, the command line in
``test_cli.py``.
"""
import os
import pickle
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

import naive
import pnet
from conftest import THREADS
from pnet import CompactProjectionNet, ProjectionNetClassifier
from pnet import _hyperplanes
from pnet._quantize import first_layer_int8, plane_count, quantize_columns, weight_planes
from pnet.kernels.compact import CACHE_DTYPES, pack_words, row_model, sections
from pnet.kernels.lanes import LANES, word_matrix, word_vector

BASE = dict(n_projections=16, n_bits=8, trainer_hidden_layer_sizes=(32,), max_iter=30,
            random_state=0)
ALONE = dict(BASE, trainer_weight=0, distillation_weight=0)
#: int8 must give the float32 model's label on at least this share of the digits
#: test rows, and lose at most MAX_ACCURACY_DROP of accuracy (measured: 100% and
#: 99.6% agreement and +0.4 points of accuracy, 80.7% -> 81.1%, for the BASE model).
MIN_INT8_AGREEMENT = 0.98
MAX_ACCURACY_DROP = 0.01


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16, y, test_size=0.25, stratify=y, random_state=0)
    return X_train, X_test, y_train, y_test


def _fit(params, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ProjectionNetClassifier(**params).fit(X, y)


@pytest.fixture(scope="module")
def clf(digits):
    """The joint model: trainer (32,) and a plain projection net, 128 bits."""
    X_train, _, y_train, _ = digits
    return _fit(BASE, X_train, y_train)


@pytest.fixture(scope="module")
def variants(digits):
    """Projection nets alone: ternary and gaussian hyperplanes, and a hidden layer of 24
    (tanh)."""
    X_train, _, y_train, _ = digits
    return {
        "ternary": _fit(dict(ALONE, projection="ternary"), X_train, y_train),
        "gaussian": _fit(dict(ALONE, projection="gaussian"), X_train, y_train),
        "hidden": _fit(dict(ALONE, projection_hidden_layer_sizes=(24,), activation="tanh"),
                       X_train, y_train),
    }


@pytest.fixture(scope="module")
def all_models(clf, variants):
    """name -> (estimator, compact model) for every variant and both weight formats
    ("joint": the default projection, sparse_sign)."""
    models = {}
    for name, est in {"joint": clf, **variants}.items():
        for quantize in (None, "int8"):
            models[f"{name}-{quantize or 'float32'}"] = (est, est.to_compact(quantize))
    return models


VARIANTS = ("joint", "ternary", "gaussian", "hidden")
MODEL_NAMES = [f"{n}-{q}" for n in VARIANTS for q in ("float32", "int8")]


# -- float32: the estimator's predictions, bit for bit --------------------------------
@pytest.mark.parametrize("name", VARIANTS)
def test_float32_equals_estimator_bitwise(all_models, digits, name):
    est, model = all_models[f"{name}-float32"]
    X_test = digits[1]
    assert_array_equal(model.predict(X_test), est.predict(X_test))
    assert_array_equal(model.predict_proba(X_test), est.predict_proba(X_test))
    assert_array_equal(model.predict_log_proba(X_test), est.predict_log_proba(X_test))
    X32 = X_test.astype(np.float32)
    assert_array_equal(model.predict_proba(X32), est.predict_proba(X32))


def _awkward_inputs(rng):
    """Signs, exact zeros and -0.0, sums that cancel exactly, float32, F order, read-only."""
    normal = rng.standard_normal((200, 64)) * (rng.random((200, 64)) < 0.5)  # > 1 block
    small_ints = rng.integers(-2, 3, size=(60, 64)).astype(np.float64)  # 1 block; sums hit 0
    small_ints[0] = 0.0
    small_ints[1] = -0.0
    read_only = normal.copy()
    read_only.setflags(write=False)
    return {"normal": normal, "small ints": small_ints,
            "float32": normal.astype(np.float32), "F order": np.asfortranarray(normal),
            "read-only": read_only, "strided": small_ints[::2]}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_fused_dense_path_equals_packed_path(all_models, rng, name):
    """Dense input runs the fused kernels, CSR input the estimator's projection and
    first-layer kernels: the same bits and, in float32, the estimator's logits."""
    est, model = all_models[name]
    for kind, X in _awkward_inputs(rng).items():
        dense = model.decision_function(X)
        assert_array_equal(dense, model.decision_function(sp.csr_matrix(X)), err_msg=kind)
        if model.quantize is None:
            assert_array_equal(dense, est._projection_logits(est.hyperplanes_.project(
                np.asarray(X, dtype=X.dtype))), err_msg=kind)
            assert_array_equal(model.predict_proba(X), est.predict_proba(X), err_msg=kind)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name", ["joint-int8", "ternary-int8"])
def test_thread_count_does_not_change_results(all_models, digits, with_threads, threads, name):
    _, model = all_models[name]
    X_test = digits[1]
    assert_array_equal(with_threads(threads, model.predict_proba, X_test),
                       with_threads(1, model.predict_proba, X_test))


def test_weights_are_copies(clf):
    model = clf.to_compact()
    assert model.coefs_[0] is not clf.coefs_[0]
    assert_array_equal(model.coefs_[0], clf.coefs_[0])
    assert model.coefs_[0].dtype == np.float32


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_save_load_round_trip_identical(all_models, digits, tmp_path, name):
    _, model = all_models[name]
    path = tmp_path / "model.pnet"
    model.save(path)
    loaded = pnet.load(path)
    X_test = digits[1]
    assert loaded.quantize == model.quantize
    assert loaded.sums == model.sums == model.hyperplanes.sums
    assert loaded.format_version == (5 if model.sums == "float32" else
                                     3 if model.projection == "sparse_sign" else 1)
    assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    for a, b in zip(loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_):
        assert a.dtype == b.dtype
        assert_array_equal(a, b)
    again = CompactProjectionNet.from_bytes(model.to_bytes())
    assert_array_equal(again.predict_proba(X_test), model.predict_proba(X_test))
    assert path.read_bytes() == model.to_bytes()  # deterministic bytes


def test_string_labels_round_trip(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"], dtype=object)
    est = _fit(dict(ALONE, max_iter=5), X_train, names[y_train])  # object labels
    model = est.to_compact()
    model.save(tmp_path / "m.pnet")
    loaded = pnet.load(tmp_path / "m.pnet")
    assert loaded.classes_.dtype.kind == "U"
    assert_array_equal(loaded.predict(X_test), est.predict(X_test))


def test_pickle_round_trip(all_models, digits):
    _, model = all_models["ternary-int8"]
    model.predict_one(digits[1][0])  # builds the row kernel's scratch and the cache
    again = pickle.loads(pickle.dumps(model))
    assert_array_equal(again.predict_proba(digits[1]), model.predict_proba(digits[1]))
    assert again.predict_one(digits[1][0]) == model.predict_one(digits[1][0])


# -- int8 ------------------------------------------------------------------------------
def test_int8_agrees_with_float32(clf, digits):
    _, X_test, _, y_test = digits
    f32, i8 = clf.to_compact(), clf.to_compact("int8")
    agreement = np.mean(f32.predict(X_test) == i8.predict(X_test))
    acc32 = np.mean(f32.predict(X_test) == y_test)
    acc8 = np.mean(i8.predict(X_test) == y_test)
    assert agreement >= MIN_INT8_AGREEMENT
    assert acc8 >= acc32 - MAX_ACCURACY_DROP
    P32, P8 = f32.predict_proba(X_test), i8.predict_proba(X_test)
    assert np.abs(P32 - P8).max() < 0.02  # close (measured 0.004), not equal
    assert not np.array_equal(P32, P8)


def test_int8_weights_and_scales(clf):
    model = clf.to_compact("int8")
    for Wq, s, W in zip(model.coefs_, model.scales_, clf.coefs_):
        assert Wq.dtype == np.int8 and s.dtype == np.float32
        assert_array_equal(np.abs(Wq).max(axis=0), 127)
        assert np.all(np.abs(Wq * s.astype(np.float64) - W) <= s * (0.5 + 1e-6))
    assert all(b.dtype == np.float32 for b in model.intercepts_)


def test_quantize_columns_zero_column_and_rounding():
    W = np.array([[0.0, 1.0, -0.5, 0.0],
                  [0.0, -2.0, 0.25, 1e-30],
                  [0.0, 0.5, 0.125, 0.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 / 0, no NaN cast to int8
        Wq, scale = quantize_columns(W)
    assert_array_equal(scale, np.float32([0.0, 2.0 / 127, 0.5 / 127, 1e-30 / 127]))
    assert_array_equal(Wq[:, 0], 0)  # zero column: scale 0, no division by zero
    assert_array_equal(Wq[:, 1], [64, -127, 32])  # round(127 / 2) = 64 (half to even: 63.5)
    assert_array_equal(Wq[:, 2], [-127, 64, 32])
    assert_array_equal(Wq[:, 3], [0, 127, 0])


def gather_add_int8_twin(packed, Wq):
    """Exact integer ``unpack(packed) @ Wq`` in int64."""
    B = naive.unpack(packed, Wq.shape[0]).astype(np.int64)
    return B @ Wq.astype(np.int64)


def integer_sums(packed, Wq, planes=None):
    """The first layer's exact integer sums, read through ``first_layer_int8`` with
    scale 1 and bias 0: float32 holds every integer below 2**24 exactly, and these
    tests stay below 128 * 720."""
    ones = np.ones(Wq.shape[1], dtype=np.float32)
    return first_layer_int8(packed, Wq, ones, np.zeros_like(ones), planes)


@pytest.mark.parametrize("n_bits", [1, 63, 64, 65, 200, 720])
@pytest.mark.parametrize("n", [0, 1, 37, 300])
@pytest.mark.parametrize("threads", THREADS)
def test_int8_gather_add_kernel_equals_twin(rng, with_threads, n_bits, n, threads):
    B = rng.random((n, n_bits)) < rng.choice([0.0, 0.5, 1.0], size=(n, 1))  # empty/full rows
    packed = naive.pack(B) if n else np.zeros((0, (n_bits + 63) // 64), np.uint64)
    Wq = rng.integers(-128, 128, size=(n_bits, 10), dtype=np.int8)
    Wq[0] = 127
    Wq[-1] = -128  # the extremes
    acc = with_threads(threads, integer_sums, packed, Wq)
    assert acc.shape == (n, 10)
    assert_array_equal(acc, gather_add_int8_twin(packed, Wq))


@pytest.mark.parametrize("top", [0, 1, 2, 7, 8, 127, 128])
def test_plane_sum_for_every_plane_count(rng, top):
    """Values in [-top, top] (and -128) need 1 to 8 planes; each count sums exactly."""
    B = rng.random((30, 150)) < 0.5
    low = -128 if top == 128 else -top
    Wq = rng.integers(low, min(top, 127) + 1, size=(150, 5), dtype=np.int8)
    Wq[0, 0], Wq[1, 0] = low, min(top, 127)
    planes = weight_planes(Wq)
    assert planes.shape == (3, 5 * plane_count(Wq)) and planes.dtype == np.uint64
    assert plane_count(Wq) == {0: 1, 1: 2, 2: 3, 7: 4, 8: 5, 127: 8, 128: 8}[top]
    assert_array_equal(integer_sums(naive.pack(B), Wq, planes),
                       B.astype(np.int64) @ Wq.astype(np.int64))


def test_weight_planes_layout(rng):
    """Column c * P + p of the planes holds bit p of Wq[:, c] (two's complement) in
    the packed layout, one row per word."""
    Wq = rng.integers(-128, 128, size=(70, 3), dtype=np.int8)
    planes = weight_planes(Wq)
    assert planes.shape == (2, 3 * 8)
    for c in range(3):
        for p in range(8):
            expected = (Wq[:, c].view(np.uint8) >> p) & 1
            assert_array_equal(naive.unpack(planes[:, c * 8 + p][None], 70)[0], expected)


@pytest.mark.parametrize("quantize", [None, "int8", "ternary"])
def test_a_first_layer_of_width_zero_predicts(rng, quantize):
    """A valid model whose first layer has no outputs: the bias of the next layer
    decides, on every path (batch, one row, packed bits), quantised or not."""
    dtype = np.float32 if quantize is None else np.int8
    coefs = [np.zeros((16, 0), dtype), np.zeros((0, 2), dtype)]
    intercepts = [np.zeros(0, np.float32), np.array([0.5, -0.5], np.float32)]
    scales = None if quantize is None else [np.zeros(0, np.float32), np.ones(2, np.float32)]
    model = CompactProjectionNet(1, 4, 2, 8, "sparse_sign", 0.5, "relu", np.arange(2),
                                 coefs, intercepts, scales, quantize)
    X = rng.standard_normal((3, 4))
    assert_array_equal(model.decision_function(X), np.tile([0.5, -0.5], (3, 1)))
    assert model.predict_one(X[0]) == 0
    assert_array_equal(model.predict(sp.csr_matrix(X)), [0, 0, 0])


def test_int8_gather_add_awkward_layouts(rng):
    packed = naive.pack(rng.random((50, 130)) < 0.5)
    Wq = np.asfortranarray(rng.integers(-127, 128, size=(130, 7), dtype=np.int8))
    packed_ro = packed.copy()
    packed_ro.setflags(write=False)
    Wq.setflags(write=False)
    expected = gather_add_int8_twin(packed, Wq)
    assert_array_equal(integer_sums(packed_ro, Wq), expected)
    assert_array_equal(integer_sums(packed[::2], Wq), expected[::2])


def test_int8_first_layer_equals_numpy_dequantization(rng):
    packed = naive.pack(rng.random((40, 100)) < 0.5)
    Wq = rng.integers(-127, 128, size=(100, 6), dtype=np.int8)
    scale = rng.random(6).astype(np.float32) / 127
    bias = rng.standard_normal(6).astype(np.float32)
    expected = gather_add_int8_twin(packed, Wq).astype(np.float32) * scale + bias
    assert_array_equal(first_layer_int8(packed, Wq, scale, bias), expected)


# -- one row ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_predict_one_equals_predict(all_models, digits, name):
    _, model = all_models[name]
    X_test = digits[1]
    expected = model.predict(X_test)
    assert_array_equal([model.predict_one(x) for x in X_test], expected)
    P = model.predict_proba(X_test[:50])
    assert_array_equal([model.predict_proba_one(x) for x in X_test[:50]], P)
    x32 = X_test[3].astype(np.float32)
    assert model.predict_one(x32) == model.predict(x32[None])[0]
    assert model.predict_one(list(X_test[4])) == expected[4]
    assert model.predict_one(np.zeros(64, dtype=np.int64)) == model.predict(np.zeros((1, 64)))[0]


@njit
def read_words(buf):
    return (word_matrix(buf, 0, np.int32), word_vector(buf, 1, np.float32),
            word_vector(buf, 2, np.uint8), word_matrix(buf, 3, np.float64),
            word_vector(buf, 4, np.int64))


def test_pack_words_sections_round_trip(rng):
    """Sections of odd byte sizes, 1-D and 2-D, empty: jit code and ``sections`` read
    back exactly the arrays packed (bit patterns, NaN included), and the jit views
    write through to the buffer."""
    arrays = [rng.integers(-2**31, 2**31, size=(3, 5), dtype=np.int32),
              rng.standard_normal(7).astype(np.float32),
              rng.integers(0, 256, size=13, dtype=np.uint8),
              np.asfortranarray(rng.standard_normal((4, 3))),  # packed in C order
              np.zeros(0, dtype=np.int64)]
    arrays[1][2] = np.nan
    buf = pack_words(arrays)
    assert buf.dtype == np.int64 and buf.ndim == 1
    got = read_words(buf)
    for a, g in zip(arrays, got):
        assert g.shape == a.shape and g.dtype == a.dtype
        assert_array_equal(g.view(np.uint8), np.ascontiguousarray(a).view(np.uint8))
    for a, v in zip(arrays, sections(buf, [a.dtype for a in arrays])):
        assert_array_equal(v.view(np.uint8), np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    got[1][0] = 2.5
    assert sections(buf, [np.int32, np.float32])[1][0] == 2.5


@pytest.mark.parametrize("name", ["joint", "ternary", "gaussian"])
def test_row_model_holds_weights_and_cache(all_models, name):
    """The one-row model: the first layer's arrays, then a copy of the hyperplanes'
    dense cache in its layout's dtypes, bit for bit."""
    cache = all_models[f"{name}-int8"][1].hyperplanes.dense_cache()
    assert cache[0] == {"joint": "table", "ternary": "lists", "gaussian": "matrix"}[name]
    v1 = np.arange(5, dtype=np.float32)
    buf = row_model(cache, np.eye(2, dtype=np.float32), v1, np.empty(0, np.float32))
    parts = sections(buf, (np.float32, np.float32, np.float32) + CACHE_DTYPES[cache[0]])
    assert_array_equal(parts[0], np.eye(2, dtype=np.float32).reshape(-1))
    assert_array_equal(parts[1], v1)
    assert len(parts[2]) == 0 and len(parts) == 3 + len(cache[1:])
    for a, part in zip(cache[1:], parts[3:]):
        assert a.dtype == part.dtype  # the cache is built in these dtypes: no cast
        assert_array_equal(part, a.reshape(-1))


def test_predict_one_after_the_hyperplanes_change(clf, digits):
    """The one-row model holds a copy of the hyperplane cache, whose layout picks the
    kernel: after new hyperplanes (of the other layouts, or the same layout and
    another seed) are set, ``predict_one`` runs them, in this thread and in one that
    starts then, as the batch path does (a stale model would give the old labels, or
    be read with another layout's kernel)."""
    model = clf.to_compact("int8")
    X_test = digits[1][:60]
    model.predict_one(X_test[0])  # this thread's kernel and model: the 'table' layout
    old = model.hyperplanes
    for seed, projection, layout in ((old.seed, "ternary", "lists"),
                                     (old.seed, "gaussian", "matrix"),
                                     (old.seed + 1, "sparse_sign", "table")):
        model.hyperplanes = _hyperplanes.Hyperplanes(seed, old.n_features, old.n_bits,
                                                     projection)
        assert model.hyperplanes.dense_cache()[0] == layout
        expected = model.predict(X_test)
        assert_array_equal([model.predict_one(x) for x in X_test], expected)
        got = []
        thread = threading.Thread(target=lambda: got.extend(model.predict_one(x)
                                                            for x in X_test))
        thread.start()
        thread.join()
        assert_array_equal(got, expected)
    model.hyperplanes = old
    assert_array_equal([model.predict_one(x) for x in X_test], model.predict(X_test))


def test_one_row_predict_runs_predict_ones_kernel(all_models, digits, monkeypatch):
    """predict(x[None]) takes the serial single-row kernel (no batch allocation) and
    gives the batch path's logits bit for bit."""
    X_test = digits[1][:30]
    for name in MODEL_NAMES:
        est, model = all_models[name]
        batch = model.decision_function(X_test)
        with monkeypatch.context() as patch:
            patch.setattr(type(model), "_first_layer_dense", None)  # the batch path
            rows = np.vstack([model.decision_function(x[None]) for x in X_test])
            proba = model.predict_proba(X_test[5:6])
            # one-row predict takes the class index the kernel returns
            labels = np.concatenate([model.predict(x[None]) for x in X_test])
            est_labels = np.concatenate([est.predict(x[None]) for x in X_test])
        assert_array_equal(rows, batch)
        assert_array_equal(proba, model.predict_proba(X_test)[5:6])
        assert_array_equal(labels, model.predict(X_test))
        assert labels.dtype == model.classes_.dtype
        assert_array_equal(est_labels, est.predict(X_test))


def test_predict_one_without_hyperplane_cache(variants, digits, monkeypatch):
    """A gaussian layer too large to materialise: the batch path, same answer."""
    monkeypatch.setattr(_hyperplanes, "MAX_CACHE_ENTRIES", 0)
    model = variants["gaussian"].to_compact()
    X_test = digits[1][:40]
    assert_array_equal([model.predict_one(x) for x in X_test], model.predict(X_test))
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.predict_one(np.full(64, np.nan))


@pytest.mark.parametrize("bad, match", [
    (np.zeros(5), r"1-D with 64 features, got shape \(5,\)"),
    (np.zeros((1, 64)), r"got shape \(1, 64\)"),
    (np.r_[np.zeros(63), np.nan], "NaN or infinity"),
    (np.r_[np.inf, np.zeros(63)], "NaN or infinity"),
    (np.zeros(64) + 5j, "real numbers, got dtype complex128"),  # not its real part
    (np.zeros(64).astype(str), "real numbers, got dtype <U"),
])
def test_predict_one_rejects_bad_rows(clf, bad, match):
    for model in (clf.to_compact(), clf.to_compact("int8")):
        with pytest.raises(ValueError, match=match):
            model.predict_one(bad)


# -- input handling --------------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_csr_equals_dense(all_models, digits, name):
    _, model = all_models[name]
    X_test = digits[1]
    P = model.predict_proba(X_test)
    assert_array_equal(model.predict_proba(sp.csr_matrix(X_test)), P)
    assert_array_equal(model.predict_proba(sp.csc_matrix(X_test)), P)
    assert_array_equal(model.predict(sp.csr_matrix(X_test)), model.predict(X_test))


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_ternary_csr_never_materialises_hyperplanes(clf, digits, monkeypatch, quantize):
    X_test = digits[1]
    expected = clf.to_compact(quantize).predict_proba(X_test)
    fresh = CompactProjectionNet.from_bytes(clf.to_compact(quantize).to_bytes())

    def refuse(*args, **kwargs):
        raise AssertionError("the D x bits hyperplanes were materialised")

    for name in ("matrix", "ternary_lists", "signed_lists", "dense_cache"):
        monkeypatch.setattr(_hyperplanes.Hyperplanes, name, refuse)
    assert_array_equal(fresh.predict_proba(sp.csr_matrix(X_test)), expected)
    with pytest.raises(AssertionError, match="materialised"):
        fresh.predict(X_test)  # the dense path does build the cache: the patch is live


@pytest.mark.parametrize("bad, error, match", [
    (np.full((2, 64), np.nan), ValueError, "NaN"),
    (np.full((2, 64), np.inf), ValueError, "infinity"),
    (np.zeros((3, 5)), ValueError,
     "X has 5 features, but this CompactProjectionNet expects 64"),
    (sp.csr_matrix((3, 5)), ValueError, "X has 5 features"),
    (np.zeros(64), ValueError, r"X must be 2-D .* predict_one"),
    (np.zeros((0, 64)), ValueError, r"0 sample\(s\)"),
    (np.zeros((2, 0)), ValueError, r"0 feature\(s\)"),
    ([["a"] * 64], ValueError, "could not convert|Unable to convert"),
])
def test_predict_rejects_bad_input(clf, bad, error, match):
    model = clf.to_compact()
    for method in (model.predict, model.predict_proba, model.predict_log_proba):
        with pytest.raises(error, match=match):
            method(bad)


@pytest.mark.parametrize("quantize", [None, "int8"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_large_batches_are_checked_by_the_kernels(clf, digits, quantize, value):
    """Batches beyond a few rows skip check_array: the fused kernels flag non-finite
    rows as they read them (each non-zero value is tested), in either block path,
    in every lane of a block of 16 rows (float32 sums: row % 16 takes every value;
    299 is in the partial last block), and only that row."""
    model = clf.to_compact(quantize)
    X = np.array(digits[1][:300])  # several blocks of rows
    expected = model.predict(X)
    rows = (0, 17, 34, 51, 68, 85, 102, 119, 136, 153, 170, 187, 204, 221, 238, 255, 299)
    assert {row % (2 * LANES) for row in rows} == set(range(2 * LANES))  # 16 a block
    for row in rows:
        bad = X.copy()
        bad[row, 5] = value
        with pytest.raises(ValueError, match=f"NaN or infinity.* \\(row {row}\\)"):
            model.predict(bad)
        with pytest.raises(ValueError, match="NaN or infinity"):
            model.predict_proba(bad.astype(np.float32))
    with pytest.raises(ValueError, match=r"Input X contains NaN or infinity.* \(row 0\)"):
        model.predict(bad[299:])  # one row: predict_one's kernel, the batch's message
    negative_zero = X.copy()
    negative_zero[negative_zero == 0] = -0.0  # zeros, not non-finite
    assert_array_equal(model.predict(negative_zero), expected)


@pytest.mark.parametrize("share", [0.0, 2.0], ids=["by-bit", "by-feature"])
def test_float64_values_beyond_float32_are_non_finite_rows(clf, digits, monkeypatch, share):
    """float32 sums round float64 rows as the kernels read them (no copy of the
    batch): a value that rounds to +-inf (from 2**128 - 2**103 on) makes its row
    non-finite, the error naming float32's range, on either block path and for
    one row; the largest value below that rounds to float32's max and is taken."""
    monkeypatch.setattr(_hyperplanes, "BY_BIT_SHARE", share)
    monkeypatch.setattr(_hyperplanes, "BY_BIT_SHARE_LONG", share)
    model = clf.to_compact("int8")
    assert model.sums == "float32"
    X = np.array(digits[1][:40], dtype=np.float64)
    assert model.hyperplanes.by_bit(X) == (share == 0.0)
    edge = 2.0**128 - 2.0**103
    for value, row in ((edge, 17), (-1e39, 3)):
        bad = X.copy()
        bad[row, 9] = value
        with pytest.raises(ValueError, match=rf"beyond float32's range.* \(row {row}\)"):
            model.predict(bad)
        with pytest.raises(ValueError, match=rf"beyond float32's range.* \(row {row}\)"):
            model.predict(sp.csr_matrix(bad))  # CSR rows: checked before the projection
        with pytest.raises(ValueError, match="beyond float32's range"):
            model.predict_one(bad[row])
    taken = X.copy()
    taken[17, 9] = np.nextafter(edge, 0)  # float32's max once rounded
    as_float32 = taken.astype(np.float32)
    assert np.isfinite(as_float32).all()
    assert_array_equal(model.decision_function(taken), model.decision_function(as_float32))
    assert model.predict_one(taken[17]) == model.predict(as_float32[17:18])[0]


def test_from_classifier_checks(clf):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        CompactProjectionNet.from_classifier(ProjectionNetClassifier())
    with pytest.raises(ValueError, match=r"quantize must be .auto. \(to_compact\) or one of"):
        clf.to_compact("int3")


# -- sizes -----------------------------------------------------------------------------
def test_size_bytes(clf, variants):
    for est in (clf, *variants.values()):
        f32, i8 = est.to_compact(), est.to_compact("int8")
        assert f32.size_bytes == est.projection_size_bytes_
        n_weights = sum(W.size for W in est.coefs_)
        n_units = sum(b.size for b in est.intercepts_)
        assert i8.size_bytes == n_weights + 4 * n_units + 4 * n_units + 8
        assert f32.size_bits == 8 * f32.size_bytes
    assert clf.to_compact().size_bytes == 4 * (128 * 10 + 10) + 8


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_size_bytes_matches_file_payload(all_models, tmp_path, name):
    _, model = all_models[name]
    path = tmp_path / "m.pnet"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:
        numbers = [f[k] for k in f.files if k.split("_")[0] in ("coef", "intercept", "scale")]
        header_and_labels = f["header"].nbytes + f["classes"].nbytes
        n_arrays = len(f.files)
    assert sum(a.nbytes for a in numbers) + 8 == model.size_bytes
    overhead = os.path.getsize(path) - model.size_bytes
    # zip entries, .npy headers (~250 bytes per array), the JSON header, the labels
    assert 0 < overhead <= header_and_labels + 320 * n_arrays


# -- uint8 rows: 8 per block, exact float32 sums --------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_uint8_rows_give_the_float_rows_results(all_models, digits, name):
    """uint8 rows (digits' 0..16, and 0..255) go to the kernels as they are (sparse_sign
    and ternary: 8 per block in float32; gaussian: converted) and give the logits of the
    same values in float64, bit for bit; the estimator agrees."""
    est, model = all_models[name]
    for scale in (16, 255):
        X8 = np.rint(digits[1] * scale).astype(np.uint8)  # 450 rows: a partial last block
        X64 = X8.astype(np.float64)
        assert_array_equal(model.decision_function(X8).view(np.uint32),
                           model.decision_function(X64).view(np.uint32))
        assert_array_equal(model.predict(X8), model.predict(X64))
        assert_array_equal(est.predict(X8), est.predict(X64))
        assert_array_equal(model.predict(X8[3:4]), model.predict(X64[3:4]))
        assert model.predict_one(X8[3]) == model.predict_one(X64[3])
        strided = np.asfortranarray(X8)[::3]
        assert_array_equal(model.predict(strided), model.predict(X64[::3]))
    assert model.hyperplanes.takes_bytes() == (not name.startswith("gaussian"))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_by_bit_and_by_feature_batches_agree(all_models, digits, monkeypatch, name):
    """A batch goes by bit (the fused kernels) or, for rows too sparse for it
    (``Hyperplanes.by_bit``), by feature (projected bits, then the layer): the same
    logits bit for bit, and a NaN or inf in any row raises naming it, either way."""
    _, compact = all_models[name]
    X = np.vstack([digits[1], digits[1][:, ::-1] * (digits[1] > 0.9)])  # dense and sparse
    sparse_rows = np.zeros((40, X.shape[1]))
    sparse_rows[np.arange(40), np.arange(40) % X.shape[1]] = 1.0
    hp = compact.hyperplanes
    assert hp.by_bit(np.ascontiguousarray(digits[1])) == (hp.block_cache()[0] == "groups")
    assert not hp.by_bit(sparse_rows)
    results = []
    for share in (0.0, 2.0):  # every batch by bit / every batch by feature
        monkeypatch.setattr(_hyperplanes, "BY_BIT_SHARE", share)
        monkeypatch.setattr(_hyperplanes, "BY_BIT_SHARE_LONG", share)
        results.append([compact.decision_function(Y) for Y in (X, sparse_rows)])
        for value in (np.nan, np.inf):
            broken = X[:77].copy()
            broken[70, 3] = value
            with pytest.raises(ValueError, match=r"row 70"):
                compact.predict(broken)
    for by_bit, by_feature in zip(*results):
        assert_array_equal(by_bit.view(np.uint32), by_feature.view(np.uint32))
