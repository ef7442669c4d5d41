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

Three distributions of ``r_k[j]`` from ``h``:

sparse_sign (E entries per feature)
    feature j has exactly E non-zero entries, +-1 at E distinct bits (a sparse
    sign matrix, row-wise: Kane & Nelson 2014; Martinsson & Tropp 2020 sec. 9.2).
    They are drawn from j's stream ``h(j, 0), h(j, 1), ...`` in order: draw t
    names bit ``k = ((h >> 32) * n_bits) >> 32`` (Lemire's multiply-shift, exact
    uint64 arithmetic for n_bits < 2**32) with sign ``+1`` if the lowest bit of
    ``h`` is set, else ``-1``; a bit already drawn for j is skipped, until E
    distinct bits are drawn (``sparse_sign_entries``). Drawing E distinct bits
    of n takes ``n (H(n) - H(n - E)) ~ n ln(n / (n - E))`` hashes on average: ~E
    while E << n (the 'auto' densities: E = 7 of 720 bits on MNIST, 4 to 10 per
    text n-gram), 1.2 E at density 1/3, ``n H(n)`` at density 1. So a sparse
    row costs ~``nnz * E`` hashes, not ternary's ``nnz * n_bits``, at the
    densities pnet uses, and every feature reaches the same number of bits.
ternary (density s)
    ``0`` unless ``(h >> 11) < threshold`` with ``threshold = round(s * 2**53)``;
    then ``+1`` if the lowest bit of ``h`` is set, else ``-1``. Integer-only, so
    bit-exact everywhere. (The sqrt(1/s) scale of Achlioptas / Li et al. does
    not change a sign, so it is left out.)
local (image rows of height x width, window sizes kmin..kmax, density s)
    each bit k looks at one square window of the image: ternary entries (above)
    inside it, 0 outside. The window is a pure function of (seed, k), from
    ``h = entry_hash(feature_key(seed_key, WINDOW_STREAM), k)`` cut into three
    21-bit fields: side ``kmin + (h mod 2**21) mod (kmax - kmin + 1)``, top row
    ``(h >> 21 mod 2**21) mod (height - side + 1)``, left column ``(h >> 42 mod
    2**21) mod (width - side + 1)`` (``window_of``). Feature j is pixel (j // width,
    j mod width), row-major. ``WINDOW_STREAM`` = 2**64 - 1 is never a column index
    (those are below n_features <= 2**63), so the window stream is apart from every
    feature's.
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
SPARSE_SIGN = 2
_S6 = np.uint64(6)
_LOW6 = np.uint64(63)


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


@jit(inline="always")  # small, and called with constants: see kernels/_jit.py
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


@jit
def sparse_sign_entries(fkey, n_bits, n_entries, seen, bits, signs):
    """The ``n_entries`` non-zero entries of one 'sparse_sign' feature, in the order
    drawn: ``bits[e]`` (distinct, < n_bits) and ``signs[e]`` (+1.0 / -1.0), e < E.

    ``seen`` (ceil(n_bits / 64),) uint64 is scratch: all zero on entry, all zero
    again on return. Requires 1 <= n_entries <= n_bits < 2**32.
    """
    width = np.uint64(n_bits)
    draw = 0
    found = 0
    while found < n_entries:
        h = entry_hash(fkey, draw)
        draw += 1
        k = ((h >> _S32) * width) >> _S32
        word = k >> _S6
        mask = _ONE << (k & _LOW6)
        if seen[word] & mask:
            continue
        seen[word] |= mask
        bits[found] = k
        signs[found] = 1.0 if h & _ONE else -1.0
        found += 1
    for e in range(n_entries):
        seen[np.uint64(bits[e]) >> _S6] = 0


@jit
def sparse_sign_table_kernel(key, features, n_bits, bits, signs):
    """bits[j], signs[j] (E = bits.shape[1]) = the entries of feature ``features[j]``.

    Serial: a table costs n_features * E hashes (~0.1 ms for MNIST), less than a
    parallel kernel's compile time would."""
    seen = np.empty((n_bits + 63) // 64, dtype=np.uint64)
    seen[:] = 0  # not np.zeros: its implementation is one more compile (~0.1 s cold)
    for j in range(features.shape[0]):
        sparse_sign_entries(feature_key(key, features[j]), n_bits, bits.shape[1], seen,
                            bits[j], signs[j])


#: the feature id whose stream gives the windows of a 'local' projection
WINDOW_STREAM = np.uint64(0xFFFFFFFFFFFFFFFF)
_S21 = np.uint64(21)
_S42 = np.uint64(42)
_LOW21 = np.uint64((1 << 21) - 1)


@jit(inline="always")
def window_of(wkey, k, height, width, kmin, kmax):
    """(top, left, side) of bit k's window; ``wkey = feature_key(key, WINDOW_STREAM)``.
    Requires 1 <= kmin <= kmax <= min(height, width) <= 2**21."""
    h = entry_hash(wkey, k)
    side = np.int64(kmin) + np.int64((h & _LOW21) % np.uint64(kmax - kmin + 1))
    top = np.int64(((h >> _S21) & _LOW21) % np.uint64(height - side + 1))
    left = np.int64(((h >> _S42) & _LOW21) % np.uint64(width - side + 1))
    return top, left, side


@jit
def windows_kernel(key, height, width, kmin, kmax, out):
    """out[k] = (top, left, side) of bit k's window, out (n_bits, 3) int64."""
    wkey = feature_key(key, WINDOW_STREAM)
    for k in range(out.shape[0]):
        top, left, side = window_of(wkey, k, height, width, kmin, kmax)
        out[k, 0] = top
        out[k, 1] = left
        out[k, 2] = side


@jit
def local_lists_kernel(key, windows, width, threshold, cursor, bits, signs):
    """The 'local' projection's non-zero entries, CSR by feature (pixel j = row-major
    (j // width, j % width)): for feature j, the bits k whose window holds pixel j
    and whose ternary entry (``ternary_entry``) is non-zero, ascending, and their
    signs (+1.0 / -1.0). Bit by bit over its window's pixels, so the cost is the
    windows' total area, not n_features * n_bits.

    With ``bits`` of length 0, counts only: ``cursor[j] += 1`` per entry of feature
    j (cursor zeroed by the caller). Otherwise ``cursor[j]`` starts at feature j's
    offset (``indptr[j]``) and is advanced past each entry written.
    ``windows`` from ``windows_kernel``."""
    count_only = bits.shape[0] == 0
    for k in range(windows.shape[0]):
        top = windows[k, 0]
        left = windows[k, 1]
        side = windows[k, 2]
        for row in range(top, top + side):
            for col in range(left, left + side):
                j = row * width + col
                e = ternary_entry(entry_hash(feature_key(key, np.uint64(j)), k), threshold)
                if e == 0.0:
                    continue
                if not count_only:
                    bits[cursor[j]] = k
                    signs[cursor[j]] = e
                cursor[j] += 1
