"""The text front, version 1: raw strings to canonical CSR rows of 64-bit feature ids.

This module owns the specification below, its parameters (``TextFront``) and the
Python wrapper that validates and allocates. The loops are in ``pnet.kernels.text``,
the lowercase table in ``pnet._lowercase``, a plain twin in ``tests/naive.py``. What
a text becomes must never change without a new ``TEXT_FRONT_VERSION``: the compact
model and the C export reproduce it byte for byte, and model files carry
``TextFront.to_dict()``.

Specification, TEXT_FRONT_VERSION = 1
-------------------------------------
1. **Code points.** A ``str`` is taken as its code points, except that every
   surrogate (U+D800..U+DFFF, e.g. a lone one from ``surrogateescape``) becomes
   U+FFFD. Bytes (a ``bytes``-like item here, ``const char *utf8, size_t n`` in C)
   are UTF-8, decoded exactly as Python's ``bytes.decode('utf-8', 'replace')``: at a
   lead byte C2..DF, E0..EF or F0..F4, read up to 1, 2 or 3 continuation bytes, each
   in 80..BF except the first after E0 (A0..BF), ED (80..9F), F0 (90..BF) and F4
   (80..8F); a complete sequence is its code point; otherwise the lead and the
   bytes that matched become *one* U+FFFD and decoding resumes at the first byte
   that did not match (or ends). Any other byte 80..FF (80..C1, F5..FF) is one
   U+FFFD. ``n`` counts the bytes: NUL is U+0000, an ordinary character.
2. **Lowercase** (``lowercase=True``): c -> the pinned table of ``pnet._lowercase``
   (182 runs ``(first, last, stride, delta)``, 1,433 code points, the simple
   lowercase mapping of Unicode 14.0.0); others unchanged. No normalisation (NFC,
   NFKC) and no other folding: 'Σ' -> 'σ' (no final-sigma rule), 'ß' and 'ﬁ' stay,
   'İ' -> 'i', full-width 'Ａ' -> 'ａ' (not 'a').
3. **Tokens**: the maximal runs of code points that are not White_Space. White_Space
   is exactly these 25 code points: U+0009..U+000D, U+0020, U+0085, U+00A0, U+1680,
   U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. Nothing else splits:
   punctuation stays inside its token (kaomoji are punctuation); U+200B and U+FEFF
   are ordinary characters. Call the tokens t_0 .. t_{T-1}.
4. **N-grams**, as byte strings: the UTF-8 of their code points, with one 0x20 byte
   between two words (0x20 never occurs inside a token, so the bytes are unambiguous).

   word      for n in ``word_ngram_range`` (lo..hi inclusive) and i = 0..T-n:
             t_i 0x20 t_{i+1} ... 0x20 t_{i+n-1}
   char      for each token, w = U+0020 t U+0020 (the space marks both ends: it
             cannot occur inside a token, unlike fastText's '<' '>', which kaomoji
             use); for n in ``char_ngram_range``: every run of n consecutive code
             points of w, at i = 0..len(w)-n (none if len(w) < n). With n = 1 the
             two boundary spaces are features too.
   skip      for k in ``skip_range`` and i = 0..T-k-2: t_i 0x20 t_{i+k+1}
             (k words skipped; k = 0 repeats the word bigrams under another seed).

   A family whose weight is 0 emits nothing. The order of emission does not matter.
5. **Hash** of an n-gram's bytes b_1..b_L with its family's seed, in uint64
   arithmetic (mod 2**64)::

       h = mix64(seed)
       for each byte b: h = (h XOR b) * 0x100000001B3     (the FNV-1a 64 prime)
       id = mix64(h)
       mix64(z): z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
                 z *= 0x94D049BB133111EB; z ^= z >> 31    (splitmix64's finaliser)

   The ids are the full 64 bits: the projection takes them as feature j unchanged
   (ALGORITHM.md section 2); a trainer may fold them, ``id % n_columns``.
6. **Values**, in IEEE float64. For each distinct id of the text, with n_f
   occurrences in family f: v = 0.0, then for f = word, char, skip (in that order)
   with n_f > 0: v += weight_f * g(n_f), where g(n) = n (``counts='raw'``),
   sqrt(n) (``'sqrt'``) or 1 (``'binary'``). Then ``norm='l2'``: s = 0.0, s += v*v
   over the ids in ascending order, v = v / sqrt(s) (no change for ``norm=None``).
   Each value is finally rounded to the output type (float32 by default). Every
   operation is a correctly rounded IEEE one; a C runtime must not contract
   ``s += v*v`` into an FMA unless v*v is exact, which it is for 'raw' or 'binary'
   with weights of at most 8 significant bits and counts below 2**18 (barring an id
   shared by two families, a 64-bit hash collision).
7. **Rows**: the ids of a text ascending, each once, with its value: a canonical CSR
   row for ``Hyperplanes.project_csr(..., sorted_features=True)``. An empty text, or
   one of White_Space only, is a row with no features.

Parameters and defaults (``TextFront``), and why
------------------------------------------------
Measured by ``python -m bench.textfront values``: a linear model (``SGDClassifier``) on
the ids folded to 2**18 columns, test accuracy on kaomoji / langid (bench/RESULTS.md).

==================  =========  =========================================================
parameter           default    why
==================  =========  =========================================================
lowercase           True       case is noise for both bench sets; the table is small
word_ngram_range    (1, 2)     words and word pairs, as SGNN. Cheap (a short text has
                               few words); no measurable effect on the bench sets
                               (isolated words and random phrases: +-0.1 %), kept for
                               sentences, where words carry the meaning
char_ngram_range    (1, 4)     carries nearly all the signal of both sets; 1..3 loses
                               1.4 % on langid, 1..5 gains 0.5 % there for 20 % more
                               features (projection cost grows with features)
skip_range          (1, 1)     word pairs with one word between, SGNN's skip-grams;
                               no measurable effect on the bench sets, cheap
*_weight            1.0        word_weight=2 or char_weight=0.5: no measurable effect
word/char/skip_seed 1, 2, 3    any distinct values: they only separate the families
counts              'raw'      'sqrt' / 'binary' +0.9 / +1.0 % on kaomoji, +-0.1 % on
                               langid for the linear model, but 'binary' loses 0.5 /
                               0.3 % on the projection's bits at density 0.01
                               (``bench.textfront density``); 'raw' keeps v*v exact
                               (see step 6), 'sqrt' does not
norm                'l2'       +1.1 % (kaomoji) and +1.1 % (langid) over no norm. The
                               projection's bits hardly depend on it (a positive scale
                               of a row changes no sign, up to rounding), a trainer's
                               inputs do
==================  =========  =========================================================

The parameters, the version and the seeds are the whole front: ``to_dict()`` is a
small JSON-serialisable dict; ``from_dict`` checks every key and type strictly (it
reads model files). Feature counts per text are bounded: T tokens of total length L
give at most ``T*(hi-lo+1)`` word, ``(L+2T)*(hi-lo+1)`` char and ``T*(hi-lo+1)``
skip occurrences, so a C runtime can size its buffer from the longest input it takes.

Input handling of ``TextFront.transform(texts)``
-------------------------------------------------
``texts`` is a 1-D sequence (list, tuple, iterator, 1-D numpy array of str or object,
pandas Series). Items that are ``str`` (numpy.str_ included) are used as they are;
``bytes``, ``bytearray`` and ``memoryview`` items are decoded as in step 1 (what
``pnet_predict_text`` does in C). A bare str or bytes raises TypeError (wrap it in a
list); a 2-D or 0-D array raises ValueError; None, numbers (NaN from a pandas
missing value included) or any other item raises TypeError naming its index.
"""
import dataclasses
import functools
import itertools

import numpy as np

from ._lowercase import LOWERCASE_RUNS
from .kernels import hashing as _hashing
from .kernels import text as _text

TEXT_FRONT_VERSION = 1
#: Largest n (and skip) a specification may ask for; bounds the work per token.
MAX_N = 16
#: Largest family seed (seeds are JSON integers: keep them exact as int64).
MAX_SEED = 2**63 - 1
#: a non-zero family weight lies in [WEIGHT_MIN, WEIGHT_MAX]: a value's square is then a
#: normal float64, so the l2 norm's sum is never 0 or inf
WEIGHT_MIN, WEIGHT_MAX = 2.0**-100, 2.0**100
FAMILIES = ("word", "char", "skip")
COUNTS = ("raw", "sqrt", "binary")
NORMS = ("l2", None)
#: Below this many texts the kernels run without threads (a speed knob only).
PARALLEL_ROWS = 64
#: Non-zero ternary entries per feature (over all bits) that choose_density aims at.
ENTRIES_PER_FEATURE = 4.0


@dataclasses.dataclass(frozen=True)
class TextFront:
    """One text front: the parameters that, with ``TEXT_FRONT_VERSION``, define it.

    See the module docstring for what each parameter does and why the defaults.
    ``transform(texts)`` gives the canonical CSR rows; ``to_dict`` / ``from_dict``
    carry the front in a model file.
    """

    lowercase: bool = True
    word_ngram_range: tuple = (1, 2)
    char_ngram_range: tuple = (1, 4)
    skip_range: tuple = (1, 1)
    word_weight: float = 1.0
    char_weight: float = 1.0
    skip_weight: float = 1.0
    word_seed: int = 1
    char_seed: int = 2
    skip_seed: int = 3
    counts: str = "raw"
    norm: str = "l2"

    def __post_init__(self):
        for name in ("word_ngram_range", "char_ngram_range", "skip_range"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        _validate(dataclasses.asdict(self))

    # -- the front as data -------------------------------------------------------------
    def to_dict(self):
        """A small JSON-serialisable dict: the version and every parameter."""
        d = {"version": TEXT_FRONT_VERSION}
        for name, value in dataclasses.asdict(self).items():
            d[name] = list(value) if isinstance(value, tuple) else value
        return d

    @classmethod
    def from_dict(cls, d):
        """The front a ``to_dict`` made; strict, for dicts read from untrusted files."""
        if not isinstance(d, dict):
            raise TypeError(f"a text front must be a dict, got {type(d).__name__}")
        expected = {"version"} | {f.name for f in dataclasses.fields(cls)}
        if set(d) != expected:
            missing, unknown = sorted(expected - set(d)), sorted(set(d) - expected, key=str)
            raise ValueError(f"text front keys: missing {missing}, unknown {unknown}")
        if type(d["version"]) is not int or d["version"] != TEXT_FRONT_VERSION:
            raise ValueError(f"text front version {d['version']!r} is not supported; this "
                             f"pnet reads version {TEXT_FRONT_VERSION}")
        params = {k: v for k, v in d.items() if k != "version"}
        _validate(params)
        return cls(**params)

    # -- the front as a function ---------------------------------------------------------
    def transform(self, texts, dtype=np.float32):
        """Canonical CSR rows ``(data, ids, indptr)`` of a 1-D sequence of texts.

        ``data`` is ``dtype`` (float32 or float64), ``ids`` uint64 (ascending and unique
        within a row), ``indptr`` int64 of length ``len(texts) + 1``: ready for
        ``Hyperplanes.project_csr(data, ids, indptr, sorted_features=True)``.
        """
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        cps, offsets = code_points(texts)
        n_rows = offsets.shape[0] - 1
        ranges, keys, weights = self._kernel_arguments
        mode, l2 = COUNTS.index(self.counts), self.norm == "l2"
        if n_rows < PARALLEL_ROWS:
            ids, values, indptr = _text.transform_serial(cps, offsets, lower_table(),
                                                         self.lowercase, ranges, keys,
                                                         weights, mode, l2)
            return values.astype(dtype), ids, indptr
        n_tok = np.empty(n_rows, dtype=np.int64)
        n_occ = np.empty(n_rows, dtype=np.int64)
        _text.prepare_kernel(cps, offsets, lower_table(), self.lowercase, ranges, weights,
                             n_tok, n_occ)
        occ_ptr = _indptr(n_occ)
        ids = np.empty(occ_ptr[-1], dtype=np.uint64)  # (occurrences,) one slice per row
        values = np.empty(occ_ptr[-1], dtype=np.float64)
        n_unique = np.empty(n_rows, dtype=np.int64)
        _text.features_kernel(cps, offsets, n_tok, occ_ptr, ranges, keys, weights, mode, l2,
                              ids, values, n_unique)
        indptr = _indptr(n_unique)
        out_ids = np.empty(indptr[-1], dtype=np.uint64)  # (nnz,)
        out_values = np.empty(indptr[-1], dtype=dtype)
        _text.compact_kernel(ids, values, occ_ptr, indptr, out_ids, out_values)
        return out_values, out_ids, indptr

    def token_ids(self, texts, max_length):
        """(ids (n, L) uint64, lengths (n,) int64): each text's first ``max_length``
        tokens in order, as their word-unigram ids (the ids ``transform`` gives the
        tokens as word 1-grams), padded with 0 to the longest row; for a trainer
        that reads tokens in order (``pnet.lstm``)."""
        cps, offsets = code_points(texts)
        n_rows = offsets.shape[0] - 1
        ids = np.zeros((n_rows, max_length), dtype=np.uint64)
        lengths = np.empty(n_rows, dtype=np.int64)
        key = np.uint64(_hashing.seed_key(np.uint64(self.word_seed)))
        _text.token_ids_kernel(cps, offsets, lower_table(), self.lowercase, key, max_length,
                               ids, lengths)
        return ids[:, :int(lengths.max(initial=0))], lengths

    @functools.cached_property
    def _kernel_arguments(self):
        """(ranges, keys, weights) as the kernels take them; computed once."""
        ranges = np.array([self.word_ngram_range, self.char_ngram_range, self.skip_range],
                          dtype=np.int64)  # (3 families, lo..hi)
        keys = np.array([_hashing.seed_key(np.uint64(s))
                         for s in (self.word_seed, self.char_seed, self.skip_seed)],
                        dtype=np.uint64)
        weights = np.array([self.word_weight, self.char_weight, self.skip_weight],
                           dtype=np.float64)
        return ranges, keys, weights


def _indptr(counts):
    indptr = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr


def _validate(p):
    """Type and range checks of the parameters (a dict), strict as for untrusted files."""
    if type(p["lowercase"]) is not bool:
        raise TypeError(f"lowercase must be a bool, got {p['lowercase']!r}")
    for name in ("word_ngram_range", "char_ngram_range", "skip_range"):
        value, low = p[name], 0 if name == "skip_range" else 1
        if (not isinstance(value, (list, tuple)) or len(value) != 2
                or any(type(v) is not int for v in value)
                or not low <= value[0] <= value[1] <= MAX_N):
            raise ValueError(f"{name} must be two ints (lo, hi) with {low} <= lo <= hi <= "
                             f"{MAX_N}, got {value!r}")
    for family in FAMILIES:
        weight, seed = p[f"{family}_weight"], p[f"{family}_seed"]
        if type(weight) not in (int, float) or not (
                weight == 0 or WEIGHT_MIN <= weight <= WEIGHT_MAX):
            raise ValueError(f"{family}_weight must be 0 or in [2**-100, 2**100] (so that "
                             f"the l2 norm's squares neither underflow to 0 nor overflow), "
                             f"got {weight!r}")
        if type(seed) is not int or not 0 <= seed <= MAX_SEED:
            raise ValueError(f"{family}_seed must be an int in [0, 2**63), got {seed!r}")
    if not any(p[f"{family}_weight"] > 0 for family in FAMILIES):
        raise ValueError("at least one of word_weight, char_weight, skip_weight must be > 0")
    if p["counts"] not in COUNTS or type(p["counts"]) is not str:
        raise ValueError(f"counts must be one of {COUNTS}, got {p['counts']!r}")
    if p["norm"] not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {p['norm']!r}")


# -- input -------------------------------------------------------------------------------
def as_text_list(texts):
    """The texts as a list of str: bytes-like items are decoded as UTF-8 (``'replace'``);
    anything else that is not a 1-D sequence of str raises, naming the problem."""
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(f"expected a 1-D sequence of texts, got a single "
                        f"{type(texts).__name__}; wrap it in a list: [text]")
    ndim = getattr(texts, "ndim", 1)
    if ndim != 1:
        raise ValueError(f"expected a 1-D sequence of texts, got an array of shape "
                         f"{getattr(texts, 'shape', '?')}; pass one column of texts")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"expected a 1-D sequence of texts, got {type(texts).__name__}") \
            from None
    for i, item in enumerate(items):
        if isinstance(item, str):
            continue
        if isinstance(item, (bytes, bytearray, memoryview)):
            items[i] = bytes(item).decode("utf-8", "replace")
            continue
        raise TypeError(f"texts[{i}] is {type(item).__name__} {item!r:.40}; expected str "
                        f"(or bytes holding UTF-8). Replace missing values, e.g. by ''.")
    return items


def check_some_texts(n_texts, owner):
    """ValueError for zero texts, in scikit-learn's words for zero samples (the numeric
    estimators' ``check_array`` says the same)."""
    if n_texts == 0:
        raise ValueError(f"Found array with 0 sample(s) while a minimum of 1 is required "
                         f"by {owner}.")


def code_points(texts):
    """(cps uint32, offsets int64): the texts' code points concatenated, row by row.

    Lone surrogates of a str survive here (``'surrogatepass'``); the normalisation
    kernel replaces them by U+FFFD.
    """
    items = as_text_list(texts)
    offsets = np.fromiter(itertools.accumulate(map(len, items), initial=0), dtype=np.int64,
                          count=len(items) + 1)
    raw = "".join(items).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32), offsets


@functools.cache
def lower_table():
    """The pinned lowercase runs as a dense int32 lookup of every code point up to the
    last mapped one (read-only, shared)."""
    last = LOWERCASE_RUNS[-1][1]
    table = np.arange(last + 1, dtype=np.int32)
    for first, stop, stride, delta in LOWERCASE_RUNS:
        table[first:stop + 1:stride] += delta
    table.setflags(write=False)
    return table


# -- ternary density for sparse text rows ---------------------------------------------------
def density_report(indptr, density, n_bits):
    """What a ternary ``density`` means for CSR rows with ``m = diff(indptr)`` features.

    Bit k of a row sums ``x_j r_k[j]`` over the row's m features; each entry is
    non-zero with probability ``density``, so a bit sees about ``m * density``
    non-zero terms, and none at all (the bit is 0 whatever the text) with
    probability ``(1 - density) ** m``; a feature has about ``density * n_bits``
    non-zero entries over the bits. Returns a dict: ``median_nnz`` (m of the median
    row), ``entries_per_bit`` and ``empty_bit_fraction`` for that row,
    ``mean_empty_bit_fraction`` averaged over the rows, and ``entries_per_feature``.
    """
    m = np.diff(np.asarray(indptr, dtype=np.int64))
    if m.size == 0:
        raise ValueError("density_report needs at least one row")
    median = float(np.median(m))
    return {"median_nnz": median, "entries_per_bit": median * density,
            "empty_bit_fraction": (1.0 - density) ** median,
            "mean_empty_bit_fraction": float(np.mean((1.0 - density) ** m)),
            "entries_per_feature": density * n_bits}


def choose_density(n_bits, entries_per_feature=ENTRIES_PER_FEATURE):
    """Hyperplane density for sparse text rows: each feature gets about
    ``entries_per_feature`` non-zero entries over the ``n_bits`` bits (sparse_sign,
    the default: exactly ``round(density * n_bits)``), at most 1/3.

    Measured (``python -m bench.textfront density``, a linear read-out of the bits
    on kaomoji and langid): accuracy is best at about 3 to 5 entries per feature
    at 256 and 1,024 bits, and flat from 4 to 10 at 2,048 bits; it falls off on
    both sides: denser bits are random-hyperplane signs of ~20 features each and
    lose what a linear read-out needs, sparser ones (``density='auto'``, 1/1024 at
    2**20 features, is 1 entry per feature at 1,024 bits) leave most features in
    too few bits. 4 is the low end of that plateau. (The measurement used ternary
    hyperplanes, pnet 0.1's default. The cost of the CSR projection,
    ``pnet.kernels.projection.hashed_sums``, grows with it for sparse_sign, ~E
    hashes per feature, while ternary hashes every (feature, bit) pair whatever
    the density.)
    """
    return float(min(1.0 / 3.0, entries_per_feature / n_bits))
