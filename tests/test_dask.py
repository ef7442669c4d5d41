"""pnet on dask (``pnet.dask``, dask-ml's ``Incremental`` and ``ParallelPostFit``).

Results are compared with the same calls made in memory, bit for bit: a dask
``LocalCluster`` of two in-process workers (``processes=False``: the model still
moves between workers), dense and CSR blocks, several epochs, ``classes``, rows
labelled -1. Two tests need no dask: the estimator survives pickling between
``partial_fit`` calls with its optimiser state, and pnet's kernels run serially in
a thread that allows numba one thread (numba's 'workqueue' layer aborts when two
threads enter it). The dask tests skip when the ``dask`` extra is absent.
"""
import importlib.util
import os
import pickle
import subprocess
import sys
import warnings

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from pnet import LSHProjection, ProjectionNetClassifier

HAS_DASK = all(importlib.util.find_spec(m) for m in ("dask", "distributed", "dask_ml"))
needs_dask = pytest.mark.skipif(
    not HAS_DASK, reason="the dask extra is not installed (pip install -e '.[dask]')")

BLOCK, N_BLOCKS, N_FEATURES = 150, 4, 12
CLASSES = [0, 1, 2]


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.rand(BLOCK * N_BLOCKS, N_FEATURES)
    X[X < 0.5] = 0.0  # sparse enough for CSR blocks to mean something
    y = np.argmax(X[:, :3], axis=1)
    y[::5] = -1  # unlabelled rows: they reach the projection net through distillation
    return X, y


def make_estimator():
    return ProjectionNetClassifier(n_projections=6, n_bits=8, trainer_hidden_layer_sizes=(16,),
                                   batch_size=64, random_state=0)


def loop_fit(X, y, epochs):
    """The reference: the same partial_fit calls, block by block, in memory."""
    clf = make_estimator()
    for _ in range(epochs):
        for i in range(N_BLOCKS):
            rows = slice(i * BLOCK, (i + 1) * BLOCK)
            clf.partial_fit(X[rows], y[rows], classes=CLASSES)
    return clf


def assert_same_model(a, b):
    for W, V in zip([*a.coefs_, *a.intercepts_, *a.trainer_coefs_],
                    [*b.coefs_, *b.intercepts_, *b.trainer_coefs_]):
        np.testing.assert_array_equal(W, V)


# -- pnet itself: what dask relies on ------------------------------------------------------
def test_pickled_estimator_continues_like_the_original(data):
    """dask moves the model between workers pickled: Adam's state must travel with it."""
    X, y = data
    reference = loop_fit(X, y, epochs=1)
    clf = make_estimator()
    for i in range(N_BLOCKS):
        rows = slice(i * BLOCK, (i + 1) * BLOCK)
        clf = pickle.loads(pickle.dumps(clf.partial_fit(X[rows], y[rows], classes=CLASSES)))
    assert_same_model(clf, reference)
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))


_CONCURRENT = """
import threading, numba, numpy as np
from pnet import ProjectionNetClassifier
X = np.random.RandomState(0).rand(2000, 12); y = (X[:, 0] > 0.5).astype(int)
clf = ProjectionNetClassifier(n_projections=6, n_bits=8, max_iter=1, random_state=0).fit(X, y)
reference = clf.predict_proba(X)  # main thread: numba's pool, 2000 rows > one block
def run(results):
    numba.set_num_threads(1)  # what pnet.dask's worker threads do
    results.append(all(np.array_equal(clf.predict_proba(X), reference) for _ in range(10)))
results = []
threads = [threading.Thread(target=run, args=(results,)) for _ in range(2)]
[t.start() for t in threads]; [t.join() for t in threads]
assert results == [True, True], results
print(numba.threading_layer())
"""


def test_one_numba_thread_runs_serially_beside_another_thread():
    """Two threads at one numba thread each predict at once under the workqueue layer
    (which aborts the process if both enter numba's pool) and match the pool's result."""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", _CONCURRENT],
                            capture_output=True, text=True,
                            env={**os.environ, "NUMBA_THREADING_LAYER": "workqueue",
                                 "NUMBA_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "workqueue"


def test_core_does_not_import_dask():
    code = ("import sys, pnet; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed', 'dask_ml')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- on a cluster -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    if not HAS_DASK:
        pytest.skip("the dask extra is not installed (pip install -e '.[dask]')")
    from distributed import Client, LocalCluster

    from pnet.dask import OneNumbaThread

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.register_plugin(OneNumbaThread())
        yield client


def dask_arrays(X, y, csr=False):
    import dask.array as da

    dX = da.from_array(X, chunks=(BLOCK, -1))
    if csr:
        dX = dX.map_blocks(sp.csr_matrix)
    return dX, da.from_array(y, chunks=BLOCK)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@needs_dask
def test_workers_run_one_numba_thread(client):
    threads = client.gather([client.submit(numba.get_num_threads, pure=False, workers=[w])
                             for w in client.scheduler_info()["workers"]])
    assert threads == [1, 1]


@needs_dask
def test_serial_pool_threads_allow_numba_one_thread():
    from concurrent.futures import ThreadPoolExecutor

    from pnet.dask import serial_numba_threads

    with serial_numba_threads(2) as pool:
        assert pool.submit(numba.get_num_threads).result() == 1
    with ThreadPoolExecutor(1) as plain:  # a fresh thread starts at numba's default
        assert plain.submit(numba.get_num_threads).result() == numba.config.NUMBA_NUM_THREADS


def fit_through(route, dX, dy):
    """Two epochs over the blocks of (dX, dy) through dask-ml's Incremental or
    pnet.dask.fit_blocks; the fitted estimator."""
    from dask_ml.wrappers import Incremental

    from pnet.dask import fit_blocks

    if route == "fit_blocks":
        return fit_blocks(make_estimator(), dX, dy, classes=CLASSES, epochs=2)
    inc = Incremental(make_estimator(), shuffle_blocks=False)
    for _ in range(2):
        inc.partial_fit(dX, dy, classes=CLASSES)
    return inc.estimator_


@needs_dask
@pytest.mark.parametrize("route", ["incremental", "fit_blocks"])
@pytest.mark.parametrize("csr", [False, True], ids=["dense", "csr"])
def test_dask_fit_equals_partial_fit_loop(client, data, route, csr):
    """Two epochs on the cluster: the in-memory loop's model, bit for bit, and its
    predictions through ParallelPostFit."""
    from dask_ml.wrappers import ParallelPostFit

    X, y = data
    X_in = sp.csr_matrix(X) if csr else X
    reference = loop_fit(X_in, y, epochs=2)
    dX, dy = dask_arrays(X, y, csr)
    model = fit_through(route, dX, dy)
    assert model.n_iter_ == reference.n_iter_ == 2 * N_BLOCKS
    assert_same_model(model, reference)
    wrapped = ParallelPostFit(model)
    np.testing.assert_array_equal(wrapped.predict(dX).compute(), reference.predict(X_in))
    np.testing.assert_array_equal(wrapped.predict_proba(dX).compute(),
                                  reference.predict_proba(X_in))


@needs_dask
def test_fit_blocks_without_a_client(data):
    import dask

    from pnet.dask import fit_blocks

    X, y = data
    dX, dy = dask_arrays(X, y)
    with dask.config.set(scheduler="threads"):
        clf = fit_blocks(make_estimator(), dX, dy, classes=CLASSES)
    assert_same_model(clf, loop_fit(X, y, epochs=1))


@needs_dask
@pytest.mark.parametrize("csr", [False, True], ids=["dense", "csr"])
def test_parallel_post_fit_equals_predict(client, data, csr):
    """Blockwise predictions equal in-memory ones; the meta dask-ml infers from one
    row of zeros has the computed result's dtype and dimensions."""
    from dask_ml.wrappers import ParallelPostFit

    X, y = data
    clf = make_estimator().set_params(max_iter=5).fit(X, np.where(y == -1, 0, y))
    wrapped = ParallelPostFit(clf)
    dX, _ = dask_arrays(X, y, csr)
    for method in ("predict", "predict_proba"):
        lazy = getattr(wrapped, method)(dX)
        result = lazy.compute()
        np.testing.assert_array_equal(result, getattr(clf, method)(X))
        assert (lazy._meta.dtype, lazy._meta.ndim, lazy.shape) == \
            (result.dtype, result.ndim, result.shape)


@needs_dask
def test_meta_with_string_classes(client, data):
    from dask_ml.wrappers import ParallelPostFit

    X, y = data
    labels = np.array(["cat", "dog", "emu"])[np.where(y == -1, 0, y)]
    clf = make_estimator().set_params(max_iter=5).fit(X, labels)
    lazy = ParallelPostFit(clf).predict(dask_arrays(X, y)[0])
    result = lazy.compute()
    np.testing.assert_array_equal(result, clf.predict(X))
    assert lazy._meta.dtype == result.dtype == clf.classes_.dtype


@needs_dask
@pytest.mark.parametrize("output", ["packed", "dense"])
def test_transform_blockwise(client, data, output):
    from pnet.dask import transform

    X, y = data
    projection = LSHProjection(n_projections=10, n_bits=10, output=output,
                               random_state=0).fit(X)
    lazy = transform(projection, dask_arrays(X, y)[0])
    expected = projection.transform(X)
    assert (lazy.shape, lazy.dtype) == (expected.shape, expected.dtype)
    np.testing.assert_array_equal(lazy.compute(), expected)


@needs_dask
def test_fit_blocks_rejects_unaligned_labels(client, data):
    import dask.array as da

    from pnet.dask import fit_blocks

    X, y = data
    with pytest.raises(ValueError, match="rechunk y like X"):
        fit_blocks(make_estimator(), da.from_array(X, chunks=(BLOCK, -1)),
                   da.from_array(y, chunks=BLOCK // 2), classes=CLASSES)
