"""Networks behind one small interface, so one training loop drives any trainer.

A network is initialised from a random state, holds its parameters in a fixed
order, computes logits with a cache, turns dLoss/dlogits into gradients in the
parameters' order, says which parameters the L2 penalty applies to, and counts
its stored bytes::

    net.initialize(rng) -> net        every draw from rng, in a documented order
    net.params                        list of arrays, fixed order
    net.penalised                     list of bool, one per parameter
    net.forward(*inputs) -> (logits, cache)
    net.backward(cache, dlogits) -> grads   (a ``pnet.layers.RowSparse`` where few rows move)
    net.stored_bytes() -> int

Implementations: ``MLPNetwork`` (here: the feed-forward trainer on features, dense
or CSR), ``ProjectionNetwork`` (the projection net's layers on 0/1 bits, optionally
trained for a quantised weight format) and ``pnet.lstm.LSTMNetwork`` (the recurrent
trainer on token sequences).
``TokenSequences`` are the LSTM's inputs, indexable by rows like a matrix so
that the training loop takes minibatches of any input the same way.

This module owns the interface and the MLP; the layer arithmetic is ``pnet.layers``.
"""
import numpy as np
import scipy.sparse as sp

from ._quantize import fake_quantize, stored_bytes
from .layers import backward, forward, init_layers



class MLPNetwork:
    """A ReLU/tanh/... MLP on features: ``layer_sizes`` [n_in, hidden..., n_classes].

    Parameters are ``coefs`` then ``intercepts`` (Glorot-uniform, drawn layer by
    layer as scikit-learn's MLP); the penalty applies to ``coefs``. On CSR input
    the first layer's gradient is row-sparse (the features the minibatch touches).
    """

    def __init__(self, layer_sizes, activation, dtype=np.float32):
        self.layer_sizes = list(layer_sizes)
        self.activation = activation
        self.dtype = dtype
        self.coefs, self.intercepts = [], []

    def initialize(self, rng):
        self.coefs, self.intercepts = init_layers(self.layer_sizes, self.activation, rng,
                                                  self.dtype)
        return self

    @property
    def params(self):
        return [*self.coefs, *self.intercepts]

    @property
    def penalised(self):
        return [True] * len(self.coefs) + [False] * len(self.intercepts)

    def forward(self, X):
        activations = forward(self.coefs, self.intercepts, X, self.activation)
        return activations[-1], activations

    def backward(self, activations, dlogits):
        coef_grads, intercept_grads = backward(self.coefs, activations, dlogits,
                                               self.activation,
                                               row_sparse=sp.issparse(activations[0]))
        return [*coef_grads, *intercept_grads]

    def stored_bytes(self):
        """float32 bytes of every weight and bias (from the sizes: built or not)."""
        return stored_bytes(self.layer_sizes, None)


class ProjectionNetwork(MLPNetwork):
    """The projection net after the bit layer: ``layer_sizes`` [T * d, hidden...,
    n_classes] on 0/1 bits (float, or packed uint64 for the gather-add).

    With ``quantize`` ('int8', 'int4', 'ternary'), forward and backward use the
    weights as that format represents them (``pnet._quantize.fake_quantize``) and
    the gradient passes straight through to the float32 ``coefs``, which the
    optimiser updates (the straight-through estimator). ``stored_bytes`` counts
    the weights in that format (``pnet._quantize.stored_bytes``), without the seed.
    """

    def __init__(self, layer_sizes, activation, quantize=None, dtype=np.float32):
        super().__init__(layer_sizes, activation, dtype)
        self.quantize = quantize

    def _effective_coefs(self):
        if self.quantize is None:
            return self.coefs
        return [fake_quantize(W, self.quantize) for W in self.coefs]

    def forward(self, bits):
        coefs = self._effective_coefs()
        activations = forward(coefs, self.intercepts, bits, self.activation)
        return activations[-1], (coefs, activations)

    def backward(self, cache, dlogits):
        coefs, activations = cache
        coef_grads, intercept_grads = backward(coefs, activations, dlogits, self.activation)
        return [*coef_grads, *intercept_grads]

    def stored_bytes(self):
        return stored_bytes(self.layer_sizes, self.quantize)


class TokenSequences:
    """Token ids (n, L) int64 padded to the longest row, and lengths (n,): the input of
    a recurrent trainer. ``seq[rows]`` takes rows and trims the padding to their
    longest; ``astype`` is the identity (ids are not features)."""

    def __init__(self, ids, lengths):
        self.ids = ids
        self.lengths = lengths

    @property
    def shape(self):
        return self.ids.shape

    def __len__(self):
        return self.ids.shape[0]

    def __getitem__(self, rows):
        lengths = self.lengths[rows]
        longest = int(lengths.max(initial=0))
        return TokenSequences(self.ids[rows, :longest], lengths)

    def astype(self, dtype, copy=True):
        return self

    def args(self):
        return self.ids, self.lengths


def inputs_of(X):
    """The positional arguments of ``net.forward`` for a minibatch X."""
    return X.args() if isinstance(X, TokenSequences) else (X,)
