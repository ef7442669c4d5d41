"""Numba kernels of pnet, installed as the subpackage ``pnet.kernels``.

Each module owns one concept and follows the wrapper/kernel split: the public
functions in ``pnet`` validate, cast and allocate; the ``@njit`` functions here
only loop and write into arrays the caller gave them. Every kernel has an
obvious numpy twin in ``tests/naive.py`` and the tests compare the two.

Modules
-------
_jit        the one place that sets the jit policy (cache, parallel, no fastmath)
hashing     hyperplane entries as a pure function of (seed, feature, bit)
projection  inputs (dense or CSR) to packed bits
bits        unpack; the row formulas of the first layer (float32 and int8
            gather-add) and the scatter-add gradient
network     the layers after the first at prediction, in fixed order
optim       Adam / SGD updates on the rows of a row-sparse gradient
compact     fused projection + first layer (+ argmax) for the compact model's predict
text        the text front's loops: n-gram hashing, per-row sort and merge (spec in
            pnet/textfront.py)
"""
