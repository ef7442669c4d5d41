"""Layers of both networks: activations, a dense layer, and the bit layer.

A network is plain lists of arrays, as in scikit-learn's ``neural_network``:
``coefs[i]`` (fan_in, fan_out), ``intercepts[i]`` (fan_out,), and the forward
pass returns ``activations`` = [inputs, hidden_1, ..., logits]. The output layer
is linear (logits); the softmax lives in ``pnet.losses``.

The first layer of the projection network reads bits. During training the bits
of a batch are a 0/1 float matrix and the layer is a BLAS product; at prediction
time they are packed uint64 words and the layer is the gather-add kernel
``bias + sum_{k : bit k set} W[k]`` (``pnet.kernels.bits``). ``first_layer`` and
``first_layer_grad`` dispatch on the input's dtype, so both paths are one
function for the reader.

At prediction time the layers after the first run in pnet's own fixed-order
kernels (``predict_hidden``, ``pnet.kernels.network``) instead of BLAS, so a
row's logits depend on the row only (not the batch, threads or BLAS build);
the estimator and the compact model both call it.

This module computes; it never updates parameters (``pnet.optimizers`` does).
"""
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._hyperplanes import gather_add, over_rows, scatter_add
from .kernels import network as _network


# -- activations: in place on the pre-activation Z --------------------------------
def _identity(Z):
    return Z


def _relu(Z):
    np.maximum(Z, 0, out=Z)
    return Z


def _tanh(Z):
    np.tanh(Z, out=Z)
    return Z


def _logistic(Z):
    # 1 / (1 + exp(-Z)), written to avoid overflow warnings for very negative Z
    np.negative(Z, out=Z)
    np.exp(Z, out=Z)
    Z += 1
    np.reciprocal(Z, out=Z)
    return Z


ACTIVATIONS = {"identity": _identity, "relu": _relu, "tanh": _tanh, "logistic": _logistic}


#: the activations' codes in the prediction kernels (``pnet.kernels.network``)
ACTIVATION_CODES = {"identity": _network.IDENTITY, "relu": _network.RELU,
                    "tanh": _network.TANH, "logistic": _network.LOGISTIC}


# -- derivatives: delta *= f'(Z), written in terms of the activation A = f(Z) ---------
def _identity_derivative(A, delta):
    return delta


def _relu_derivative(A, delta):
    np.multiply(delta, A > 0, out=delta)
    return delta


def _tanh_derivative(A, delta):
    delta *= 1 - A**2
    return delta


def _logistic_derivative(A, delta):
    delta *= A
    delta *= 1 - A
    return delta


DERIVATIVES = {
    "identity": _identity_derivative,
    "relu": _relu_derivative,
    "tanh": _tanh_derivative,
    "logistic": _logistic_derivative,
}


# -- gradients that touch few rows ------------------------------------------------------------
class RowSparse(NamedTuple):
    """A weight gradient that is zero outside ``rows``: ``values[t]`` is its row
    ``rows[t]`` (rows ascending, unique). The first layer's gradient for CSR input
    (hashed text: a minibatch touches a few thousand of 2^16 or more rows), so the
    optimiser updates those rows only (``pnet.optimizers``)."""
    rows: np.ndarray  # (m,) int
    values: np.ndarray  # (m, fan_out)

    def toarray(self, shape):
        out = np.zeros(shape, dtype=self.values.dtype)
        out[self.rows] = self.values
        return out

    def astype(self, dtype, copy=True):
        return RowSparse(self.rows, self.values.astype(dtype, copy=copy))


# -- the first layer: features, 0/1 bits or packed bits ---------------------------------
def first_layer(inputs, W, b):
    """``inputs @ W + b`` for dense or CSR features, 0/1 bits, or packed uint64 bits."""
    if isinstance(inputs, np.ndarray) and inputs.dtype == np.uint64:
        return gather_add(inputs, W, b)  # (n, fan_out)
    Z = inputs @ W
    if sp.issparse(Z):  # pragma: no cover - CSR @ ndarray is an ndarray
        Z = Z.toarray()
    Z += b
    return np.asarray(Z, dtype=W.dtype)


def first_layer_grad(inputs, delta, n_inputs, row_sparse=False):
    """``inputs.T @ delta``: the first layer's weight gradient (scatter-add on packed
    bits; with ``row_sparse`` and CSR inputs, a ``RowSparse`` of the touched rows)."""
    if isinstance(inputs, np.ndarray) and inputs.dtype == np.uint64:
        return scatter_add(inputs, delta, n_inputs)
    if row_sparse and sp.issparse(inputs):
        inputs = sp.csr_matrix(inputs)
        rows, columns = np.unique(inputs.indices, return_inverse=True)  # touched features
        local = sp.csr_matrix((inputs.data, columns.ravel(), inputs.indptr),
                              shape=(inputs.shape[0], rows.shape[0]))
        return RowSparse(rows, np.asarray(local.T @ delta, dtype=delta.dtype))
    return np.asarray(inputs.T @ delta, dtype=delta.dtype)


# -- whole networks over lists of arrays ---------------------------------------------------
def forward(coefs, intercepts, inputs, activation):
    """Activations [inputs, hidden..., logits]; hidden layers use ``activation``."""
    act = ACTIVATIONS[activation]
    activations = [inputs]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        if i == 0:
            Z = first_layer(inputs, W, b)  # (n, fan_out)
        else:
            Z = activations[-1] @ W
            Z += b
        activations.append(Z if i == len(coefs) - 1 else act(Z))
    return activations


def backward(coefs, activations, delta, activation, row_sparse=False):
    """Gradients of the loss w.r.t. every coef and intercept.

    ``delta`` is dLoss/dlogits (n, n_classes), already divided by whatever the loss
    normalises by. Returns (coef_grads, intercept_grads), lists like ``coefs``.
    Nothing flows into the inputs (the bits and the data are constants). With
    ``row_sparse``, the first layer's gradient for CSR inputs is a ``RowSparse``.
    """
    derivative = DERIVATIVES[activation]
    n_layers = len(coefs)
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    for i in range(n_layers - 1, -1, -1):
        if i == 0:
            coef_grads[0] = first_layer_grad(activations[0], delta, coefs[0].shape[0],
                                             row_sparse)
        else:
            coef_grads[i] = activations[i].T @ delta
        intercept_grads[i] = delta.sum(axis=0)
        if i > 0:
            delta = delta @ coefs[i].T
            derivative(activations[i], delta)
    return coef_grads, intercept_grads


def init_layers(layer_sizes, activation, rng, dtype):
    """Glorot-uniform weights and biases (as scikit-learn's MLP), drawn from ``rng`` in order."""
    coefs, intercepts = [], []
    factor = 2.0 if activation == "logistic" else 6.0
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


# -- prediction: the layers after the first, in fixed order --------------------------------
def predict_hidden(Z, layers, activation):
    """Logits from the first layer's pre-activations ``Z`` (n, fan_out) float32.

    ``layers`` is [(W, b), ...] for the layers after the first (float32).
    Every row runs ``pnet.kernels.network.hidden_row`` (``act(z) @ W + b`` added
    in ascending order), so a row's result does not depend on the batch size,
    the thread count or the BLAS build. ``Z`` is overwritten (with ``act(Z)``).
    """
    code = ACTIVATION_CODES[activation]
    for W, b in layers:
        A = Z
        Z = np.empty((A.shape[0], W.shape[1]), dtype=np.float32)
        over_rows(_network.hidden_rows, A.shape[0], A, W, b, code, out=Z)
    return Z


def predict_hidden_row(z, layers, activation, scratch):
    """``predict_hidden`` for one row z (fan_out,), into ``scratch`` (one array per layer)."""
    code = ACTIVATION_CODES[activation]
    for (W, b), out in zip(layers, scratch):
        _network.hidden_row(z, W, b, code, out)
        z = out
    return z
