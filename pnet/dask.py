"""pnet on dask: one numba thread per dask worker thread, and bounded streaming fits.

dask-ml's wrappers take pnet's estimators as they are; this module holds only
what dask does not do itself. ``import pnet`` never imports it (nor dask):
``import pnet.dask`` needs the ``dask`` extra (``pip install 'pnet[dask]'``).

Training and prediction on dask arrays (dense or CSR blocks)::

    from dask_ml.wrappers import Incremental, ParallelPostFit
    inc = Incremental(ProjectionNetClassifier(random_state=0), shuffle_blocks=False)
    for epoch in range(10):                    # one call: every block once, in order,
        inc.partial_fit(X, y, classes=[0, 1])  # each block one pnet epoch (partial_fit)
    inc.predict(X_new)                         # block by block, lazy (dask arrays)

``Incremental.partial_fit`` chains ``estimator.partial_fit(block, y_block,
classes=...)`` over the blocks (``classes`` reaches every call; labels -1 mark
unlabelled rows, as in memory) and continues from the previous call's model, so
the loop above is exactly the in-memory loop over the same blocks. The model
moves between workers pickled; its optimiser state travels with it.
``fit_blocks`` makes the same calls holding at most two blocks at a time (on a
``distributed`` cluster, ``Incremental`` lets idle workers compute and hold the
whole stream ahead of the fits). ``ParallelPostFit(LSHProjection).transform``
reports the input's column count as the output's; ``transform`` gives the right one.

Threads. pnet splits large batches over ``numba.get_num_threads()`` threads (its
own pool of Python threads for projection and prediction, numba's thread pool for
some training and text kernels), and ``numba.set_num_threads`` is a property of
the calling thread. A dask worker already runs one task per thread, so numba
should use one thread per task: pnet then runs its row functions serially in that
thread and enters neither pool (numba's 'workqueue' layer aborts the process when
two threads enter it at once). ``OneNumbaThread`` sets this up on every worker::

    client.register_plugin(pnet.dask.OneNumbaThread())   # before submitting work

Results do not depend on it: every row's bits and logits come from the same row
functions whichever path runs them (bit for bit, tested in ``tests/test_dask.py``).
"""
from concurrent.futures import ThreadPoolExecutor

import dask
import numba
import numpy as np
from distributed import WorkerPlugin, default_client, wait


def serial_numba_threads(n_threads, thread_name_prefix="pnet-serial-numba"):
    """A thread pool whose threads each allow numba one thread.

    Usable wherever dask takes an executor: a ``distributed.Worker(executor=...)``
    or the local threaded scheduler (``dask.config.set(pool=...)``).
    """
    return ThreadPoolExecutor(n_threads, thread_name_prefix=thread_name_prefix,
                              initializer=numba.set_num_threads, initargs=(1,))


class OneNumbaThread(WorkerPlugin):
    """Worker plugin: each worker's task threads run numba with one thread.

    Replaces the worker's default executor by ``serial_numba_threads`` with as many
    threads as the worker has (``nthreads``). Register it before submitting work
    (tasks already running keep their thread). Tasks that call ``secede`` /
    ``worker_client`` need distributed's own executor: do not use this plugin there;
    start worker processes with ``NUMBA_NUM_THREADS=1`` in their environment instead.
    """

    name = "pnet-one-numba-thread"

    def setup(self, worker):
        old = worker.executors["default"]
        worker.executors["default"] = serial_numba_threads(
            worker.state.nthreads, thread_name_prefix=f"{worker.name}-pnet-serial-numba")
        old.shutdown(wait=False)


def fit_blocks(estimator, X, y, classes=None, epochs=1):
    """``estimator.partial_fit`` over the blocks of dask arrays, in order, ``epochs``
    times, holding at most two blocks at a time; returns the fitted estimator.

    The same calls as ``Incremental(estimator, shuffle_blocks=False)`` makes (and as
    the in-memory loop over the blocks), hence the same model, bit for bit. Unlike
    ``Incremental`` on a ``distributed`` cluster, whose idle workers compute every
    block of the stream ahead of the chain of fits and hold them, it asks for block
    i + 1 only when block i is being fitted: memory is set by the block size, not by
    the number of rows. With a ``distributed`` client the fits run on the workers
    (the model travels pickled, its optimiser state with it) and the fitted model is
    returned to the caller; without one, in this process (``estimator`` is fitted in
    place). X: a dask array chunked along rows only (dense or CSR blocks); y: a dask
    array with the same row chunks.
    """
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimensions.")
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    if y.chunks[0] != X.chunks[0]:
        raise ValueError(f"y's row chunks {y.chunks[0]} differ from X's {X.chunks[0]}: "
                         "rechunk y like X.")
    blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel())) * epochs
    try:
        client = default_client()
    except ValueError:  # no distributed client: the blocks are computed here, one by one
        for X_block, y_block in blocks:
            estimator.partial_fit(*dask.compute(X_block, y_block), classes=classes)
        return estimator
    model, current = estimator, client.compute(list(blocks[0]))
    for i in range(len(blocks)):
        model = client.submit(_partial_fit, model, *current, classes, pure=False)
        # block i + 1 is computed while block i is fitted; block i + 2 waits for fit i
        current = client.compute(list(blocks[i + 1])) if i + 1 < len(blocks) else None
        wait(model)
    return model.result()


def _partial_fit(model, X, y, classes):
    return model.partial_fit(X, y, classes=classes)


def transform(projection, X):
    """``projection.transform`` (a fitted ``LSHProjection``) block by block on a dask
    array: packed uint64 words or 0/1 float32 bits, with the output's true width."""
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    n_out = projection.get_feature_names_out().shape[0]
    meta = projection.transform(np.zeros((1, X.shape[1]), dtype=X.dtype))[:0]
    return X.map_blocks(projection.transform, chunks=(X.chunks[0], (n_out,)),
                        dtype=meta.dtype, meta=meta)
