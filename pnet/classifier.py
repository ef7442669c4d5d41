"""``ProjectionNetClassifier``: a trainer MLP and a projection network trained jointly.

Paper symbols and the names used here (Ravi 2017; ALGORITHM.md):

=========  ==================================  =====================================
symbol     meaning                             parameter / attribute
=========  ==================================  =====================================
theta      trainer network (ReLU MLP)          ``trainer_hidden_layer_sizes``,
                                               ``trainer_coefs_``
p          projection network after the bits   ``projection_hidden_layer_sizes``,
                                               ``coefs_``, ``intercepts_``
T          projection functions                ``n_projections``
d          bits per projection function        ``n_bits``
lambda1    D(trainer, labels)                  ``trainer_weight``
lambda2    D(projection net, trainer)          ``distillation_weight``
lambda3    D(projection net, labels)           ``projection_weight``
tau        temperature of the middle term      ``temperature``
=========  ==================================  =====================================

Training computes in float32: the shipped projection net stores float32 weights,
its inputs are exact 0/1 bits, and float32 halves the cost of the trainer's
matrix products (the part of ``fit`` that dominates). The layer and loss
functions are dtype-generic; the gradient checks run them in float64.

This module owns the estimator contract (validation, random draws, the inputs,
the fitted state, prediction). The training loop and the joint objective are
``pnet.training``; forward/backward live in ``pnet.layers``, the loss
in ``pnet.losses``, updates in ``pnet.optimizers``, bits in ``pnet._hyperplanes``.
"""
import copy
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._hyperplanes import (PROJECTIONS, SUMS, Hyperplanes, mean_nonzeros, resolve_density,
                           resolve_sums)
from ._local import resolve_local
from ._quantize import WEIGHT_BITS
from .compact import plain_array
from .layers import ACTIVATIONS
from .losses import log_softmax, softmax
from .networks import MLPNetwork, ProjectionNetwork, inputs_of
from .optimizers import OPTIMIZERS
from .training import TERMS, JointTraining, _as_float32, _Diverged
from .projection import SEED_MAX, check_float32_range
SEED_BYTES = 8


class ProjectionNetClassifier(ClassifierMixin, JointTraining, BaseEstimator):
    """ProjectionNet: a large trainer MLP teaches a tiny bit-projection network.

    Each input is hashed to ``n_projections * n_bits`` bits by fixed random
    hyperplanes (recomputed from a seed, never stored); a small network on the
    bits (the projection net) and a large MLP on the raw features (the trainer)
    are trained together on one loss::

        trainer_weight      * D(trainer, y)
      + distillation_weight * tau^2 D(projection net at tau, trainer at tau)
      + projection_weight   * D(projection net, y)

    ``predict``, ``predict_proba`` and ``score`` use the projection net only;
    the trainer's predictions are available as ``trainer_predict_proba``.
    ``trainer_weight = distillation_weight = 0`` trains the projection net alone;
    ``trainer_weight = 0 < distillation_weight`` distils from a trainer that is not
    trained (its initial weights), which is rarely what you want.

    Parameters
    ----------
    n_projections : int, default=60
        T, the number of projection functions.
    n_bits : int, default=12
        d, bits per projection function (T * d bits in all).
    projection : {'sparse_sign', 'ternary', 'gaussian', 'local'}, default='sparse_sign'
        Hyperplane entries (see ``pnet.LSHProjection``). 'local' is for images: each
        bit sees one small square window of the image (ternary entries inside it,
        recomputed from the seed like the others; ``image_shape``, ``window``): on
        2x2-pooled MNIST 0.76 to 1.64 points more accurate than 'sparse_sign' at the
        same bytes from 4 to 64 KB, at about twice the additions per bit with 'auto'
        windows (``bench/RESULTS.md``, "Local hyperplanes").
    density : 'auto' or float in (0, 1], default='auto'
        Non-zero fraction of the hyperplanes; 'auto' = min(1 / sqrt(n_features),
        8 / n_features), i.e. ~8 non-zero entries per hyperplane: more accurate and
        cheaper than 1 / sqrt(n_features) on images (measured); for very sparse rows
        no lower than keeps a bit's sum touched by 1/16 of a row's non-zero inputs
        (``pnet._hyperplanes.resolve_density``). For 'local', the fraction inside a
        window; 'auto' = 0.5.
    sums : {'auto', 'float32', 'float64'}, default='auto'
        The floating-point type of the projection sums ``<x, r_k>`` (part of the
        hash, ``pnet.Hyperplanes``): 'auto' is 'float32' for +-1 entries
        (sparse_sign, ternary, local) and 'float64' for gaussian. Both are exact
        functions of the input on every machine; float32 sums take a 16-row
        vector where float64 takes 8 (10,000 MNIST rows: the projection in
        0.55-0.68x the time) and, with 8-bit rows, equal float64's. Models fitted
        by pnet 0.2.0 and earlier sum in float64.
    projection_hidden_layer_sizes : tuple of int, default=()
        Hidden layers of the projection net after the bits; () is the paper's
        plain ProjectionNet (bits -> softmax), (128,) its "+FC[128]".
    trainer_hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden layers of the trainer MLP.
    activation : {'relu', 'tanh', 'logistic', 'identity'}, default='relu'
        Hidden activation of both networks.
    trainer_weight, distillation_weight, projection_weight : float >= 0
        lambda1, lambda2, lambda3 of the joint loss. Defaults 1.0, 0.1, 1.0: the
        values we recall from the paper. Measured on the MNIST subset
        (``python -m bench.apprenticeship``), lambda2 in [0.1, 3] changes the
        projection net's accuracy by less than the seed-to-seed spread, so the
        paper's values stay.
    temperature : float > 0, default=1.0
        tau of the distillation term (softmax of logits / tau on both sides,
        scaled by tau^2). Measured: tau = 2 and 4 lower the projection net's
        accuracy on the MNIST subset (bench/RESULTS.md), so 1.
    solver : {'adam', 'sgd'}, default='adam'
    alpha : float >= 0, default=1e-4
        L2 penalty on the weights of both networks (``alpha / 2 * ||W||^2 / batch``).
    batch_size : int or 'auto', default='auto'
        'auto' is min(200, n_samples).
    learning_rate_init : float > 0, default=1e-3
    momentum : float in [0, 1], default=0.9
        SGD only.
    nesterovs_momentum : bool, default=True
        SGD only.
    max_iter : int, default=200
        Epochs (passes over the data).
    tol : float, default=1e-4
        Improvement of the training loss (or of the validation score with
        ``early_stopping``) below which an epoch counts as no improvement.
    n_iter_no_change : int, default=10
        Stop after this many epochs without improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when the projection
        net's validation accuracy stops improving, and restore the weights of
        the best epoch.
    validation_fraction : float in (0, 1), default=0.1
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Draws four seeds, in this order: the hyperplanes', the trainer's initial
        weights', the projection net's initial weights', and the training
        stream's (validation split, then the epoch shuffles). The same value and
        data give a bit-identical model, whatever the thread count; "alone" and
        "joint" fits of one value share hyperplanes and initial projection net.
    verbose : bool, default=False
        One line per epoch: joint loss, each term, and (with early_stopping)
        both nets' validation accuracy.
    warm_start : bool, default=False
        Continue from the previous fit's weights (same hyperplanes). The parameters
        that fix the fitted model (``n_projections``, ``n_bits``, ``projection``,
        ``density``, the layer sizes, ``activation``; for text also the text front's
        and the trainer's) cannot change between such fits: ValueError. ``quantize``
        can: later epochs train for the new format.
    class_weight : dict, 'balanced' or None, default=None
        Multiplies the per-sample weights of every loss term.
    quantize : {None, 'int8', 'int4', 'ternary'}, default=None
        The weight format the projection net is trained for (``pnet._quantize``:
        8, 4 or 2 bits per weight, one float32 scale per output unit). When set,
        every forward pass of the projection net uses its weights quantised that
        way (the gradient passes straight through to the float32 weights, which
        are kept in ``coefs_``), prediction uses the quantised weights, and
        ``to_compact()`` ships them in that format with the same predictions.
        None trains float32 weights (``to_compact('int8')`` can still quantise
        them after training).
    image_shape : None or (height, width), default=None
        'local' only: the rows are height x width images, row-major. None: square.
    window : 'auto' or (kmin, kmax), default='auto'
        'local' only: window sides, kmin to kmax pixels; 'auto' = 20 % to 60 % of the
        shorter side (3 to 8 on a 14 x 14 image; ``pnet._local.resolve_window``).

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str, when X has string column names
    seed_ : int
        Hyperplane seed: with ``n_projections``, ``n_bits``, ``projection``,
        ``density_``, ``window_`` and ``sums_`` it defines the projection layer.
    density_ : float
    window_ : None or (height, width, kmin, kmax)
        The 'local' projection's image and window sides; None for the others.
    sums_ : {'float32', 'float64'}
        The projection sums' dtype (``sums`` resolved).
    hyperplanes_ : pnet.Hyperplanes
    coefs_, intercepts_ : lists of float32 arrays
        The projection net (the model that ships); ``coefs_[0]`` is
        (n_projections * n_bits, ...).
    trainer_coefs_, trainer_intercepts_ : lists of float32 arrays
        Empty when the projection net was trained alone (no trainer is built).
    n_iter_ : int
        Epochs run.
    t_ : int
        Samples seen.
    loss_curve_ : list of float
        Joint loss per epoch (with the L2 penalty).
    loss_curves_ : dict of lists
        Per epoch, the unweighted value of each term: 'trainer', 'distillation',
        'projection' (NaN for terms that were not computed).
    validation_scores_, trainer_validation_scores_ : list of float or None
        Validation accuracy of the projection net and of the trainer per epoch
        (with ``early_stopping``).
    best_validation_score_ : float or None
    best_loss_ : float or None
    fit_time_ : float
        Seconds spent in the last ``fit`` (wall clock).
    projection_size_bytes_, trainer_size_bytes_ : int
        Stored numbers times their width: the projection net in its trained
        format (``quantize``; float32 when None) plus its 8-byte seed, equal to
        ``to_compact().size_bytes``; the trainer in float32. The hyperplanes cost
        nothing (recomputed).
    compression_ratio_ : float
        trainer_size_bytes_ / projection_size_bytes_.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from pnet import ProjectionNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ProjectionNetClassifier(max_iter=5, random_state=0).fit(X / 16, y)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints = {
        "n_projections": [Interval(Integral, 1, None, closed="left")],
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "projection": [StrOptions(set(PROJECTIONS))],
        "density": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right")],
        "image_shape": ["array-like", None],
        "window": [StrOptions({"auto"}), "array-like"],
        "sums": [StrOptions({"auto", *SUMS})],
        "projection_hidden_layer_sizes": ["array-like"],
        "trainer_hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "trainer_weight": [Interval(Real, 0, None, closed="left")],
        "distillation_weight": [Interval(Real, 0, None, closed="left")],
        "projection_weight": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "solver": [StrOptions(set(OPTIMIZERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "quantize": [StrOptions(set(WEIGHT_BITS)), None],
    }

    def __init__(self, n_projections=60, n_bits=12, projection="sparse_sign", density="auto",
                 projection_hidden_layer_sizes=(), trainer_hidden_layer_sizes=(256, 256),
                 activation="relu", trainer_weight=1.0, distillation_weight=0.1,
                 projection_weight=1.0, temperature=1.0, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, momentum=0.9,
                 nesterovs_momentum=True, max_iter=200, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, shuffle=True,
                 random_state=None, verbose=False, warm_start=False, class_weight=None,
                 quantize=None, image_shape=None, window="auto", sums="auto"):
        self.n_projections = n_projections
        self.n_bits = n_bits
        self.projection = projection
        self.density = density
        self.image_shape = image_shape
        self.window = window
        self.sums = sums
        self.projection_hidden_layer_sizes = projection_hidden_layer_sizes
        self.trainer_hidden_layer_sizes = trainer_hidden_layer_sizes
        self.activation = activation
        self.trainer_weight = trainer_weight
        self.distillation_weight = distillation_weight
        self.projection_weight = projection_weight
        self.temperature = temperature
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.quantize = quantize

    # ------------------------------------------------------------------ fitting --
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train both networks on (X, y) for up to ``max_iter`` epochs.

        X : array-like or CSR matrix (n_samples, n_features), float32 or float64.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y); ``classes`` is required on the first call."""
        if classes is not None:  # -1 marks unlabelled rows, never a class
            classes = unique_labels(classes)
            classes = classes[_labelled_rows(classes)]
        if not hasattr(self, "projection_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = classes
        elif classes is not None and not np.array_equal(classes, self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the "
                             f"first call to partial_fit, {self.classes_!r}.")
        return self._fit(X, y, sample_weight, incremental=True)

    @property
    def _trains_trainer(self):
        return self.trainer_weight > 0 or self.distillation_weight > 0

    @property
    def _uses_unlabelled(self):
        """Unlabelled rows (-1) reach the projection net only through distillation."""
        return self.distillation_weight > 0

    def _fit(self, X, y, sample_weight, incremental):
        """Validate, then train. If anything fails (bad input found late, or a
        diverging loss), the estimator is restored to its state before this call:
        nothing is lost. Divergence is reported as a ValueError naming the cause."""
        saved = copy.deepcopy(self.__dict__)  # hyperplane caches are dropped (pickling)
        try:
            return self._fit_checked(X, y, sample_weight, incremental)
        except _Diverged as exc:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise ValueError(
                f"Solver produced non-finite loss or parameter weights ({exc}); the model "
                "is left as it was before this call. The input may hold values too large "
                "for float32 training: scale the features (e.g. StandardScaler), or lower "
                "learning_rate_init.") from None
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit_checked(self, X, y, sample_weight, incremental):
        start = time.perf_counter()
        first = not hasattr(self, "projection_") or not (incremental or self.warm_start)
        if not first:
            self._check_structure()
        X, y = self._validate_fit_input(X, y, reset=first)
        check_classification_targets(y)
        self._check_parameters()
        labelled = _labelled_rows(y)  # (n,) bool: False for -1 (unlabelled)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        if not self._uses_unlabelled and not labelled.all():
            # without distillation, rows with no label carry no signal: leave them out
            X, y, sample_weight = X[labelled], y[labelled], sample_weight[labelled]
            labelled = labelled[labelled]
            if not labelled.size:
                raise ValueError("Every label is -1 (unlabelled) and distillation_weight is "
                                 "0: there is nothing to learn from. Unlabelled rows are "
                                 "used only through the distillation term.")
        y_known = y[labelled]
        if first and not incremental:
            self.classes_ = unique_labels(y_known)
        unseen = np.setdiff1d(np.unique(y_known), self.classes_)
        if unseen.size:
            raise ValueError(f"y has labels {unseen!r} not seen in classes_ {self.classes_!r}.")
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y, got "
                f"{self.classes_.shape[0]} class{'' if self.classes_.shape[0] == 1 else 'es'}: "
                f"{self.classes_!r}" + (
                    ". The label -1 marks unlabelled rows (sklearn.semi_supervised's "
                    "convention); relabel class -1 (e.g. as 0) if it is a class."
                    if not labelled.all() else "."))
        y_index = np.zeros(y.shape[0], dtype=np.int64)  # unlabelled rows: any index
        y_index[labelled] = np.searchsorted(self.classes_, y_known)
        if self.class_weight is not None:
            class_weight = np.ones(y.shape[0])
            class_weight[labelled] = compute_sample_weight(self.class_weight, y_known)
            sample_weight = sample_weight * class_weight
        peak = sample_weight.max(initial=0.0)
        if not peak > 0:
            raise ValueError("Sample weights (times class_weight) are zero for every "
                             "sample: there is nothing to learn from.")
        # every term is a weighted mean (sum s_i D_i / sum s_i), invariant to a common
        # scale: dividing by the peak keeps huge weights (1e308) from overflowing the sums
        sample_weight = sample_weight / peak
        if first:
            self._initialize(X)
        self.projection_.quantize = self.quantize  # the format it trains for (warm starts too)
        if self._trains_trainer and self.trainer_ is None:  # warm start from "alone"
            self._initialize_trainer()
        # the bits stay packed (8 bytes per 64 bits): once per fit, unpacked per minibatch
        packed, X = self._fit_inputs(X)  # (n, n_words) uint64; the trainer's input or None
        rows = np.flatnonzero(labelled)  # unlabelled rows are appended below
        if self.early_stopping and not incremental:  # held-out rows need labels
            stratify = y_index[rows] if np.bincount(y_index[rows]).min() >= 2 else None
            rows, val = train_test_split(rows, test_size=self.validation_fraction,
                                         random_state=self._random_state, stratify=stratify)
            # rows of X are read by index when scored: no copy of the held-out data
            validation = (X, val, packed[val], y_index[val])
        else:
            validation = None
        rows = np.concatenate([rows, np.flatnonzero(~labelled)])
        self._train_epochs(X, packed, rows, y_index, None if labelled.all() else labelled,
                           sample_weight, validation,
                           max_iter=1 if incremental else self.max_iter)
        self._record_sizes()
        self._predictor = self._make_predictor()
        self.fit_time_ = time.perf_counter() - start
        return self

    def _check_parameters(self):
        """Checks that the parameter table cannot express; each error names the fix."""
        if self.distillation_weight == 0 and self.projection_weight == 0:
            raise ValueError("distillation_weight and projection_weight are both 0: the "
                             "projection net would learn nothing. Set either above 0.")
        for name in ("projection_hidden_layer_sizes", "trainer_hidden_layer_sizes"):
            sizes = getattr(self, name)
            if isinstance(sizes, (Integral, str)) or not all(
                    isinstance(n, Integral) and not isinstance(n, bool) and n >= 1
                    for n in sizes):
                raise ValueError(f"{name} must be a sequence of positive integers (units per "
                                 f"hidden layer, e.g. (128,) or () for none), got {sizes!r}.")
        if isinstance(self.class_weight, dict) and any(
                not (isinstance(w, Real) and np.isfinite(w) and w >= 0)
                for w in self.class_weight.values()):
            raise ValueError(f"class_weight values must be finite and >= 0, got "
                             f"{self.class_weight!r}.")

    # -- what a warm start cannot change -------------------------------------------------
    #: parameters that fix the fitted model's shape, hyperplanes and arithmetic: a warm
    #: start or ``partial_fit`` continues the fitted model, so it cannot change them
    _structure_params = ("n_projections", "n_bits", "projection", "density", "image_shape",
                         "window", "sums", "projection_hidden_layer_sizes",
                         "trainer_hidden_layer_sizes", "activation")
    #: for estimators pickled before 'local' (pnet 0.2.0 and earlier)
    image_shape = None
    window = "auto"
    #: ... and before float32 sums (pnet 0.2.0 and earlier: float64)
    sums = "float64"

    def _structure(self):
        return {name: _comparable(getattr(self, name)) for name in self._structure_params}

    def _check_structure(self):
        """ValueError naming every structural parameter changed since the fitted model
        was initialised (``set_params`` between fits), instead of training one model
        and predicting with another."""
        fitted = getattr(self, "_fitted_structure", None)
        if fitted is None:  # pickled by pnet 0.2.0 or earlier: not recorded
            return
        changed = [f"{name} ({fitted[name]!r} -> {value!r})"
                   for name, value in self._structure().items()
                   if value != fitted.get(name, value)]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} changed since this model was fitted. warm_start=True "
                "and partial_fit continue the fitted model, whose shape, hyperplanes and "
                "activation these parameters fix: set them back, or fit with "
                "warm_start=False to train a new model.")

    def _fitted_param(self, name):
        """A structural parameter as the fitted model has it (``set_params`` after
        fitting does not change the fitted model)."""
        fitted = getattr(self, "_fitted_structure", None)
        return getattr(self, name) if fitted is None else fitted.get(name, getattr(self, name))

    # -- the inputs: what a subclass for another kind of X (text) overrides ----------------
    def _validate_fit_input(self, X, y, reset):
        """(X, y) checked; sets ``n_features_in_`` when ``reset``."""
        return validate_data(self, X, y, accept_sparse="csr",
                             dtype=[np.float64, np.float32], reset=reset)

    def _n_input_features(self):
        """D of the hyperplanes (and of the trainer's first layer)."""
        return self.n_features_in_

    def _hyperplane_features(self):
        """The hyperplanes' feature count (None: any uint64 feature id, CSR only)."""
        return self._n_input_features()

    def _resolve_density(self, X):
        return resolve_density(self.density, self._n_input_features(), mean_nonzeros(X))

    def _fit_inputs(self, X):
        """(packed bits, the trainer's input or None) of validated training rows (in
        float32's range when the trainer or the projection sums compute in float32)."""
        if self._trains_trainer:
            _check_float32_range(X)
        elif self.hyperplanes_.sums == "float32":
            check_float32_range(X, "the float32 projection sums take")
        return self.hyperplanes_.project(X), X if self._trains_trainer else None

    def _predict_input(self, X):
        """Rows to predict, validated: what the compact model's ``_logits_of`` takes."""
        return validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                             reset=False)

    def _predict_trainer_input(self, X):
        """The trainer's input for rows to predict (validated here; in float32's range,
        as in fit: the trainer computes in float32)."""
        check_is_fitted(self)
        X = self._predict_input(X)
        _check_float32_range(X)
        return X

    def _initialize(self, X):
        """Fitted state of a fresh model; every random draw in its documented order.

        ``random_state`` draws four seeds: the hyperplanes', the trainer's initial
        weights', the projection net's initial weights', and the training stream's
        (validation split, then the epoch shuffles). Separate streams keep the
        projection net's draws identical whether or not a trainer is built, so
        "alone" and "joint" fits of one ``random_state`` start from the same net.
        """
        self._fitted_structure = self._structure()
        rng = check_random_state(self.random_state)
        seeds = [int(s) for s in rng.randint(SEED_MAX, size=4)]
        self.seed_, self._trainer_seed, projection_seed, training_seed = seeds
        self._random_state = np.random.RandomState(training_seed)
        local = resolve_local(self.projection, self.density, self.image_shape, self.window,
                              self._n_input_features())
        self.density_, self.window_ = local or (self._resolve_density(X), None)
        self.sums_ = resolve_sums(self.sums, self.projection)
        n_total = self.n_projections * self.n_bits
        self.hyperplanes_ = Hyperplanes(self.seed_, self._hyperplane_features(), n_total,
                                        self.projection, self.density_, self.window_,
                                        self.sums_)
        projection_sizes = [n_total, *self.projection_hidden_layer_sizes,
                            self.classes_.shape[0]]
        self.projection_ = ProjectionNetwork(projection_sizes, self.activation).initialize(
            np.random.RandomState(projection_seed))
        self.trainer_ = None
        if self._trains_trainer:
            self._initialize_trainer()
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.loss_curves_ = {term: [] for term in TERMS}
        self.validation_scores_ = [] if self.early_stopping else None
        self.trainer_validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = None if self.early_stopping else np.inf
        self._no_improvement_count = 0
        self._optimizer = None
        self._best_params = None

    def _trainer_sizes(self):
        return [self._n_input_features(), *self.trainer_hidden_layer_sizes,
                self.classes_.shape[0]]

    def _make_trainer(self):
        """The trainer network, not yet initialised (``pnet.networks`` interface)."""
        return MLPNetwork(self._trainer_sizes(), self.activation)

    def _initialize_trainer(self):
        self.trainer_ = self._make_trainer().initialize(
            np.random.RandomState(self._trainer_seed))

    @property
    def coefs_(self):
        """The projection net's weight matrices (float32; ``coefs_[0]`` is (T * d, ...))."""
        return self.projection_.coefs

    @coefs_.setter
    def coefs_(self, value):
        self.projection_.coefs = list(value)

    @property
    def intercepts_(self):
        """The projection net's bias vectors."""
        return self.projection_.intercepts

    @intercepts_.setter
    def intercepts_(self, value):
        self.projection_.intercepts = list(value)

    @property
    def trainer_coefs_(self):
        """The MLP trainer's weight matrices ([] when no MLP trainer was built)."""
        return getattr(getattr(self, "trainer_", None), "coefs", [])

    @trainer_coefs_.setter
    def trainer_coefs_(self, value):
        if self.trainer_ is not None or list(value):
            self.trainer_.coefs = list(value)

    @property
    def trainer_intercepts_(self):
        """The MLP trainer's bias vectors ([] when no MLP trainer was built)."""
        return getattr(getattr(self, "trainer_", None), "intercepts", [])

    @trainer_intercepts_.setter
    def trainer_intercepts_(self, value):
        if self.trainer_ is not None or list(value):
            self.trainer_.intercepts = list(value)

    @property
    def _updates_trainer(self):
        return self.trainer_weight > 0

    def _params(self):
        """The arrays being trained, trainer first (the optimiser's fixed order).

        The trainer is left out when ``trainer_weight == 0``: with no label term it
        gets no gradient (the distillation term never sends it any).
        """
        trainer = self.trainer_.params if self._updates_trainer else []
        return [*trainer, *self.projection_.params]

    def _all_params(self):
        trainer = [] if self.trainer_ is None else self.trainer_.params
        return [*trainer, *self.projection_.params]

    def _record_sizes(self):
        self.projection_size_bytes_ = self.projection_.stored_bytes() + SEED_BYTES
        trainer = self.trainer_ or self._make_trainer()  # counted as configured, built or not
        self.trainer_size_bytes_ = trainer.stored_bytes()
        self.compression_ratio_ = self.trainer_size_bytes_ / self.projection_size_bytes_

    # --------------------------------------------------------------- prediction --
    def _projection_logits(self, packed):
        """Logits of the projection net from packed bits, (n, n_classes) float32, for
        the weights as they are now (early stopping scores them every epoch): the
        compact model's arithmetic (``_make_predictor``), so a validation score is
        the score of the model that ships."""
        return self._make_predictor()._logits_of_bits(packed)

    def _make_predictor(self):
        """The compact model of the fitted weights, which computes every prediction.

        Built at the end of each ``fit`` / ``partial_fit`` (so ``predict`` never
        changes the estimator), in the format the estimator was trained for: the
        estimator predicts exactly as ``to_compact()`` by construction, through the
        same fused kernels, and shares its hyperplane cache. Weights edited in place
        after fitting are not seen until the next fit.
        """
        predictor = self.to_compact()
        predictor.hyperplanes = self.hyperplanes_  # one cache, not two
        return predictor

    def _logits(self, X):
        """Logits of the projection net, (n_samples, n_classes) float32.

        Plain rows (``pnet.compact.plain_array``: a float32, float64 or uint8
        ndarray of the right width, any number of rows), when fitted without feature
        names, skip sklearn's validation, as in the compact model: every path of
        ``_logits_of`` checks that they are finite (the fused kernels as they read each
        row, or ``np.isfinite`` for a model too wide to cache its hyperplanes), so
        sklearn's pass over them would be a second one (~5 ms of a 10,000-row MNIST
        predict). Anything else is validated first.
        """
        predictor, X = self._predictor_and_input(X)
        return predictor._logits_of(X)

    def _predictor_and_input(self, X):
        """(the compact predictor, X validated), ``_logits``'s first steps."""
        predictor = getattr(self, "_predictor", None)
        if predictor is None:  # not fitted (NotFittedError), or a pickle of pnet 0.1
            check_is_fitted(self)
            predictor = self._make_predictor()
        if not (plain_array(X, getattr(self, "n_features_in_", None))
                and not hasattr(self, "feature_names_in_")):
            X = self._predict_input(X)
        return predictor, X

    def predict_proba(self, X):
        """Class probabilities of the projection net, (n_samples, n_classes)."""
        return softmax(self._logits(X).astype(np.float64))

    def predict_log_proba(self, X):
        return log_softmax(self._logits(X).astype(np.float64))

    def predict(self, X):
        """Class labels from the projection net (the model that ships)."""
        predictor, X = self._predictor_and_input(X)  # checks fitted first
        return self.classes_[predictor._class_indices(X)]

    def trainer_predict_proba(self, X):
        """Class probabilities of the trainer network."""
        X = self._predict_trainer_input(X)
        if self.trainer_ is None:
            raise ValueError("The trainer was not trained: trainer_weight and "
                             "distillation_weight are both 0 (the projection net was trained "
                             "alone).")
        logits = self.trainer_.forward(*inputs_of(_as_float32(X)))[0]
        return softmax(logits.astype(np.float64))

    def trainer_predict(self, X):
        """Class labels from the trainer network."""
        proba = self.trainer_predict_proba(X)  # checks fitted first
        return self.classes_[np.argmax(proba, axis=1)]

    def to_compact(self, quantize="auto"):
        """The projection net alone, for deployment: a ``pnet.CompactProjectionNet``.

        quantize : 'auto', None, 'int8', 'int4' or 'ternary'
            'auto' is the format the estimator was trained for (its ``quantize``):
            predictions identical to this estimator's. None keeps float32 weights;
            the others quantise per output unit (``pnet._quantize``), after
            training unless the estimator was trained for that format.
        """
        check_is_fitted(self)
        if quantize == "auto":  # the format it was trained for, even after set_params
            quantize = self.projection_.quantize
        return self._compact_class().from_classifier(self, quantize=quantize)

    @staticmethod
    def _compact_class():
        from .compact import CompactProjectionNet

        return CompactProjectionNet

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _comparable(value):
    """A parameter value for comparison (lists as tuples, arrays as tuples)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_comparable(v) for v in value)
    return value


def _labelled_rows(y):
    """(n,) bool: False where a numeric label is -1 (unlabelled, as in
    ``sklearn.semi_supervised``); string labels are always labels."""
    y = np.asarray(y)
    if y.dtype.kind in "iuf":
        return y != -1
    return np.ones(y.shape[0], dtype=bool)


def _check_float32_range(X):
    """The trainer computes in float32: values beyond its range would become inf."""
    check_float32_range(X, "the trainer computes in")
