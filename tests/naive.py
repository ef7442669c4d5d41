"""Slow, obvious numpy twins of the pnet kernels (no numba).

In the spirit of stumpy's ``tests/naive.py``: each function here says what a
kernel computes in the plainest numpy we can write, and the tests compare the
kernel against it on awkward inputs. Speed does not matter here; being easy to
check against ``ALGORITHM.md`` and the kernel docstrings does.

Twins
-----
mix64, mix64_int        splitmix64 finaliser          (kernels/hashing.py)
entry_hashes            h(j, k) for every feature and bit
sparse_sign_entries     one feature's E (bit, sign) pairs, in Python ints
hyperplane_matrix       R (D, n_bits), sparse_sign, ternary or gaussian
project                 packed bits of ``X @ R > 0``  (kernels/projection.py)
pack, unpack            the packed-bit layout          (kernels/bits.py)
gather_add, scatter_add ``unpack(b) @ W + bias`` and ``unpack(b).T @ G``
gather_add_in_order     the same in W's dtype, adding rows in ascending order
hidden_layer            ``act(A) @ W + b`` in float32, ascending k   (kernels/network.py)
"""
import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


# -- hashing ------------------------------------------------------------------------
def mix64_int(z):
    """splitmix64 finaliser on a Python int, masked to 64 bits at every step."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * M1) & MASK64
    z = ((z ^ (z >> 27)) * M2) & MASK64
    return z ^ (z >> 31)


def entry_hash_int(seed, feature, bit):
    """h(j, k) for one (seed, feature, bit), in Python ints."""
    seed_key = mix64_int(seed)
    feature_key = mix64_int(seed_key ^ feature)
    return mix64_int(feature_key + (bit + 1) * GOLDEN)


def mix64(z):
    """splitmix64 finaliser on a uint64 array (numpy wraps modulo 2**64)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(M2)
    return z ^ (z >> np.uint64(31))


def _feature_ids(features):
    """An int D means features 0..D-1; otherwise an array of uint64 ids."""
    if np.ndim(features) == 0:
        return np.arange(int(features), dtype=np.uint64)
    return np.asarray(features, dtype=np.uint64)


def entry_hashes(seed, features, n_bits):
    """h(j, k) for every feature j and bit k: uint64 (n_features, n_bits).

    seed_key = mix64(seed); feature_key(j) = mix64(seed_key ^ j);
    h(j, k) = mix64(feature_key(j) + (k + 1) * GOLDEN).
    """
    features = _feature_ids(features)
    seed_key = mix64(np.uint64(seed))
    feature_keys = mix64(seed_key ^ features)  # (n_features,)
    k = np.arange(n_bits, dtype=np.uint64)
    with np.errstate(over="ignore"):
        steps = (k + np.uint64(1)) * np.uint64(GOLDEN)  # (n_bits,)
        return mix64(feature_keys[:, None] + steps[None, :])  # (n_features, n_bits)


def sparse_sign_entries(seed, feature, n_bits, n_entries):
    """The (bit, sign) pairs of one sparse_sign feature, in the order drawn.

    Draw t = 0, 1, 2, ... takes h = h(feature, t), names bit ((h >> 32) * n_bits) >> 32
    with sign +1 if h is odd, else -1, and is skipped if that bit was drawn before;
    until n_entries distinct bits are drawn.
    """
    entries, seen, t = [], set(), 0
    while len(entries) < n_entries:
        h = entry_hash_int(seed, feature, t)
        t += 1
        k = ((h >> 32) * n_bits) >> 32
        if k not in seen:
            seen.add(k)
            entries.append((k, 1.0 if h & 1 else -1.0))
    return entries


WINDOW_STREAM = (1 << 64) - 1  #: the feature id whose stream gives 'local' windows


def windows(seed, n_bits, height, width, kmin, kmax):
    """(top, left, side) of every bit's window, int64 (n_bits, 3): h = h(WINDOW_STREAM,
    k) in three 21-bit fields, side = kmin + field0 % (kmax - kmin + 1), top = field1 %
    (height - side + 1), left = field2 % (width - side + 1)."""
    out = np.empty((n_bits, 3), dtype=np.int64)
    low21 = (1 << 21) - 1
    for k in range(n_bits):
        h = entry_hash_int(seed, WINDOW_STREAM, k)
        side = kmin + (h & low21) % (kmax - kmin + 1)
        out[k] = ((h >> 21) & low21) % (height - side + 1), \
            ((h >> 42) & low21) % (width - side + 1), side
    return out


def local_matrix(seed, n_bits, window, density):
    """'local' R: the ternary matrix of pixels 0..height*width-1, zero outside each
    bit's window (pixel j is (j // width, j % width))."""
    height, width, kmin, kmax = window
    R = hyperplane_matrix(seed, height * width, n_bits, "ternary", density)
    rows, cols = np.divmod(np.arange(height * width), width)
    for k, (top, left, side) in enumerate(windows(seed, n_bits, height, width, kmin, kmax)):
        inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
        R[~inside, k] = 0.0
    return R


def sparse_sign_count(n_bits, density):
    """E = min(n_bits, max(1, round(density * n_bits))) entries per feature."""
    return min(n_bits, max(1, round(density * n_bits)))


def hyperplane_matrix(seed, features, n_bits, projection="ternary", density=1 / 3):
    """The hyperplane matrix R, float64 (n_features, n_bits).

    sparse_sign: row j holds the signs of ``sparse_sign_entries`` at their bits,
    E = ``sparse_sign_count(n_bits, density)`` per row, zeros elsewhere.

    ternary: 0 unless (h >> 11) < round(density * 2**53); then +1 if the lowest
    bit of h is set, else -1.
    gaussian: Box-Muller on the 32-bit halves of h,
    u1 = ((h >> 32) + 1) / 2**32, u2 = (h & 0xffffffff) / 2**32,
    r = sqrt(-2 log u1) cos(2 pi u2).
    """
    if projection == "sparse_sign":
        ids = [int(j) for j in _feature_ids(features)]
        R = np.zeros((len(ids), n_bits))
        for row, j in enumerate(ids):
            for k, sign in sparse_sign_entries(seed, j, n_bits, sparse_sign_count(n_bits, density)):
                R[row, k] = sign
        return R
    h = entry_hashes(seed, features, n_bits)
    if projection == "ternary":
        threshold = np.uint64(min(round(density * 2.0**53), 2**53))
        nonzero = (h >> np.uint64(11)) < threshold
        sign = np.where(h & np.uint64(1), 1.0, -1.0)
        return np.where(nonzero, sign, 0.0)
    if projection == "gaussian":
        u1 = ((h >> np.uint64(32)).astype(np.float64) + 1.0) / 2.0**32  # (0, 1]
        u2 = (h & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2.0**32  # [0, 1)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    raise ValueError(projection)


# -- projection ---------------------------------------------------------------------
def project(X, R, sums="float64"):
    """Packed bits of ``X @ R > 0`` (strictly), summed feature by feature.

    The sum runs over features in ascending order, in ``sums`` (float64, or float32:
    X's values rounded to float32 first), from +0.0, exactly as the kernels
    accumulate it, so equal inputs give equal rounding and equal bits. (numpy adds
    two float32 arrays in float32, rounded once: a product by +-1 is exact.)
    """
    with np.errstate(over="ignore"):
        X = np.asarray(X, dtype=sums)
    R = np.asarray(R, dtype=sums)
    if sums == "float32":
        assert np.isin(R, (-1.0, 0.0, 1.0)).all(), "float32 sums take +-1 entries only"
    acc = np.zeros((X.shape[0], R.shape[1]), dtype=sums)  # (n_samples, n_bits)
    for j in range(X.shape[1]):
        acc += X[:, j, None] * R[j]
    return pack(acc > 0)


# -- packed bits --------------------------------------------------------------------
def pack(B):
    """(n, n_bits) of 0/non-zero -> (n, ceil(n_bits / 64)) uint64.

    Bit k goes to word k // 64 at position k % 64, least significant bit first;
    the unused high bits of the last word are 0.
    """
    B = np.asarray(B) != 0
    n, n_bits = B.shape
    n_words = (n_bits + 63) // 64
    padded = np.zeros((n, 64 * n_words), dtype=bool)
    padded[:, :n_bits] = B
    as_bytes = np.packbits(padded, axis=1, bitorder="little")  # (n, 8 * n_words)
    return np.ascontiguousarray(as_bytes).view("<u8").astype(np.uint64)


def unpack(packed, n_bits):
    """(n, n_words) uint64 -> (n, n_bits) uint8 of 0/1, the inverse of ``pack``."""
    packed = np.ascontiguousarray(packed, dtype="<u8")
    as_bytes = packed.view(np.uint8).reshape(packed.shape[0], 8 * packed.shape[1])
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :n_bits]


def gather_add(packed, W, bias):
    """``unpack(packed) @ W + bias`` in float64."""
    B = unpack(packed, W.shape[0]).astype(np.float64)
    return B @ np.asarray(W, dtype=np.float64) + np.asarray(bias, dtype=np.float64)


def scatter_add(packed, G, n_bits):
    """``unpack(packed).T @ G`` in float64, (n_bits, n_out)."""
    B = unpack(packed, n_bits).astype(np.float64)
    return B.T @ np.asarray(G, dtype=np.float64)


def gather_add_in_order(packed, W, bias):
    """``bias + sum_{k : bit k set} W[k]`` in W's dtype, rows added in ascending k:
    the kernels' exact order, so the result is comparable bit for bit."""
    B = unpack(packed, W.shape[0])
    out = np.empty((B.shape[0], W.shape[1]), dtype=W.dtype)
    for i in range(B.shape[0]):
        z = np.array(bias, dtype=W.dtype)
        for k in np.flatnonzero(B[i]):
            z += W[k]
        out[i] = z
    return out


def activate(A, activation):
    """The hidden activation in float32 numpy (tanh / exp may differ from the
    kernels' math library in the last ulp)."""
    A = np.asarray(A, dtype=np.float32)
    return {"identity": lambda a: a.copy(), "relu": lambda a: np.maximum(a, np.float32(0)),
            "tanh": np.tanh,
            "logistic": lambda a: np.float32(1) / (np.float32(1) + np.exp(-a))}[activation](A)


def hidden_layer(A, W, b):
    """``A @ W + b`` for already-activated A, float32, adding ``A[i, k] * W[k]`` in
    ascending k (one rounding for the product, one for the sum)."""
    A = np.asarray(A, dtype=np.float32)
    out = np.empty((A.shape[0], W.shape[1]), dtype=np.float32)
    for i in range(A.shape[0]):
        z = np.array(b, dtype=np.float32)
        for k in range(A.shape[1]):
            z += A[i, k] * W[k]
        out[i] = z
    return out

# -- text front (pnet.textfront, TEXT_FRONT_VERSION 1) -----------------------------
# Written from the specification in pnet/textfront.py's docstring, one step at a
# time on Python str / bytes / int, sharing nothing with the kernels but the pinned
# lowercase runs (the specification's data).
FNV_PRIME = 0x100000001B3
TEXT_WHITESPACE = frozenset([*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680,
                             *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
TEXT_FAMILIES = ("word", "char", "skip")


def utf8_decode(data):
    """UTF-8 bytes to str, one U+FFFD per maximal subpart of an ill-formed sequence.

    A lead byte sets how many continuation bytes follow and the allowed range of the
    first one (Unicode Table 3-7); the others are 80..BF. At the first byte that breaks
    the pattern (or at the end of the input), the bytes read so far become one U+FFFD
    and decoding resumes at that byte. A byte that cannot lead is one U+FFFD.
    """
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            n, lo, hi = 1, 0x80, 0xBF
        elif b == 0xE0:
            n, lo, hi = 2, 0xA0, 0xBF
        elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
            n, lo, hi = 2, 0x80, 0xBF
        elif b == 0xED:
            n, lo, hi = 2, 0x80, 0x9F
        elif b == 0xF0:
            n, lo, hi = 3, 0x90, 0xBF
        elif 0xF1 <= b <= 0xF3:
            n, lo, hi = 3, 0x80, 0xBF
        elif b == 0xF4:
            n, lo, hi = 3, 0x80, 0x8F
        else:
            out.append("\ufffd")
            i += 1
            continue
        code = b & (0x3F >> n)  # the lead byte's payload bits
        j = i + 1
        while j <= i + n and j < len(data):
            low, high = (lo, hi) if j == i + 1 else (0x80, 0xBF)
            if not low <= data[j] <= high:
                break
            code = (code << 6) | (data[j] & 0x3F)
            j += 1
        if j == i + n + 1:
            out.append(chr(code))
        else:
            out.append("\ufffd")
        i = j
    return "".join(out)


def text_lower(c, runs):
    """Binary search of the run whose first <= c, as a C runtime would."""
    lo, hi = 0, len(runs)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if runs[mid][0] <= c:
            lo = mid
        else:
            hi = mid
    first, last, stride, delta = runs[lo]
    if first <= c <= last and (c - first) % stride == 0:
        return c + delta
    return c


def text_tokens(text, lowercase, runs):
    """Surrogates -> U+FFFD, lowercase by the runs, split on TEXT_WHITESPACE."""
    tokens, current = [], []
    for ch in text:
        c = ord(ch)
        if 0xD800 <= c <= 0xDFFF:
            c = 0xFFFD
        elif lowercase:
            c = text_lower(c, runs)
        if c in TEXT_WHITESPACE:
            if current:
                tokens.append("".join(current))
            current = []
        else:
            current.append(chr(c))
    if current:
        tokens.append("".join(current))
    return tokens


def text_hash(seed, data):
    """mix64 of FNV-1a over the bytes, started from mix64(seed)."""
    h = mix64_int(seed)
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return mix64_int(h)


def text_ngrams(tokens, params):
    """(family, n-gram as str) for every occurrence of every enabled family."""
    grams = []
    lo, hi = params["word_ngram_range"]
    if params["word_weight"] > 0:
        for n in range(lo, hi + 1):
            for i in range(len(tokens) - n + 1):
                grams.append(("word", " ".join(tokens[i:i + n])))
    lo, hi = params["char_ngram_range"]
    if params["char_weight"] > 0:
        for token in tokens:
            wrapped = " " + token + " "
            for n in range(lo, hi + 1):
                for i in range(len(wrapped) - n + 1):
                    grams.append(("char", wrapped[i:i + n]))
    lo, hi = params["skip_range"]
    if params["skip_weight"] > 0:
        for k in range(lo, hi + 1):
            for i in range(len(tokens) - k - 1):
                grams.append(("skip", tokens[i] + " " + tokens[i + k + 1]))
    return grams


def text_features(text, params, runs):
    """(ids, values) of one text: ids ascending, values float64 as the spec says."""
    if isinstance(text, bytes):
        text = utf8_decode(text)
    counts = {}  # id -> occurrences per family
    for family, gram in text_ngrams(text_tokens(text, params["lowercase"], runs), params):
        ident = text_hash(params[family + "_seed"], gram.encode("utf-8"))
        counts.setdefault(ident, dict.fromkeys(TEXT_FAMILIES, 0))[family] += 1
    ids = sorted(counts)
    values = []
    for ident in ids:
        value = 0.0
        for family in TEXT_FAMILIES:  # in this order
            n = counts[ident][family]
            if n:
                g = {"raw": float(n), "sqrt": float(np.sqrt(n)), "binary": 1.0}[params["counts"]]
                value += params[family + "_weight"] * g
        values.append(value)
    if params["norm"] == "l2" and values:
        squares = 0.0
        for v in values:  # ascending ids, left to right (not sum(): compensated on 3.12+)
            squares += v * v
        norm = float(np.sqrt(squares))
        values = [v / norm for v in values]
    return ids, values
