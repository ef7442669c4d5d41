"""``CompactTextProjectionNet``: a compact projection net that takes raw strings.

The compact model of ``TextProjectionNetClassifier``: its text front
(``pnet.textfront.TextFront``, versioned) turns strings into canonical CSR rows
of 64-bit feature ids, the projection hashes them (``Hyperplanes.project_csr``),
and the projection net's layers run as in every ``CompactProjectionNet`` (the
same row functions: float32 predictions are the estimator's, bit for bit). The
front's specification is saved in the model file (version 2, ``text_front``),
so a loaded model reproduces the text path byte for byte.

This module owns only what differs from ``pnet.compact``: the input.
"""
import numpy as np

from .compact import CompactProjectionNet
from .losses import softmax
from .textfront import TextFront, check_some_texts


class CompactTextProjectionNet(CompactProjectionNet):
    """The projection net of a fitted ``TextProjectionNetClassifier``, for inference.

    Parameters as ``CompactProjectionNet``, with ``n_features=None`` (feature ids
    are 64-bit hashes: there is no feature count) and

    text_front : pnet.textfront.TextFront or dict
        The front (a dict as ``TextFront.to_dict`` writes it is validated strictly).

    ``predict``, ``predict_proba``, ``predict_log_proba`` and
    ``decision_function`` take a 1-D sequence of strings; ``predict_one`` and
    ``predict_proba_one`` one string.
    """

    _text = True

    def __init__(self, seed, n_features, n_projections, n_bits, projection, density,
                 activation, classes, coefs, intercepts, scales=None, quantize=None,
                 window=None, text_front=None, sums="float64"):
        if isinstance(text_front, dict):
            text_front = TextFront.from_dict(text_front)
        if not isinstance(text_front, TextFront):
            raise ValueError(f"text_front must be a TextFront or its dict, got "
                             f"{type(text_front).__name__}.")
        self.text_front = text_front
        super().__init__(seed, n_features, n_projections, n_bits, projection, density,
                         activation, classes, coefs, intercepts, scales, quantize, window,
                         sums)

    @staticmethod
    def _input_settings(clf):
        return {"n_features": None, "text_front": clf.text_front_}

    def _settings(self):
        return {**super()._settings(), "text_front": self.text_front.to_dict()}

    def __repr__(self):
        return super().__repr__().replace("CompactProjectionNet(", "CompactTextProjectionNet(") \
            .replace("on None features", "on text")

    # -- prediction from strings -------------------------------------------------------------
    def _validate(self, X):
        """X unchanged: strings are checked by the text front (``_logits_of``)."""
        return X

    def _logits_of(self, X):
        """Logits of strings (the front checks them: ``pnet.textfront.as_text_list``)."""
        data, ids, indptr = self.text_front.transform(X)
        check_some_texts(indptr.shape[0] - 1, type(self).__name__)
        packed = self.hyperplanes.project_csr(data, ids, indptr, sorted_features=True)
        return self._logits_of_bits(packed)

    def predict_one(self, text):
        """The class of one string."""
        return self.classes_[int(np.argmax(self.decision_function([text])[0]))]

    def predict_proba_one(self, text):
        """Class probabilities (n_classes,) of one string."""
        return softmax(self.decision_function([text]).astype(np.float64))[0]
