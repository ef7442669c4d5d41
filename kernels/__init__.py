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
bits        pack / unpack, the packed-bit gather-add and its scatter-add gradient
quantized   int8 gather-add into int32 accumulators (the int8 compact model)
compact     fused projection + first layer (+ argmax) for the compact model's predict
text        the text front's loops: n-gram hashing, per-row sort and merge (spec in
            pnet/textfront.py)
"""
