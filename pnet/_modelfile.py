"""The compact model's file: format "pnet-compact", versions 1 to 5, with no pickle.

An uncompressed ``.npz`` (a zip of ``.npy`` arrays) holding a ``header`` array
(uint8 bytes of a UTF-8 JSON object: format, version, the model's settings,
``layer_sizes``, ``writer`` and ``arrays: {name: {dtype, shape, sha256}}``) and
the model's arrays (``classes``, ``coef_i``, ``intercept_i``, ``scale_i`` for
int8); the table of arrays is in ``pnet.compact``'s docstring.

This module owns the bytes: writing them (``numpy.savez``), and reading them
back with every check, in this order, each failure a ``ModelFileError`` naming
the problem (and no other exception, whatever the bytes):

1. the container (``pnet._npz``): a zip archive of stored, unencrypted
   ``<name>.npy`` members laid out back to back, each CRC-32 intact;
2. the JSON header: at most ``MAX_HEADER_BYTES``, nested at most ``MAX_DEPTH``
   deep, integer literals of at most ``MAX_INT_CHARS`` characters, no NaN or
   Infinity, no repeated key; its format and version;
3. per version (``_READERS``): the keys and the JSON type of every setting,
   the table of arrays the settings call for (``_expected_v1``), and every
   array's dtype and shape, from its ``.npy`` header, against that table and
   against the header's record, before the array is allocated; then its sha256.

So reading allocates the file's bytes, the arrays (whose sizes the file's own
size bounds: members are stored uncompressed) and a bounded header; it never
executes code. Whether the numbers make a consistent model (value ranges,
names, finite weights) is ``pnet.compact``'s check.

A later version adds its reader to ``_READERS`` (with its own table of arrays
and settings); the container and steps 1-2 are shared.
"""
import hashlib
import io
import json
import math
import os
import re
import stat

import numpy as np

from . import _npz

FORMAT = "pnet-compact"
VERSION = 5  #: the newest version this pnet reads and writes
QUANTIZE = (None, "int8")  #: version 1's formats (a model in one of them is written as v1)
PROJECTIONS_V1 = ("ternary", "gaussian")  #: the projections of versions 1 and 2
#: version 2's narrow formats and their bits per stored weight
NARROW = {"int4": 4, "ternary": 2}
QUANTIZE_V2 = (*QUANTIZE, *NARROW)
#: largest JSON header read (pnet writes ~1 KB for a model with a hidden layer)
MAX_HEADER_BYTES = 1 << 16
#: deepest nesting of JSON objects and lists in the header (pnet writes 4)
MAX_DEPTH = 8
#: longest integer literal in the header (a seed < 2**63 has 19 digits)
MAX_INT_CHARS = 20
_ZIP_MAGIC = b"PK\x03\x04"
_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]', re.DOTALL)  # an escape, a quote or a bracket
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelFileError(ValueError):
    """The file is not a readable pnet model file of a version this pnet supports."""


def write_model_file(settings, layer_sizes, arrays):
    """The bytes of a model file holding ``arrays`` described by ``settings``.

    Version 1 when the model fits it (float32 or int8, no text front), so that
    older pnet versions read it; version 2 otherwise.
    """
    from . import __version__

    version = file_version(settings)
    header = {"format": FORMAT, "version": version, **settings,
              "layer_sizes": layer_sizes, "writer": f"pnet {__version__}",
              "arrays": {name: _describe(a) for name, a in arrays.items()}}
    text = json.dumps(header, indent=1).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(text, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def file_version(settings):
    """The version a model with these settings is written as, the oldest that holds
    it, so older pnet versions read it: 1 (float32 or int8, ternary or gaussian, no
    text front), 2 (adds int4, ternary weights and the text front), 3 (adds the
    sparse_sign projection), 4 (adds the local projection), 5 (adds float32
    projection sums: the key ``sums``, absent for float64 sums)."""
    if settings.get("sums", "float64") != "float64":
        return 5
    if settings["projection"] == "local":
        return 4
    if settings["projection"] not in PROJECTIONS_V1:
        return 3
    return 1 if settings["quantize"] in QUANTIZE and "text_front" not in settings else 2


def read_file_bytes(path):
    """A regular file's bytes, refusing at once anything that does not start as a zip."""
    try:
        f = open(path, "rb")
    except IsADirectoryError:
        raise ModelFileError(f"{path}: is a directory, not a pnet model file.") from None
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ModelFileError(f"{path}: not a regular file, so not a pnet model file.")
        head = f.read(len(_ZIP_MAGIC))
        if head != _ZIP_MAGIC:
            raise ModelFileError(f"{path}: not a pnet model file ({_what_is(head)}).")
        return head + f.read()


def classes_for_file(classes):
    """Class labels as a pickle-free array: numbers, bools or unicode strings."""
    if classes.dtype == object:
        converted = np.array(classes.tolist())
        if converted.dtype.kind not in "biufU" or converted.shape != classes.shape or \
                not all(a == b for a, b in zip(converted.tolist(), classes.tolist())):
            raise ValueError("classes_ must be numbers or strings to be saved without "
                             f"pickle, got {classes[:5].tolist()!r}...")
        classes = converted
    if classes.dtype.kind not in "biufU":
        raise ValueError(f"classes_ of dtype {classes.dtype} cannot be saved; use numbers "
                         "or strings as labels.")
    return np.ascontiguousarray(classes)


def read_model_file(data, source):
    """(settings dict, arrays dict) of a model file's bytes, every check done."""
    if not data.startswith(_ZIP_MAGIC):
        raise ModelFileError(f"{source}: not a pnet model file ({_what_is(data[:4])}).")
    try:
        members = _npz.members(data)
        header = _read_header(data, members)
        return _READERS[header["version"]](header, data, members)
    except (ModelFileError, _npz.ArchiveError) as exc:
        raise ModelFileError(f"{source}: {exc}") from None


# ----------------------------------------------------------------- version 1 ----
def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


#: the settings of a version 1 header: key -> (test of its JSON value, what it must be)
_SETTINGS_V1 = {
    "seed": (_is_int, "an integer"),
    "n_features": (_is_int, "an integer"),
    "n_projections": (_is_int, "an integer"),
    "n_bits": (_is_int, "an integer"),
    "projection": (lambda v: v in PROJECTIONS_V1, " or ".join(map(json.dumps, PROJECTIONS_V1))),
    "density": (lambda v: isinstance(v, float), "a number with a decimal point"),
    "activation": (lambda v: isinstance(v, str), "a string"),
    "quantize": (lambda v: v is None or v == "int8", "null or \"int8\""),
    "layer_sizes": (lambda v: isinstance(v, list) and len(v) >= 2
                    and all(_is_int(n) and n >= 1 for n in v),
                    "a list of at least 2 positive integers"),
}
_KEYS_V1 = {"format", "version", "arrays", *_SETTINGS_V1}
_OPTIONAL_V1 = {"writer"}
#: version 1: the arrays of layer i and their dtypes, by quantize
_LAYER_ARRAYS_V1 = {None: {"coef": "<f4", "intercept": "<f4"},
                    "int8": {"coef": "|i1", "intercept": "<f4", "scale": "<f4"}}


def _expected_v1(quantize, sizes):
    """{array name: (dtype or None for any label dtype, shape)} of a version 1 file."""
    expected = {"classes": (None, (sizes[-1],))}
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for kind, descr in _LAYER_ARRAYS_V1[quantize].items():
            expected[f"{kind}_{i}"] = (descr, (fan_in, fan_out) if kind == "coef" else
                                       (fan_out,))
    return expected


def _read_v1(header, data, members):
    return _read_version(header, data, members, _SETTINGS_V1, _OPTIONAL_V1, _expected_v1)


def _read_version(header, data, members, settings_table, optional, expected_arrays):
    """Settings and arrays of a header of one version, given that version's tables."""
    keys = {"format", "version", "arrays", *settings_table}
    missing = sorted(keys - set(header))
    unknown = sorted(set(header) - keys - optional)
    if missing:
        raise ModelFileError(f"the header lacks {missing}.")
    if unknown:
        raise ModelFileError(f"the header has unknown keys {_short(unknown)}; a {FORMAT} "
                             f"version {header['version']} header holds "
                             f"{sorted(keys | optional)}.")
    for key, (test, what) in settings_table.items():
        if not test(header[key]):
            if key == "quantize":
                raise ModelFileError(f"unknown quantize {_short(header[key])} in the header "
                                     f"(expected {what}).")
            raise ModelFileError(f"the header's {key} must be {what}, got "
                                 f"{_short(header[key])}.")
    if not isinstance(header.get("writer", ""), str):
        raise ModelFileError("the header's writer must be a string.")
    if not isinstance(header.get("text_front", {}), dict):
        raise ModelFileError("the header's text_front must be an object.")
    sizes = header["layer_sizes"]
    if len(sizes) - 1 > len(members):
        raise ModelFileError(f"the header's layer_sizes lists {len(sizes) - 1} layers but "
                             f"the file holds only {len(members)} arrays.")
    expected = expected_arrays(header["quantize"], sizes)
    names = set(members) - {"header"}
    if expected.keys() - names:
        raise ModelFileError(f"missing arrays {sorted(expected.keys() - names)}.")
    if names - expected.keys():
        raise ModelFileError(f"unexpected arrays {sorted(names - expected.keys())}; this "
                             f"{FORMAT} file holds exactly {sorted(expected)}.")
    records = _check_records(header["arrays"], expected)
    arrays = {}
    for name, (descr, shape) in expected.items():
        array = _npy(data, members, name)
        record = records[name]
        if descr is not None and array.descr != descr:
            raise ModelFileError(
                f"array {name!r} is {array.descr}, but {header['quantize'] or 'float32'} "
                f"files store {descr}.")
        if array.descr != record["dtype"] or list(array.shape) != record["shape"]:
            raise ModelFileError(
                f"array {name!r} is {array.descr} {list(array.shape)} but the header says "
                f"{_short(record['dtype'])} {_short(record['shape'])}.")
        if array.shape != shape:
            raise ModelFileError(f"array {name!r} has shape {list(array.shape)}, but the "
                                 f"header's layer_sizes {sizes} make it {list(shape)}.")
        if hashlib.sha256(array.payload).hexdigest() != record["sha256"]:
            raise ModelFileError(f"checksum mismatch for array {name!r}: the file is "
                                 "corrupted.")
        try:
            arrays[name] = _npz.to_array(array)
        except _npz.ArchiveError as exc:
            raise ModelFileError(f"array {name!r} {exc}") from None
    settings = {key: header[key] for key in settings_table}
    if "text_front" in header:
        settings["text_front"] = header["text_front"]
    return settings, arrays



# ----------------------------------------------------------------- version 2 ----
#: version 2 adds the narrow formats (weights packed into uint8 streams: 4 or 2 bits
#: per value, ``pnet._quantize.pack_weights``) and an optional ``text_front`` object
#: (the text model's front, ``pnet.textfront``)
_SETTINGS_V2 = {**_SETTINGS_V1,
                "n_features": (lambda v: v is None or _is_int(v), "an integer or null"),
                "quantize": (lambda v: v in QUANTIZE_V2, " or ".join(map(json.dumps,
                                                                           QUANTIZE_V2)))}
_OPTIONAL_V2 = {"writer", "text_front"}


def _expected_v2(quantize, sizes):
    """{array name: (dtype, shape)} of a version 2 file: coef_i packed (bytes,) uint8 for
    the narrow formats, as version 1 otherwise."""
    expected = _expected_v1(None if quantize is None else "int8", sizes)
    if quantize in NARROW:
        bits = NARROW[quantize]
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            expected[f"coef_{i}"] = ("|u1", (-(-fan_in * fan_out * bits // 8),))
    return expected


def _read_v2(header, data, members):
    return _read_version(header, data, members, _SETTINGS_V2, _OPTIONAL_V2, _expected_v2)


def _check_records(records, expected):
    """The header's ``arrays`` table, checked: a {dtype, shape, sha256} per expected array."""
    if not isinstance(records, dict):
        raise ModelFileError("the header's 'arrays' table is malformed (not an object).")
    if set(records) != set(expected):
        raise ModelFileError(f"the header lists arrays {_short(sorted(records))}, expected "
                             f"{sorted(expected)}.")
    for name, r in records.items():
        if not (isinstance(r, dict) and set(r) == {"dtype", "shape", "sha256"}
                and isinstance(r["dtype"], str) and isinstance(r["shape"], list)
                and all(_is_int(n) and n >= 0 for n in r["shape"])
                and isinstance(r["sha256"], str) and _SHA256.fullmatch(r["sha256"])):
            raise ModelFileError(f"the header's record of array {name!r} is malformed "
                                 f"({_short(r)}); expected {{dtype: str, shape: [int, ...], "
                                 "sha256: 64 hex digits}.")
    return records


# ----------------------------------------------------------------- version 3 ----
#: version 3 adds the sparse_sign projection (``pnet.kernels.hashing``): the same
#: settings and arrays as version 2, ``density`` giving its entries per feature
PROJECTIONS_V3 = (*PROJECTIONS_V1, "sparse_sign")
_SETTINGS_V3 = {**_SETTINGS_V2,
                "projection": (lambda v: v in PROJECTIONS_V3,
                               " or ".join(map(json.dumps, PROJECTIONS_V3)))}


def _read_v3(header, data, members):
    return _read_version(header, data, members, _SETTINGS_V3, _OPTIONAL_V2, _expected_v2)


# ----------------------------------------------------------------- version 4 ----
#: version 4 adds the 'local' projection (``pnet.kernels.hashing``, windows of an
#: image): version 3's settings and arrays, the projection "local", and the key
#: ``window`` = [height, width, kmin, kmax], present exactly for it
PROJECTIONS_V4 = (*PROJECTIONS_V3, "local")
_SETTINGS_V4 = {**_SETTINGS_V3,
                "projection": (lambda v: v in PROJECTIONS_V4,
                               " or ".join(map(json.dumps, PROJECTIONS_V4)))}


def _is_window(v):
    return isinstance(v, list) and len(v) == 4 and all(_is_int(n) and n >= 1 for n in v)


def _read_v4(header, data, members):
    local = header.get("projection") == "local"
    if local != ("window" in header):
        raise ModelFileError("the header's window ([height, width, kmin, kmax]) is given "
                             "exactly for the \"local\" projection.")
    if local and not _is_window(header["window"]):
        raise ModelFileError(f"the header's window must be 4 positive integers "
                             f"[height, width, kmin, kmax], got {_short(header['window'])}.")
    settings, arrays = _read_version(header, data, members, _SETTINGS_V4,
                                     _OPTIONAL_V2 | {"window"}, _expected_v2)
    if local:
        settings["window"] = header["window"]
    return settings, arrays


# ----------------------------------------------------------------- version 5 ----
#: version 5 adds float32 projection sums (``pnet.Hyperplanes``' ``sums``, a new hash):
#: version 4's settings and arrays and the key ``sums`` = "float32" (+-1 projections
#: only); files of versions 1-4, without the key, sum in float64
SUMS_V5 = ("float32",)


def _read_v5(header, data, members):
    if header.get("sums") not in SUMS_V5:
        raise ModelFileError(f"a version 5 header's sums must be "
                             f"{' or '.join(map(json.dumps, SUMS_V5))}, got "
                             f"{_short(header.get('sums'))}.")
    if header.get("projection") == "gaussian":
        raise ModelFileError("float32 sums need +-1 hyperplane entries; the header's "
                             "projection is \"gaussian\".")
    rest = {k: v for k, v in header.items() if k != "sums"}
    settings, arrays = _read_v4(rest, data, members)
    settings["sums"] = header["sums"]
    return settings, arrays


_READERS = {1: _read_v1, 2: _read_v2, 3: _read_v3, 4: _read_v4, 5: _read_v5}


# ------------------------------------------------------------ the JSON header ----
def _read_header(data, members):
    """The header's JSON object, after its format and a supported version are checked."""
    if "header" not in members:
        raise ModelFileError(f"not a pnet model file: no 'header' array (arrays: "
                             f"{_short(sorted(members))}).")
    array = _npy(data, members, "header")
    if array.descr != "|u1" or len(array.shape) != 1:
        raise ModelFileError("not a pnet model file: 'header' is not a JSON byte array.")
    if len(array.payload) > MAX_HEADER_BYTES:
        raise ModelFileError(f"the header is {len(array.payload):,} bytes; a {FORMAT} header "
                             f"is at most {MAX_HEADER_BYTES:,}.")
    header = _parse_json(bytes(array.payload))
    form = header.get("format") if isinstance(header, dict) else None
    if form != FORMAT:
        raise ModelFileError(f"not a pnet model file (header format {_short(form)}, "
                             f"expected {FORMAT!r}).")
    version = header.get("version")
    if not _is_int(version) or version not in _READERS:
        newer = _is_int(version) and version > VERSION
        raise ModelFileError(
            f"unsupported {FORMAT} version {_short(version)}: this pnet reads version "
            f"{VERSION}" + (" (the file was written by a newer pnet)." if newer else "."))
    return header


def _parse_json(raw):
    """The JSON value in ``raw``, with the limits of the module docstring."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"the header is not valid JSON (not UTF-8: {exc}).") from None
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise ModelFileError(f"the header nests {depth} levels deep; a {FORMAT} header "
                             f"nests at most {MAX_DEPTH}.")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"the header is not valid JSON: {exc}") from None


def _depth(text):
    """Deepest nesting of [ and { outside strings, in one left-to-right pass."""
    depth = deepest = 0
    in_string = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or token[0] == "\\":
            continue
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _parse_int(literal):
    if len(literal) > MAX_INT_CHARS:
        raise ModelFileError(f"the header holds a {len(literal):,}-character integer; "
                             f"at most {MAX_INT_CHARS} characters are read.")
    return int(literal)


def _parse_float(literal):
    value = float(literal)
    if not math.isfinite(value):
        raise ModelFileError(f"the header holds the number {_short(literal)}, which is not "
                             "finite.")
    return value


def _parse_constant(name):
    raise ModelFileError(f"the header holds {name}, which JSON does not allow.")


def _object(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ModelFileError(f"the header repeats the key {_short(key)}.")
        result[key] = value
    return result


# ------------------------------------------------------------------- helpers ----
def _npy(data, members, name):
    """A member's checked .npy header and payload (``pnet._npz.read_npy_header``)."""
    try:
        return _npz.read_npy_header(data, members[name])
    except _npz.ArchiveError as exc:
        raise ModelFileError(f"array {name!r} {exc}") from None


def _sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _describe(a):
    return {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha256(a)}


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _what_is(head):
    """A guess at what a non-zip file is, for the error message."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUM"):
        return "a single .npy array, not a model archive"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith(b"\x80"):
        return "a Python pickle; pnet model files never contain pickles"
    return "not a zip/.npz archive"
