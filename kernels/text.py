"""The text front's hot loops: code points to hashed n-gram ids and their values.

The specification (what is computed) lives in ``pnet.textfront``'s docstring; this
module only loops over arrays the wrapper there gives it. Texts arrive concatenated
as one array of code points (``cps``) with row offsets; every pass is parallel over
rows and writes only its own rows' slices.

Passes, in the order ``pnet.textfront`` calls them:

normalise_kernel        surrogates -> U+FFFD, then the pinned lowercase table
token_count_kernel      tokens per row (maximal runs of non-whitespace)
token_kernel            token (start, end) positions, CSR by row
occurrence_count_kernel feature occurrences per row, before de-duplication
features_kernel         hash every n-gram, sort the row by id, sum repeats, weight
                        and normalise; the row's unique ids go first in its slice
token_ids_kernel        the tokens' word-unigram ids in order (a recurrent trainer's
                        input; ``TextFront.token_ids``)

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


@parallel_jit
def normalise_kernel(cps, lower_table, lowercase):
    """In place: surrogates (U+D800..U+DFFF) -> U+FFFD; then ``lower_table[c]`` for
    ``c < len(lower_table)`` when ``lowercase`` (code points beyond map to themselves)."""
    n_table = lower_table.shape[0]
    for i in prange(cps.shape[0]):
        c = np.int64(cps[i])
        if 0xD800 <= c <= 0xDFFF:
            c = REPLACEMENT
        elif lowercase and c < n_table:
            c = np.int64(lower_table[c])
        cps[i] = c


@parallel_jit
def token_count_kernel(cps, offsets, counts):
    for r in prange(offsets.shape[0] - 1):
        n = 0
        inside = False
        for p in range(offsets[r], offsets[r + 1]):
            space = is_space(np.int64(cps[p]))
            if not space and not inside:
                n += 1
            inside = not space
        counts[r] = n


@parallel_jit
def token_kernel(cps, offsets, tok_ptr, tok_start, tok_end):
    for r in prange(offsets.shape[0] - 1):
        t = tok_ptr[r]
        inside = False
        for p in range(offsets[r], offsets[r + 1]):
            space = is_space(np.int64(cps[p]))
            if not space and not inside:
                tok_start[t] = p
            if space and inside:
                tok_end[t] = p
                t += 1
            inside = not space
        if inside:
            tok_end[t] = offsets[r + 1]


@jit
def windows(length, lo, hi):
    """Number of windows of n = lo..hi consecutive items in ``length`` items."""
    total = 0
    for n in range(lo, hi + 1):
        total += max(0, length - n + 1)
    return total


@parallel_jit
def occurrence_count_kernel(tok_ptr, tok_start, tok_end, ranges, weights, counts):
    """Upper bound of a row's features: its n-gram occurrences over enabled families."""
    for r in prange(tok_ptr.shape[0] - 1):
        n_tok = tok_ptr[r + 1] - tok_ptr[r]
        total = 0
        if weights[WORD] != 0.0:
            total += windows(n_tok, ranges[WORD, 0], ranges[WORD, 1])
        if weights[CHAR] != 0.0:
            for t in range(tok_ptr[r], tok_ptr[r + 1]):
                wrapped = tok_end[t] - tok_start[t] + 2
                total += windows(wrapped, ranges[CHAR, 0], ranges[CHAR, 1])
        if weights[SKIP] != 0.0:
            for k in range(ranges[SKIP, 0], ranges[SKIP, 1] + 1):
                total += max(0, n_tok - k - 1)
        counts[r] = total


@jit
def emit_row(cps, tok_start, tok_end, t0, t1, ranges, keys, weights, ids, families):
    """Write the ids of one row's n-gram occurrences and their family codes; returns
    how many. Word n-grams, then character n-grams, then skip-grams."""
    m = 0
    if weights[WORD] != 0.0:
        lo, hi = ranges[WORD, 0], ranges[WORD, 1]
        for i in range(t0, t1):
            h = keys[WORD]
            for n in range(1, min(hi, t1 - i) + 1):
                if n > 1:
                    h = feed_byte(h, SPACE)
                h = feed_token(h, cps, tok_start[i + n - 1], tok_end[i + n - 1])
                if n >= lo:
                    ids[m] = mix64(h)
                    families[m] = WORD
                    m += 1
    if weights[CHAR] != 0.0:
        lo, hi = ranges[CHAR, 0], ranges[CHAR, 1]
        for t in range(t0, t1):
            start, end = tok_start[t], tok_end[t]
            wrapped = end - start + 2  # ' ' + token + ' '
            for i in range(wrapped):
                h = keys[CHAR]
                for n in range(1, min(hi, wrapped - i) + 1):
                    q = i + n - 1  # position in the wrapped token
                    c = SPACE if q == 0 or q == wrapped - 1 else np.int64(cps[start + q - 1])
                    h = feed_code_point(h, c)
                    if n >= lo:
                        ids[m] = mix64(h)
                        families[m] = CHAR
                        m += 1
    if weights[SKIP] != 0.0:
        for k in range(ranges[SKIP, 0], ranges[SKIP, 1] + 1):
            for i in range(t0, t1 - k - 1):
                j = i + k + 1
                h = feed_token(keys[SKIP], cps, tok_start[i], tok_end[i])
                h = feed_byte(h, SPACE)
                h = feed_token(h, cps, tok_start[j], tok_end[j])
                ids[m] = mix64(h)
                families[m] = SKIP
                m += 1
    return m


@jit
def count_value(count, mode):
    if mode == SQRT:
        return np.sqrt(np.float64(count))
    if mode == BINARY:
        return 1.0
    return np.float64(count)


@parallel_jit
def features_kernel(cps, tok_ptr, tok_start, tok_end, occ_ptr, ranges, keys, weights,
                    mode, l2, ids, values, n_unique):
    """Row r's unique ids (ascending) and values into ``ids[occ_ptr[r]:]`` and
    ``values[occ_ptr[r]:]``; ``n_unique[r]`` says how many."""
    for r in prange(tok_ptr.shape[0] - 1):
        a = occ_ptr[r]
        size = occ_ptr[r + 1] - a
        row_ids = np.empty(size, dtype=np.uint64)
        families = np.empty(size, dtype=np.int64)
        m = emit_row(cps, tok_start, tok_end, tok_ptr[r], tok_ptr[r + 1], ranges, keys,
                     weights, row_ids, families)
        order = np.argsort(row_ids[:m], kind="mergesort")
        u = 0
        p = 0
        while p < m:
            ident = row_ids[order[p]]
            n_word = n_char = n_skip = 0  # occurrences of this id per family
            while p < m and row_ids[order[p]] == ident:
                f = families[order[p]]
                n_word += f == WORD
                n_char += f == CHAR
                n_skip += f == SKIP
                p += 1
            v = 0.0  # summed in family order: word, char, skip
            if n_word > 0:
                v += weights[WORD] * count_value(n_word, mode)
            if n_char > 0:
                v += weights[CHAR] * count_value(n_char, mode)
            if n_skip > 0:
                v += weights[SKIP] * count_value(n_skip, mode)
            ids[a + u] = ident
            values[a + u] = v
            u += 1
        if l2 and u > 0:
            s = 0.0
            for q in range(a, a + u):
                s += values[q] * values[q]
            norm = np.sqrt(s)
            for q in range(a, a + u):
                values[q] = values[q] / norm
        n_unique[r] = u


@parallel_jit
def token_ids_kernel(cps, tok_ptr, tok_start, tok_end, key, max_length, out, lengths):
    """out[r, t] = the word-unigram id of token t of row r (the first ``max_length``
    tokens, in order): ``mix64(feed_token(key, token))``, the id the word family
    gives the token as a 1-gram. Unused slots are left as they are."""
    for r in prange(tok_ptr.shape[0] - 1):
        n = min(tok_ptr[r + 1] - tok_ptr[r], max_length)
        for t in range(n):
            i = tok_ptr[r] + t
            out[r, t] = mix64(feed_token(key, cps, tok_start[i], tok_end[i]))
        lengths[r] = n
