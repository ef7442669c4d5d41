"""``over_rows``: how a batch is split into ranges of rows for the row kernels' threads.

The kernels' results do not depend on the split (tested with the kernels in
test_projection, test_compact, test_network); these tests check the split itself,
with a Python row function that records its calls.
"""
import os
import threading

import numba
import numpy as np
import pytest
from conftest import numba_threads

from pnet import _hyperplanes
from pnet._hyperplanes import BLOCK_ROWS, over_rows

THREADS = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS), numba.config.NUMBA_NUM_THREADS})


def recorded(n, threads, fail_at=None):
    """The (start, stop) ranges ``over_rows`` asks for on n rows, and their threads."""
    calls, lock = [], threading.Lock()

    def rows(first, start, stop, tag, out):
        assert first is marker and tag == "tag"
        with lock:
            calls.append((start, stop, threading.get_ident()))
        if fail_at is not None and start <= fail_at < stop:
            raise ValueError(f"row {fail_at}")
        out[start:stop] += 1

    marker = object()
    out = np.zeros(n, dtype=np.int64)
    with numba_threads(threads):
        assert over_rows(rows, n, marker, "tag", out=out) is out
    return calls, out


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("n", [0, 1, BLOCK_ROWS - 1, BLOCK_ROWS, BLOCK_ROWS + 1,
                               2 * BLOCK_ROWS, 3 * BLOCK_ROWS + 5, 10_000])
def test_ranges_cover_every_row_once_at_block_boundaries(n, threads):
    calls, out = recorded(n, threads)
    assert (out == 1).all()  # every row once
    ranges = sorted((start, stop) for start, stop, _ in calls)
    blocks = -(-n // BLOCK_ROWS)
    assert len(ranges) == (min(threads, blocks) if n else 0)
    for (start, stop), (next_start, _) in zip(ranges, ranges[1:]):
        assert stop == next_start
    for start, stop in ranges:
        assert start < stop and start % BLOCK_ROWS == 0
        assert stop % BLOCK_ROWS == 0 or stop == n
    if ranges:  # ranges of whole blocks, as even as whole blocks allow
        sizes = [-(-(stop - start) // BLOCK_ROWS) for start, stop in ranges]
        assert max(sizes) - min(sizes) <= 1


def test_one_block_or_one_thread_stays_in_the_calling_thread():
    me = threading.get_ident()
    for n, threads in ((BLOCK_ROWS, max(THREADS)), (10_000, 1)):
        calls, _ = recorded(n, threads)
        assert [(start, stop) for start, stop, _ in calls] == [(0, n)]
        assert calls[0][2] == me


@pytest.mark.skipif(max(THREADS) < 2, reason="numba allows one thread here")
def test_the_calling_thread_runs_the_first_range_and_workers_the_rest():
    calls, _ = recorded(10_000, 2)
    by_start = {start: ident for start, _, ident in calls}
    assert by_start[0] == threading.get_ident()
    assert all(ident != threading.get_ident() for start, ident in by_start.items() if start)


@pytest.mark.skipif(max(THREADS) < 2, reason="numba allows one thread here")
@pytest.mark.parametrize("fail_at", [0, 9_999])
def test_an_error_in_any_range_reaches_the_caller_after_every_range_ran(fail_at):
    with pytest.raises(ValueError, match=f"row {fail_at}"):
        recorded(10_000, 2, fail_at=fail_at)
    calls, out = recorded(10_000, 2)  # the pool still works afterwards
    assert (out == 1).all()


@pytest.mark.skipif(not hasattr(os, "fork") or max(THREADS) < 2,
                    reason="needs os.fork and two numba threads")
def test_a_forked_child_gets_a_pool_of_its_own():
    recorded(10_000, 2)  # the parent's pool exists
    assert _hyperplanes._POOL is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the inherited pool's threads do not exist here
        ok = _hyperplanes._POOL is None
        try:
            ok = ok and bool((recorded(10_000, 2)[1] == 1).all())
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)


@pytest.mark.skipif(max(THREADS) < 2, reason="numba allows one thread here")
def test_a_pool_worker_runs_its_own_batch_serially():
    # a row function that itself splits a batch: waiting on the pool from inside
    # the pool could deadlock, so the worker must run the inner batch itself
    def outer(first, start, stop, out):
        for i in range(start, stop):
            out[i] = recorded(2 * BLOCK_ROWS + 1, 2)[1].sum()

    out = np.zeros(3 * BLOCK_ROWS, dtype=np.int64)
    with numba_threads(2):
        over_rows(outer, out.shape[0], None, out=out)
    assert (out == 2 * BLOCK_ROWS + 1).all()


def test_batches_still_run_when_the_pool_refuses_work(monkeypatch):
    # at interpreter shutdown ThreadPoolExecutor.submit raises RuntimeError
    class Closed:
        def submit(self, *args, **kwargs):
            raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(_hyperplanes, "_thread_pool", lambda: Closed())
    calls, out = recorded(10_000, max(THREADS))
    assert (out == 1).all()
    assert {ident for _, _, ident in calls} == {threading.get_ident()}


@pytest.mark.skipif(max(THREADS) < 2, reason="numba allows one thread here")
def test_ctrl_c_during_the_wait_is_raised_after_the_workers_finished(monkeypatch):
    # Ctrl-C arrives while the caller waits for the worker's range: over_rows must
    # not hand the interrupt back while that range still writes into ``out``
    worker_started, release = threading.Event(), threading.Event()

    def rows(first, start, stop, out):
        if start:  # the worker's range: slow, and still running when Ctrl-C comes
            worker_started.set()
            release.wait(10)
        out[start:stop] += 1

    real_wait, waits = _hyperplanes.wait, []

    def interrupted_wait(futures):
        waits.append(len(futures))
        if len(waits) == 1:
            assert worker_started.wait(10)
            threading.Timer(0.2, release.set).start()
            raise KeyboardInterrupt
        return real_wait(futures)

    monkeypatch.setattr(_hyperplanes, "wait", interrupted_wait)
    out = np.zeros(4 * BLOCK_ROWS, dtype=np.int64)
    with numba_threads(2), pytest.raises(KeyboardInterrupt):
        over_rows(rows, out.shape[0], None, out=out)
    assert release.is_set() and len(waits) == 2
    assert (out == 1).all()  # both ranges finished before the interrupt was raised
