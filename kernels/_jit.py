"""The jit policy of every pnet kernel, set in one place.

- ``cache=True``: compiled code is written next to the module, so only the first
  process on a machine pays the compile time (measured in bench/startup.py).
- ``nogil=True``: kernels release the GIL, so callers may use threads.
- No ``fastmath``: a flag such as ``contract`` (FMA) or ``reassoc`` changes the
  rounding of ``<x, r_k>`` and therefore which sign bit comes out; the numpy twins
  in the tests would stop matching bit for bit.
  The one fused multiply-add pnet asks for is a product by +-1 (exact, so fused or
  not it rounds once: ``pnet.kernels.table.lanes_add_signed``).
- ``parallel=True`` only for kernels whose ``prange`` iterations write disjoint
  outputs (one word of bits, one document), so results never depend on the
  thread count. Batches of rows are not prange kernels: ``pnet._hyperplanes.over_rows``
  runs a serial row kernel on ranges of rows from Python threads (``nogil``), which
  spares numba a second, slow ``parallel=True`` compile of every row kernel.
- Compile time is start-up time (``python -m bench.startup``). numba compiles a jit
  function called from jit code once per argument types, *literal constants
  included* (``f(x, 0)`` compiles ``f`` for ``Literal[int](0)``), and each caller
  links in its callees' code and optimises it again. So: no literal constants as
  arguments of big kernels (pass run-time values), and small helpers that are
  called with constants or from one place are ``inline="always"`` (inlined in
  numba's IR, compiled only as part of their caller).

Tunables are always kernel *arguments*: cached code would freeze a module global
at the value it had when compiled.

Editing kernels: numba keys each cached function on its *own* source file only.
Code compiled into a caller from another module (``lanes.py``'s and ``table.py``'s intrinsics, the
``inline="always"`` row helpers, any callee) is not checked, so after editing such
a module alone the callers' cached code is stale: delete
``kernels/__pycache__/*.nbi`` and ``*.nbc`` (or set ``NUMBA_CACHE_DIR`` to an empty
directory) before testing or timing. An installed release is not affected: every
file of a new version is new.
"""
import functools

import numba

jit = functools.partial(numba.njit, cache=True, nogil=True)
parallel_jit = functools.partial(numba.njit, cache=True, nogil=True, parallel=True)
