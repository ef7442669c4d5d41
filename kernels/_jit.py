"""The jit policy of every pnet kernel, set in one place.

- ``cache=True``: compiled code is written next to the module, so only the first
  process on a machine pays the compile time (measured in bench/startup.py).
- ``nogil=True``: kernels release the GIL, so callers may use threads.
- No ``fastmath``: a flag such as ``contract`` (FMA) or ``reassoc`` changes the
  rounding of ``<x, r_k>`` and therefore which sign bit comes out; the numpy twins
  in the tests would stop matching bit for bit.
- ``parallel=True`` only for kernels whose ``prange`` iterations write disjoint
  outputs (one block of rows, or one word of bits), so results never depend on
  the thread count.

Tunables are always kernel *arguments*: cached code would freeze a module global
at the value it had when compiled.
"""
import functools

import numba

jit = functools.partial(numba.njit, cache=True, nogil=True)
parallel_jit = functools.partial(numba.njit, cache=True, nogil=True, parallel=True)
