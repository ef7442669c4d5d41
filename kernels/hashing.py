"""Hyperplane entries ``r_k[j]`` as a pure function of (seed, feature j, bit k).

Nothing here is random at run time: every entry comes from integer hashing, so
the serial kernels, the parallel kernels, the numpy twin in ``tests/naive.py``
and any exported runtime compute the same hyperplanes, whatever the batch, the
thread count or the order of calls.

The hash (splitmix64, Steele, Lea & Flood 2014)::

    mix64(z)        = splitmix64 finaliser (xor-shift-multiply, exact uint64 ops)
    seed_key        = mix64(seed)                                     # once per model
    feature_key(j)  = mix64(seed_key ^ j)                             # once per feature
    h(j, k)         = mix64(feature_key(j) + (k + 1) * GOLDEN)        # entry (j, k)

i.e. the entries of feature j are the splitmix64 stream seeded with
``feature_key(j)``. Feature ids are arbitrary uint64 values (column indices, or
hashed n-grams for text).

Every argument is coerced to uint64 inside the kernels: numba types a Python
int below 2**63 as int64, and int64 mixed with uint64 silently becomes float64.
Callers pass ``np.uint64`` scalars: once a kernel is compiled for int64, a Python
int >= 2**63 raises OverflowError instead of compiling a uint64 version, and numba
returns uint64 results as Python ints.

Two distributions of ``r_k[j]`` from ``h``:

ternary (density s)
    ``0`` unless ``(h >> 11) < threshold`` with ``threshold = round(s * 2**53)``;
    then ``+1`` if the lowest bit of ``h`` is set, else ``-1``. Integer-only, so
    bit-exact everywhere. (The sqrt(1/s) scale of Achlioptas / Li et al. does
    not change a sign, so it is left out.)
gaussian
    Box-Muller on the two 32-bit halves of ``h``:
    ``u1 = ((h >> 32) + 1) / 2**32`` in (0, 1], ``u2 = (h & 0xffffffff) / 2**32``,
    ``r = sqrt(-2 log u1) * cos(2 pi u2)``. log and cos may differ in the last
    ulp between runtimes (see ALGORITHM.md section 2).
"""
import numpy as np

from ._jit import jit, parallel_jit
from numba import prange

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_ONE = np.uint64(1)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO_PI = 2.0 * np.pi

TERNARY = 0
GAUSSIAN = 1


@jit
def mix64(z):
    """splitmix64 finaliser of a uint64 (wraps modulo 2**64)."""
    z = np.uint64(z)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def seed_key(seed):
    return mix64(np.uint64(seed))


@jit
def feature_key(key, feature):
    """Per-feature state; ``feature`` is any uint64 id."""
    return mix64(np.uint64(key) ^ np.uint64(feature))


@jit
def entry_hash(fkey, bit):
    return mix64(np.uint64(fkey) + (np.uint64(bit) + _ONE) * GOLDEN)


@jit
def ternary_entry(h, threshold):
    """-1, 0 or +1 (as float64) from a hash and a uint64 density threshold."""
    h = np.uint64(h)
    if (h >> _S11) >= np.uint64(threshold):
        return 0.0
    if h & _ONE:
        return 1.0
    return -1.0


@jit
def gaussian_entry(h):
    h = np.uint64(h)
    u1 = (np.float64(h >> _S32) + 1.0) * 2.3283064365386963e-10  # (0, 1]
    u2 = np.float64(h & _LOW32) * 2.3283064365386963e-10  # [0, 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)


@parallel_jit
def gaussian_matrix_kernel(key, features, out):
    """out[j, k] = gaussian entry of (features[j], bit k); out is (n_features, n_bits)."""
    n_bits = out.shape[1]
    for j in prange(features.shape[0]):
        fkey = feature_key(key, features[j])
        for k in range(n_bits):
            out[j, k] = gaussian_entry(entry_hash(fkey, k))


@jit
def ternary_count_kernel(key, features, n_bits, threshold, counts):
    """counts[j] = number of non-zero entries of feature j over all bits."""
    for j in range(features.shape[0]):
        fkey = feature_key(key, features[j])
        c = 0
        for k in range(n_bits):
            if (entry_hash(fkey, k) >> _S11) < threshold:
                c += 1
        counts[j] = c


@jit
def ternary_lists_kernel(key, features, n_bits, threshold, indptr, bits, signs):
    """Per-feature lists of the non-zero entries: CSR by feature.

    For feature j, ``bits[indptr[j]:indptr[j+1]]`` are the bits k with a non-zero
    entry (ascending) and ``signs`` the entries (+1.0 / -1.0).
    """
    for j in range(features.shape[0]):
        fkey = feature_key(key, features[j])
        p = indptr[j]
        for k in range(n_bits):
            h = entry_hash(fkey, k)
            if (h >> _S11) < threshold:
                bits[p] = k
                signs[p] = 1.0 if h & _ONE else -1.0
                p += 1
