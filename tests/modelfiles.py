"""Model files for the tests: small models, the zip/.npy/JSON surgery that breaks
them, and ``HOSTILE``, the hostile files of issue 8 and their kin with the message
each must raise.

Shared by ``test_modelfile.py`` (loader, fuzzing), ``mutations.py`` and
``test_cli.py``. The surgery works with ``zipfile``, ``numpy.lib.format`` and
``struct`` directly, never with ``pnet._npz`` (the reader under test).
"""
import hashlib
import io
import json
import struct
import warnings
import zipfile

import numpy as np

from pnet import CompactProjectionNet, CompactTextProjectionNet
from pnet._quantize import quantize_columns

#: offsets of fields in a zip central directory entry and a local header
CENTRAL_FIELDS = {"flags": (8, "H"), "method": (10, "H"), "crc": (16, "I"),
                  "csize": (20, "I"), "size": (24, "I"), "name_len": (28, "H"),
                  "extra_len": (30, "H"), "comment_len": (32, "H"), "disk": (34, "H"),
                  "offset": (42, "I"), "needed": (6, "H"), "time": (12, "H")}
LOCAL_FIELDS = {"flags": (6, "H"), "method": (8, "H"), "crc": (14, "I"), "csize": (18, "I"),
                "size": (22, "I"), "name_len": (26, "H"), "extra_len": (28, "H"),
                "needed": (4, "H"), "time": (10, "H")}
END_FIELDS = {"disk": (4, "H"), "cd_disk": (6, "H"), "n_here": (8, "H"), "n": (10, "H"),
              "cd_size": (12, "I"), "cd_offset": (16, "I"), "comment_len": (20, "H")}


def make_model(quantize=None, hidden=(), labels="int", projection="ternary", n_features=9,
               n_projections=4, n_bits=4, n_classes=3, seed=0, activation="relu",
               density=1 / 3, text_front=None, window=None, sums="float64"):
    """A CompactProjectionNet with random weights (no training: fast); ``labels`` is
    "int", "str" or the classes themselves; a CompactTextProjectionNet (no
    ``n_features``) when ``text_front`` is given."""
    rng = np.random.default_rng(seed)
    if isinstance(labels, str):
        classes = (np.array([f"label-{i}" for i in range(n_classes)]) if labels == "str" else
                   np.arange(n_classes) * 3 + 1)
    else:
        classes = np.asarray(labels)
    sizes = [n_projections * n_bits, *hidden, n_classes]
    coefs = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(sizes, sizes[1:])]
    intercepts = [rng.standard_normal(b).astype(np.float32) for b in sizes[1:]]
    scales = None
    if quantize is not None:
        pairs = [quantize_columns(W, quantize) for W in coefs]
        coefs, scales = [p[0] for p in pairs], [p[1] for p in pairs]
    settings = dict(seed=seed + 17, n_features=n_features, n_projections=n_projections,
                    n_bits=n_bits, projection=projection, density=density,
                    activation=activation, classes=classes, coefs=coefs,
                    intercepts=intercepts, scales=scales, quantize=quantize)
    if window is not None:  # the 'local' projection's (height, width, kmin, kmax)
        settings["window"] = window
    if sums != "float64":  # the constructor's default, as files of versions 1-4 hold
        settings["sums"] = sums
    if text_front is None:
        return CompactProjectionNet(**settings)
    return CompactTextProjectionNet(**{**settings, "n_features": None},
                                    text_front=text_front)


def assert_same_model(a, b, changed=None):
    """Every setting and stored array of two models identical (types, dtypes, bytes),
    but for the settings in ``changed`` ({attribute: value}), which ``a`` must have."""
    changed = changed or {}
    for key in ("seed", "n_features_in_", "n_projections", "n_bits", "projection", "density",
                "activation", "quantize", "format_version", "window", "sums"):
        va, vb = getattr(a, key), changed.get(key, getattr(b, key))
        assert (type(va), va) == (type(vb), vb), key
    pairs = [(a.classes_, b.classes_), *zip(a.coefs_, b.coefs_),
             *zip(a.intercepts_, b.intercepts_), *zip(a.scales_ or [], b.scales_ or [])]
    assert len(a.coefs_) == len(b.coefs_) and (a.scales_ is None) == (b.scales_ is None)
    for x, y in pairs:
        assert (x.dtype, x.shape, x.tobytes()) == (y.dtype, y.shape, y.tobytes())


# -- zip members ---------------------------------------------------------------------
def members(data):
    """[(name, bytes)] of an archive, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def archive(entries, method=zipfile.ZIP_STORED):
    """A zip of [(name, bytes)] or [(name, bytes, method)], written by ``zipfile``."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(out, "w") as z:
            for name, blob, *own in entries:
                z.writestr(zipfile.ZipInfo(name), blob,
                           compress_type=own[0] if own else method)
    return out.getvalue()


def replace_member(data, name, blob):
    return archive([(n, blob if n == name else b) for n, b in members(data)])


def npy(array):
    """The .npy bytes numpy writes for ``array`` (pickles allowed: for hostile files)."""
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=True)
    return out.getvalue()


def npy_with_header(header_text, payload, version=(1, 0)):
    """.npy bytes with a hand-written header dictionary (padded as numpy pads)."""
    text = header_text.encode("latin1")
    prefix = 10 if version == (1, 0) else 12
    text += b" " * (-(prefix + len(text) + 1) % 64) + b"\n"
    size = struct.pack("<H" if prefix == 10 else "<I", len(text))
    return b"\x93NUMPY" + bytes(version) + size + text + payload


# -- the JSON header -------------------------------------------------------------------
def header_of(data):
    blob = dict(members(data))["header.npy"]
    return json.loads(np.load(io.BytesIO(blob)).tobytes())


def with_header_text(data, text):
    """The file with its header member replaced by the bytes of ``text`` (str or bytes)."""
    raw = text.encode() if isinstance(text, str) else text
    return replace_member(data, "header.npy", npy(np.frombuffer(raw, np.uint8)))


def with_header(data, edit):
    """The file with ``edit(header dict)`` applied to its header (arrays untouched)."""
    header = header_of(data)
    edit(header)
    return with_header_text(data, json.dumps(header, indent=1))


# -- raw zip fields --------------------------------------------------------------------
def central_entries(data):
    """Offsets of the central directory entries."""
    cd_offset, = struct.unpack_from("<I", data, len(data) - 6)
    n, = struct.unpack_from("<H", data, len(data) - 12)
    offsets, pos = [], cd_offset
    for _ in range(n):
        offsets.append(pos)
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, pos + 28)
        pos += 46 + name_len + extra_len + comment_len
    return offsets


def local_headers(data):
    return [struct.unpack_from("<I", data, pos + 42)[0] for pos in central_entries(data)]


def set_field(data, base, field, value):
    """``data`` with the field (offset, struct code) at ``base`` set to ``value``."""
    offset, code = field
    out = bytearray(data)
    value &= (1 << (8 * struct.calcsize(code))) - 1
    struct.pack_into("<" + code, out, base + offset, value)
    return bytes(out)


def get_field(data, base, field):
    offset, code = field
    return struct.unpack_from("<" + code, data, base + offset)[0]


def as_zip64(data):
    """The archive rewritten with zip64 directory records, as zipfile writes past 2 GiB."""
    cd_offset, = struct.unpack_from("<I", data, len(data) - 6)
    body, directory = data[:cd_offset], b""
    entries = central_entries(data)
    for pos in entries:
        head = bytearray(data[pos:pos + 46])
        name_len, extra_len, comment_len = struct.unpack_from("<3H", head, 28)
        name = data[pos + 46:pos + 46 + name_len]
        extra = data[pos + 46 + name_len:pos + 46 + name_len + extra_len]
        csize, size = struct.unpack_from("<2I", head, 20)
        offset, = struct.unpack_from("<I", head, 42)
        extra += struct.pack("<2H3Q", 1, 24, size, csize, offset)
        struct.pack_into("<2I", head, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<I", head, 42, 0xFFFFFFFF)
        struct.pack_into("<H", head, 30, len(extra))
        directory += bytes(head) + name + extra
    end64 = cd_offset + len(directory)
    record = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, len(entries),
                         len(entries), len(directory), cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, end64, 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    return body + directory + record + locator + end


# -- hostile files --------------------------------------------------------------------
def bzip2_bomb(data, mib=32):
    """coef_0.npy replaced by a bzip2 member that inflates to ``mib`` MiB of zeros."""
    n = (mib << 20) // 4
    head = npy_with_header(f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({n},), }}",
                           b"")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, blob in members(data):
            info = zipfile.ZipInfo(name)
            if name != "coef_0.npy":
                z.writestr(info, blob)
                continue
            info.compress_type = zipfile.ZIP_BZIP2
            with z.open(info, "w", force_zip64=True) as f:
                f.write(head)
                for _ in range(mib):
                    f.write(bytes(1 << 20))
    bomb = out.getvalue()
    assert len(bomb) < 8000
    return bomb


def _huge_declared_array(data):
    """coef_0.npy's header (and the JSON record) declare 1.16 TiB of float32."""
    shape = (610_000, 522_000)
    head = npy_with_header(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}",
                           np.zeros(64, np.float32).tobytes())
    edited = replace_member(data, "coef_0.npy", head)
    return with_header(edited, lambda h: h["arrays"]["coef_0"].update(shape=list(shape)))


def _with_raw_seed(data, literal):
    text = json.dumps(header_of(data), indent=1)
    assert '"seed": 17' in text
    return with_header_text(data, text.replace('"seed": 17', f'"seed": {literal}'))


def _nested(depth):
    return ('{"format": "pnet-compact", "version": 1, "x": ' + "[" * depth + "]" * depth
            + "}")


def _flags(data, value, local=True):
    out = set_field(data, central_entries(data)[0], CENTRAL_FIELDS["flags"], value)
    return set_field(out, local_headers(data)[0], LOCAL_FIELDS["flags"], value) if local \
        else out


def set_key(key, value):
    return lambda h: h.__setitem__(key, value)


def _invalid_labels(data):
    bad = np.frombuffer(np.array([0x61, 0x110000, 0x62], "<u4").tobytes(), "<U1")
    edited = replace_member(data, "classes.npy", npy(bad))
    record = {"dtype": "<U1", "shape": [3],
              "sha256": hashlib.sha256(bad.tobytes()).hexdigest()}
    return with_header(edited, lambda h: h["arrays"].__setitem__("classes", record))


HOSTILE = {  # name: (file from a base file's bytes, message)
    # the escapes listed in issue 8
    "central directory method byte": (
        lambda d: set_field(d, central_entries(d)[1], CENTRAL_FIELDS["method"], 99),
        r"member 'classes.npy' is compressed \(AES\)"),
    "encrypted flag": (lambda d: _flags(d, 1), r"member 'header.npy' is encrypted"),
    "member 'header' without .npy": (
        lambda d: archive([(n.replace("header.npy", "header"), b) for n, b in members(d)]),
        r"unexpected member 'header'"),
    "activation as a list": (lambda d: with_header(d, set_key("activation", ["relu"])),
                             r"the header's activation must be a string, got \['relu'\]"),
    "deeply nested header": (lambda d: with_header_text(d, _nested(30000)),
                             r"the header nests 30001 levels deep; .* at most 8"),
    "5,001-digit integer": (lambda d: _with_raw_seed(d, "9" * 5001),
                            r"a 5,001-character integer"),
    "1.16 TiB array declared": (_huge_declared_array,
                                r"array 'coef_0' declares <f4 \[610000, 522000\] "
                                r"\(1.16 TiB\) but holds 256 bytes"),
    "bzip2 bomb": (bzip2_bomb, r"member 'coef_0.npy' is compressed \(bzip2\)"),
    # their kin
    "deflate member": (lambda d: archive(members(d), zipfile.ZIP_DEFLATED),
                       r"member 'header.npy' is compressed \(deflate\)"),
    "lzma member": (lambda d: archive(members(d), zipfile.ZIP_LZMA),
                    r"is compressed \(lzma\)"),
    "encrypted flag in the directory only": (lambda d: _flags(d, 1, local=False),
                                             r"member 'header.npy' is encrypted"),
    "data descriptor flag": (lambda d: _flags(d, 8), r"has zip flags 0x0008"),
    "duplicate member": (lambda d: archive(members(d) + members(d)[1:2]),
                         r"member 'classes.npy' appears twice"),
    "member in a directory": (
        lambda d: archive([(f"x/{n}", b) for n, b in members(d)]),
        r"unexpected member 'x/header.npy'"),
    "size in the directory is not the stored size": (
        lambda d: set_field(d, central_entries(d)[0], CENTRAL_FIELDS["size"], 10**9),
        r"compressed size \d+ differs from size 1000000000"),
    "archive comment": (lambda d: d[:-2] + b"\x03\x00abc",
                        r"no zip end record .* archive comment"),
    "stray bytes between members": (
        lambda d: set_field(d, central_entries(d)[1], CENTRAL_FIELDS["offset"],
                            get_field(d, central_entries(d)[1], CENTRAL_FIELDS["offset"]) + 1),
        r"member 'classes.npy' starts at byte \d+, expected \d+"),
    "header too large": (lambda d: with_header(d, set_key("writer", "x" * 70000)),
                         r"the header is 7\d,\d{3} bytes; a pnet-compact header is at most "
                         r"65,536"),
    "NaN in the header": (lambda d: _with_raw_seed(d, "NaN"),
                          r"the header holds NaN, which JSON does not allow"),
    "infinite float": (lambda d: with_header_text(
        d, json.dumps(header_of(d)).replace('"density": 0.3333333333333333',
                                            '"density": 1e999')),
        r"the number '1e999', which is not finite"),
    "repeated key": (lambda d: with_header_text(d, json.dumps(header_of(d))[:-1]
                                                + ', "seed": 3}'),
                     r"the header repeats the key 'seed'"),
    "unknown key": (lambda d: with_header(d, set_key("code", "import os")),
                    r"the header has unknown keys \['code'\]"),
    "bool for an integer": (lambda d: with_header(d, set_key("n_bits", True)),
                            r"the header's n_bits must be an integer, got True"),
    "density as a string": (lambda d: with_header(d, set_key("density", "0.5")),
                            r"the header's density must be a number"),
    "float version": (lambda d: with_header(d, set_key("version", 1.0)),
                      r"unsupported pnet-compact version 1.0"),
    "64 KiB of small JSON objects": (
        lambda d: with_header_text(d, "[" + "{}," * 21000 + "{}]"),
        r"not a pnet model file \(header format None"),
    "header is a list": (lambda d: with_header_text(d, "[1, 2]"),
                         r"not a pnet model file \(header format None"),
    "header not UTF-8": (lambda d: with_header_text(d, b'{"format": "\xff"}'),
                         r"the header is not valid JSON \(not UTF-8"),
    "malformed record": (lambda d: with_header(d, lambda h: h["arrays"]["coef_0"]
                                               .__setitem__("shape", [-16, 3])),
                         r"the header's record of array 'coef_0' is malformed"),
    "layer_sizes with 10^4 layers": (lambda d: with_header(d, set_key("layer_sizes",
                                                                   [1] * 10**4)),
                                     r"lists 9999 layers but the file holds only 4 arrays"),
    "object array in .npy": (lambda d: replace_member(d, "coef_0.npy",
                                                      npy(np.array([None, 1], object))),
                             r"array 'coef_0' holds Python objects \(a pickle\)"),
    "big-endian weights": (lambda d: replace_member(d, "coef_0.npy",
                                                    npy(np.zeros((16, 3), ">f4"))),
                           r"array 'coef_0' has dtype '>f4'"),
    "structured dtype": (lambda d: replace_member(d, "classes.npy", npy_with_header(
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", bytes(12))),
        r"array 'classes' has a malformed .npy header"),
    "Fortran order": (lambda d: replace_member(d, "coef_0.npy",
                                               npy(np.asfortranarray(np.zeros((16, 3),
                                                                              "<f4")))),
                      r"array 'coef_0' is stored in Fortran order"),
    ".npy version 3.0": (lambda d: replace_member(
        d, "coef_0.npy", npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (16, 3), }",
            bytes(192), version=(3, 0))),
        r"array 'coef_0' has .npy format version 3.0"),
    "shape written oddly": (lambda d: replace_member(d, "coef_0.npy", npy_with_header(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (16,3), }", bytes(192))),
        r"array 'coef_0' has a malformed .npy shape"),
    "invalid unicode labels": (_invalid_labels,
                               r"array 'classes' holds strings with invalid unicode"),
}
