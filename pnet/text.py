"""``TextProjectionNetClassifier``: ProjectionNet on raw strings, with no vocabulary.

Each text goes through the text front (``pnet.textfront``: one versioned
specification of normalisation, tokens, word and character n-grams and
skip-grams, each hashed from its UTF-8 bytes to a 64-bit id, with counts
weighted and normalised). Then:

- the **projection net** reads the bits of those rows: the 64-bit ids enter the
  hyperplane hash unchanged (``Hyperplanes.project_csr``; no folding into a
  column range, no feature limit), T * d bits, a small network, a softmax;
- the **trainer** (an MLP) reads the same rows folded into
  ``trainer_n_features`` columns (``id % trainer_n_features``, colliding ids
  summed): its first layer is ``trainer_n_features x hidden``, and each
  minibatch updates only the rows of the features it touches
  (``pnet.layers.RowSparse``).

Everything else is ``ProjectionNetClassifier``'s: the joint loss, unlabelled
rows (label -1), ``partial_fit``, ``class_weight``, early stopping, weight
formats, ``to_compact`` (here a ``CompactTextProjectionNet`` that takes raw
strings and carries the front's specification in its file).

This module owns the estimator contract for text; the front is
``pnet.textfront``, the training loop ``pnet.classifier``.
"""
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ._hyperplanes import PROJECTIONS
from .classifier import ProjectionNetClassifier
from .lstm import LSTMNetwork
from .networks import TokenSequences
from .textfront import COUNTS, TextFront, as_text_list, check_some_texts, choose_density


_FRONT_PARAMS = ("lowercase", "word_ngram_range", "char_ngram_range", "skip_range",
                 "word_weight", "char_weight", "skip_weight", "counts", "norm")


class TextProjectionNetClassifier(ProjectionNetClassifier):
    """ProjectionNet for text: raw strings in, a vocabulary-free projection net out.

    ``X`` is a 1-D sequence of strings (a list, a numpy array of str or object, a
    pandas Series). Bytes are decoded as UTF-8 with invalid bytes replaced
    (U+FFFD); an empty string is a valid row with no features; None, numbers and
    2-D input raise a TypeError or ValueError naming the problem.

    Parameters
    ----------
    lowercase, word_ngram_range, char_ngram_range, skip_range, word_weight,
    char_weight, skip_weight, counts, norm
        The text front (``pnet.textfront.TextFront``, where each is defined and
        its default justified).
    trainer : {'mlp', 'lstm'}, default='mlp'
        'mlp': an MLP (``trainer_hidden_layer_sizes``) on the front's rows, folded
        into ``trainer_n_features`` columns. 'lstm': ``pnet.lstm.LSTMNetwork`` on
        the tokens in order (each token's word-unigram id folded into
        ``trainer_n_features`` embedding rows: a hashing-trick table, no
        vocabulary), for tasks where word order carries information.
    trainer_n_features : int, default=2**16
        Columns of the MLP trainer's input (``id % trainer_n_features``), or rows
        of the LSTM's embedding table. Only the trainer sees this folding.
    embedding_dim, lstm_hidden_size, bidirectional, pooling, max_length, clip
        The LSTM trainer (``pnet.lstm.LSTMNetwork``): embedding width (64), hidden
        units per direction (128), a second, reversed direction (False), pooling
        over time 'last', 'mean' or 'max' ('mean'), tokens read per text (64),
        gradient clipping by global norm (5.0; None for none).
    density : 'auto' or float in (0, 1], default='auto'
        Non-zero fraction of the hyperplanes (sparse_sign: ``round(density * T * d)``
        entries per feature). 'auto' for text is
        ``pnet.textfront.choose_density(n_projections * n_bits)`` = min(1/3,
        4 / (T * d)): about 4 non-zero entries per feature over all bits, the best
        measured on kaomoji and langid (``python -m bench.textfront density`` and
        ``net``: at 1,040 bits the projection net alone reached 72.5 % / 77.9 %
        against 63.9 % / 72.6 % at 1/3 and 69.2 % / 71.6 % at 1 / sqrt(2^20)).
    sums : {'auto', 'float32', 'float64'}, default='auto'
        The projection sums' dtype, as ``ProjectionNetClassifier``'s: the front's
        float64 feature values are rounded to float32 for float32 sums.
    trainer_hidden_layer_sizes : tuple of int, default=(256,)
    Other parameters
        As ``ProjectionNetClassifier``.

    Attributes
    ----------
    text_front_ : pnet.textfront.TextFront
        The front, as fitted (the parameters above); with ``TEXT_FRONT_VERSION`` it
        is what the compact model and the C export reproduce.
    Other attributes
        As ``ProjectionNetClassifier``, without ``n_features_in_``.

    Notes
    -----
    Sizing for a byte budget (``to_compact().size_bytes``). Measured at <= 16,000
    bytes, d = 13, the projection net alone, seed 0 unless stated
    (``python -m bench.text_bytes`` and ``python -m bench.text``; bench/RESULTS.md,
    "What closes the gap"), with pnet 0.1's ternary hyperplanes; on 0.2's
    sparse_sign, langid's best point moved by -0.1, kaomoji's by +1.0 ("pnet 0.2"):

    - ``quantize='ternary'`` with as many projections as fit beats 'int4' with half
      as many bits: kaomoji 62.7 against 52.8 %, langid 83.5 against 82.6 % (8
      epochs).
    - With many classes a bottleneck hidden layer fits several times the bits:
      ``projection_hidden_layer_sizes=(16,)`` on kaomoji's 44 classes gives 3,822
      bits instead of 1,417, 67.7 against 62.7 % (8 epochs; (8,) 63.0, (12,) 66.1,
      (32,) 65.8), and ``activation='identity'`` (a linear bottleneck, as
      fastText's) 69.0; at 20 epochs 69.9 against 67.4. With 12 classes (langid)
      it loses: 80.3 against 83.5 %.
    - Epochs: 20 instead of 8 gives +4.6 (kaomoji, no hidden layer) and +0.2
      (langid); ``learning_rate_init=3e-3`` loses 1.5 / 0.3.
    - ``density='auto'`` (4 non-zero entries per feature) is not always best:
      ~10 entries per feature gains 0.8 and 1.3 on langid (seeds 0, 1; 8 epochs)
      and gives langid's best, 84.5-84.6 % (seed 0) / 84.2 % (seed 1) at 12
      epochs, but only 0.1 at 20 epochs, 0.3 with kaomoji's bottleneck, and loses
      1.7 on kaomoji without one; so 'auto' stays, and ``density`` (with
      ``max_iter``) is worth a search.
    - The MLP trainer as teacher (``distillation_weight=1``): +0.2 / 0.0 on langid
      (seeds 0, 1), +1.2 on kaomoji at 8 epochs but -0.3 at 20; 3 with
      ``temperature=2``: -0.3.

    The defaults above are not sized for a budget (float32, 720 bits) and are
    unchanged.

    Examples
    --------
    >>> from pnet import TextProjectionNetClassifier
    >>> texts = ["good morning", "bonjour", "good night", "bonne nuit"] * 20
    >>> langs = ["en", "fr", "en", "fr"] * 20
    >>> clf = TextProjectionNetClassifier(max_iter=20, random_state=0).fit(texts, langs)
    >>> clf.predict(["good evening"]).tolist()
    ['en']
    """

    _parameter_constraints = {
        **ProjectionNetClassifier._parameter_constraints,
        # 'local' windows are regions of an image; text hashes n-grams to feature ids
        "projection": [StrOptions(set(PROJECTIONS) - {"local"})],
        "lowercase": ["boolean"],
        "word_ngram_range": [tuple],
        "char_ngram_range": [tuple],
        "skip_range": [tuple],
        "word_weight": [Interval(Real, 0, None, closed="left")],
        "char_weight": [Interval(Real, 0, None, closed="left")],
        "skip_weight": [Interval(Real, 0, None, closed="left")],
        "counts": [StrOptions(set(COUNTS))],
        "norm": [StrOptions({"l2"}), None],
        "trainer_n_features": [Interval(Integral, 1, 2**31 - 1, closed="both")],
        "trainer": [StrOptions({"mlp", "lstm"})],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "lstm_hidden_size": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "pooling": [StrOptions({"last", "mean", "max"})],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "clip": [Interval(Real, 0, None, closed="left"), None],
    }

    def __init__(self, lowercase=True, word_ngram_range=(1, 2), char_ngram_range=(1, 4),
                 skip_range=(1, 1), word_weight=1.0, char_weight=1.0, skip_weight=1.0,
                 counts="raw", norm="l2", trainer="mlp", trainer_n_features=2**16,
                 embedding_dim=64, lstm_hidden_size=128, bidirectional=False, pooling="mean",
                 max_length=64, clip=5.0, n_projections=60,
                 n_bits=12, projection="sparse_sign", density="auto", sums="auto",
                 projection_hidden_layer_sizes=(), trainer_hidden_layer_sizes=(256,),
                 activation="relu", trainer_weight=1.0, distillation_weight=0.1,
                 projection_weight=1.0, temperature=1.0, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, momentum=0.9,
                 nesterovs_momentum=True, max_iter=200, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, shuffle=True,
                 random_state=None, verbose=False, warm_start=False, class_weight=None,
                 quantize=None):
        super().__init__(
            n_projections=n_projections, n_bits=n_bits, projection=projection,
            density=density, sums=sums,
            projection_hidden_layer_sizes=projection_hidden_layer_sizes,
            trainer_hidden_layer_sizes=trainer_hidden_layer_sizes, activation=activation,
            trainer_weight=trainer_weight, distillation_weight=distillation_weight,
            projection_weight=projection_weight, temperature=temperature, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate_init=learning_rate_init,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, max_iter=max_iter,
            tol=tol, n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, shuffle=shuffle,
            random_state=random_state, verbose=verbose, warm_start=warm_start,
            class_weight=class_weight, quantize=quantize)
        self.lowercase = lowercase
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.skip_range = skip_range
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.skip_weight = skip_weight
        self.counts = counts
        self.norm = norm
        self.trainer = trainer
        self.trainer_n_features = trainer_n_features
        self.embedding_dim = embedding_dim
        self.lstm_hidden_size = lstm_hidden_size
        self.bidirectional = bidirectional
        self.pooling = pooling
        self.max_length = max_length
        self.clip = clip

    _structure_params = ProjectionNetClassifier._structure_params + _FRONT_PARAMS + (
        "trainer", "trainer_n_features", "embedding_dim", "lstm_hidden_size", "bidirectional",
        "pooling")

    # -- the inputs: strings through the text front ---------------------------------------
    def _validate_fit_input(self, X, y, reset):
        texts = _texts(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(texts, y)
        check_some_texts(len(texts), type(self).__name__)
        if reset:
            self.text_front_ = TextFront(**{name: getattr(self, name)
                                            for name in _FRONT_PARAMS})
        return texts, y

    def _n_input_features(self):
        return self.trainer_n_features

    def _hyperplane_features(self):
        return None  # 64-bit feature ids enter the hash unchanged

    def _resolve_density(self, X):
        if self.density == "auto":
            return choose_density(self.n_projections * self.n_bits)
        return float(self.density)

    def _rows(self, texts):
        """Canonical CSR rows (data float32, uint64 ids, indptr) of the texts."""
        return self.text_front_.transform(texts)

    def _fit_inputs(self, texts):
        rows = self._rows(texts)
        packed = self.hyperplanes_.project_csr(*rows, sorted_features=True)
        if not self._trains_trainer:
            return packed, None
        return packed, self._trainer_input(texts, rows)

    def _trainer_input(self, texts, rows=None):
        """The trainer's input: folded CSR rows (MLP) or token sequences (LSTM)."""
        if self.trainer == "lstm":
            ids, lengths = self.text_front_.token_ids(texts, self.max_length)
            folded = (ids % np.uint64(self.trainer_n_features)).astype(np.int64)
            return TokenSequences(folded, lengths)
        return self._trainer_matrix(self._rows(texts) if rows is None else rows)

    def _make_trainer(self):
        if self.trainer == "lstm":
            return LSTMNetwork(self.trainer_n_features, self.embedding_dim,
                               self.lstm_hidden_size, self.classes_.shape[0],
                               bidirectional=self.bidirectional, pooling=self.pooling,
                               clip=self.clip)
        return super()._make_trainer()

    def _trainer_matrix(self, rows):
        """The trainer's input: ids folded into ``trainer_n_features`` columns."""
        data, ids, indptr = rows
        columns = (ids % np.uint64(self.trainer_n_features)).astype(np.int64)
        X = sp.csr_matrix((data, columns, indptr),
                          shape=(indptr.shape[0] - 1, self.trainer_n_features))
        X.sum_duplicates()
        return X

    def _predict_input(self, X):
        texts = _texts(X)
        check_some_texts(len(texts), type(self).__name__)
        return texts

    def _predict_trainer_input(self, X):
        check_is_fitted(self)
        return self._trainer_input(self._predict_input(X))

    @staticmethod
    def _compact_class():  # to_compact(): a model that takes strings, with its front
        from .compact_text import CompactTextProjectionNet

        return CompactTextProjectionNet

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.input_tags.sparse = False
        return tags


def _texts(X):
    """A 1-D object array of str (``pnet.textfront.as_text_list`` checks and decodes)."""
    texts = as_text_list(X)
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out
