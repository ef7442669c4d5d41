"""The 'local' projection's settings: image shape, window sides, density, bounds.

'local' hyperplanes (``pnet.kernels.hashing``: ``window_of``, ``local_lists_kernel``)
read the features as the pixels of a height x width image, row-major; bit k sees one
square window of it, a pure function of (seed, k), with ternary entries inside. This
module turns the estimators' parameters (``image_shape``, ``window``, ``density``)
into the ``Hyperplanes`` settings and bounds what a model (or a model file) may ask
for; ``pnet._hyperplanes.Hyperplanes`` applies them.
"""
import math
import warnings

import numpy as np

#: the density inside a window for density='auto', and the window sides
#: for window='auto' as fractions of the image's shorter side (``resolve_window``)
LOCAL_AUTO_DENSITY = 0.5
LOCAL_AUTO_SIDES = (0.2, 0.6)
#: the largest image side the window fields hold (``window_of``)
MAX_IMAGE_SIDE = 1 << 21
#: the most pixels, and the most window pixels over all bits (``check_local_size``):
#: ``pnet._hyperplanes.MAX_CACHE_ENTRIES``, the other caches' bound (a test checks)
MAX_LOCAL_CELLS = 1 << 22


def resolve_window(image_shape, window, n_features):
    """(height, width, kmin, kmax) of a 'local' projection from the estimator's
    ``image_shape`` (None: a square image of ``n_features`` pixels) and ``window``
    ('auto', or a (kmin, kmax) pair of window sides). Raises ValueError on a shape
    that does not hold ``n_features`` pixels or sides that do not fit the image.

    'auto' is 20 % to 60 % of the shorter side s, rounded (at least 1): kmin =
    max(1, round(0.2 s)), kmax = max(kmin, round(0.6 s)); 3 to 8 on 2x2-pooled MNIST
    (14 x 14), 2 to 5 on sklearn's 8 x 8 digits. Chosen from windows measured on both
    (``bench/RESULTS.md``, "Local hyperplanes"): on pooled MNIST 3-8 was within 0.2
    points of the best window at 6,500 bits and the best at 1,600 (fewer bits do
    better with larger windows); on digits 2-5 was within 0.6 points of 3-5, the best.
    """
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"projection='local' needs image_shape=(height, width): {n_features} "
                f"features are not a square image.")
        height = width = side
    else:
        shape = tuple(image_shape)
        if (len(shape) != 2 or any(isinstance(v, (bool, np.bool_)) or
                                   not isinstance(v, (int, np.integer)) for v in shape)
                or min(shape) < 1 or max(shape) > MAX_IMAGE_SIDE):
            raise ValueError(f"image_shape must be (height, width), two ints in [1, "
                             f"{MAX_IMAGE_SIDE}], got {image_shape!r}.")
        height, width = int(shape[0]), int(shape[1])
        if height * width != n_features:
            raise ValueError(f"image_shape={image_shape!r} holds {height * width} pixels, "
                             f"but X has {n_features} features.")
    shorter = min(height, width)
    if isinstance(window, str) and window == "auto":
        low, high = LOCAL_AUTO_SIDES
        kmin = max(1, int(low * shorter + 0.5))
        kmax = max(kmin, int(high * shorter + 0.5))
    else:
        try:
            kmin, kmax = window
        except (TypeError, ValueError):
            kmin = kmax = None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                   for v in (kmin, kmax)) or not 1 <= kmin <= kmax <= shorter:
            raise ValueError(f"window must be 'auto' or (kmin, kmax), window sides with "
                             f"1 <= kmin <= kmax <= {shorter} (the image's shorter side), "
                             f"got {window!r}.")
    return int(height), int(width), int(kmin), int(kmax)


def resolve_local(projection, density, image_shape, window, n_features):
    """(density, window) of the hyperplanes for the estimators' parameters when
    ``projection`` is 'local', else None (with a UserWarning when ``image_shape`` or
    ``window`` is set anyway: a forgotten ``projection='local'``).

    The density is the fraction inside a window: ``LOCAL_AUTO_DENSITY`` for 'auto'.
    On pooled MNIST with 'auto' windows, 0.5 was the best of 0.25, 0.5, 0.8 and 1 at
    1,596 bits (by 0.4 to 0.8 points) and within 0.1 of the best at 6,528
    (``bench/RESULTS.md``, "Local hyperplanes"). The window: ``resolve_window``."""
    if projection != "local":
        if image_shape is not None or not (isinstance(window, str) and window == "auto"):
            warnings.warn(f"image_shape and window apply only to projection='local'; "
                          f"projection={projection!r} ignores them.", UserWarning,
                          stacklevel=3)
        return None
    density = LOCAL_AUTO_DENSITY if isinstance(density, str) else float(density)
    return density, resolve_window(image_shape, window, n_features)


def check_window(window, n_features, n_bits):
    """The window (height, width, kmin, kmax) as Python ints, or ValueError unless it
    is 4 ints (not bools, floats or strings) of an image of ``n_features`` pixels
    with 1 <= kmin <= kmax <= min(height, width) and sides <= ``MAX_IMAGE_SIDE``,
    within ``check_local_size``. What ``Hyperplanes`` and every compact model (so
    every model file) check."""
    values = tuple(window)
    if len(values) != 4 or not all(isinstance(v, (int, np.integer)) and not
                                   isinstance(v, (bool, np.bool_)) for v in values):
        raise ValueError(f"window must be 4 ints (height, width, kmin, kmax), got "
                         f"{window!r}.")
    height, width, kmin, kmax = (int(v) for v in values)
    if not (1 <= kmin <= kmax <= min(height, width) <= max(height, width) <=
            MAX_IMAGE_SIDE) or height * width != n_features:
        raise ValueError(f"window {window!r} does not fit {n_features} features: "
                         f"height * width = n_features and 1 <= kmin <= kmax <= "
                         f"min(height, width) <= max(height, width) <= {MAX_IMAGE_SIDE}.")
    check_local_size(n_features, n_bits, kmax)
    return height, width, kmin, kmax


def check_local_size(n_features, n_bits, kmax):
    """ValueError unless a 'local' projection's RAM cache is bounded as the other
    projections' are: at most ``MAX_LOCAL_CELLS`` (4 M, the other caches' bound)
    pixels and as many window pixels in all (n_bits * kmax**2), which bound its lists'
    memory and the time to build them (at the bound, density 1: 0.5 s, and 440 MB
    peak RSS for the whole process). Pooled MNIST at 13,080 bits and 'auto' windows
    (3-8) uses 0.84 M; 28 x 28 images with 'auto' windows (6-17) allow up to 14,500
    bits."""
    if n_features > MAX_LOCAL_CELLS or n_bits * kmax * kmax > MAX_LOCAL_CELLS:
        raise ValueError(
            f"a 'local' projection holds at most {MAX_LOCAL_CELLS:,} pixels and "
            f"{MAX_LOCAL_CELLS:,} window pixels (T * d * kmax**2); got {n_features:,} "
            f"pixels and {n_bits:,} * {kmax}**2 = {n_bits * kmax * kmax:,}.")
