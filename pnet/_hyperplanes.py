"""The projection layer's fixed random hyperplanes, as a small picklable object.

``Hyperplanes`` holds only settings: the seed, the number of features, the
number of bits ``T * d``, the distribution and its density. The hyperplanes
themselves are a pure function of (seed, feature, bit) (``pnet.kernels.hashing``)
and are recomputed, never stored: a process may materialise a cache of them in
RAM for dense input (a table of E (bit, sign) pairs per feature for
``sparse_sign``, per-feature bit lists for ``ternary``, a dense matrix for
``gaussian``), but only while it holds at most ``MAX_CACHE_ENTRIES`` (~4M)
entries (``n_features * E`` or ``n_features * n_bits``): tens of milliseconds of
hashing, 32 MiB for a gaussian matrix, 48 MiB for a sparse_sign table (an int32 bit
and a float64 sign per entry); ternary lists hold only the non-zero entries.
Batches of dense rows read +-1 entries (sparse_sign, ternary, local) regrouped by
bit (``block_cache``, ``bit_groups``: an int32 feature and a float64 sign per entry,
~48 MiB more at the bound; uint8 rows and float32 sums add a float32 copy of the signs, ~16 MiB,
``groups_for``), built on the first such batch. Wider models hash the
entries of each row's non-zero features on the fly, at a cost proportional to the
row, not to the feature space. The cache is dropped when
the object is pickled and never counts as model size.

This module owns validation-free casting and dispatch to the kernels; input
validation belongs to the estimators.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numba
import numpy as np
import scipy.sparse as sp

from .kernels import bits as _bits
from .kernels import columns as _columns
from .kernels import hashing as _hashing
from .kernels import projection as _projection
from ._local import check_window

#: Rows per block of the parallel row kernels (``over_rows``; a speed knob only).
BLOCK_ROWS = 64
#: Dense rows go by bit (``pnet.kernels.projection.group_bits``, every entry) when at
#: least this share of the features is non-zero in a block of 8 rows, and by feature
#: (``feature_rows``, the non-zero features' entries) otherwise; measured from the
#: batch's first ``SHARE_ROWS`` rows (``by_bit``). A speed knob only: both give the
#: same bits. The crossover is at a share of ~0.35 for a few entries a feature
#: (sparse_sign: 7; MNIST rows measure 0.39-0.55) and higher for long per-feature lists
#: (ternary at density 0.1-1/3: 72-241 entries a feature on 784 pixels), whose
#: by-feature adds cost less each (bench/RESULTS.md, "By bit").
BY_BIT_SHARE = 0.35
#: ... and this share where the hyperplanes hold more than ``LONG_LISTS`` entries a feature
BY_BIT_SHARE_LONG = 0.6
LONG_LISTS = 32
SHARE_ROWS = 16
#: Largest ``n_features * n_bits`` (ternary, gaussian) or ``n_features * E``
#: (sparse_sign) for which dense input uses a materialised cache; beyond it, entries
#: are hashed on the fly for each row's non-zero features (the CSR kernel).
MAX_CACHE_ENTRIES = 1 << 22
#: widest uint8 rows whose +-1 projection sums are exact in float32: 255 * n <= 2**24 - 1
MAX_BYTE_FEATURES = (2 ** 24 - 1) // 255

PROJECTIONS = ("sparse_sign", "ternary", "gaussian", "local")
#: the dtypes the projection sums may be computed in (``Hyperplanes``' ``sums``)
SUMS = ("float64", "float32")
#: 'local' is ternary inside each bit's window: the kernels read its entries as
#: ternary lists (the dense cache), always materialised (``Hyperplanes.dense_cache``)
_KINDS = {"ternary": _hashing.TERNARY, "gaussian": _hashing.GAUSSIAN,
          "sparse_sign": _hashing.SPARSE_SIGN, "local": _hashing.TERNARY}

#: 'auto' density: about this many non-zero entries per hyperplane ...
AUTO_ENTRIES = 8
#: ... but at least this many non-zero inputs of an average row per bit (sparse rows)
AUTO_MIN_ROW_ENTRIES = 1 / 16


def resolve_density(density, n_features, mean_nonzeros=None):
    """The ternary density: a float in (0, 1] as given, or for 'auto'

        min(1 / sqrt(D), max(AUTO_ENTRIES / D, AUTO_MIN_ROW_ENTRIES / m))

    with D = ``n_features`` and m = ``mean_nonzeros``, the mean number of non-zero
    features of a training row (None or 0: the second term is ``AUTO_ENTRIES / D``).

    Li et al.'s "very sparse" 1 / sqrt(D) is the ceiling. Below it, ~8 non-zero
    entries per hyperplane were the best of 2 to 16 on both image sets measured
    (3 seeds, 30 epochs, trained alone; ``bench/RESULTS.md``, "Density of dense
    rows"): MNIST subset (D = 784, m = 151) at 720 bits int8 / 3,360 bits ternary:
    8 per plane (1/98) 90.83 / 93.68 %, 16 (1/49) 90.56 / 92.77, 28 (1/sqrt(D))
    89.95 / 92.64, 4 90.05 / 92.32, 2 88.29 / 91.15; digits (D = 64, m = 33):
    8 (= 1/sqrt(64)) 96.15 / 97.70, 16 96.00 / 97.70, 4 95.26 / 97.04. Fewer
    entries are also fewer additions: projecting a row costs ``density * m * T * d``.
    For very sparse rows (text hashed to 2**20 columns, m ~ 60) 8 entries per
    hyperplane would leave almost every bit untouched by every row; the floor keeps
    a bit's sum at >= 1/16 of a non-zero input on average, so such input keeps
    ~1 / sqrt(D) as before.

    Raises ValueError when a hyperplane would have fewer than one non-zero entry
    on average (``density * n_features < 1``): most bits would never change.
    """
    if isinstance(density, str):
        n = max(n_features, 1)
        floor = AUTO_ENTRIES / n
        if mean_nonzeros:
            floor = max(floor, AUTO_MIN_ROW_ENTRIES / mean_nonzeros)
        return float(min(1.0 / np.sqrt(n), floor))
    density = float(density)
    if density * n_features < 1:
        raise ValueError(
            f"density={density:.3g} gives each hyperplane {density * n_features:.3g} non-zero "
            f"entries on average over {n_features} features, so most bits would never "
            f"change. Use density >= 1 / n_features = {1 / n_features:.3g}, or 'auto' "
            f"(1 / sqrt(n_features) = {1 / np.sqrt(n_features):.3g}).")
    return density


def resolve_sums(sums, projection):
    """The sums' dtype name for a ``sums`` setting: 'auto' is 'float32' for +-1
    entries (sparse_sign, ternary, local) and 'float64' for gaussian; otherwise as
    given, checked (``check_sums``)."""
    if sums == "auto":
        return "float64" if projection == "gaussian" else "float32"
    check_sums(sums, projection)
    return sums


def check_sums(sums, projection):
    """Raise ValueError unless ``sums`` is one of ``SUMS`` and fits the projection:
    float32 sums need +-1 entries (a gaussian entry times a value is not exact in
    float32, so its sums would depend on how a machine rounds the product)."""
    if sums not in SUMS:
        raise ValueError(f"sums must be one of {SUMS}, got {sums!r}.")
    if sums == "float32" and projection == "gaussian":
        raise ValueError("sums='float32' needs +-1 hyperplane entries (sparse_sign, "
                         "ternary or local); the gaussian projection sums in float64.")


def mean_nonzeros(X):
    """Mean number of non-zero features per row of dense or CSR X (0 rows: None)."""
    if X.shape[0] == 0:
        return None
    count = X.count_nonzero() if sp.issparse(X) else np.count_nonzero(X)
    return count / X.shape[0]


def density_threshold(density):
    """uint64 threshold on ``h >> 11`` (53 bits) for a non-zero ternary entry."""
    return np.uint64(min(round(density * 2.0**53), 2**53))


def n_words(n_bits):
    return (n_bits + 63) // 64


class Hyperplanes:
    """The settings that define a projection layer, and how to apply it.

    Parameters
    ----------
    seed : int in [0, 2**63)
    n_features : int
        D, for dense input and the feature-count check; CSR feature ids may be
        anything when ``n_features`` is None.
    n_bits : int
        T * d, the total number of bits.
    projection : {'sparse_sign', 'ternary', 'gaussian', 'local'}
    density : float
        Fraction of non-zero entries: each entry independently for ternary (and for
        local, inside a bit's window); for sparse_sign exactly ``n_entries =
        min(n_bits, max(1, round(density * n_bits)))`` per feature (ignored for
        gaussian).
    window : (height, width, kmin, kmax) or None
        'local' only (``pnet._local.resolve_window``): the features are the pixels of a
        height x width image, row-major, and bit k sees only the square window
        ``pnet.kernels.hashing.window_of`` gives it, of side kmin to kmax.
    sums : {'float64', 'float32'}
        The floating-point type of the projection sums ``<x, r_k>``, part of the
        hash: each value is taken in it (a float64 value rounded to float32 for
        'float32'), and the sum runs in it, from +0.0, over the features in
        ascending order. Both are exact functions of the input, reproducible on
        every machine (+-1 entries: every product is exact, every sum rounded once).
        'float32' (+-1 entries only: sparse_sign, ternary, local) sums 16 rows a
        vector where float64 sums 8 (bench/RESULTS.md, "Float32 sums"); 'float64'
        is every model's of pnet 0.2.0 and earlier. uint8 rows with at most
        ``MAX_BYTE_FEATURES`` features sum exactly either way: the same bits.
    """

    #: hyperplanes pickled before 'local' (pnet 0.2.0 and earlier) have no window
    window = None
    #: ... and those pickled before float32 sums (pnet 0.2.0 and earlier) summed in float64
    sums = "float64"
    #: the block cache (``block_cache``) and its float32 signs (``groups_for``),
    #: built on first use, never pickled
    _groups = None
    _signs32 = None
    #: every RAM cache (``drop_caches``, ``__getstate__``)
    _CACHES = ("_cache", "_groups", "_signs32")

    def __init__(self, seed, n_features, n_bits, projection="ternary", density=1 / 3,
                 window=None, sums="float64"):
        if projection == "sparse_sign" and not 1 <= int(n_bits) < 2**32:
            raise ValueError(f"sparse_sign hyperplanes need 1 <= T * d < 2**32 bits (its "
                             f"draws map a 32-bit half of a hash to a bit), got {n_bits}.")
        if (projection == "local") != (window is not None):
            raise ValueError("a window (height, width, kmin, kmax) is given exactly for "
                             f"the 'local' projection, got {window!r} for {projection!r}.")
        if window is not None:
            window = check_window(window, n_features, int(n_bits))
        check_sums(sums, projection)
        self.seed = int(seed)
        self.n_features = n_features
        self.n_bits = int(n_bits)
        self.projection = projection
        self.density = float(density)
        self.window = window
        self.sums = sums
        self.drop_caches()

    def drop_caches(self):
        """Forget every RAM cache (the dense cache, the bit groups, their float32
        signs); each is rebuilt on first use."""
        for name in self._CACHES:
            setattr(self, name, None)

    # -- pickling: settings only, the cache is recomputed on demand ---------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state.update(dict.fromkeys(self._CACHES))
        return state

    def __eq__(self, other):
        return isinstance(other, Hyperplanes) and self.settings() == other.settings()

    def settings(self):
        return dict(seed=self.seed, n_features=self.n_features, n_bits=self.n_bits,
                    projection=self.projection, density=self.density, window=self.window,
                    sums=self.sums)

    @property
    def sums_dtype(self):
        """The numpy dtype of the projection sums (``sums``)."""
        return np.dtype(self.sums)

    def sums_template(self):
        """An empty array of the sums' dtype: how the by-feature batch kernels are
        told it (``pnet.kernels.lanes.block_sums_of``; a compile-time choice)."""
        return np.empty(0, dtype=self.sums)

    @property
    def key(self):
        return np.uint64(_hashing.seed_key(np.uint64(self.seed)))

    @property
    def kind(self):
        return _KINDS[self.projection]

    @property
    def n_entries(self):
        """E, the non-zero entries of each feature (sparse_sign; 0 for the others)."""
        if self.projection != "sparse_sign":
            return 0
        return int(min(self.n_bits, max(1, round(self.density * self.n_bits))))

    @property
    def threshold(self):
        return density_threshold(self.density)

    # -- materialised caches ------------------------------------------------------
    def windows(self):
        """(n_bits, 3) int64: (top, left, side) of each bit's window ('local')."""
        height, width, kmin, kmax = self.window
        out = np.empty((self.n_bits, 3), dtype=np.int64)
        _hashing.windows_kernel(self.key, height, width, kmin, kmax, out)
        return out

    def ternary_lists(self):
        """(indptr, bits, signs): the non-zero entries, CSR by feature (ternary, local)."""
        if self.projection == "local":
            return self._local_lists()
        features = np.arange(self.n_features, dtype=np.uint64)
        counts = np.empty(self.n_features, dtype=np.int64)
        _hashing.ternary_count_kernel(self.key, features, self.n_bits, self.threshold, counts)
        indptr = np.zeros(self.n_features + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        bits = np.empty(indptr[-1], dtype=np.int64)
        signs = np.empty(indptr[-1], dtype=np.float64)
        _hashing.ternary_lists_kernel(self.key, features, self.n_bits, self.threshold,
                                      indptr, bits, signs)
        return indptr, bits, signs

    def _local_lists(self):
        windows, width = self.windows(), self.window[1]
        counts = np.zeros(self.n_features, dtype=np.int64)
        none = np.empty(0, dtype=np.int64)
        _hashing.local_lists_kernel(self.key, windows, width, self.threshold, counts,
                                    none, none.astype(np.float64))
        indptr = np.zeros(self.n_features + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        bits = np.empty(indptr[-1], dtype=np.int64)
        signs = np.empty(indptr[-1], dtype=np.float64)
        _hashing.local_lists_kernel(self.key, windows, width, self.threshold,
                                    indptr[:-1].copy(), bits, signs)
        return indptr, bits, signs

    def table(self, features=None):
        """(bits int32, signs float64), each (n_features, E): the sparse_sign entries of
        every feature (or of the uint64 ids ``features``), in the order drawn."""
        if features is None:
            features = np.arange(self.n_features, dtype=np.uint64)
        features = np.ascontiguousarray(features, dtype=np.uint64)
        bits = np.empty((features.shape[0], self.n_entries), dtype=np.int32)
        signs = np.empty((features.shape[0], self.n_entries), dtype=np.float64)
        _hashing.sparse_sign_table_kernel(self.key, features, self.n_bits, bits, signs)
        return bits, signs

    def matrix(self):
        """The dense hyperplane matrix R, (n_features, n_bits) float64."""
        features = np.arange(self.n_features, dtype=np.uint64)
        R = np.empty((self.n_features, self.n_bits), dtype=np.float64)
        if self.kind == _hashing.GAUSSIAN:
            _hashing.gaussian_matrix_kernel(self.key, features, R)
        elif self.kind == _hashing.SPARSE_SIGN:
            bits, signs = self.table()
            R[:] = 0.0
            R[np.arange(self.n_features)[:, None], bits] = signs
        else:
            indptr, bits, signs = self.ternary_lists()
            R[:] = 0.0
            rows = np.repeat(np.arange(self.n_features), np.diff(indptr))
            R[rows, bits] = signs
        return R

    def signed_lists(self):
        """(indptr, split, bits): per feature j, the bits with a +1 entry
        (``bits[indptr[j]:split[j]]``, ascending) then those with a -1 entry
        (``bits[split[j]:indptr[j + 1]]``), int32: the layout the dense kernels read
        (ternary), and the C export's tables (ternary and sparse_sign: there
        ``indptr[j] = j * E``, the entries of ``table()`` regrouped)."""
        if self.kind == _hashing.SPARSE_SIGN:
            bits, signs = self.table()
            indptr = np.arange(self.n_features + 1, dtype=np.int64) * self.n_entries
            bits, signs = bits.ravel().astype(np.int64), signs.ravel()
        else:
            indptr, bits, signs = self.ternary_lists()
        feature = np.repeat(np.arange(self.n_features), np.diff(indptr))
        order = np.lexsort((bits, signs < 0, feature))  # feature, + before -, bit
        split = indptr[:-1] + np.bincount(feature[signs > 0], minlength=self.n_features)
        return indptr, split, bits[order].astype(np.int32)

    def dense_cache(self):
        """The hyperplanes as the dense kernels read them, built on first use.

        ('table', bits, signs) for sparse_sign, ('lists', indptr, split, bits) for
        ternary, ('matrix', R) for gaussian, or ('none',) when it would hold more
        than ``MAX_CACHE_ENTRIES`` entries (``n_features * E`` for sparse_sign,
        ``n_features * n_bits`` for the others; dense rows then go through the
        on-the-fly kernel). A RAM cache, never stored. The kernels
        take ``cache[1:]`` (``pnet.kernels.projection.feature_sums``, ``row_sums``).
        """
        if self._cache is None:
            per_feature = self.n_entries if self.n_entries else self.n_bits
            if self.projection == "local":  # small windows: lists of ~ (area / image) bits
                self._cache = ("lists",) + self.signed_lists()
            elif self.n_features * per_feature > MAX_CACHE_ENTRIES:
                self._cache = ("none",)
            elif self.kind == _hashing.SPARSE_SIGN:
                self._cache = ("table",) + self.table()
            elif self.kind == _hashing.TERNARY:
                self._cache = ("lists",) + self.signed_lists()
            else:
                self._cache = ("matrix", self.matrix())
        return self._cache

    def block_cache(self):
        """The hyperplanes as the batch kernels read them, built on first use:
        ('groups', slots, gptr, gidx, gsgn) (``bit_groups``) for +-1 entries
        (sparse_sign, ternary, local) with a dense cache, read by bit
        (``pnet.kernels.projection.dense_rows``, the compact model's fused kernels);
        otherwise the dense cache itself (a gaussian matrix, read by feature:
        ``feature_rows``; or 'none'). A RAM cache, never stored; the by-bit kernels
        take ``groups_for(X)`` (the groups, with the signs in the dtype of X's sums),
        the by-feature ones ``dense_cache()[1:]``."""
        if self._groups is None:
            cache = self.dense_cache()
            if cache[0] == "table":
                bits, signs = cache[1:]
                feature = np.repeat(np.arange(self.n_features), bits.shape[1])
                self._groups = ("groups",) + bit_groups(
                    feature, bits.ravel(), signs.ravel(), self.n_features, self.n_bits)
            elif cache[0] == "lists":
                indptr, split, bits = cache[1:]
                feature = np.repeat(np.arange(self.n_features), np.diff(indptr))
                signs = np.ones(len(bits))
                minus = np.repeat(split - indptr[:-1], np.diff(indptr))  # + entries first
                signs[np.arange(len(bits)) - indptr[feature] >= minus] = -1.0
                self._groups = ("groups",) + bit_groups(feature, bits, signs,
                                                        self.n_features, self.n_bits)
            else:
                self._groups = cache
        return self._groups

    def groups_for(self, X):
        """The bit groups as the by-bit kernels take them for the dense rows X (as
        ``as_dense_input`` gives them): ``block_cache()[1:]``, (slots, gptr, gidx,
        gsgn), with the signs in the dtype of X's sums: float64 for float rows of
        float64-sum hyperplanes, float32 for float32 sums and for uint8 rows (a copy,
        kept with the cache); the kernels take the sums' dtype, and the block's
        rows (16 for float32 sums, 8 for float64), from it. The kernels multiply
        each lane row by its sign broadcast from memory; a float64 sign for float32
        lanes took a conversion and a broadcast an entry (the uint8 by-bit sums
        ~10 % slower, bench/RESULTS.md, "Float32 rows: a float32 lane table"). The
        signs are +-1, so the sums are the same either way."""
        slots, gptr, gidx, gsgn = self.block_cache()[1:]
        if X.dtype != np.uint8 and self.sums == "float64":
            return slots, gptr, gidx, gsgn
        signs = self._signs32
        if signs is None:
            signs = self._signs32 = gsgn.astype(np.float32)
        return slots, gptr, gidx, signs

    def takes_bytes(self):
        """True if dense uint8 rows go to the kernels as they are, 8 rows per block in
        float32 (``pnet.kernels.lanes``): +-1 entries (sparse_sign, ternary), a dense
        cache and at most ``MAX_BYTE_FEATURES`` features, so that every sum is exact
        and the bits are those of the same rows in float64. Otherwise uint8 rows are
        converted (``as_dense_input``)."""
        return (self.kind in (_hashing.SPARSE_SIGN, _hashing.TERNARY)
                and self.n_features <= MAX_BYTE_FEATURES and self.dense_cache()[0] != "none")

    def as_dense_input(self, X):
        """Dense X as the dense kernels take it: C-ordered float32/float64, or uint8
        rows as they are where ``takes_bytes``; uint8 rows otherwise in float32
        (exact). Float64 rows of float32 sums stay float64: the kernels round each
        value to the nearest float32 as they read it (a value beyond float32's range
        becomes +-inf there, and its row is non-finite), with no copy of the batch."""
        if X.dtype == np.uint8 and not self.takes_bytes():
            return np.ascontiguousarray(X, dtype=np.float32)
        return np.ascontiguousarray(X)

    def finite_rows(self, X):
        """(n,) bool: which rows of dense or CSR X are finite as the sums take them
        (float64 values of float32 sums rounded to float32 first: beyond its range
        they are +-inf). For the batches the kernels do not check as they read them."""
        values = X.data if sp.issparse(X) else X
        if self.sums == "float32" and values.dtype == np.float64:
            with np.errstate(over="ignore"):
                values = values.astype(np.float32)
        if not sp.issparse(X):
            return np.isfinite(values).all(axis=1)
        X = sp.csr_matrix(X)
        finite = np.ones(X.shape[0], dtype=bool)
        bad = np.flatnonzero(~np.isfinite(values))  # stored values, in CSR order
        finite[np.searchsorted(X.indptr, bad, side="right") - 1] = False
        return finite

    def as_row_input(self, x):
        """One dense row (1-D) as the one-row kernels take it: they sum in the dtype
        of its values (``pnet.kernels.lanes.row_sums_of``; uint8 in float64, exact
        where ``takes_bytes``), so a row is cast to the sums' dtype unless it is
        already in it (a copy of one row)."""
        if x.dtype == np.uint8 and self.takes_bytes():
            return x
        if x.dtype != self.sums_dtype:
            with np.errstate(over="ignore"):
                return x.astype(self.sums_dtype)
        return x

    # -- projection -----------------------------------------------------------------
    def project(self, X):
        """Packed bits (n_samples, ceil(n_bits / 64)) uint64 of dense or CSR X.

        X must already be validated (finite, 2-D, float32/float64; dense X may also
        be uint8: ``as_dense_input``).
        """
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            if self.projection == "local":
                return self._project_densified(X)
            if not X.has_canonical_format:  # sorted, no duplicates: as the dense row
                X = X.copy()
                X.sum_duplicates()
            return self.project_csr(X.data, X.indices.astype(np.uint64), X.indptr, True)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X has shape {X.shape}, but these hyperplanes are for "
                             f"{self.n_features} features.")
        out = np.empty((X.shape[0], n_words(self.n_bits)), dtype=np.uint64)
        if X.shape[0] == 0:
            return out
        X = self.as_dense_input(X)  # uint8 rows as they are, or in float32
        if self.dense_cache()[0] == "none":
            return self.project(sp.csr_matrix(X))
        if self.by_bit(X):
            return over_rows(_projection.dense_rows, X.shape[0], X, self.groups_for(X),
                             self.n_bits, out=out)
        return over_rows(_projection.feature_rows, X.shape[0], X, self.dense_cache()[1:],
                         self.sums_template(), self.n_bits, out=out)

    def by_bit(self, X):
        """True if the dense rows X (as ``as_dense_input`` gives them) go by bit: +-1
        entries (bit groups), and a share of at least ``BY_BIT_SHARE`` of the features
        non-zero in the blocks of the first ``SHARE_ROWS`` rows (``union_share``;
        ``BY_BIT_SHARE_LONG`` for hyperplanes of more than ``LONG_LISTS`` entries a
        feature). Rows sparser than that go by feature, which skips the features zero
        in a block (with dense ternary hyperplanes, 240 entries a feature, 2-7x faster
        on rows with 1-5 % of their values non-zero)."""
        groups = self.block_cache()
        if groups[0] != "groups":
            return False
        long_lists = groups[3].size > LONG_LISTS * max(self.n_features, 1)
        share = BY_BIT_SHARE_LONG if long_lists else BY_BIT_SHARE
        return _projection.union_share(X, SHARE_ROWS) >= share

    def _project_densified(self, X):
        """CSR rows of a 'local' projection, through the dense kernels a chunk of
        rows at a time (at most ``DENSIFY_VALUES`` values, at least one row): its
        entries exist only as the dense cache; the same bits as the dense rows."""
        out = np.empty((X.shape[0], n_words(self.n_bits)), dtype=np.uint64)
        rows = max(1, DENSIFY_VALUES // max(self.n_features, 1))
        for start in range(0, X.shape[0], rows):
            out[start:start + rows] = self.project(X[start:start + rows].toarray())
        return out

    def project_csr(self, data, features, indptr, sorted_features=False):
        """Packed bits of CSR rows given as (data, uint64 feature ids, indptr).

        Features are accumulated in stored order; unless ``sorted_features``, each
        row is first sorted by feature id and repeated ids are summed (in data's
        dtype, before any rounding to float32 sums), so that the result equals the
        dense one (``sorted_features=True`` promises both).
        """
        data = np.ascontiguousarray(data)
        features = np.ascontiguousarray(features, dtype=np.uint64)
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        if self.projection == "local":  # pixels: column indices below n_features
            if features.size and features.max() >= self.n_features:
                raise ValueError(f"feature ids must be below {self.n_features} for the "
                                 "'local' projection (pixels of its image).")
            X = sp.csr_matrix((data, features.astype(np.int64), indptr),
                              shape=(indptr.shape[0] - 1, self.n_features), copy=True)
            X.sum_duplicates()  # in place: the copy, not the caller's data
            return self._project_densified(X)
        if not sorted_features:
            data, features, indptr = _canonical_rows(data, features, indptr)
        with np.errstate(over="ignore"):  # the sums' dtype: csr_rows sums in data's
            data = np.ascontiguousarray(data, dtype=self.sums_dtype)
        out = np.empty((indptr.shape[0] - 1, n_words(self.n_bits)), dtype=np.uint64)
        over_rows(_projection.csr_rows, out.shape[0], data, features,
                  indptr, self.key, self.kind, self.threshold, self.n_entries, self.n_bits,
                  out=out)
        return out


#: values per dense chunk of ``_project_densified`` (64 MiB of float64)
DENSIFY_VALUES = 1 << 23


#: bits summed together by ``pnet.kernels.projection.group_bits`` (its 8 registers)
GROUP = 8


def bit_groups(feature, bit, sign, n_features, n_bits):
    """The entries (feature, bit, sign), +-1, as the by-bit block kernel reads them:
    (slots, gptr, gidx, gsgn).

    The bits are sorted by their number of entries (most first, ties by bit) and
    taken ``GROUP`` at a time: group g holds the bits ``slots[8 g:8 g + 8]``
    (``n_bits`` pads the last group: a bit with no entries) and the entries
    ``gptr[g]:gptr[g + 1]``, interleaved: entry p of the group's b-th bit (in
    ascending feature order) at ``gptr[g] + 8 p + b``, as ``gidx`` (the feature,
    int32) and ``gsgn`` (its sign, float64: the kernel multiplies by it as a broadcast
    operand); 12 bytes an entry, as the dense cache's sparse_sign table. A bit with
    fewer entries than the group's first is padded with the feature ``n_features``
    (the kernel's zero row) and sign +1. Sorting makes a group's bits about equally long (little
    padding) and the kernel's loop lengths change rarely (few mispredicted branches).
    """
    if n_features >= 2**31 - 1:
        raise ValueError(f"bit groups index features in int32, got {n_features} features")
    feature, bit = np.asarray(feature, np.int64), np.asarray(bit, np.int64)
    counts = np.bincount(bit, minlength=n_bits)
    order = np.argsort(-counts, kind="stable")
    n_groups = -(-n_bits // GROUP)
    slots = np.full(n_groups * GROUP, n_bits, dtype=np.int64)
    slots[:n_bits] = order
    rank = np.empty(n_bits, dtype=np.int64)
    rank[order] = np.arange(n_bits)
    lengths = np.zeros(n_groups * GROUP, dtype=np.int64)
    lengths[:n_bits] = counts[order]
    gptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(GROUP * lengths.reshape(n_groups, GROUP).max(axis=1), out=gptr[1:])
    e = np.lexsort((feature, rank[bit]))  # by the bit's rank, then ascending feature
    r = rank[bit[e]]
    first = np.zeros(n_bits + 1, dtype=np.int64)
    np.cumsum(lengths[:n_bits], out=first[1:])
    position = gptr[r // GROUP] + GROUP * (np.arange(len(e)) - first[r]) + r % GROUP
    gidx = np.full(gptr[-1], n_features, dtype=np.int32)
    gsgn = np.ones(gptr[-1], dtype=np.float64)
    gidx[position] = feature[e]
    gsgn[position] = np.asarray(sign, np.float64)[e]
    return slots, gptr, gidx, gsgn


def over_rows(rows, n, first, *args, out):
    """Run a serial row kernel on ``n`` rows, ``rows(first, start, stop, *args, out)``
    for rows [start, stop), in parallel when that pays.

    Serially in the calling thread for at most one block of ``BLOCK_ROWS`` rows
    (handing work to a thread costs more than the work) or when the calling thread
    allows numba one thread (``numba.set_num_threads(1)``: a dask worker thread, see
    ``pnet.dask``). Otherwise the blocks are split into ``numba.get_num_threads()``
    contiguous ranges: the calling thread runs the first, a pool of Python threads
    the others (every row kernel is compiled ``nogil=True``, so they run at once).
    Each range writes only its own rows of ``out``, and a row's result depends only
    on the row, so the result does not depend on the split. The calling thread runs
    every range itself when the pool refuses work (the interpreter is shutting down:
    a batch predicted from an ``atexit`` handler or a late thread) or when it is one
    of the pool's own workers.

    Why Python threads and not a numba ``prange`` kernel: the kernel would be a
    second compiled function per row kernel and argument types, and numba compiles
    a ``parallel=True`` function, with every function it calls linked in and
    optimised again, in seconds; ``bench.startup`` measures what this saves.
    """
    if n == 0:
        return out
    blocks = -(-n // BLOCK_ROWS)
    threads = min(numba.get_num_threads(), blocks)
    # (a pool worker that waited on the pool could deadlock: it runs its batch itself)
    if threads <= 1 or threading.current_thread().name.startswith(_POOL_PREFIX):
        rows(first, 0, n, *args, out)
        return out
    cuts = [min(n, BLOCK_ROWS * (blocks * t // threads)) for t in range(threads + 1)]
    pool = _thread_pool()
    futures, mine = [], [0]  # ranges the workers run / the caller runs
    try:
        for t in range(1, threads):
            try:
                futures.append(pool.submit(rows, first, cuts[t], cuts[t + 1], *args, out))
            except RuntimeError:  # the interpreter is shutting down: no new futures
                mine.append(t)
        for t in mine:
            rows(first, cuts[t], cuts[t + 1], *args, out)
    finally:
        wait_through_interrupts(futures)  # no range still writes ``out`` after we return
    for future in futures:
        future.result()  # a worker's error, if any
    return out


def wait_through_interrupts(futures):
    """Wait until every future is done, even when Ctrl-C arrives meanwhile.

    A KeyboardInterrupt during the wait cancels the ranges not yet started, waits
    for the running ones and is raised once they have finished: returning at once
    would leave worker threads writing into an ``out`` the caller already holds.
    """
    interrupted = None
    while True:
        try:
            wait(futures)
            break
        except KeyboardInterrupt as error:
            if interrupted is None:
                interrupted = error
            for future in futures:
                future.cancel()
    if interrupted is not None:
        raise interrupted


_POOL = None
_POOL_LOCK = threading.Lock()
_POOL_PREFIX = "pnet-rows"


def _thread_pool():
    """The process's worker threads for ``over_rows`` (numba's maximum, less the
    caller), created on first use and forgotten in a forked child."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                       thread_name_prefix=_POOL_PREFIX)
        return _POOL


def _forget_pool():
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _canonical_rows(data, features, indptr):
    """Sort each CSR row by feature id and sum repeated ids, as scipy's sum_duplicates.

    Returns new (data, features, indptr); the caller's arrays are not touched.
    """
    n_rows = indptr.shape[0] - 1
    row = np.repeat(np.arange(n_rows), np.diff(indptr))
    increasing = features[1:] > features[:-1]
    if np.all(increasing | (row[1:] != row[:-1])):  # already canonical: O(nnz) check
        return data, features, indptr
    order = np.lexsort((features, row))
    data, features, row = data[order], features[order], row[order]
    if data.size == 0:
        return data, features, indptr.copy()
    starts = np.flatnonzero(np.r_[True, (row[1:] != row[:-1]) | (features[1:] != features[:-1])])
    data = np.add.reduceat(data, starts)
    features, row = features[starts], row[starts]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n_rows), out=indptr[1:])
    return data, features, indptr


def unpack(packed, n_bits, dtype=np.float32):
    """Packed (n, n_words) -> (n, n_bits) of 0/1 in ``dtype``."""
    packed = np.ascontiguousarray(packed, dtype=np.uint64)
    out = np.empty((packed.shape[0], n_bits), dtype=dtype)
    _bits.unpack_kernel(packed, out)
    return out


def pack(B):
    """(n, n_bits) of 0/non-zero -> packed (n, ceil(n_bits / 64)) uint64.

    numpy's ``packbits`` (little bit order, bytes read as little-endian words): it
    packs the weights' bit planes when a quantised model loads (a few hundred rows),
    where a jit kernel cost 0.27-0.31 s of compile on a machine's first load."""
    B = np.asarray(B)
    n, n_bits = B.shape
    padded = np.zeros((n, 64 * n_words(n_bits)), dtype=bool)
    padded[:, :n_bits] = B != 0
    as_bytes = np.packbits(padded, axis=1, bitorder="little")  # (n, 8 * n_words)
    return as_bytes.view("<u8").astype(np.uint64, copy=False)


def unpack_rows(packed, rows, n_bits, dtype=np.float32):
    """The unpacked 0/1 bits of ``packed[rows]``, (len(rows), n_bits): one minibatch."""
    out = np.empty((rows.shape[0], n_bits), dtype=dtype)
    _bits.unpack_rows(packed, np.asarray(rows, dtype=np.int64), out)
    return out


def gather_add(packed, W, bias):
    """``bias + sum_{k : bit k set} W[k]`` per row: (n, n_out) in W's dtype."""
    return gather_add_padded(packed, *pad_columns(W, bias), W.shape[1])


def gather_add_padded(packed, W_pad, bias_pad, n_out):
    """``gather_add`` with weights already padded (``pad_columns``): (n, n_out)."""
    out = np.empty((packed.shape[0], n_out), dtype=W_pad.dtype)
    return over_rows(_bits.gather_add_rows, packed.shape[0],
                     np.ascontiguousarray(packed, dtype=np.uint64), W_pad, bias_pad, out=out)


def pad_columns(W, bias):
    """(W, bias) in W's dtype with zero columns appended up to a multiple of two of
    the gather-add's registers (``pnet.kernels.columns``), C-contiguous: the RAM
    layout ``gather_add`` reads two registers of columns at a time from."""
    width = 2 * _columns.width_of(W.dtype)
    n_pad = -(-W.shape[1] // width) * width
    W_pad = np.zeros((W.shape[0], n_pad), dtype=W.dtype)
    W_pad[:, :W.shape[1]] = W
    bias_pad = np.zeros(n_pad, dtype=W.dtype)
    bias_pad[:W.shape[1]] = bias
    return W_pad, bias_pad


def scatter_add(packed, G, n_bits):
    """``sum_{i : bit k of row i set} G[i]`` for every k: (n_bits, n_out), G's dtype."""
    out = np.empty((n_bits, G.shape[1]), dtype=G.dtype)
    _bits.scatter_add_kernel(np.ascontiguousarray(packed), np.ascontiguousarray(G), out)
    return out
