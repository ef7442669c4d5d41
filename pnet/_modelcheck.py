"""Whether a compact model's settings and numbers make a consistent model.

``check_model`` is what ``CompactProjectionNet`` runs on construction, and so on
every model read from a file (``pnet._modelfile`` checks the bytes; this module
checks what they mean): settings of the right types and ranges, one weight matrix,
bias vector (and scale vector when quantised) per layer with chaining shapes,
finite numbers, quantised values within their format's range. Each failure is a
ValueError naming the first inconsistency (``ModelFileError`` when read from a file).
"""
import numpy as np

from ._hyperplanes import PROJECTIONS
from ._local import check_window
from ._quantize import FORMATS, MAX_INT8_BITS, value_range
from .layers import ACTIVATIONS

SEED_LIMIT = 2**63


def check_model(m):
    """ValueError naming the first inconsistency between settings and arrays."""
    _check_int("seed", m.seed, 0, SEED_LIMIT - 1)
    if not (m.n_features_in_ is None and m._text):  # text: 64-bit ids, no feature count
        _check_int("n_features", m.n_features_in_, 1, SEED_LIMIT - 1)
    _check_int("n_projections", m.n_projections, 1)
    _check_int("n_bits", m.n_bits, 1)
    if not isinstance(m.projection, str) or m.projection not in PROJECTIONS:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got {m.projection!r}.")
    window = getattr(m, "window", None)
    if (m.projection == "local") != (window is not None):
        raise ValueError("a window (height, width, kmin, kmax) is given exactly for the "
                         f"'local' projection, got {window!r} for {m.projection!r}.")
    if window is not None and m._text:
        raise ValueError("the 'local' projection is for images; a text model hashes "
                         "n-grams to feature ids.")
    if window is not None:
        check_window(window, m.n_features_in_, m.n_projections * m.n_bits)
    if isinstance(m.density, bool) or not isinstance(m.density, (int, float)) \
            or not 0 < m.density <= 1:
        raise ValueError(f"density must be a number in (0, 1], got {m.density!r}.")
    if not isinstance(m.activation, str) or m.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, "
                         f"got {m.activation!r}.")
    classes = m.classes_
    if classes.ndim != 1 or classes.shape[0] < 2 or np.unique(classes).shape[0] != \
            classes.shape[0]:
        raise ValueError(f"classes must be at least 2 distinct labels in a 1-D array, got "
                         f"shape {classes.shape}.")
    if not m.coefs_ or len(m.coefs_) != len(m.intercepts_) or \
            (m.scales_ is not None and len(m.scales_) != len(m.coefs_)):
        raise ValueError(f"need one weight matrix, one bias vector (and one scale vector "
                         f"for int8) per layer, got {len(m.coefs_)}, {len(m.intercepts_)}"
                         + ("" if m.scales_ is None else f", {len(m.scales_)}") + ".")
    if m.quantize not in FORMATS or (m.quantize is None) != (m.scales_ is None):
        raise ValueError(f"quantize must be one of {FORMATS}, with scales exactly when it is "
                         f"not None; got {m.quantize!r}.")
    weight_dtype = np.float32 if m.scales_ is None else np.int8
    fan_in = m.n_projections * m.n_bits
    for i, (W, b) in enumerate(zip(m.coefs_, m.intercepts_)):
        s = None if m.scales_ is None else m.scales_[i]
        if not (isinstance(W, np.ndarray) and W.dtype == weight_dtype and W.ndim == 2
                and W.shape[0] == fan_in):
            raise ValueError(f"layer {i} weights must be {np.dtype(weight_dtype).name} of "
                             f"shape ({fan_in}, fan_out), got "
                             f"{getattr(W, 'dtype', type(W))} {np.shape(W)}.")
        fan_out = W.shape[1]
        for name, v in (("biases", b), ("scales", s)):
            if v is not None and not (isinstance(v, np.ndarray) and v.dtype == np.float32
                                      and v.shape == (fan_out,)):
                raise ValueError(f"layer {i} {name} must be float32 of shape ({fan_out},), "
                                 f"got {getattr(v, 'dtype', type(v))} {np.shape(v)}.")
        if not np.isfinite(b).all() or (W.dtype.kind == "f" and not np.isfinite(W).all()):
            raise ValueError(f"layer {i} holds NaN or infinite weights or biases.")
        if s is not None and not (np.isfinite(s).all() and (s >= 0).all()):
            raise ValueError(f"layer {i} scales must be finite and >= 0.")
        if s is not None and W.size and np.abs(W.astype(np.int16)).max() > \
                value_range(m.quantize):
            raise ValueError(f"layer {i} weights exceed the {m.quantize} range "
                             f"(|w| <= {value_range(m.quantize)}).")
        fan_in = fan_out
    if fan_in != classes.shape[0]:
        raise ValueError(f"the last layer has {fan_in} outputs but there are "
                         f"{classes.shape[0]} classes.")
    if m.scales_ is not None and m.coefs_[0].shape[0] > MAX_INT8_BITS:
        raise ValueError(f"{m.coefs_[0].shape[0]} bits overflow the int8 first layer's int32 "
                         f"accumulators (at most {MAX_INT8_BITS}).")


def _check_int(name, value, low, high=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}.")
