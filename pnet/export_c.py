"""Export a compact model to dependency-free C99: ``pnet_model.h`` and ``pnet_model.c``.

``export_c(model, outdir)`` (``CompactProjectionNet.export_c``, ``pnet export-c``)
writes the model's numbers as ``const`` arrays and pastes the runtime from
``pnet/c/`` (package data), which mirrors pnet's kernels formula by formula, so the
C predicts bit for bit what Python predicts:

======================  ==================================================================
pnet_model.h.in         the header: API, sizes, and the assumptions exactness rests on
pnet_runtime_weights.c  how weights are stored (float32, int8, packed 4 / 2 bits)
pnet_runtime.c          hash, projection sums, packing, gather-adds, hidden layers, argmax
pnet_api_dense.c        dense rows: pnet_predict, pnet_logits, pnet_bits
textfront.c             text models: the text front (pnet.textfront), owned there
pnet_api_text.c         text models: pnet_predict_text and its kin
pnet_check_main.c       not pasted: a host harness (tests, bench/mcu.py)
======================  ==================================================================

What is written, per model:

- configuration macros: the seed key ``mix64(seed)``, projection kind, ternary
  threshold, sparse_sign's E (``PNET_N_ENTRIES``, ``Hyperplanes.n_entries``: the
  rounding is Python's, not redone in C), the sums held at once
  (``PNET_SUM_BITS``), weight format (``PNET_WEIGHT_BITS``), activation, layer sizes, and for
  a text model its front's (``pnet._c_textfront.textfront_defines``) and
  ``PNET_MAX_TEXT_BYTES``;
- per layer ``pnet_w<i>`` as stored in the model file (float32, int8, or the
  packed 4- / 2-bit stream of ``pnet._quantize.pack_weights``), ``pnet_s<i>``
  (scales of quantised formats) and ``pnet_b<i>`` (biases); every float as a
  literal that round-trips exactly (9 significant digits for float32);
- with ``hyperplane_table=True`` (ternary, sparse_sign or local, dense input only): the
  per-feature lists of non-zero entries, +1 bits then -1 bits
  (``Hyperplanes.signed_lists``), as const tables: ``pnet_list_bits`` (1, 2 or 4
  bytes per entry: the smallest type that holds ``T*d - 1``), and per feature
  either where its list starts and splits (ternary: ``pnet_list_start``,
  ``pnet_list_split``) or, sparse_sign's lists all having E entries, only how many
  of them are +1 (``pnet_list_positives``, 1 byte while E < 256). ``8 * T*d``
  bytes of stack for the sums (8 bytes a sum; 4 for int32 sums, below), against
  hashing the entries of every non-zero feature on the fly (the default: no
  table, ``8 * 64`` bytes of sums, one word of 64 bits at a time; sparse_sign
  draws each feature's E entries once per word, with a bitmap of the bits drawn,
  ``8 * ceil(T*d / 64)`` bytes). Same sums in the same order,
  so the same bits; ~12x (sparse_sign) to ~33x (ternary) faster on MNIST
  (``python -m bench.mcu``);
- local without tables: each bit's sum runs over its own window's pixels only
  (``pnet_bits`` in pnet_api_dense.c; row-major, so ascending feature ids, the
  additions of the dense kernels' lists in their order), the window hashed once per
  bit and call; ~20x slower than the tables on a 14 x 14 image;
- with ``all_sums=True`` (no tables): all ``T*d`` sums on the stack at once
  (``8 * T*d`` bytes, or ``4 * T*d``) instead of one word of 64, so sparse_sign
  draws each feature's entries once instead of once per word: ``ceil(T*d / 64)``
  times fewer hashes, no flash (ternary and gaussian hash every entry once either way);
- with ``input_type='uint8'`` (dense rows of 8-bit values: pixels, counts): the
  functions take ``const uint8_t *x`` (``pnet_input_t``) and, for ternary,
  sparse_sign and local, sum in ``int32_t``: every entry is +-1, so each partial sum is an
  integer of magnitude <= 255 * n_features (< 2**31, checked), exact as it is in
  double, and the bits equal the model's Python bits of the same values (which
  pnet also sums exactly: ``Hyperplanes.as_dense_input``). No floating point in
  the projection (a Cortex-M4 has float but no double in hardware) and 4 bytes
  per sum on the stack instead of 8. Gaussian entries keep double sums;
- the sums' type is the model's (``Hyperplanes``' ``sums``, ``PNET_FLOAT_SUMS``):
  ``float`` for float32 sums (the default of fitted models, sums='auto'; 4 bytes a
  sum, single-precision hardware on a Cortex-M4F), ``double`` for float64 sums;
  uint8 rows sum in int32 where the model's own sums of them are exact (float32
  sums: at most ``MAX_BYTE_FEATURES`` features), in ``float`` otherwise.

This module owns only the generation of C text; the formulas live in ``pnet/c/``
and in the kernels it mirrors.
"""
import os
import string
from importlib import resources

import numpy as np

from ._c_textfront import textfront_defines
from ._hyperplanes import MAX_BYTE_FEATURES, n_words
from .kernels import hashing as _hashing
from .layers import ACTIVATION_CODES
from ._modelfile import NARROW
from ._quantize import WEIGHT_BITS, pack_weights

#: values per line of the emitted arrays
PER_LINE = {"float": 6, "int": 16}
#: the projections the C runtime implements, and their PNET_PROJECTION codes
_PROJECTION_CODES = {"ternary": 0, "gaussian": 1, "sparse_sign": 2, "local": 3}
#: the projections that hyperplane_table=True can store as tables
_TABLES = ("ternary", "sparse_sign", "local")

_DENSE_API = """\
/* One dense row (what predict_one takes): PNET_N_FEATURES values of pnet_input_t. */
typedef ${ctype} pnet_input_t;

/* The class index of x (its label is pnet_class_labels[index]): predict_one(x);
 * ${reject} */
int pnet_predict(const ${ctype} *x);

/* The PNET_N_CLASSES logits of x into out: decision_function(x[None])[0]. */
void pnet_logits(const ${ctype} *x, float *out);

/* The packed projection bits of x into words[PNET_N_WORDS]: hyperplanes.project(x[None]). */
void pnet_bits(const ${ctype} *x, uint64_t *words);

#ifdef PNET_PROBA
/* The class probabilities into out[PNET_N_CLASSES] (softmax of the logits, in
 * double); returns what pnet_predict returns. */
int pnet_proba(const ${ctype} *x, double *out);
#endif
"""
#: input_type -> (the C type of a dense row's values, what pnet_predict rejects)
_INPUT_TYPES = {"float32": ("float", "-1 if x holds NaN or infinity."),
                "uint8": ("uint8_t", "never -1 (bytes are always finite).")}
#: uint8 rows with +-1 entries sum in int32: |sum| <= 255 * n_features must fit
MAX_U8_FEATURES = (2**31 - 1) // 255


_TEXT_API = """\
/* utf8, n_bytes: one text as UTF-8 bytes (NUL is an ordinary character; ill-formed
 * bytes are decoded as Python's bytes.decode('utf-8', 'replace')), at most
 * PNET_MAX_TEXT_BYTES bytes: every function returns -1 for a longer text. */

/* The class index of the text (its label is pnet_class_labels[index]): predict_one. */
int pnet_predict_text(const char *utf8, size_t n_bytes);

/* The PNET_N_CLASSES logits into out (decision_function); returns 0. */
int pnet_logits_text(const char *utf8, size_t n_bytes, float *out);

/* The packed projection bits into words[PNET_N_WORDS]; returns 0. */
int pnet_bits_text(const char *utf8, size_t n_bytes, uint64_t *words);

#ifdef PNET_PROBA
/* The class probabilities into out[PNET_N_CLASSES]; returns the class index. */
int pnet_proba_text(const char *utf8, size_t n_bytes, double *out);
#endif
"""
#: PNET_MAX_TEXT_BYTES of a text model's export unless told: the longest text it takes
MAX_TEXT_BYTES = 256


def _read_template(name):
    return resources.files("pnet").joinpath("c", name).read_text(encoding="utf-8")


# -- C literals ---------------------------------------------------------------------------
def c_float(value):
    """A float32 literal that the compiler rounds back to exactly ``value``."""
    text = "%.9g" % float(np.float32(value))
    if not any(ch in text for ch in ".e"):
        text += ".0"
    return text + "f"


def c_string(text):
    """A C string literal of ``text``'s UTF-8 bytes: printable ASCII as is (but for
    quotes, backslash and '?', which could start a trigraph), the rest in octal."""
    out = []
    for byte in text.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append("\\%03o" % byte)
    return '"' + "".join(out) + '"'


def c_array(ctype, name, values, per_line):
    """``static const ctype name[n] = {...};`` with ``per_line`` values a line."""
    values = list(values)
    lines = [", ".join(values[i:i + per_line]) for i in range(0, len(values), per_line)]
    body = ",\n    ".join(lines) if lines else "0"  # C99 has no empty initialiser
    size = max(len(values), 1)
    return f"static const {ctype} {name}[{size}] = {{\n    {body}\n}};\n"


def _uint_type(largest):
    """The smallest unsigned C type that holds ``largest``."""
    if largest < 1 << 8:
        return "uint8_t"
    return "uint16_t" if largest < 1 << 16 else "uint32_t"


# -- the model's parts ----------------------------------------------------------------------
def _layer_arrays(model):
    """The weight, scale and bias arrays of every layer, and the layer table."""
    fmt = model.quantize
    chunks, rows = [], []
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        fan_in, fan_out = W.shape
        if fmt is None:
            chunks.append(c_array("pnet_weight_t", f"pnet_w{i}", map(c_float, W.ravel()),
                                  PER_LINE["float"]))
        elif fmt in NARROW:
            chunks.append(c_array("pnet_weight_t", f"pnet_w{i}",
                                  map(str, pack_weights(W, fmt)), PER_LINE["int"]))
        else:
            chunks.append(c_array("pnet_weight_t", f"pnet_w{i}", map(str, W.ravel()),
                                  PER_LINE["int"]))
        scale = "NULL"
        if fmt is not None:
            chunks.append(c_array("float", f"pnet_s{i}", map(c_float, model.scales_[i]),
                                  PER_LINE["float"]))
            scale = f"pnet_s{i}"
        chunks.append(c_array("float", f"pnet_b{i}", map(c_float, b), PER_LINE["float"]))
        rows.append(f"    {{pnet_w{i}, {scale}, pnet_b{i}, {fan_in}u, {fan_out}u}}")
    table = ("static const pnet_layer pnet_layers[PNET_N_LAYERS] = {\n"
             + ",\n".join(rows) + "\n};\n")
    return "\n".join(chunks), table


def _hyperplane_tables(model):
    """The per-feature lists of +1 then -1 bits (``Hyperplanes.signed_lists``) as
    const arrays: sparse_sign's have E entries each, so only their +1 counts are
    written (``PNET_LIST_START`` / ``PNET_LIST_SPLIT`` in pnet_api_dense.c)."""
    indptr, split, bits = model.hyperplanes.signed_lists()
    bits_array = c_array(_uint_type(model.layer_sizes[0] - 1), "pnet_list_bits",
                         map(str, bits), PER_LINE["int"])
    if model.projection == "sparse_sign":
        E = model.hyperplanes.n_entries
        return "".join([
            "/* feature j: +1 entries at bits pnet_list_bits[j * E .. j * E +\n"
            " * pnet_list_positives[j]), -1 entries up to (j + 1) * E, E = PNET_N_ENTRIES */\n",
            c_array(_uint_type(E), "pnet_list_positives", map(str, split - indptr[:-1]),
                    PER_LINE["int"]),
            bits_array])
    index = _uint_type(int(indptr[-1]))
    return "".join([
        "/* feature j: +1 entries at bits pnet_list_bits[pnet_list_start[j] ..\n"
        " * pnet_list_split[j]), -1 entries up to pnet_list_start[j + 1] */\n",
        c_array(index, "pnet_list_start", map(str, indptr), PER_LINE["int"]),
        c_array(index, "pnet_list_split", map(str, split), PER_LINE["int"]),
        bits_array,
    ])


def _input_type_name(input_type):
    """'float32' or 'uint8' from either name or a numpy dtype (``np.uint8``)."""
    try:
        name = np.dtype(input_type).name if input_type is not None else None
    except TypeError:
        name = None
    if name not in _INPUT_TYPES:
        raise ValueError(f"input_type must be one of {sorted(_INPUT_TYPES)}, "
                         f"got {input_type!r}.")
    return name


def _check_exportable(model, hyperplane_table, max_text_bytes, input_type):
    if input_type == "uint8" and model._text:
        raise ValueError("input_type='uint8' is for models of dense rows; a text model "
                         "takes UTF-8 text.")
    if _integer_sums(model, input_type) and model.n_features_in_ > MAX_U8_FEATURES:
        raise ValueError(f"input_type='uint8' sums bytes in int32: at most "
                         f"{MAX_U8_FEATURES:,} features, this model has "
                         f"{model.n_features_in_:,}.")
    if type(max_text_bytes) is not int or max_text_bytes < 0:
        raise ValueError(f"max_text_bytes must be an int >= 0, got {max_text_bytes!r}.")
    if model.activation not in ACTIVATION_CODES:
        raise ValueError(f"activation {model.activation!r} has no C version; "
                         f"expected one of {sorted(ACTIVATION_CODES)}.")
    if model.projection not in _PROJECTION_CODES:
        raise ValueError(f"the C export does not support the {model.projection!r} "
                         f"projection; expected one of {sorted(_PROJECTION_CODES)}.")
    if hyperplane_table and (model.projection not in _TABLES or model._text):
        raise ValueError("hyperplane_table=True needs a ternary, sparse_sign or local "
                         f"projection of dense input (this model: {model.projection}"
                         f"{', text' if model._text else ''}); export without it.")


def _sum_bits(model, table, all_sums):
    """PNET_SUM_BITS: the projection sums held at once (one word, or all of them)."""
    return model.layer_sizes[0] if table or all_sums else 64


def _integer_sums(model, input_type):
    """Whether the projection sums are int32 (uint8 rows, +-1 entries), not double or
    float: where the model's own sums of uint8 rows are exact (float64 sums, or
    float32 sums of at most ``MAX_BYTE_FEATURES`` features: ``Hyperplanes.takes_bytes``)."""
    return (input_type == "uint8" and model.projection != "gaussian"
            and (model.hyperplanes.sums == "float64"
                 or model.n_features_in_ <= MAX_BYTE_FEATURES))


def _stack(model, table, all_sums, input_type):
    """(bytes, detail) of the largest arrays on the stack during one call."""
    width = max(model.layer_sizes[1:])
    sum_bytes = 4 if _integer_sums(model, input_type) or model.hyperplanes.sums == "float32" \
        else 8
    parts = [("sums", sum_bytes * _sum_bits(model, table, all_sums)),
             ("bits", 8 * n_words(model.layer_sizes[0]))]
    if model.projection == "sparse_sign" and not table:
        parts.append(("drawn-bits bitmap", 8 * n_words(model.layer_sizes[0])))

    if model.quantize is not None:
        parts.append(("int32 sums", 4 * model.layer_sizes[1]))
    if len(model.layer_sizes) > 2:
        parts.append(("layer outputs", 8 * width))
    parts.append(("logits", 4 * len(model.classes_)))
    detail = ", ".join(f"{name} {n}" for name, n in parts)
    if model._text:  # the front's bound, computed by its macro in textfront.c
        detail += ";\n * plus 12 * PNET_TF_MAX_FEATURES for the text's ids and values (pnet_model.c)"
    return sum(n for _, n in parts), detail


def _config(model, table, all_sums, input_type):
    """The configuration macros the runtime (and a text model's front) reads."""
    fmt = model.quantize
    lines = {
        "PNET_TEXT": int(model._text),
        "PNET_INPUT_U8": int(input_type == "uint8"),
        "PNET_INTEGER_SUMS": int(_integer_sums(model, input_type)),
        "PNET_FLOAT_SUMS": int(model.hyperplanes.sums == "float32"),
        **{f"PNET_{name.upper()}": code for name, code in _PROJECTION_CODES.items()},
        "PNET_PROJECTION": f"PNET_{model.projection.upper()}",
        "PNET_SEED_KEY": f"UINT64_C(0x{int(model.hyperplanes.key):016X}) /* mix64(seed) */",
        "PNET_THRESHOLD": f"UINT64_C({int(model.hyperplanes.threshold)}) /* density * 2**53 */",
        "PNET_N_ENTRIES": f"{model.hyperplanes.n_entries} /* sparse_sign: E (n_entries) */",
        **_window_macros(model),
        "PNET_HYPERPLANE_TABLE": int(table),
        "PNET_SUM_BITS": _sum_bits(model, table, all_sums),
        "PNET_WEIGHT_BITS": 32 if fmt is None else WEIGHT_BITS[fmt],
        "PNET_N_LAYERS": len(model.coefs_),
        "PNET_MAX_WIDTH": max(model.layer_sizes[1:]),
        "PNET_ACTIVATION": f"{ACTIVATION_CODES[model.activation]} /* {model.activation} */",
    }
    text = "".join(f"#define {name} {value}\n" for name, value in lines.items())
    return text + (textfront_defines(model.text_front) if model._text else "")


def _window_macros(model):
    """The 'local' projection's image and window sides, and the key of its window
    stream (``pnet.kernels.hashing.window_of``); nothing for the others."""
    if model.window is None:
        return {}
    height, width, kmin, kmax = model.window
    key = int(_hashing.feature_key(model.hyperplanes.key, _hashing.WINDOW_STREAM))
    return {"PNET_IMAGE_HEIGHT": f"{height}u", "PNET_IMAGE_WIDTH": f"{width}u",
            "PNET_WINDOW_KMIN": f"{kmin}u", "PNET_WINDOW_KMAX": f"{kmax}u",
            "PNET_WINDOW_KEY": f"UINT64_C(0x{key:016X}) /* feature_key(seed key, 2**64 - 1) */"}


def _uses_math(model):
    """Whether the C calls libm (so needs -lm): tanh/logistic layers, gaussian
    hyperplanes (cos, log), and every text model (the text front's sqrt)."""
    hidden = len(model.coefs_) > 1 and model.activation in ("tanh", "logistic")
    return hidden or model.projection == "gaussian" or model._text


# -- the two files ----------------------------------------------------------------------------
def render(model, hyperplane_table=False, max_text_bytes=MAX_TEXT_BYTES, all_sums=False,
           input_type="float32"):
    """(header text, source text) of a compact model."""
    from . import __version__

    input_type = _input_type_name(input_type)
    _check_exportable(model, hyperplane_table, max_text_bytes, input_type)
    stack_bytes, stack_detail = _stack(model, hyperplane_table, all_sums, input_type)
    if model._text:
        inputs = f"#define PNET_MAX_TEXT_BYTES {max_text_bytes}\n"
        api, runtime = _TEXT_API, ["textfront.c", "pnet_api_text.c"]
    else:
        inputs = f"#define PNET_N_FEATURES {model.n_features_in_}\n"
        ctype, reject = _INPUT_TYPES[input_type]
        api = string.Template(_DENSE_API).substitute(ctype=ctype, reject=reject)
        runtime = ["pnet_api_dense.c"]
    math = _uses_math(model)
    planes = ("const tables of per-feature lists of +1 and -1 bits (hyperplane_table=True)"
              if hyperplane_table else "regenerated by hashing, not stored")
    header = string.Template(_read_template("pnet_model.h.in")).substitute(
        description=repr(model), version=__version__, size_bytes=f"{model.size_bytes:,}",
        weight_format=f"{WEIGHT_BITS[model.quantize]} bits" if model.quantize else "float32",
        hyperplanes=planes, stack_bytes=f"{stack_bytes:,}", stack_detail=stack_detail,
        math_note=" and math.h (libm)" if math else " only",
        input_macros=inputs, n_classes=len(model.classes_), n_bits=model.layer_sizes[0],
        n_words=n_words(model.layer_sizes[0]), api=api)
    weights, layer_table = _layer_arrays(model)
    labels = ",\n".join(f"    {c_string(str(c))}" for c in model.classes_)
    parts = [
        f"/* pnet_model.c: {model!r}\n * Generated by pnet {__version__} (pnet.export_c); "
        "see pnet_model.h. */\n",
        '#include "pnet_model.h"\n',
        "#include <math.h>\n" if math else "#ifdef PNET_PROBA\n#include <math.h>\n#endif\n",
        "\n/* -- configuration ------------------------------------------------------- */\n",
        _config(model, hyperplane_table, all_sums, input_type),
        "\nconst char *const pnet_class_labels[PNET_N_CLASSES] = {\n" + labels + "\n};\n",
        "\n/* -- hyperplane tables --------------------------------------------------- */\n"
        + _hyperplane_tables(model) if hyperplane_table else "",
        "\n" + _read_template("pnet_runtime_weights.c"),
        "\n/* -- weights, scales, biases -------------------------------------------- */\n",
        weights, "\n", layer_table, "\n",
        _read_template("pnet_runtime.c"),
        *("\n" + _read_template(name) for name in runtime),
    ]
    return header, "".join(parts)


def export_c(model, outdir, hyperplane_table=False, max_text_bytes=MAX_TEXT_BYTES,
             all_sums=False, input_type="float32"):
    """Write ``pnet_model.h`` and ``pnet_model.c`` for ``model`` into ``outdir``
    (created if needed); returns their two paths. See the module docstring.

    max_text_bytes : int
        Text models only: the longest text (in UTF-8 bytes) the C takes; its
        feature buffers (on the stack) grow with it.
    all_sums : bool
        Without tables: hold all T*d projection sums at once (``8 * T*d`` bytes of
        stack, ``4 * T*d`` for int32 sums) rather than 64, so that sparse_sign
        draws each feature's entries once rather than once per word of 64 bits.
    input_type : 'float32' or 'uint8' (or np.float32 / np.uint8)
        Models of dense rows: the type of the values the C functions take
        (``pnet_input_t``). 'uint8' (8-bit pixels, counts): ternary,
        sparse_sign and local projections sum the bytes in int32, exact, so the same bits as
        the model's Python predictions of the same values, with no floating point
        in the projection (and half the stack for the sums); gaussian sums stay
        double.
    """
    header, source = render(model, hyperplane_table, max_text_bytes, all_sums, input_type)
    os.makedirs(outdir, exist_ok=True)
    paths = os.path.join(outdir, "pnet_model.h"), os.path.join(outdir, "pnet_model.c")
    for path, text in zip(paths, (header, source)):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return paths
