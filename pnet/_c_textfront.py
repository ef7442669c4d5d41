"""The configuration macros of the C text front, ``pnet/c/textfront.c``, for a TextFront.

This module owns only the translation of ``TextFront.to_dict()`` into ``#define`` lines;
the C it configures is ``pnet/c/textfront.c`` (the text front of ``pnet.textfront``,
TEXT_FRONT_VERSION 1, byte for byte), which the C exporter pastes after these lines.
"""
from .textfront import COUNTS, FAMILIES, TEXT_FRONT_VERSION, TextFront


def textfront_defines(front, max_text_bytes=None):
    """The ``#define`` lines that configure ``pnet/c/textfront.c`` for ``front``.

    Weights are written as exact hex-float literals, seeds as ``UINT64_C`` literals,
    ``counts`` as its index in ``pnet.textfront.COUNTS`` (``PNET_TF_RAW`` 0,
    ``PNET_TF_SQRT`` 1, ``PNET_TF_BINARY`` 2). ``PNET_MAX_TEXT_BYTES`` (the longest
    text the C takes, which sizes ``PNET_TF_MAX_FEATURES``) is written only when
    ``max_text_bytes`` is given; otherwise the caller defines it.
    """
    if not isinstance(front, TextFront):
        raise TypeError(f"expected a pnet.textfront.TextFront, got {type(front).__name__}")
    p = front.to_dict()
    lines = [f"#define PNET_TF_VERSION {TEXT_FRONT_VERSION}",
             f"#define PNET_TF_LOWERCASE {int(p['lowercase'])}"]
    ranges = {"word": "word_ngram_range", "char": "char_ngram_range", "skip": "skip_range"}
    for family in FAMILIES:
        name, (lo, hi) = family.upper(), p[ranges[family]]
        weight = float(p[f"{family}_weight"])
        lines += [f"#define PNET_TF_{name}_ON {int(weight > 0)}",
                  f"#define PNET_TF_{name}_LO {lo}",
                  f"#define PNET_TF_{name}_HI {hi}",
                  f"#define PNET_TF_{name}_WEIGHT {weight.hex()} /* {weight!r} */",
                  f"#define PNET_TF_{name}_SEED UINT64_C({p[f'{family}_seed']})"]
    lines += [f"#define PNET_TF_COUNTS {COUNTS.index(p['counts'])} /* {p['counts']} */",
              f"#define PNET_TF_L2 {int(p['norm'] == 'l2')}"]
    if max_text_bytes is not None:
        if type(max_text_bytes) is not int or max_text_bytes < 0:
            raise ValueError(f"max_text_bytes must be an int >= 0, got {max_text_bytes!r}")
        lines.append(f"#define PNET_MAX_TEXT_BYTES {max_text_bytes}")
    return "\n".join(lines) + "\n"
