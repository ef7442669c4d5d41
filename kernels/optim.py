"""Optimiser updates on the rows of a row-sparse gradient (``pnet.optimizers``).

A trainer's first layer on hashed text is large (2^16 rows or more) while a
minibatch touches a few thousand of its rows; these kernels update those rows in
place, with the very operations of the dense numpy update, in the parameter's
dtype (the wrappers pass every scalar in that dtype):

    Adam   m = m b1 + g (1 - b1);  v = v b2 + g^2 (1 - b2);  p -= m / (sqrt(v) + eps) step
    SGD    u = u momentum - lr g;  p += momentum u - lr g (Nesterov) or p += u

(each product and sum in the order numpy's in-place dense update performs it)

``rows`` are unique, so rows of different iterations never alias: the loops are
serial (a minibatch's rows are few) and the result equals the numpy update on
``p[rows]`` exactly (``tests/test_optimizers.py``).
"""
import numpy as np

from ._jit import jit


@jit
def adam_rows(p, m, v, rows, g, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, step,
              epsilon):
    for t in range(rows.shape[0]):
        r = rows[t]
        for c in range(p.shape[1]):
            gc = g[t, c]
            mc = m[r, c] * beta_1 + gc * one_minus_beta_1
            vc = v[r, c] * beta_2 + (gc * gc) * one_minus_beta_2
            m[r, c] = mc
            v[r, c] = vc
            p[r, c] -= mc / (np.sqrt(vc) + epsilon) * step


@jit
def sgd_rows(p, u, rows, g, momentum, learning_rate, nesterov):
    for t in range(rows.shape[0]):
        r = rows[t]
        for c in range(p.shape[1]):
            uc = u[r, c] * momentum - learning_rate * g[t, c]
            u[r, c] = uc
            if nesterov:
                p[r, c] += momentum * uc - learning_rate * g[t, c]
            else:
                p[r, c] += uc
