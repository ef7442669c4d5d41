"""``LSHProjection``: the projection layer as a scikit-learn transformer.

Paper symbols: T = ``n_projections`` (projection functions P^1..P^T),
d = ``n_bits`` (bits per function); the layer outputs T * d bits,
``bit k = 1 if <x, r_k> > 0 else 0`` with ``r_k`` a fixed random hyperplane
recomputed from the seed (``pnet.kernels.hashing``), never stored.

This module owns parameter validation and the sklearn contract; the arithmetic
lives in ``pnet._hyperplanes`` and ``pnet.kernels``.
"""
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

import scipy.sparse as sp

from ._hyperplanes import (PROJECTIONS, SUMS, Hyperplanes, mean_nonzeros, n_words,
                           resolve_density, resolve_sums, unpack)
from ._local import resolve_local

#: seeds are drawn in [0, SEED_MAX) from ``random_state``
SEED_MAX = np.iinfo(np.int32).max
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: the smallest float64 magnitude that rounds to +-inf in float32 (to nearest even:
#: halfway between FLOAT32_MAX and 2**128)
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103


def check_float32_range(X, what):
    """ValueError if validated X (dense or CSR, float32/float64) holds a value beyond
    float32's range, one that becomes +-inf rounded to float32 (``what``: what
    computes in float32, for the message)."""
    values = X.data if sp.issparse(X) else X
    if values.dtype != np.float64 or values.size == 0:
        return
    peak = max(float(values.max()), -float(values.min()))  # no temporary copy
    if peak >= FLOAT32_OVERFLOW:
        raise ValueError(f"X holds values up to {peak:.3g} in magnitude, beyond float32's "
                         f"range ({FLOAT32_MAX:.3g}), which {what}. Scale the features "
                         "(e.g. StandardScaler or MaxAbsScaler).")


class LSHProjection(TransformerMixin, BaseEstimator):
    """Random-hyperplane LSH to ``n_projections * n_bits`` bits.

    Parameters
    ----------
    n_projections : int, default=60
        T, the number of projection functions.
    n_bits : int, default=12
        d, bits per projection function.
    projection : {'sparse_sign', 'ternary', 'gaussian'}, default='sparse_sign'
        Distribution of the hyperplane entries (``pnet.kernels.hashing``).
        'sparse_sign' gives every feature exactly ``E = round(density * T * d)``
        entries of +-1 at distinct bits (a sparse sign matrix); 'ternary' draws
        every entry -1/0/+1 independently with ``density`` non-zeros. Both are
        integer-only, bit-exact on every platform, and touch only the non-zero
        entries; on sparse and text input sparse_sign costs ~E hashes per feature
        where ternary costs T * d (more than E at high densities: distinct bits are
        drawn until E are found, 1.2 E at density 1/3), and its fixed count makes the dense kernels ~1.8x
        faster (``bench/RESULTS.md``, "sparse_sign") at the same accuracy
        (``python -m bench.density``). 'gaussian' is the paper's spherically
        symmetric choice. 'local' is for images: bit k sees one square window of the
        image (a pure function of (seed, k): ``pnet.kernels.hashing.window_of``),
        with ternary entries inside it. pnet < 0.2 had only 'ternary' (its default)
        and 'gaussian'.
    density : 'auto' or float in (0, 1], default='auto'
        Non-zero fraction of the hyperplanes. 'auto' is min(1 / sqrt(n_features)
        (Li et al. "very sparse"), 8 / n_features), ~8 non-zero entries per
        hyperplane, floored for very sparse rows of X
        (``pnet._hyperplanes.resolve_density``); 1/3 is Achlioptas. For 'local',
        the fraction inside a window, 'auto' = 0.5.
    output : {'packed', 'dense'}, default='packed'
        'packed': uint64 words (n_samples, ceil(T * d / 64)), bit k in word
        k // 64 at position k % 64, least significant first.
        'dense': float32 0/1 (n_samples, T * d).
    random_state : int, RandomState instance or None, default=None
        Draws the hyperplane seed in ``fit``.
    image_shape : None or (height, width), default=None
        'local' only: the rows are height x width images, row-major. None: square.
    window : 'auto' or (kmin, kmax), default='auto'
        'local' only: window sides in pixels (``pnet._local.resolve_window``).
    sums : {'auto', 'float32', 'float64'}, default='auto'
        The projection sums' dtype (``pnet.Hyperplanes``): 'auto' is float32 for
        +-1 entries, float64 for gaussian. Float32 sums take float32 values: X with
        values beyond float32's range is refused.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has string column names
    seed_ : int
        The hyperplane seed; with the other parameters it defines the layer.
    density_ : float
        The resolved density (non-zero fraction of the hyperplanes; unused by gaussian).
    window_ : None or (height, width, kmin, kmax)
        The 'local' projection's image and window sides; None for the others.
    sums_ : {'float32', 'float64'}
        The projection sums' dtype.
    hyperplanes_ : pnet.Hyperplanes
        Settings object that applies the projection (its cache is not pickled).
    n_output_bits_ : int
        T * d.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from pnet import LSHProjection
    >>> X, _ = load_digits(return_X_y=True)
    >>> LSHProjection(n_projections=8, n_bits=10, random_state=0).fit_transform(X).shape
    (1797, 2)
    """

    _parameter_constraints = {
        "n_projections": [Interval(Integral, 1, None, closed="left")],
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "projection": [StrOptions(set(PROJECTIONS))],
        "density": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
        "image_shape": ["array-like", None],
        "window": [StrOptions({"auto"}), "array-like"],
        "sums": [StrOptions({"auto", *SUMS})],
        "output": [StrOptions({"packed", "dense"})],
        "random_state": ["random_state"],
    }

    #: transformers pickled before float32 sums (pnet 0.2.0 and earlier) sum in float64
    sums = "float64"

    def __init__(self, n_projections=60, n_bits=12, projection="sparse_sign", density="auto",
                 output="packed", random_state=None, image_shape=None, window="auto",
                 sums="auto"):
        self.n_projections = n_projections
        self.n_bits = n_bits
        self.projection = projection
        self.density = density
        self.image_shape = image_shape
        self.window = window
        self.sums = sums
        self.output = output
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number of features and draw the hyperplane seed."""
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32])
        self.seed_ = int(check_random_state(self.random_state).randint(SEED_MAX))
        local = resolve_local(self.projection, self.density, self.image_shape, self.window,
                              self.n_features_in_)
        self.density_, self.window_ = local or (
            resolve_density(self.density, self.n_features_in_, mean_nonzeros(X)), None)
        self.sums_ = resolve_sums(self.sums, self.projection)
        self.n_output_bits_ = self.n_projections * self.n_bits
        self.hyperplanes_ = Hyperplanes(self.seed_, self.n_features_in_, self.n_output_bits_,
                                        self.projection, self.density_, self.window_,
                                        self.sums_)
        return self

    def transform(self, X):
        """Project X (dense or CSR) to bits, packed or as 0/1 float32. A dense uint8
        X (8-bit pixels, counts) is read as it is, 8 rows at a time with exact sums
        (``Hyperplanes.as_dense_input``): the bits of the same values as float64."""
        check_is_fitted(self)
        dtype = [np.float64, np.float32]
        if isinstance(X, np.ndarray) and X.dtype == np.uint8:
            dtype = np.uint8
        X = validate_data(self, X, accept_sparse="csr", dtype=dtype, reset=False)
        if self.hyperplanes_.sums == "float32":
            check_float32_range(X, "the float32 projection sums take")
        packed = self.hyperplanes_.project(X)
        if self.output == "dense":
            return unpack(packed, self.n_output_bits_)
        return packed

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        n = self.n_output_bits_ if self.output == "dense" else n_words(self.n_output_bits_)
        prefix = "bit" if self.output == "dense" else "word"
        return np.asarray([f"lshprojection_{prefix}{i}" for i in range(n)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = []
        return tags
