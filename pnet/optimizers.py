"""Optimisers: objects that apply gradients to a list of parameter arrays in place.

Kept apart from the backward pass (as scikit-learn's ``_stochastic_optimizers``),
so gradients can be checked on their own and the update rule read on its own.

A gradient may be a ``pnet.layers.RowSparse`` (the first layer of a trainer on
CSR input): then only its rows are updated, moments included ("lazy" updates, as
PyTorch's ``SparseAdam`` and TensorFlow's ``LazyAdam``); rows a minibatch does not
touch keep their parameters and optimiser state.
"""
import numpy as np

from .kernels import optim as _optim
from .layers import RowSparse


class SGD:
    """Stochastic gradient descent with momentum, optionally Nesterov's.

    v <- momentum * v - lr * g;   p <- p + v                      (classical)
    p <- p + momentum * v_new - lr * g                            (Nesterov)
    """

    def __init__(self, params, learning_rate=0.001, momentum=0.9, nesterov=True):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocities = [np.zeros_like(p) for p in params]

    @property
    def state(self):
        """The arrays the optimiser carries between updates."""
        return self.velocities

    def update(self, params, grads):
        for p, g, v in zip(params, grads, self.velocities):
            if isinstance(g, RowSparse):
                self._update_rows(p, g, v)
                continue
            v *= self.momentum
            v -= self.learning_rate * g
            if self.nesterov:
                p += self.momentum * v - self.learning_rate * g
            else:
                p += v

    def _update_rows(self, p, g, v):
        f = p.dtype.type
        _optim.sgd_rows(p, v, g.rows, np.ascontiguousarray(g.values, dtype=p.dtype),
                        f(self.momentum), f(self.learning_rate), self.nesterov)


class Adam:
    """Adam (Kingma & Ba 2014) with bias correction folded into the step size."""

    def __init__(self, params, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = [np.zeros_like(p) for p in params]
        self.vs = [np.zeros_like(p) for p in params]
        self._scratch = [np.empty_like(p) for p in params]

    @property
    def state(self):
        """The arrays the optimiser carries between updates."""
        return [*self.ms, *self.vs]

    def update(self, params, grads):
        self.t += 1
        step = (self.learning_rate * np.sqrt(1 - self.beta_2**self.t)
                / (1 - self.beta_1**self.t))
        for p, g, m, v, tmp in zip(params, grads, self.ms, self.vs, self._scratch):
            if isinstance(g, RowSparse):
                self._update_rows(p, g, m, v, step)
                continue
            # m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  p <- p - step m / (sqrt v + eps)
            # written in place through one scratch array: no temporaries per step
            m *= self.beta_1
            np.multiply(g, 1 - self.beta_1, out=tmp)
            m += tmp
            v *= self.beta_2
            np.square(g, out=tmp)
            tmp *= 1 - self.beta_2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.epsilon
            np.divide(m, tmp, out=tmp)
            tmp *= step
            p -= tmp

    def _update_rows(self, p, g, m, v, step):
        """The same update on the gradient's rows only (lazy Adam), in place."""
        f = p.dtype.type  # every scalar in the parameter's dtype, as numpy's update
        _optim.adam_rows(p, m, v, g.rows, np.ascontiguousarray(g.values, dtype=p.dtype),
                         f(self.beta_1), f(1 - self.beta_1), f(self.beta_2),
                         f(1 - self.beta_2), f(step), f(self.epsilon))


OPTIMIZERS = {"adam": Adam, "sgd": SGD}
