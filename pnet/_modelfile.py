"""The compact model's file: format "pnet-compact", version 1, with no pickle.

An uncompressed ``.npz`` (a zip of ``.npy`` arrays) holding a ``header`` array
(uint8 bytes of a UTF-8 JSON object: format, version, the model's settings,
``layer_sizes``, ``writer`` and ``arrays: {name: {dtype, shape, sha256}}``) and
the model's arrays (``classes``, ``coef_i``, ``intercept_i``, ``scale_i`` for
int8); the table of arrays is in ``pnet.compact``'s docstring.

This module owns the bytes: writing them, and reading them back with every
check (magic, zip integrity, no pickles, header, version, array set, dtypes,
shapes, checksums), each failure a ``ModelFileError`` naming the problem.
Whether the numbers make a consistent model is ``pnet.compact``'s check.
Reading never executes code: ``np.load(..., allow_pickle=False)``.
"""
import hashlib
import io
import json
import zipfile

import numpy as np

FORMAT = "pnet-compact"
VERSION = 1
QUANTIZE = (None, "int8")
_ZIP_MAGIC = b"PK\x03\x04"


class ModelFileError(ValueError):
    """The file is not a readable pnet model file of a version this pnet supports."""


def write_model_file(settings, layer_sizes, arrays):
    """The bytes of a model file holding ``arrays`` described by ``settings``."""
    from . import __version__

    header = {"format": FORMAT, "version": VERSION, **settings,
              "layer_sizes": layer_sizes, "writer": f"pnet {__version__}",
              "arrays": {name: _describe(a) for name, a in arrays.items()}}
    text = json.dumps(header, indent=1).encode("utf-8")
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(text, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def read_file_bytes(path):
    """A file's bytes, refusing at once anything that does not start as a zip."""
    with open(path, "rb") as f:
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


# --------------------------------------------------------------- file format ----
def _sha256(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def _describe(a):
    return {"dtype": a.dtype.str, "shape": list(a.shape), "sha256": _sha256(a)}


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


def _expected_arrays(settings):
    n_layers = len(settings["layer_sizes"]) - 1
    names = {"classes"}
    for i in range(n_layers):
        names |= {f"coef_{i}", f"intercept_{i}"}
        if settings["quantize"] == "int8":
            names.add(f"scale_{i}")
    return names


def _read_array(npz, name, source):
    try:
        return npz[name]
    except ValueError as exc:
        if "pickle" in str(exc) or "Object arrays" in str(exc):
            raise ModelFileError(f"{source}: array {name!r} holds Python objects (a pickle); "
                                 "pnet model files never do, refusing to load it.") from exc
        raise ModelFileError(f"{source}: array {name!r} is corrupted: {exc}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ModelFileError(f"{source}: array {name!r} is truncated or corrupted: "
                             f"{exc}") from exc


def _read_header(npz, source):
    header = _read_array(npz, "header", source)
    if header.dtype != np.uint8 or header.ndim != 1:
        raise ModelFileError(f"{source}: not a pnet model file: 'header' is not a JSON "
                             "byte array.")
    try:
        header = json.loads(header.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source}: the header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{source}: not a pnet model file (header format "
                             f"{header.get('format') if isinstance(header, dict) else None!r}, "
                             f"expected {FORMAT!r}).")
    version = header.get("version")
    if version != VERSION or isinstance(version, bool):
        newer = isinstance(version, int) and version > VERSION
        raise ModelFileError(
            f"{source}: unsupported {FORMAT} version {version!r}: this pnet reads version "
            f"{VERSION}" + (" (the file was written by a newer pnet)." if newer else "."))
    keys = ("seed", "n_features", "n_projections", "n_bits", "projection", "density",
            "activation", "quantize", "layer_sizes", "arrays")
    missing = [k for k in keys if k not in header]
    if missing:
        raise ModelFileError(f"{source}: the header lacks {missing}.")
    sizes = header["layer_sizes"]
    if not (isinstance(sizes, list) and len(sizes) >= 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes)):
        raise ModelFileError(f"{source}: the header's layer_sizes {sizes!r} is not a list of "
                             "at least 2 positive integers.")
    if header["quantize"] not in QUANTIZE:
        raise ModelFileError(f"{source}: unknown quantize {header['quantize']!r} in the "
                             "header (expected null or 'int8').")
    if not isinstance(header["arrays"], dict) or not all(
            isinstance(r, dict) and {"dtype", "shape", "sha256"} <= set(r)
            for r in header["arrays"].values()):
        raise ModelFileError(f"{source}: the header's 'arrays' table is malformed.")
    return header


def read_model_file(data, source):
    """(settings dict, arrays dict) of a model file's bytes, every check done."""
    if not data.startswith(_ZIP_MAGIC):
        raise ModelFileError(f"{source}: not a pnet model file ({_what_is(data[:4])}).")
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ModelFileError(f"{source}: truncated or corrupted model file (not a readable "
                             f"zip archive: {exc}).") from exc
    with npz:
        names = set(npz.files)
        if "header" not in names:
            raise ModelFileError(f"{source}: not a pnet model file: no 'header' array "
                                 f"(arrays: {sorted(names)}).")
        header = _read_header(npz, source)
        expected = _expected_arrays(header)
        missing, extra = expected - names, names - expected - {"header"}
        if missing:
            raise ModelFileError(f"{source}: missing arrays {sorted(missing)}.")
        if extra:
            raise ModelFileError(f"{source}: unexpected arrays {sorted(extra)}; a "
                                 f"{FORMAT} file holds exactly {sorted(expected)}.")
        if set(header["arrays"]) != expected:
            raise ModelFileError(f"{source}: the header lists arrays "
                                 f"{sorted(header['arrays'])}, expected {sorted(expected)}.")
        arrays = {}
        for name in sorted(expected):
            a = _read_array(npz, name, source)
            record = header["arrays"][name]
            if a.dtype.str != record["dtype"] or list(a.shape) != record["shape"]:
                raise ModelFileError(
                    f"{source}: array {name!r} is {a.dtype.str} {list(a.shape)} but the "
                    f"header says {record['dtype']} {record['shape']}.")
            if _sha256(a) != record["sha256"]:
                raise ModelFileError(f"{source}: checksum mismatch for array {name!r}: the "
                                     "file is corrupted.")
            arrays[name] = a
    sizes = header["layer_sizes"]
    shapes = [arrays[f"coef_{i}"].shape for i in range(len(sizes) - 1)]
    if [list(s) for s in shapes] != [[a, b] for a, b in zip(sizes[:-1], sizes[1:])]:
        raise ModelFileError(f"{source}: weight shapes {shapes} do not match the header's "
                             f"layer_sizes {sizes}.")
    keys = ("seed", "n_features", "n_projections", "n_bits", "projection", "density",
            "activation", "quantize", "layer_sizes")
    return {k: header[k] for k in keys}, arrays
