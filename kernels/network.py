"""The projection net's layers after the first, at prediction time: fixed-order kernels.

For one row, a hidden layer is ``z = act(a) @ W + b`` written out as

    a = act(a)                                    (in place; the previous layer's output)
    z[c] = b[c];  z[c] += a[k] * W[k, c]  for k = 0, 1, ... (ascending, a[k] != 0)

in float32, one multiplication and one addition per term (no fused
multiply-add: the jit policy has no fastmath). Terms with ``a[k] == 0`` are
skipped (relu zeros): adding ``0 * W`` can only change the sign of a zero sum.

Prediction runs these kernels, not BLAS, so a row's logits depend on the row
only: not on the batch it comes in, the thread count, or the BLAS build or
kernel (BLAS picks its summation order by matrix shape and CPU). The estimator,
the compact model, one row and a batch all call ``hidden_row``; training keeps
BLAS (``pnet.layers.forward``), where speed matters and exact reproducibility
across BLAS builds is not promised.

Activation codes (``ACTIVATION_CODES`` in ``pnet.layers``): 0 identity, 1 relu,
2 tanh, 3 logistic ``1 / (1 + exp(-a))``. relu and identity use only IEEE
operations, so they give the same bits on every platform; tanh and exp come
from the platform's math library (numba's), the same in every path on one
machine.
"""
import numpy as np

from ._jit import jit

IDENTITY, RELU, TANH, LOGISTIC = 0, 1, 2, 3


@jit
def activate(a, code):
    """a = act(a) in place."""
    if code == RELU:
        for k in range(a.shape[0]):
            if a[k] < 0:
                a[k] = 0
    elif code == TANH:
        for k in range(a.shape[0]):
            a[k] = np.tanh(a[k])
    elif code == LOGISTIC:
        for k in range(a.shape[0]):
            a[k] = np.float32(1.0) / (np.float32(1.0) + np.exp(-a[k]))


@jit
def dense_row(a, W, b, z):
    """z = b + sum_k a[k] W[k]  (ascending k, skipping a[k] == 0)."""
    n_out = z.shape[0]
    for c in range(n_out):
        z[c] = b[c]
    for k in range(W.shape[0]):
        ak = a[k]
        if ak != 0:
            for c in range(n_out):
                z[c] += ak * W[k, c]


@jit
def hidden_row(a, W, b, code, z):
    """z = act(a) @ W + b for one row; ``a`` is overwritten with act(a)."""
    activate(a, code)
    dense_row(a, W, b, z)


@jit
def hidden_rows(A, start, stop, W, b, code, out):
    for i in range(start, stop):
        hidden_row(A[i], W, b, code, out[i])
