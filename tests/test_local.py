"""The 'local' projection: ternary entries inside one square window of the image per bit.

Windows and entries against the numpy twin (``naive.windows``, ``naive.local_matrix``),
exactly; the bits of every input path (float64, float32, uint8, CSR, one row, the
compact model, a file) against ``naive.project``; the parameters' checks; the file's
version 4 and its hostile variants.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits

import naive
import pnet
from modelfiles import header_of, make_model, with_header
from pnet import CompactProjectionNet, LSHProjection, ProjectionNetClassifier
from pnet._hyperplanes import MAX_CACHE_ENTRIES, Hyperplanes
from pnet._local import MAX_LOCAL_CELLS, check_local_size, resolve_window
from pnet._modelfile import ModelFileError

WINDOWS = [(14, 14, 2, 5), (5, 7, 1, 5), (8, 8, 8, 8), (3, 40, 1, 3), (1, 9, 1, 1),
           (28, 28, 2, 10)]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("seed", [0, 11, 2**62 + 12345])
def test_windows_and_entries_equal_the_twin_exactly(window, seed):
    height, width, kmin, kmax = window
    n_bits, density = 257, 0.6
    hp = Hyperplanes(seed, height * width, n_bits, "local", density, window)
    expected = naive.windows(seed, n_bits, *window)
    assert_array_equal(hp.windows(), expected)
    sides = expected[:, 2]
    assert sides.min() >= kmin and sides.max() <= kmax
    assert (expected[:, 0] + sides <= height).all() and (expected[:, 1] + sides <= width).all()
    R = hp.matrix()
    assert_array_equal(R, naive.local_matrix(seed, n_bits, window, density))
    indptr, bits, signs = hp.ternary_lists()
    for j in range(height * width):  # ascending bits per pixel, as the dense kernels need
        row = bits[indptr[j]:indptr[j + 1]]
        assert_array_equal(row, np.flatnonzero(R[j]))
        assert_array_equal(signs[indptr[j]:indptr[j + 1]], R[j, row])


def test_windows_cover_the_image_and_every_side():
    """Every side from kmin to kmax and every position occur (a skewed field would
    leave some out); the density holds inside the windows."""
    window = (14, 14, 2, 5)
    hp = Hyperplanes(3, 196, 20_000, "local", 0.5, window)
    w = hp.windows()
    assert set(w[:, 2]) == {2, 3, 4, 5}
    for side in (2, 5):
        at = w[w[:, 2] == side]
        assert set(at[:, 0]) == set(range(15 - side)) and set(at[:, 1]) == set(range(15 - side))
    R = hp.matrix()
    area = (w[:, 2] ** 2).sum()
    assert abs(np.count_nonzero(R) / area - 0.5) < 0.01
    assert abs((R > 0).sum() / np.count_nonzero(R) - 0.5) < 0.01


def image_rows(n, height, width, seed=0):
    """Images: blobs of positive values, zeros, all-zero rows, integer rows whose sums tie."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, height * width)) * (rng.random((n, height * width)) < 0.4)
    X[:5] = 0.0
    X[5:40] = rng.integers(0, 3, size=(35, height * width))
    X[40:60] *= 1e-30
    return X


@pytest.mark.parametrize("window", [(14, 14, 2, 5), (5, 7, 1, 5)])
def test_every_input_path_gives_the_twins_bits(window):
    height, width = window[:2]
    n_bits = 300
    hp = Hyperplanes(9, height * width, n_bits, "local", 0.5, window)
    X = image_rows(3000, height, width)
    expected = naive.project(X, naive.local_matrix(9, n_bits, window, 0.5))
    assert_array_equal(hp.project(X), expected)
    ones = naive.unpack(expected, n_bits).mean()
    assert 0.1 < ones < 0.6  # both bit values occur: the equality says something
    assert_array_equal(hp.project(sp.csr_matrix(X)), expected)
    assert_array_equal(hp.project(X[::-1])[::-1], expected)  # order and batch do not matter
    assert_array_equal(np.vstack([hp.project(X[i:i + 7]) for i in range(0, 3000, 7)]),
                       expected)
    X32 = X.astype(np.float32)
    assert_array_equal(hp.project(X32), naive.project(X32, hp.matrix()))
    pixels = np.rint(X * 255).astype(np.uint8)
    assert hp.takes_bytes()
    assert_array_equal(hp.project(pixels), naive.project(pixels, hp.matrix()))
    # CSR with unsorted and repeated column ids, through project_csr
    csr = sp.csr_matrix(X[:200])
    data, ids, indptr = [], [], [0]
    for i in range(200):
        cols, vals = csr.indices[csr.indptr[i]:csr.indptr[i + 1]], \
            csr.data[csr.indptr[i]:csr.indptr[i + 1]]
        order = np.random.default_rng(i).permutation(cols.size)
        data += [vals[order] / 2, vals[order] / 2]  # each value as two halves (exact)
        ids += [cols[order], cols[order]]
        indptr.append(indptr[-1] + 2 * cols.size)
    got = hp.project_csr(np.concatenate(data), np.concatenate(ids).astype(np.uint64),
                         np.array(indptr))
    assert_array_equal(got, expected[:200])
    with pytest.raises(ValueError, match="below"):
        hp.project_csr(np.ones(1), np.array([height * width], np.uint64), np.array([0, 1]))


def test_settings_are_checked():
    assert resolve_window(None, "auto", 196) == (14, 14, 3, 8)
    assert resolve_window(None, "auto", 784) == (28, 28, 6, 17)
    assert resolve_window((4, 16), "auto", 64) == (4, 16, 1, 2)
    assert resolve_window(None, "auto", 1) == (1, 1, 1, 1)
    assert resolve_window((1, 9), (1, 1), 9) == (1, 9, 1, 1)
    for shape, window, n, match in [
            (None, "auto", 30, "not a square"), ((5, 7), "auto", 30, "holds 35 pixels"),
            ((5, 6, 1), "auto", 30, "image_shape must be"), ((5, True), "auto", 5, "image_shape"),
            ((0, 30), "auto", 0, "image_shape"), (None, (3, 2), 36, "window must be"),
            (None, (0, 2), 36, "window must be"), (None, (2, 7), 36, "window must be"),
            (None, (2.0, 3), 36, "window must be"), (None, 5, 36, "window must be")]:
        with pytest.raises(ValueError, match=match):
            resolve_window(shape, window, n)
    with pytest.raises(ValueError, match="window"):
        Hyperplanes(0, 36, 10, "ternary", 0.5, (6, 6, 2, 3))
    with pytest.raises(ValueError, match="window"):
        Hyperplanes(0, 36, 10, "local", 0.5)
    with pytest.raises(ValueError, match="does not fit"):
        Hyperplanes(0, 35, 10, "local", 0.5, (6, 6, 2, 3))
    check_local_size(196, MAX_LOCAL_CELLS // 25, 5)
    with pytest.raises(ValueError, match="window pixels"):
        Hyperplanes(0, 2000 * 2000, MAX_LOCAL_CELLS // 400 + 1, "local", 0.5,
                    (2000, 2000, 2, 20))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def test_estimator_fits_predicts_and_ships(digits, tmp_path):
    X, y = digits
    clf = ProjectionNetClassifier(projection="local", n_projections=20, max_iter=15,
                                  random_state=0, trainer_hidden_layer_sizes=(32,))
    clf.fit(X[:1200], y[:1200])
    assert clf.window_ == (8, 8, 2, 5) and clf.density_ == 0.5
    assert clf.hyperplanes_.window == clf.window_
    assert clf.score(X[1200:], y[1200:]) > 0.8
    for quantize in (None, "int8", "int4", "ternary"):
        compact = clf.to_compact(quantize=quantize)
        path = tmp_path / f"m-{quantize}.pnet"
        compact.save(path)
        loaded = pnet.load(path)
        assert loaded.format_version == (5 if compact.sums == "float32" else 4)
        assert loaded.window == (8, 8, 2, 5) and loaded.sums == compact.sums
        assert_array_equal(loaded.predict(X), compact.predict(X))
        assert_array_equal(loaded.decision_function(X).view(np.uint32),
                           compact.decision_function(X).view(np.uint32))
        assert [loaded.predict_one(x) for x in X[:40]] == list(compact.predict(X[:40]))
        assert_array_equal(loaded.predict(np.rint(X * 16).astype(np.uint8)),
                           loaded.predict(np.rint(X * 16)))
    assert_array_equal(clf.to_compact().predict(X), clf.predict(X))
    # the shape is part of the fitted model
    clf.set_params(window=(2, 4), warm_start=True)
    with pytest.raises(ValueError, match="window"):
        clf.fit(X[:100], y[:100])


def test_estimator_refuses_images_it_cannot_read(digits):
    X, y = digits
    with pytest.raises(ValueError, match="not a square"):
        ProjectionNetClassifier(projection="local", max_iter=2).fit(X[:, :60], y)
    clf = ProjectionNetClassifier(projection="local", image_shape=(4, 15), window=(1, 4),
                                  max_iter=2, trainer_weight=0.0, distillation_weight=0.0)
    clf.fit(X[:300, :60], y[:300])
    assert clf.window_ == (4, 15, 1, 4)
    with pytest.raises(ValueError, match="window must be"):
        ProjectionNetClassifier(projection="local", window=(2, 9), max_iter=2).fit(X, y)
    # text has no image
    with pytest.raises(ValueError, match="projection"):
        pnet.TextProjectionNetClassifier(projection="local").fit(["a b", "c d"], [0, 1])


def test_lsh_projection_local_equals_the_hyperplanes(digits):
    X, _ = digits
    lsh = LSHProjection(projection="local", n_projections=10, random_state=1).fit(X)
    assert lsh.window_ == (8, 8, 2, 5)
    R = naive.local_matrix(lsh.seed_, 120, lsh.window_, 0.5)
    assert_array_equal(lsh.transform(X), naive.project(X, R))


def rewrite_header(data, changes):
    """The file with header keys set (``DELETE``: removed); arrays untouched."""
    def edit(header):
        for key, value in changes.items():
            if value == DELETE:
                del header[key]
            else:
                header[key] = value
    return with_header(data, edit)


DELETE = "__delete__"


def local_file(**header_changes):
    model = make_model("int8", projection="local", n_features=30, n_projections=4, n_bits=5,
                       density=0.5, window=(5, 6, 1, 3))
    return rewrite_header(model.to_bytes(), header_changes)


def test_version_4_round_trips_and_other_models_stay_older():
    data = local_file()
    model = CompactProjectionNet.from_bytes(data)
    assert model.format_version == 4 and model.window == (5, 6, 1, 3)
    header = header_of(data)
    assert header["version"] == 4 and header["window"] == [5, 6, 1, 3]
    assert make_model("int8", projection="sparse_sign").format_version == 3
    assert make_model("int8").format_version == 1


@pytest.mark.parametrize("change, match", [
    ({"window": None}, "window must be 4 positive integers"),
    ({"window": [5, 6, 1]}, "window must be 4 positive integers"),
    ({"window": [5, 6, 0, 3]}, "window must be 4 positive integers"),
    ({"window": [5, 6, 1, 3.0]}, "window must be 4 positive integers"),
    ({"window": [5, 7, 1, 3]}, "does not fit 30 features"),
    ({"window": [6, 5, 1, 6]}, "does not fit"),
    ({"window": [1, 30, 1, 1], "n_projections": 4}, None),  # a legal other image
    ({"window": [2**40, 1, 1, 1]}, "does not fit"),
    ({"projection": "ternary"}, "exactly for the \"local\" projection"),
    ({"window": "__delete__"}, "exactly for the \"local\" projection"),
    ({"version": 3}, "unknown keys|projection must be"),
])
def test_hostile_version_4_headers_raise_model_file_error(change, match):
    data = local_file(**change)
    if match is None:
        assert CompactProjectionNet.from_bytes(data).window == (1, 30, 1, 1)
        return
    with pytest.raises(ModelFileError, match=match):
        CompactProjectionNet.from_bytes(data)


def test_huge_windows_in_a_file_are_refused_before_any_work():
    model = make_model("int8", projection="local", n_features=4096, n_projections=4,
                       n_bits=5, density=0.5, window=(64, 64, 1, 64))
    hostile = rewrite_header(model.to_bytes(), {"n_features": 2**22 + 4096 * 1024,
                                    "window": [2**11 + 1024, 2**11, 1, 2048]})
    with pytest.raises(ModelFileError, match="does not fit|pixels"):
        CompactProjectionNet.from_bytes(hostile)


def test_csr_rows_are_densified_in_bounded_chunks(monkeypatch):
    """A chunk holds at most DENSIFY_VALUES values (one row at least), so CSR rows
    of a large image never become one huge dense array; chunk edges change no bit."""
    import pnet._hyperplanes as hyperplanes
    window = (14, 14, 3, 8)
    hp = Hyperplanes(5, 196, 200, "local", 0.5, window)
    X = image_rows(100, 14, 14)
    dense = hp.project(X)
    monkeypatch.setattr(hyperplanes, "DENSIFY_VALUES", 3 * 196 + 1)  # 3 rows a chunk
    seen = []
    project = hp.project

    def spy(A):
        seen.append(A.shape[0])
        return project(A)
    monkeypatch.setattr(hp, "project", spy)
    assert_array_equal(Hyperplanes._project_densified(hp, sp.csr_matrix(X)), dense)
    assert max(seen) == 3 and sum(seen) == 100
    monkeypatch.undo()
    # a 1024 x 1024 image: chunks of DENSIFY_VALUES // 2**20 = 8 rows (64 MiB)
    big = Hyperplanes(1, 1 << 20, 64, "local", 0.5, (1024, 1024, 3, 8))
    rng = np.random.default_rng(0)
    rows = sp.csr_matrix((rng.random(200), rng.integers(0, 1 << 20, 200),
                          np.arange(0, 201, 10)), shape=(20, 1 << 20))
    assert_array_equal(big.project(rows), big.project(rows[:5].toarray()).tolist()
                       + big.project(rows[5:].toarray()).tolist())


def test_estimators_pickled_before_local_still_export_and_train(digits):
    """pnet 0.2.0 pickles have no window on the hyperplanes, no image_shape / window on
    the estimator and none in its fitted structure: they predict, export and train on."""
    import pickle
    X, y = digits
    clf = ProjectionNetClassifier(n_projections=8, max_iter=3, random_state=0,
                                  trainer_hidden_layer_sizes=(16,)).fit(X, y)
    del clf.hyperplanes_.__dict__["window"], clf.__dict__["image_shape"], \
        clf.__dict__["window"], clf.__dict__["window_"]
    del clf._fitted_structure["image_shape"], clf._fitted_structure["window"]
    old = pickle.loads(pickle.dumps(clf))
    assert old.hyperplanes_.window is None and old.hyperplanes_ == clf.hyperplanes_
    assert_array_equal(old.to_compact().predict(X), clf.predict(X))
    old.set_params(warm_start=True).fit(X, y)
    old.partial_fit(X, y)


def test_compact_window_of_numpy_ints_is_saved_as_ints():
    for window in (np.array([5, 6, 1, 3]), (np.int32(5), np.int64(6), 1, 3)):
        model = make_model("int8", projection="local", n_features=30, n_projections=4,
                           n_bits=5, density=0.5, window=window)
        assert model.window == (5, 6, 1, 3) and all(type(v) is int for v in model.window)
        assert CompactProjectionNet.from_bytes(model.to_bytes()).window == (5, 6, 1, 3)
    with pytest.raises(ValueError, match="4 ints"):
        Hyperplanes(0, 64, 10, "local", 0.5, (8.9, "8", 1.5, 3))


def test_a_text_model_cannot_be_local():
    from pnet.textfront import TextFront
    with pytest.raises(ValueError, match="for images"):
        make_model("int8", projection="local", n_features=30, density=0.5,
                   window=(5, 6, 1, 3), text_front=TextFront())


def test_image_shape_and_window_without_local_warn(digits):
    X, y = digits
    quiet = dict(max_iter=2, trainer_weight=0.0, distillation_weight=0.0)
    with pytest.warns(UserWarning, match="apply only to projection='local'"):
        ProjectionNetClassifier(image_shape=(8, 8), **quiet).fit(X, y)
    with pytest.warns(UserWarning, match="apply only to projection='local'"):
        LSHProjection(projection="ternary", window=(2, 3)).fit(X)
    clf = ProjectionNetClassifier(projection="local", image_shape=np.array([8, 8]),
                                  window=np.array([2, 4]), **quiet).fit(X, y)
    assert clf.window_ == (8, 8, 2, 4)


def test_a_text_model_file_made_local_is_a_model_file_error():
    from pnet.textfront import TextFront
    text = make_model("int8", density=0.5, text_front=TextFront()).to_bytes()
    hostile = rewrite_header(text, {"version": 4, "projection": "local", "n_features": 30,
                                    "window": [5, 6, 1, 3]})
    with pytest.raises(ModelFileError, match="for images"):
        CompactProjectionNet.from_bytes(hostile)


def test_the_local_bound_is_the_other_caches_bound():
    assert MAX_LOCAL_CELLS == MAX_CACHE_ENTRIES


def test_estimators_pickled_before_float32_sums_keep_float64_sums(digits):
    """pnet 0.2.0 pickles have no sums on the hyperplanes, the estimator, its fitted
    structure or the compact model: they sum in float64, as they were fitted, and
    predict, ship (a file of the old version) and train on."""
    import pickle
    X, y = digits
    clf = ProjectionNetClassifier(n_projections=8, max_iter=3, random_state=0, sums="float64",
                                  trainer_hidden_layer_sizes=(16,)).fit(X, y)
    compact = clf.to_compact("int8")
    del clf.hyperplanes_.__dict__["sums"], clf.__dict__["sums"], clf.__dict__["sums_"]
    del clf._fitted_structure["sums"]
    del compact.__dict__["sums"], compact.hyperplanes.__dict__["sums"]
    old, old_compact = pickle.loads(pickle.dumps((clf, compact)))
    assert old.hyperplanes_.sums == old_compact.hyperplanes.sums == "float64"
    assert old.hyperplanes_ == clf.hyperplanes_
    assert_array_equal(old.predict(X), clf.predict(X))
    assert_array_equal(old_compact.predict(X), compact.predict(X))
    assert old.to_compact().sums == old_compact.sums == "float64"
    assert old_compact.format_version == 3  # sparse_sign, float64 sums: not version 5
    float32_sums = Hyperplanes(old.hyperplanes_.seed, 64, old.hyperplanes_.n_bits,
                               "sparse_sign", old.hyperplanes_.density, sums="float32")
    assert not float32_sums == old.hyperplanes_  # the sums are part of the hash
    old.set_params(warm_start=True).fit(X, y)
    old.partial_fit(X, y)
    assert old.hyperplanes_.sums == "float64"
