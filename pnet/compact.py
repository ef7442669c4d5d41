"""``CompactProjectionNet``: the projection net alone, for inference, and its model file.

What ships (ALGORITHM.md section 4): the settings of the projection layer (the
hyperplanes are recomputed from the seed, never stored), the weights and biases
of the projection net after the bit layer, the class labels. No trainer, no
optimiser state, nothing to fit.

Weight formats (``quantize``):

float32 (None)
    the estimator's own arrays, and its arithmetic: labels and probabilities
    are bitwise the estimator's. CSR input runs the estimator's very code path
    (``Hyperplanes.project`` to packed bits, then the gather-add of
    ``pnet.kernels.bits``); dense input runs one fused kernel per block of rows
    (``pnet.kernels.compact``) that calls the same projection-sum and
    gather-add row functions without writing packed bits. Every path reads the
    first layer from a copy whose columns are zero-padded to the gather-add's
    register width (``pad_columns``, a RAM layout built at construction).
int8, int4, ternary
    every weight matrix quantised per output unit (``pnet._quantize``: 8, 4 or
    2 bits per weight, one float32 scale per output unit); biases stay
    float32. Values are held in RAM as int8 whatever the format, so the first
    layer is always the exact int32 sum of the set bits' weights, then ``* scale +
    bias``, computed by popcounts over the weights' bit planes (``weight_planes``,
    a RAM layout built at construction; ``pnet.kernels.bits.plane_add_int8``).
    Later layers, when there are hidden layers, are dequantised to float32 once at
    load time (``Wq * scale``).
    A model trained for its format (``ProjectionNetClassifier(quantize=...)``)
    predicts exactly as the estimator.

Input: float32/float64 rows (any other dtype goes through ``check_array`` to float64),
and uint8 rows (8-bit pixels, counts) as they are: the dense kernels read them 8 rows
per block with exact float32 sums (sparse_sign and ternary hyperplanes, up to
``pnet._hyperplanes.MAX_BYTE_FEATURES`` features; ``Hyperplanes.takes_bytes``), a
quarter of the bytes of float32 rows; the results are those of the same values in
float64, bit for bit.

The RAM layouts (padded columns, bit planes) are built from ``coefs_`` when the
model is made or loaded: a model is not edited in place; build a new one
(``CompactProjectionNet(...)``, ``from_classifier``) from changed weights.

Later layers always run pnet's fixed-order kernels (``pnet.layers.predict_hidden``),
and the softmax (``pnet.losses``, float64) is shared code.

``size_bytes`` counts the stored numbers at their stored width (weights packed
at 8, 4 or 2 bits, biases, scales) plus 8 bytes for the seed; class labels and
file headers are metadata and are not counted, as in
``ProjectionNetClassifier.projection_size_bytes_``.

The model file (``save``/``load``, format "pnet-compact") is an uncompressed
``.npz`` (a zip archive of ``.npy`` arrays) holding:

=============  ==========================================================
array          content
=============  ==========================================================
header         uint8 bytes of a UTF-8 JSON object (below)
classes        the class labels (int, float, bool or unicode; never object)
coef_<i>       layer i weights (fan_in, fan_out): float32 or int8; for int4 and
               ternary a uint8 stream of packed values (``pack_weights``)
intercept_<i>  layer i biases (fan_out,) float32
scale_<i>      quantised files only: per-output-unit scales (fan_out,) float32
=============  ==========================================================

The JSON header: ``{"format": "pnet-compact", "version": 1 to 5, "seed",
"n_features", "n_projections", "n_bits", "projection", "density",
"activation", "quantize", "layer_sizes" ([T*d, hidden..., n_classes]),
"writer", "arrays": {name: {"dtype", "shape", "sha256"}}}``, where sha256 is
the hex digest of the array's C-order bytes as stored. Version 1 holds
float32 and int8 models (``quantize`` null or "int8") of the "ternary" and
"gaussian" projections, and every model is written as the oldest version that
holds it so older pnet versions read it; version 2 adds "int4" and "ternary"
weights and an optional ``text_front`` object (a text model's front,
``pnet.textfront``); version 3 the "sparse_sign" projection; version 4 the
"local" projection and its ``window`` ([height, width, kmin, kmax], present
exactly for it); version 5 float32 projection sums, ``"sums": "float32"``
(``pnet.Hyperplanes``; +-1 projections; files without the key sum in float64).
Every member is
stored uncompressed, little-endian, in C order. ``load`` never executes code from the file, checks
every size the file declares against the file before allocating anything, and
raises ``ModelFileError`` (and nothing else) naming the problem for any
foreign, truncated, corrupted, hostile or inconsistent file, or an
unsupported version (``pnet._modelfile``).

Single rows: ``predict_one(x)`` / ``predict_proba_one(x)`` skip sklearn's
validation (a shape check; finiteness is checked inside the kernel) and run one
serial kernel (projection, first layer, argmax) on scratch buffers kept per
thread: the one-row forms of the batch functions (``row_sums``: the row's own
non-zero features, scalar adds through the block's adders), the same class and
logits as ``predict(x[None])`` (the later layers run the same fixed-order kernels,
``pnet.kernels.network``). ~2.4-2.6 us per MNIST row on a 2-core AVX-512 Xeon
(int8, best of 30 passes over 1,000 rows), of which the kernel's work is ~1.45 us,
numba's dispatch of its 3 arguments ~0.3 us (the weights with the hyperplane cache,
and the scratch, are one array each: ``pnet.kernels.compact.row_model``,
``row_work``) and the Python around it the rest. A one-row ``predict`` takes the
same kernel and the class index it returns.

This module owns the deployed model; its file format (writing, and every check
on reading) lives in ``pnet._modelfile``, the consistency of its numbers in
``pnet._modelcheck``, training in ``pnet.classifier``, the
int8 arithmetic in ``pnet._quantize``.
"""
import os
import threading

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from ._hyperplanes import Hyperplanes, gather_add_padded, over_rows, pad_columns
from ._modelcheck import check_model
from ._quantize import (FORMATS, dequantize, first_layer_int8, pack_weights,
                        quantize_columns, stored_bytes, unpack_weights, weight_planes)
from .kernels import bits as _bits
from .kernels import compact as _fused
from .layers import predict_hidden, predict_hidden_row
from .losses import log_softmax, softmax
from ._modelfile import (NARROW, file_version, ModelFileError, classes_for_file,
                         read_file_bytes, read_model_file, write_model_file)

SEED_BYTES = 8
_F64, _F32, _U8 = np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.uint8)


def plain_array(X, n_features):
    """True for X the dense kernels take as it is: an ndarray of shape (n, n_features),
    n >= 1, of float32/float64 (what ``check_array`` would return unchanged but for
    its finite check: the fused kernels check finiteness as they read each row) or
    of uint8 (8-bit rows, always finite, read 8 rows per block with exact sums:
    ``Hyperplanes.as_dense_input``). Such a batch skips sklearn's validation, in the
    compact model (``CompactProjectionNet._validate``) and in the estimator
    (``ProjectionNetClassifier._predictor_and_input``), at any size."""
    return (type(X) is np.ndarray and X.ndim == 2 and X.shape[0] > 0
            and X.dtype in (np.float32, np.float64, np.uint8) and X.shape[1] == n_features)


def check_finite(finite, sums="float64"):
    """ValueError unless every row was finite (``finite``: the kernels' flags, on
    the rows in the dtype of the sums: ``Hyperplanes.as_dense_input``)."""
    if not finite.all():
        raise ValueError(f"Input X contains NaN or infinity{_beyond(sums)} (row "
                         f"{int(np.argmin(finite))}).")


def _nonfinite(name, sums="float64"):
    """The error for a non-finite row: ``predict_one``'s ("x") or a one-row batch's."""
    return ValueError(f"{name} contains NaN or infinity{_beyond(sums)}"
                      + ("." if name == "x" else " (row 0)."))


def _beyond(sums):
    """What else a row that is not finite in float32 may hold."""
    if sums == "float64":
        return ""
    return (", or a value beyond float32's range (|x| > 3.4e38), which this model's "
            "float32 projection sums cannot take")


#: fused dense row kernels by arithmetic (None: float32 gather-add; 'int8': bit planes);
#: each takes the hyperplanes' dense cache tuple, whatever its layout
_SERIAL = {None: _fused.float_rows, "int8": _fused.int8_rows}


class CompactProjectionNet:
    """The projection net of a fitted ``ProjectionNetClassifier``, for inference only.

    Build one with ``clf.to_compact()`` / ``CompactProjectionNet.from_classifier``
    or ``pnet.load(path)``; the constructor takes the stored numbers directly.

    Parameters
    ----------
    seed : int in [0, 2**63)
        Hyperplane seed.
    n_features : int
        D, input features.
    n_projections, n_bits : int
        T projection functions of d bits (T * d bits in all).
    projection : {'sparse_sign', 'ternary', 'gaussian', 'local'}
    density : float in (0, 1]
        Non-zero fraction of the hyperplanes (sparse_sign: ``round(density * T * d)``
        entries per feature; local: inside a window; ignored by gaussian).
    activation : {'relu', 'tanh', 'logistic', 'identity'}
        Hidden activation.
    classes : array-like (n_classes,)
    coefs, intercepts : lists of arrays
        Layer weights (fan_in, fan_out), float32 or (with ``scales``) int8, and
        float32 biases (fan_out,). ``coefs[0]`` is (T * d, ...).
    scales : list of float32 arrays (fan_out,) or None
        Per-output-unit scales of int8 weights; None for float32 weights.
    quantize : None, 'int8', 'int4' or 'ternary'
    window : (height, width, kmin, kmax) or None
        The 'local' projection's image and window sides (``pnet.Hyperplanes``);
        None for the others.
    sums : {'float64', 'float32'}
        The dtype of the projection sums (``pnet.Hyperplanes``: part of the hash).
        Files of versions 1-4 hold float64 sums; version 5 says which.

    Attributes
    ----------
    classes_, n_features_in_, coefs_, intercepts_, scales_
        As given (``scales_`` None for float32).
    seed, n_projections, n_bits, projection, density, activation, window, sums
        The settings, as given.
    quantize : None, 'int8', 'int4' or 'ternary'
    format_version : int
        Version of the model file format (1).
    hyperplanes : pnet.Hyperplanes
        Settings only; any materialised hyperplanes are a RAM cache, not model.
    size_bytes, size_bits, layer_sizes : properties

    Notes
    -----
    Every method may be called from many threads on one shared model:
    ``predict_one`` and ``predict_proba_one`` keep their scratch buffers per
    thread (``threading.local``), and the batch methods allocate per call.
    """

    def __init__(self, seed, n_features, n_projections, n_bits, projection, density,
                 activation, classes, coefs, intercepts, scales=None, quantize=None,
                 window=None, sums="float64"):
        self.seed = seed
        self.n_features_in_ = n_features
        self.n_projections = n_projections
        self.n_bits = n_bits
        self.projection = projection
        self.density = density
        self.window = window
        self.activation = activation
        self.classes_ = np.asarray(classes)
        self.coefs_ = list(coefs)
        self.intercepts_ = list(intercepts)
        self.scales_ = None if scales is None else list(scales)
        self.quantize = quantize if quantize is not None or scales is None else "int8"
        check_model(self)
        self.hyperplanes = Hyperplanes(seed, n_features, n_projections * n_bits, projection,
                                       density, window, sums)
        self.sums = sums
        self.window = self.hyperplanes.window  # Python ints (the file is JSON), or None
        if self.quantize is None:
            self._padded = pad_columns(self.coefs_[0], self.intercepts_[0])
            self._tail = list(zip(self.coefs_[1:], self.intercepts_[1:]))
        else:  # first layer as bit planes; later layers dequantised once, run in float32
            self._planes = weight_planes(self.coefs_[0])
            self._tail = [(dequantize(Wq, s), b) for Wq, s, b in
                          zip(self.coefs_[1:], self.scales_[1:], self.intercepts_[1:])]
        self._local = threading.local()  # per-thread scratch of the single-row kernels

    #: a text model (``pnet.CompactTextProjectionNet``) takes strings
    _text = False
    #: models pickled before float32 sums (pnet 0.2.0 and earlier) sum in float64
    sums = "float64"

    # ------------------------------------------------------------ construction --
    @classmethod
    def from_classifier(cls, clf, quantize=None):
        """The projection net of a fitted ``ProjectionNetClassifier``.

        quantize : None, 'int8', 'int4' or 'ternary'
            None keeps float32 weights (predictions identical to ``clf``'s when it
            was trained in float32); the others quantise per output unit
            (identical predictions when ``clf`` was trained for that format).
        """
        check_is_fitted(clf, "projection_")
        if quantize not in FORMATS:
            raise ValueError(f"quantize must be 'auto' (to_compact) or one of {FORMATS}, "
                             f"got {quantize!r}.")
        h = clf.hyperplanes_
        coefs = [np.array(W, dtype=np.float32) for W in clf.coefs_]
        intercepts = [np.array(b, dtype=np.float32) for b in clf.intercepts_]
        scales = None
        if quantize is not None:
            pairs = [quantize_columns(W, quantize) for W in coefs]
            coefs, scales = [p[0] for p in pairs], [p[1] for p in pairs]
        settings = dict(seed=h.seed, n_features=h.n_features,
                        n_projections=clf._fitted_param("n_projections"),
                        n_bits=clf._fitted_param("n_bits"), projection=h.projection,
                        density=h.density, activation=clf.projection_.activation,
                        window=h.window, sums=h.sums)
        settings.update(cls._input_settings(clf))
        return cls(**settings, classes=clf.classes_, coefs=coefs, intercepts=intercepts,
                   scales=scales, quantize=quantize)

    @staticmethod
    def _input_settings(clf):
        """Settings beyond the projection's that a subclass's input needs (text: its front)."""
        return {}

    # ----------------------------------------------------------------- sizes --
    @property
    def size_bytes(self):
        """Stored numbers at their stored width + 8 bytes of seed.

        float32: 4 bytes per weight and bias; int8 / int4 / ternary: 8 / 4 / 2 bits
        per weight (packed, ``pnet._quantize.stored_bytes``), 4 bytes per bias and
        per scale. Equals the estimator's ``projection_size_bytes_`` when the
        format is the one it was trained for. The hyperplanes cost nothing
        (recomputed from the seed); class labels and the file's header are
        metadata, not counted.
        """
        return stored_bytes(self.layer_sizes, self.quantize) + SEED_BYTES

    @property
    def format_version(self):
        """The model file version ``save`` writes for this model (and ``load`` read)."""
        return file_version(self._settings())

    @property
    def _arithmetic(self):
        """None (float32 gather-add) or 'int8' (every quantised format: its values
        are held as int8 and summed exactly in int32)."""
        return None if self.quantize is None else "int8"

    @property
    def size_bits(self):
        return 8 * self.size_bytes

    @property
    def layer_sizes(self):
        return [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]

    def __repr__(self):
        hidden = "".join(f" -> {n}" for n in self.layer_sizes[1:-1])
        return (f"CompactProjectionNet({self.projection} T={self.n_projections} "
                f"d={self.n_bits} on {self.n_features_in_} features, "
                f"{self.layer_sizes[0]} bits{hidden} -> {len(self.classes_)} classes, "
                f"{self.quantize or 'float32'}, {self.size_bytes:,} bytes)")

    def __setattr__(self, name, value):
        """Setting ``hyperplanes`` drops what the single-row path built from the old
        ones: the model array (a copy of their cache, whose layout chose the kernel)
        and every thread's kernel and scratch (a new ``threading.local``), so that the
        next row, in any thread, runs the new hyperplanes."""
        if name == "hyperplanes" and "hyperplanes" in self.__dict__:
            self.__dict__.pop("_row_model", None)
            self.__dict__["_local"] = threading.local()
        object.__setattr__(self, name, value)

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_local"]  # per-thread scratch, rebuilt on demand
        state.pop("_planes", None)  # RAM layouts of coefs_[0], rebuilt on load
        state.pop("_padded", None)
        state.pop("_row_model", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()
        if self.quantize is not None:  # never pickled (nor stored in the file)
            self._planes = weight_planes(self.coefs_[0])
        else:
            self._padded = pad_columns(self.coefs_[0], self.intercepts_[0])

    # ------------------------------------------------------------ prediction --
    def _validate(self, X):
        """X as the prediction paths take it. A float32/float64 or uint8 ndarray of the
        right width (``plain_array``) is returned as is, its finiteness left to
        ``_logits_of`` (checked by the kernels as they read it); anything else goes
        through ``check_array``."""
        if plain_array(X, self.n_features_in_):
            return X
        if not sp.issparse(X) and np.ndim(X) != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features), got {np.ndim(X)} dimension(s) "
                f"with shape {np.shape(X)}; for one sample use X.reshape(1, -1) or "
                "predict_one(x).")
        X = check_array(X, accept_sparse="csr", dtype=[np.float64, np.float32],
                        estimator=self, input_name="X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but this CompactProjectionNet "
                             f"expects {self.n_features_in_}.")
        return X

    def _first_layer_dense(self, X):
        """First-layer pre-activations (n, fan_out) float32 of dense X (as
        ``Hyperplanes.as_dense_input`` gives it), one fused pass; None for a batch
        that does not go by bit (``Hyperplanes.by_bit``)."""
        if not self.hyperplanes.by_bit(X):  # gaussian, sparse rows, too wide: bits first
            return None
        groups = self.hyperplanes.groups_for(X)
        W, b = self.coefs_[0], self.intercepts_[0]
        out = np.empty((X.shape[0], W.shape[1]), dtype=np.float32)
        if self.quantize is None:
            weights = self._padded
        else:
            weights = (W.shape[0], self._planes, self.scales_[0], b)
        kind = self._arithmetic
        finite = np.empty(X.shape[0], dtype=np.bool_)
        over_rows(_SERIAL[kind], X.shape[0], X, groups, *weights, finite, out=out)
        check_finite(finite, self.sums)
        return out

    def _first_layer_of_bits(self, packed):
        """First-layer pre-activations (n, fan_out) float32 of packed bits (n, n_words)."""
        if self.quantize is None:  # the estimator's gather-add, on the padded weights
            return gather_add_padded(packed, *self._padded, self.coefs_[0].shape[1])
        return first_layer_int8(packed, self.coefs_[0], self.scales_[0], self.intercepts_[0],
                                self._planes)

    def _tail_logits(self, Z):
        """Logits from the first layer's pre-activation Z: the later layers in
        pnet's fixed-order kernels (``pnet.layers.predict_hidden``), as the estimator."""
        return predict_hidden(Z, self._tail, self.activation)

    def decision_function(self, X):
        """Logits of the projection net, (n_samples, n_classes) float32.

        Dense X runs the fused kernels of ``pnet.kernels.compact``, CSR X the
        estimator's projection kernels; both give the same bits and, in float32,
        the estimator's logits bit for bit.
        """
        return self._logits_of(self._validate(X))

    def _logits_of(self, X):
        """``decision_function`` of validated input (the estimator's predictions call it).

        One dense row runs ``predict_one``'s serial kernel (the same row functions,
        without the batch path's allocations and dispatch)."""
        if self._one_dense_row(X):
            return np.array(self._row_logits(X[0], "Input X")[0])[None]  # a copy
        Z = None
        if not sp.issparse(X) and X.shape[0] > 0:
            X = self.hyperplanes.as_dense_input(X)  # once, for either path
            Z = self._first_layer_dense(X)
        if Z is None:  # not by bit (gaussian, sparse rows, too wide, CSR): a check
            if not sp.issparse(X) or self.hyperplanes.sums == "float32":
                check_finite(self.hyperplanes.finite_rows(X), self.sums)
            return self._logits_of_bits(self.hyperplanes.project(X))
        return self._tail_logits(Z)

    def _one_dense_row(self, X):
        """True if validated X is one dense row and the single-row kernel can run it."""
        return (not self._text and isinstance(X, np.ndarray) and X.shape[0] == 1
                and self.hyperplanes.dense_cache()[0] != "none")

    def _class_indices(self, X):
        """argmax of ``_logits_of(X)`` for each row of validated X (first maximum, as
        numpy); one dense row takes the index its kernel returns (no argmax call)."""
        if self._one_dense_row(X):
            return np.array([self._row_logits(X[0], "Input X")[1]])
        return np.argmax(self._logits_of(X), axis=1)

    def _logits_of_bits(self, packed):
        """Logits of packed bits (n, n_words): the first layer, then the later ones."""
        return self._tail_logits(self._first_layer_of_bits(packed))

    def predict(self, X):
        """Class labels, (n_samples,). X: dense array or CSR matrix (n_samples, n_features)."""
        return self.classes_[self._class_indices(self._validate(X))]

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes) float64."""
        return softmax(self.decision_function(X).astype(np.float64))

    def predict_log_proba(self, X):
        return log_softmax(self.decision_function(X).astype(np.float64))

    # -- one row, low overhead -------------------------------------------------------
    def _row_setup(self):
        """(kernel, model, work, z, tail scratch, dtypes) of the serial single-row
        kernel; ``dtypes``: those of the rows it takes as they are (it sums a row in
        the dtype of its values: others are cast, ``Hyperplanes.as_row_input``).

        Built once per thread (``threading.local``): the scratch arrays are written
        by every call, so threads sharing one model must not share them.
        """
        cache = self.hyperplanes.dense_cache()
        if cache[0] == "none":  # too wide to cache: the on-the-fly batch path
            return None, None, None, None, None, ()
        n_bits, n_out = self.coefs_[0].shape
        try:
            model = self._row_model
        except AttributeError:  # weights and cache as the row kernels read them, shared
            if self.quantize is None:
                model = _fused.row_model(cache, *self._padded, np.empty(0, np.float32))
            else:
                model = _fused.row_model(cache, self._planes, self.scales_[0],
                                         self.intercepts_[0])
            self._row_model = model
        n_ints = (n_bits + _bits.SET_BITS_PAD if self.quantize is None  # set bits
                  else self._planes.shape[1])  # popcounts
        work, z = _fused.row_work(self.n_features_in_, n_bits, n_ints, n_out)
        tail = [np.empty(W.shape[1], dtype=np.float32) for W, _ in self._tail]
        empty = [np.empty(0, dtype) for dtype in (_F64, _F32, _U8)]
        dtypes = tuple(e.dtype for e in empty if self.hyperplanes.as_row_input(e) is e)
        return _fused.ROW_KERNELS[self._arithmetic, cache[0]], model, work, z, tail, dtypes

    def _row_logits(self, x, name="x"):
        """(logits (n_classes,), class index) of one row; skips sklearn's validation.

        Safe to call from many threads on one model: each thread has its own
        scratch. The logits returned may be that scratch: copy before keeping.
        ``name``: "x" for ``predict_one``, "Input X" for a one-row batch (the
        batch's error message, row 0).
        """
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        dtype = x.dtype
        if dtype is not _F64 and dtype is not _F32 and dtype is not _U8:
            if dtype.kind not in "biufO":  # complex, text, dates: refused, as predict does
                raise ValueError(f"x must hold real numbers, got dtype {dtype}.")
            x = x.astype(np.float64)  # non-native or non-canonical: a copy
        if x.ndim != 1 or len(x) != self.n_features_in_:
            raise ValueError(f"x must be 1-D with {self.n_features_in_} features, got shape "
                             f"{x.shape}; use predict for a 2-D batch.")
        try:
            kernel, model, work, z, tail, dtypes = self._local.row
        except AttributeError:  # this thread's first row
            kernel, model, work, z, tail, dtypes = self._local.row = self._row_setup()
        if kernel is None:
            if not self.hyperplanes.finite_rows(x[None])[0]:
                raise _nonfinite(name, self.sums)
            logits = self.decision_function(x[None])[0]
            return logits, int(np.argmax(logits))
        if x.dtype not in dtypes:  # in the dtype of the sums (a copy of one row)
            x = self.hyperplanes.as_row_input(x)
        index = kernel(x, model, work)  # finite check, projection, first layer, argmax
        if index < 0:
            raise _nonfinite(name, self.sums)
        if not tail:
            return z, index
        logits = predict_hidden_row(z, self._tail, self.activation, tail)
        return logits, int(np.argmax(logits))

    def predict_one(self, x):
        """The class of one sample x (n_features,): no sklearn validation, one kernel call.

        Checks only the shape and that x is finite; same class as ``predict(x[None])``.
        """
        return self.classes_[self._row_logits(x)[1]]

    def predict_proba_one(self, x):
        """Class probabilities (n_classes,) of one sample, ``predict_proba(x[None])[0]``."""
        logits = self._row_logits(x)[0]
        return softmax(logits.astype(np.float64)[None])[0]  # a new array

    # ------------------------------------------------------------------ files --
    def _arrays(self):
        """The arrays of the model file, by name (without the header)."""
        arrays = {"classes": classes_for_file(self.classes_)}
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            arrays[f"coef_{i}"] = pack_weights(W, self.quantize) if self.quantize in NARROW \
                else np.ascontiguousarray(W)
            arrays[f"intercept_{i}"] = np.ascontiguousarray(b)
            if self.scales_ is not None:
                arrays[f"scale_{i}"] = np.ascontiguousarray(self.scales_[i])
        return arrays

    def _settings(self):
        n_features = None if self.n_features_in_ is None else int(self.n_features_in_)
        return {"seed": int(self.seed), "n_features": n_features,
                "n_projections": int(self.n_projections), "n_bits": int(self.n_bits),
                "projection": self.projection, "density": float(self.density),
                "activation": self.activation, "quantize": self.quantize,
                **({} if self.window is None else {"window": list(self.window)}),
                **({} if self.sums == "float64" else {"sums": self.sums})}

    def to_bytes(self):
        """The model file's bytes (format: ``pnet._modelfile``)."""
        return write_model_file(self._settings(), self.layer_sizes, self._arrays())

    def save(self, path):
        """Write the model file to ``path`` (no suffix is added; '.pnet' is customary)."""
        data = self.to_bytes()
        with open(path, "wb") as f:
            f.write(data)

    def export_c(self, outdir, hyperplane_table=False, max_text_bytes=256, all_sums=False,
                 input_type="float32"):
        """Write ``pnet_model.h`` and ``pnet_model.c`` (dependency-free C99 that predicts
        bit for bit as this model) into ``outdir``; returns their paths.

        hyperplane_table : bool
            False (default): the C hashes the hyperplane entries on the fly (smallest
            flash, slowest). True (ternary, sparse_sign or local, dense input):
            per-feature lists of the non-zero entries as const tables, for speed
            (local: ~20x). See ``pnet.export_c``.
        max_text_bytes : int
            Text models: the longest text, in UTF-8 bytes, the C takes (its
            ``PNET_MAX_TEXT_BYTES``; the stack grows with it).
        all_sums : bool
            Without tables: all T*d projection sums on the stack at once (8 bytes
            each, 4 for int32 sums) instead of 64; sparse_sign then draws each
            feature's entries once instead of once per word of 64 bits (faster,
            more RAM).
        input_type : 'float32' or 'uint8'
            Dense models: the values the C takes. 'uint8' (8-bit pixels, counts)
            sums ternary, sparse_sign and local projections in int32, exact: the same bits
            as ``predict`` of the same values, no floating point in the projection
            (gaussian hyperplanes keep double sums).
        """
        from .export_c import export_c

        return export_c(self, outdir, hyperplane_table, max_text_bytes, all_sums,
                        input_type)

    @classmethod
    def from_bytes(cls, data, source="<bytes>"):
        """The model in a model file's bytes; ``ModelFileError`` if they are not one."""
        settings, arrays = read_model_file(bytes(data), source)
        if "text_front" in settings and not cls._text:  # a text model's file
            from .compact_text import CompactTextProjectionNet

            return CompactTextProjectionNet.from_bytes(data, source)
        if cls._text and "text_front" not in settings:
            raise ModelFileError(f"{source}: a model for numeric input (no text front), "
                                 f"not a text model; read it with pnet.load or "
                                 f"CompactProjectionNet.load.")
        sizes = settings.pop("layer_sizes")
        n_layers = len(sizes) - 1
        quantize = settings["quantize"]
        coefs = [arrays[f"coef_{i}"] for i in range(n_layers)]
        if quantize in NARROW:  # packed 4- or 2-bit values (sizes checked by the reader)
            coefs = [unpack_weights(W, quantize, shape)
                     for W, shape in zip(coefs, zip(sizes[:-1], sizes[1:]))]
        try:
            model = cls(
                classes=arrays["classes"], coefs=coefs,
                intercepts=[arrays[f"intercept_{i}"] for i in range(n_layers)],
                scales=[arrays[f"scale_{i}"] for i in range(n_layers)]
                if quantize is not None else None,
                **settings)
        except (ValueError, TypeError) as exc:
            raise ModelFileError(f"{source}: inconsistent model file: {exc}") from exc
        return model

    @classmethod
    def load(cls, path):
        """Read a model file written by ``save``; see ``pnet.load``. A text model's
        file gives a ``CompactTextProjectionNet`` either way;
        ``CompactTextProjectionNet.load`` of a numeric model's file is a
        ``ModelFileError``."""
        path = os.fspath(path)
        return cls.from_bytes(read_file_bytes(path), source=path)


def load(path):
    """Read a ``CompactProjectionNet`` from a model file written by ``save``.

    Never executes code from the file; allocates the file's bytes, then the
    arrays it holds once checked (their sizes bounded by the file's). Raises
    FileNotFoundError for a missing file (other OSErrors as they come) and
    ``ModelFileError`` (a ValueError) naming the problem for anything that is not
    a complete, intact pnet-compact file of a supported version, a directory
    included.
    """
    return CompactProjectionNet.load(path)
