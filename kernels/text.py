"""The text front's hot loops: code points to hashed n-gram ids and their values.

The specification (what is computed) lives in ``pnet.textfront``'s docstring; this
module only loops over arrays the wrapper there gives it. Texts arrive concatenated
as one array of code points (``cps``) with row offsets. Three passes over rows, each
writing only its own rows' slices, in the order ``pnet.textfront`` calls them:

prepare     in place: surrogates -> U+FFFD, the pinned lowercase table; count the
            row's tokens and its n-gram occurrences (an upper bound of its features)
features    hash every n-gram (families in separate segments), sort each segment,
            merge them summing repeats, weight and normalise; the row's unique ids
            go first in its slice of the occurrence-sized buffers
compact     copy each row's unique ids and values into the final CSR arrays

Each pass is a row function and a parallel loop over rows (``*_kernel``);
``transform_serial`` runs the same row functions for a few rows in one call (one
string at a time should pay neither the thread pool nor three Python-to-numba calls).

The one n-gram hash (FNV-1a over the UTF-8 bytes, splitmix64 finaliser)::

    h = mix64(seed)                         # the family key
    for each byte b:  h = (h ^ b) * 0x100000001B3   (mod 2**64)
    id = mix64(h)

It is streamed: extending an n-gram by one code point feeds that code point's bytes
to the running state, so the n-grams starting at one position share their prefix.
"""
import numpy as np
from numba import prange

from ._jit import jit, parallel_jit
from .hashing import mix64

FNV_PRIME = np.uint64(0x100000001B3)
SPACE = 0x20
REPLACEMENT = 0xFFFD

WORD, CHAR, SKIP = 0, 1, 2  # family codes: index into ranges, keys and weights
RAW, SQRT, BINARY = 0, 1, 2  # how a count becomes a value


@jit
def is_space(c):
    """Unicode White_Space (25 code points): the only token separators."""
    if c <= 0x20:
        return c == 0x20 or 0x09 <= c <= 0x0D
    if c < 0x85:
        return False
    return (c == 0x85 or c == 0xA0 or c == 0x1680 or 0x2000 <= c <= 0x200A
            or c == 0x2028 or c == 0x2029 or c == 0x202F or c == 0x205F or c == 0x3000)


@jit
def feed_byte(h, b):
    return (h ^ np.uint64(b)) * FNV_PRIME


@jit
def feed_code_point(h, c):
    """Feed the UTF-8 bytes (1 to 4) of code point ``c`` (never a surrogate)."""
    if c < 0x80:
        return feed_byte(h, c)
    if c < 0x800:
        h = feed_byte(h, 0xC0 | (c >> 6))
    else:
        if c < 0x10000:
            h = feed_byte(h, 0xE0 | (c >> 12))
        else:
            h = feed_byte(h, 0xF0 | (c >> 18))
            h = feed_byte(h, 0x80 | ((c >> 12) & 0x3F))
        h = feed_byte(h, 0x80 | ((c >> 6) & 0x3F))
    return feed_byte(h, 0x80 | (c & 0x3F))


@jit
def feed_token(h, cps, start, end):
    for p in range(start, end):
        h = feed_code_point(h, np.int64(cps[p]))
    return h


@jit
def normalise(cps, a, b, lower_table, lowercase):
    """In place on cps[a:b]: surrogates (U+D800..U+DFFF) -> U+FFFD; then, when
    ``lowercase``, ``lower_table[c]`` for ``c < len(lower_table)`` (others unchanged)."""
    n_table = lower_table.shape[0]
    for i in range(a, b):
        c = np.int64(cps[i])
        if 0xD800 <= c <= 0xDFFF:
            c = REPLACEMENT
        elif lowercase and c < n_table:
            c = np.int64(lower_table[c])
        cps[i] = c


@jit
def tokens(cps, a, b, starts, ends):
    """Tokens of cps[a:b] (maximal runs of non-whitespace): writes their (start, end)
    into ``starts``/``ends`` when those have room, and returns how many there are."""
    n = 0
    inside = False
    for p in range(a, b):
        space = is_space(np.int64(cps[p]))
        if not space and not inside:
            if n < starts.shape[0]:
                starts[n] = p
        if space and inside:
            if n < ends.shape[0]:
                ends[n] = p
            n += 1
        inside = not space
    if inside:
        if n < ends.shape[0]:
            ends[n] = b
        n += 1
    return n


@jit
def windows(length, lo, hi):
    """Number of windows of n = lo..hi consecutive items in ``length`` items."""
    total = 0
    for n in range(lo, hi + 1):
        total += max(0, length - n + 1)
    return total


@jit
def occurrences(n_tok, token_length_sum, ranges, weights):
    """Upper bound of a row's n-gram occurrences (so of its features): exact for the
    word and skip families; a token of length L has at most L + 2 character n-grams
    for each n."""
    total = 0
    if weights[WORD] != 0.0:
        total += windows(n_tok, ranges[WORD, 0], ranges[WORD, 1])
    if weights[CHAR] != 0.0:
        total += (token_length_sum + 2 * n_tok) * (ranges[CHAR, 1] - ranges[CHAR, 0] + 1)
    if weights[SKIP] != 0.0:
        for k in range(ranges[SKIP, 0], ranges[SKIP, 1] + 1):
            total += max(0, n_tok - k - 1)
    return total


@jit
def prepare_row(cps, a, b, lower_table, lowercase, ranges, weights):
    """Normalise cps[a:b] in place; returns (its tokens, a bound of its occurrences)."""
    normalise(cps, a, b, lower_table, lowercase)
    no_room = np.empty(0, dtype=np.int64)
    n_tok = tokens(cps, a, b, no_room, no_room)
    length_sum = 0
    for p in range(a, b):
        length_sum += not is_space(np.int64(cps[p]))
    return n_tok, occurrences(n_tok, length_sum, ranges, weights)


@jit
def emit_words(cps, starts, ends, lo, hi, key, ids, m):
    """Ids of the word n-grams, n = lo..hi, into ids[m:]; returns the new m."""
    n_tok = starts.shape[0]
    for i in range(n_tok):
        h = key
        for n in range(1, min(hi, n_tok - i) + 1):
            if n > 1:
                h = feed_byte(h, SPACE)
            h = feed_token(h, cps, starts[i + n - 1], ends[i + n - 1])
            if n >= lo:
                ids[m] = mix64(h)
                m += 1
    return m


@jit
def emit_chars(cps, starts, ends, lo, hi, key, ids, m):
    """Ids of the character n-grams of every ' ' + token + ' ', n = lo..hi."""
    for t in range(starts.shape[0]):
        start = starts[t]
        wrapped = ends[t] - start + 2
        for i in range(wrapped):
            h = key
            for n in range(1, min(hi, wrapped - i) + 1):
                q = i + n - 1  # position in the wrapped token
                c = SPACE if q == 0 or q == wrapped - 1 else np.int64(cps[start + q - 1])
                h = feed_code_point(h, c)
                if n >= lo:
                    ids[m] = mix64(h)
                    m += 1
    return m


@jit
def emit_skips(cps, starts, ends, lo, hi, key, ids, m):
    """Ids of the pairs (t_i, t_{i+k+1}), k = lo..hi words skipped."""
    n_tok = starts.shape[0]
    for k in range(lo, hi + 1):
        for i in range(n_tok - k - 1):
            j = i + k + 1
            h = feed_token(key, cps, starts[i], ends[i])
            h = feed_byte(h, SPACE)
            ids[m] = mix64(feed_token(h, cps, starts[j], ends[j]))
            m += 1
    return m


@jit
def insertion_sort(x, lo, hi):
    for i in range(lo + 1, hi):
        v = x[i]
        j = i - 1
        while j >= lo and x[j] > v:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = v


@jit
def sort_ids(x, scratch):
    """Sort the uint64 ids ``x`` in place (``scratch`` as long as x).

    Hashes are uniform, so distributing them by their top bits into at least as
    many buckets as ids leaves ~1 id per bucket; each bucket is then sorted
    (insertion sort, numpy's sort for a crowded one), which costs O(n) expected.
    """
    n = x.shape[0]
    if n <= 32:
        insertion_sort(x, 0, n)
        return
    bits = 1
    while (1 << bits) < n:
        bits += 1
    shift = np.uint64(64 - bits)
    starts = np.zeros((1 << bits) + 1, dtype=np.int64)
    for i in range(n):
        starts[np.int64(x[i] >> shift) + 1] += 1
    for k in range(1 << bits):
        starts[k + 1] += starts[k]
    fill = starts[:-1].copy()
    for i in range(n):
        k = np.int64(x[i] >> shift)
        scratch[fill[k]] = x[i]
        fill[k] += 1
    for k in range(1 << bits):
        lo, hi = starts[k], starts[k + 1]
        if hi - lo > 16:
            scratch[lo:hi].sort()
        else:
            insertion_sort(scratch, lo, hi)
    x[:] = scratch


@jit
def run_length(x, p, stop, ident):
    """How many of x[p:stop] (sorted) from p on equal ``ident``."""
    q = p
    while q < stop and x[q] == ident:
        q += 1
    return q - p


@jit
def count_value(count, mode):
    if mode == SQRT:
        return np.sqrt(np.float64(count))
    if mode == BINARY:
        return 1.0
    return np.float64(count)


@jit
def row_features(cps, a, b, n_tok, ranges, keys, weights, mode, l2, ids, values):
    """The unique ids (ascending) and values of the row cps[a:b] into ids[:u],
    values[:u]; returns u. ``ids`` has room for every occurrence."""
    starts = np.empty(n_tok, dtype=np.int64)
    ends = np.empty(n_tok, dtype=np.int64)
    tokens(cps, a, b, starts, ends)
    raw = np.empty(ids.shape[0], dtype=np.uint64)
    scratch = np.empty(ids.shape[0], dtype=np.uint64)
    bounds = np.zeros(4, dtype=np.int64)  # family f's ids are raw[bounds[f]:bounds[f+1]]
    m = 0
    for f in range(3):
        lo, hi = ranges[f, 0], ranges[f, 1]
        if weights[f] != 0.0:
            if f == WORD:
                m = emit_words(cps, starts, ends, lo, hi, keys[f], raw, m)
            elif f == CHAR:
                m = emit_chars(cps, starts, ends, lo, hi, keys[f], raw, m)
            else:
                m = emit_skips(cps, starts, ends, lo, hi, keys[f], raw, m)
        bounds[f + 1] = m
        sort_ids(raw[bounds[f]:m], scratch[:m - bounds[f]])
    pw, pc, ps = bounds[0], bounds[1], bounds[2]  # merge the three sorted segments
    u = 0
    while pw < bounds[1] or pc < bounds[2] or ps < bounds[3]:
        if pw < bounds[1]:
            ident = raw[pw]
        elif pc < bounds[2]:
            ident = raw[pc]
        else:
            ident = raw[ps]
        if pc < bounds[2] and raw[pc] < ident:
            ident = raw[pc]
        if ps < bounds[3] and raw[ps] < ident:
            ident = raw[ps]
        n_word = run_length(raw, pw, bounds[1], ident)
        n_char = run_length(raw, pc, bounds[2], ident)
        n_skip = run_length(raw, ps, bounds[3], ident)
        pw, pc, ps = pw + n_word, pc + n_char, ps + n_skip
        v = 0.0  # summed in family order: word, char, skip
        if n_word > 0:
            v += weights[WORD] * count_value(n_word, mode)
        if n_char > 0:
            v += weights[CHAR] * count_value(n_char, mode)
        if n_skip > 0:
            v += weights[SKIP] * count_value(n_skip, mode)
        ids[u] = ident
        values[u] = v
        u += 1
    if l2 and u > 0:
        s = 0.0
        for q in range(u):  # ascending ids
            s += values[q] * values[q]
        norm = np.sqrt(s)
        for q in range(u):
            values[q] = values[q] / norm
    return u


@jit
def compact_row(ids, values, src, start, stop, out_ids, out_values):
    """out[start:stop] = the row's first ids/values from ``src`` on; values are
    rounded to out_values' type here."""
    for q in range(start, stop):
        out_ids[q] = ids[src]
        out_values[q] = values[src]
        src += 1


# -- the passes over a batch (parallel), and all of them in one call for a few rows ----------
@parallel_jit
def prepare_kernel(cps, offsets, lower_table, lowercase, ranges, weights, n_tok, n_occ):
    for r in prange(offsets.shape[0] - 1):
        n_tok[r], n_occ[r] = prepare_row(cps, offsets[r], offsets[r + 1], lower_table,
                                         lowercase, ranges, weights)


@parallel_jit
def features_kernel(cps, offsets, n_tok, occ_ptr, ranges, keys, weights, mode, l2, ids,
                    values, n_unique):
    """Row r's unique ids and values at the start of ids/values[occ_ptr[r]:]."""
    for r in prange(offsets.shape[0] - 1):
        a, b = occ_ptr[r], occ_ptr[r + 1]
        n_unique[r] = row_features(cps, offsets[r], offsets[r + 1], n_tok[r], ranges, keys,
                                   weights, mode, l2, ids[a:b], values[a:b])


@parallel_jit
def compact_kernel(ids, values, occ_ptr, indptr, out_ids, out_values):
    for r in prange(indptr.shape[0] - 1):
        compact_row(ids, values, occ_ptr[r], indptr[r], indptr[r + 1], out_ids, out_values)


@jit
def transform_serial(cps, offsets, lower_table, lowercase, ranges, keys, weights, mode, l2):
    """The three passes in one call, without threads, for a few rows (one string at a
    time): Python-to-numba calls would cost more than the work. Allocates, and returns
    (ids, float64 values, indptr); rows are compacted in place (moving left)."""
    n_rows = offsets.shape[0] - 1
    n_tok = np.empty(n_rows, dtype=np.int64)
    occ_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    for r in range(n_rows):
        n_tok[r], n_occ = prepare_row(cps, offsets[r], offsets[r + 1], lower_table,
                                      lowercase, ranges, weights)
        occ_ptr[r + 1] = occ_ptr[r] + n_occ
    ids = np.empty(occ_ptr[-1], dtype=np.uint64)
    values = np.empty(occ_ptr[-1], dtype=np.float64)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for r in range(n_rows):
        a, b = occ_ptr[r], occ_ptr[r + 1]
        u = row_features(cps, offsets[r], offsets[r + 1], n_tok[r], ranges, keys, weights,
                         mode, l2, ids[a:b], values[a:b])
        compact_row(ids, values, a, indptr[r], indptr[r] + u, ids, values)
        indptr[r + 1] = indptr[r] + u
    return ids[:indptr[-1]], values[:indptr[-1]], indptr


@parallel_jit
def token_ids_kernel(cps, offsets, lower_table, lowercase, key, max_length, out, lengths):
    """out[r, t] = the word-unigram id of token t of row r, for its first ``max_length``
    tokens in order: ``mix64(feed_token(key, token))``, the id ``emit_words`` gives
    the token as a 1-gram (normalised as every row is). A recurrent trainer's input;
    unused slots are left as they are."""
    for r in prange(offsets.shape[0] - 1):
        a, b = offsets[r], offsets[r + 1]
        normalise(cps, a, b, lower_table, lowercase)
        starts = np.empty(max_length, dtype=np.int64)
        ends = np.empty(max_length, dtype=np.int64)
        n = min(tokens(cps, a, b, starts, ends), max_length)
        for t in range(n):
            out[r, t] = mix64(feed_token(key, cps, starts[t], ends[t]))
        lengths[r] = n
