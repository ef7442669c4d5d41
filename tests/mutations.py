"""Mutations of model files for the fuzz test of ``test_modelfile.py``.

``mutate(rng, data)`` picks one of ``MUTATIONS`` (by weight) and returns the
mutated bytes and a description for the failure report. Raw mutations (byte
flips, truncations, insertions, deletions, zip field edits) may hit anything;
structured ones rebuild a valid archive around one hostile change (a header
edit, a .npy header edit, a member renamed, duplicated, dropped or compressed)
so that the CRC-32 does not catch it first. Some mutations are harmless
(reordered members, zip64 records, a new writer string, times): the file must
then load the identical model.
"""
import ast
import json
import zipfile

import numpy as np

from modelfiles import (CENTRAL_FIELDS, END_FIELDS, LOCAL_FIELDS, archive, as_zip64,
                        central_entries, get_field, header_of, local_headers, members,
                        npy_with_header, set_field, with_header, with_header_text)

#: odd JSON values put where settings, records or new keys go
VALUES = [None, True, False, -1, 0, 1, 3, 2**63, 2**64 + 1, -(2**63), 10**19, 0.5, -0.0, 2.0,
          1e308, 5e-324, "", "x", "relu", "tanh", "int8", "ternary", "<f4", "|O", "9" * 30,
          [], [1], [0, 0], [16, 3], [-1, 3], [2**40, 2**40], [[1]], [1.5], ["a"], {},
          {"a": 1}, {"dtype": "<f4", "shape": [1], "sha256": "0" * 64}, [[[[[[[[[[]]]]]]]]]]]
DESCRS = ["<f4", "|i1", "<f8", ">f4", "|O", "<U3", "<U0", "|b1", "<i8", "|V4", "<c8", "<f16",
          "<M8[s]", "|S3", "u1"]
NAMES = ["header", "HEADER.npy", "dir/coef_0.npy", "../coef_0.npy", "coef_0.npy/",
         "coef_00.npy", "coef_9.npy", "classes.NPY", "extra.npy", "a" * 70 + ".npy",
         "/classes.npy", "coef-0.npy", "clässes.npy"]
RAW_TEXT = ["", "{}", "[]", "null", "1", '"pnet-compact"', "{" * 9 + "}" * 9, "\ufeff{}",
            '{"format": "pnet-compact", "version": 1}']


#: header key -> model attribute, for settings a mutation may set to another valid value
SETTINGS = {"seed": "seed", "n_features": "n_features_in_", "projection": "projection",
            "density": "density", "activation": "activation"}
#: what the last mutation changed (model attribute -> value), set by ``mutate``'s callee
CHANGED = {}


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


# -- raw bytes ---------------------------------------------------------------------------
def flip_bytes(rng, data):
    out = bytearray(data)
    spots = rng.integers(0, len(data), int(rng.integers(1, 4))).tolist()
    for i in spots:
        out[i] ^= int(rng.integers(1, 256))
    return bytes(out), f"flip bytes {spots}"


def truncate(rng, data):
    n = int(rng.integers(0, len(data)))
    return data[:n], f"truncate to {n}"


def insert(rng, data):
    i, blob = int(rng.integers(0, len(data) + 1)), rng.bytes(int(rng.integers(1, 33)))
    return data[:i] + blob + data[i:], f"insert {len(blob)} bytes at {i}"


def delete(rng, data):
    i = int(rng.integers(0, len(data)))
    n = int(rng.integers(1, 65))
    return data[:i] + data[i + n:], f"delete {n} bytes at {i}"


def zip_field(rng, data):
    """One field of a central directory entry, a local header or the end record."""
    kind = _pick(rng, ["central", "local", "end"])
    if kind == "end":
        base, fields = len(data) - 22, END_FIELDS
    else:
        bases = central_entries(data) if kind == "central" else local_headers(data)
        base = _pick(rng, bases)
        fields = CENTRAL_FIELDS if kind == "central" else LOCAL_FIELDS
    name = _pick(rng, sorted(fields))
    old = get_field(data, base, fields[name])
    value = _pick(rng, [0, 1, 8, 9, 12, 14, 99, 0x800, 0x801, 0xFF, 0xFFFF, 0xFFFFFFFF,
                        old + 1, old - 1, old ^ (1 << int(rng.integers(16))),
                        int(rng.integers(2**32))])
    return set_field(data, base, fields[name], value), f"{kind} {name} {old} -> {value}"


# -- the JSON header ---------------------------------------------------------------------
def header_edit(rng, data):
    header = header_of(data)
    how = _pick(rng, ["set", "set", "delete", "record", "records", "raw", "harmless"])
    if how == "set":  # may make a valid, different model: then it must be this one
        key = _pick(rng, sorted(header) + ["extra"])
        value = _pick(rng, VALUES)
        CHANGED[SETTINGS.get(key, key)] = value
        return with_header(data, lambda h: h.__setitem__(key, value)), f"{key} = {value!r}"
    if how == "delete":
        key = _pick(rng, sorted(header))
        return with_header(data, lambda h: h.pop(key)), f"delete {key}"
    if how == "record":
        name = _pick(rng, sorted(header["arrays"]))
        field = _pick(rng, ["dtype", "shape", "sha256", "extra"])
        value = _pick(rng, VALUES + DESCRS + ["ab" * 32, "0" * 64, [3], [0], [16, 4]])
        return (with_header(data, lambda h: h["arrays"][name].__setitem__(field, value)),
                f"arrays.{name}.{field} = {value!r}")
    if how == "records":
        name = _pick(rng, sorted(header["arrays"]) + ["coef_7", "scale_0"])
        if name in header["arrays"] and rng.random() < 0.5:
            return with_header(data, lambda h: h["arrays"].pop(name)), f"drop record {name}"
        value = _pick(rng, VALUES)
        return (with_header(data, lambda h: h["arrays"].__setitem__(name, value)),
                f"record {name} = {value!r}")
    if how == "raw":
        return _raw_header(rng, data, header)
    text = _pick(rng, ["writer", "compact", "indent"])
    if text == "writer":
        return with_header(data, lambda h: h.__setitem__("writer", "someone else")), "writer"
    return with_header_text(data, json.dumps(header, indent=None if text == "compact" else 4)), \
        f"reformatted JSON ({text})"


def _raw_header(rng, data, header):
    text = json.dumps(header, indent=1)
    how = _pick(rng, ["replace", "number", "nest", "duplicate", "cut", "garbage", "bytes"])
    if how == "replace":
        new = _pick(rng, RAW_TEXT)
    elif how == "number":
        literal = _pick(rng, ["9" * 25, "9" * 5001, "NaN", "-Infinity", "1e999", "1" + "0" * 400
                              + ".5", "-0", "0x10", "01"])
        new = text.replace('"n_bits": ', f'"n_bits": {literal}, "x": ', 1)
    elif how == "nest":
        depth = _pick(rng, [8, 9, 100, 30000])
        new = text[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    elif how == "duplicate":
        new = text[:-1] + ', "seed": 1}'
    elif how == "cut":
        new = text[:int(rng.integers(len(text)))]
    elif how == "garbage":
        new = text + _pick(rng, [" ", "x", "{}", "\x00"])
    else:
        raw = bytearray(text.encode())
        raw[int(rng.integers(len(raw)))] = _pick(rng, [0x80, 0xFF, 0xC3, 0x00, 0x22, 0x5C])
        return with_header_text(data, bytes(raw)), "header byte"
    return with_header_text(data, new), f"raw header: {how}"


# -- .npy headers and members ------------------------------------------------------------
def npy_edit(rng, data):
    """A member's .npy header rewritten: dtype, shape, order or version."""
    entries = members(data)
    i = int(rng.integers(len(entries)))
    name, blob = entries[i]
    header_len = int.from_bytes(blob[8:10], "little")
    text = blob[10:10 + header_len].decode("latin1").strip()
    payload = blob[10 + header_len:]
    descr = _pick(rng, DESCRS) if rng.random() < 0.5 else text.split("'")[3]
    shape = text[text.index("'shape': ") + 9:text.rindex(",")]
    shape = _pick(rng, [shape, "()", "(0,)", "(1,)", "(3,)", "(10000000000000,)", "(-1,)",
                        "(2, -2)", "(16, 3, 1)", "(3, 16)", "(9223372036854775808,)",
                        "(" + "1, " * 40 + ")"]) if rng.random() < 0.7 else shape
    order = "True" if rng.random() < 0.2 else "False"
    version = (1, 0) if rng.random() < 0.8 else _pick(rng, [(2, 0), (3, 0), (0, 9)])
    if rng.random() < 0.3:  # a payload of the size the new header claims, when small
        try:
            size = int(np.prod(ast.literal_eval(shape))) * np.dtype(descr).itemsize
        except TypeError:  # a dtype numpy does not know: keep the payload
            size = -1
        if 0 <= size <= 4096:
            payload = rng.bytes(size)
    head = f"{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}"
    entries[i] = (name, npy_with_header(head, payload, version))
    return archive(entries), f"{name}: {head} v{version}"


def member_edit(rng, data):
    entries = members(data)
    i = int(rng.integers(len(entries)))
    name = entries[i][0]
    how = _pick(rng, ["drop", "duplicate", "rename", "reorder", "compress", "compress all",
                      "extra", "zip64", "payload", "comment"])
    if how == "drop":
        del entries[i]
    elif how == "duplicate":
        entries.append(entries[i])
    elif how == "rename":
        entries[i] = (_pick(rng, NAMES), entries[i][1])
        name = entries[i][0]
    elif how == "reorder":
        entries = [entries[j] for j in rng.permutation(len(entries))]
    elif how in ("compress", "compress all"):
        method = _pick(rng, [zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
        entries = [(n, b, method) if how == "compress all" or j == i else (n, b)
                   for j, (n, b) in enumerate(entries)]
    elif how == "extra":
        entries.insert(i, ("extra.npy", entries[i][1]))
    elif how == "zip64":
        return as_zip64(archive(entries)), "zip64 records"
    elif how == "payload":  # same size, valid CRC: only the sha256 can tell
        n, blob = entries[i]
        cut = len(blob) - int(rng.integers(1, min(len(blob), 64)))
        entries[i] = (n, blob[:cut] + rng.bytes(len(blob) - cut))
    else:
        out = archive(entries)
        return out[:-2] + b"\x02\x00hi", "archive comment"
    return archive(entries), f"{how} {name}"


def chained(rng, data):
    """A structured mutation, then a raw one on its result."""
    first, what = _pick(rng, [header_edit, npy_edit, member_edit])(rng, data)
    try:
        central_entries(first)
    except Exception:  # noqa: BLE001 - the first left no readable directory
        return first, what
    second, how = _pick(rng, [flip_bytes, truncate, zip_field])(rng, first)
    return second, f"{what}; then {how}"


#: (mutation, weight)
MUTATIONS = [(flip_bytes, 20), (truncate, 6), (insert, 5), (delete, 5), (zip_field, 16),
             (header_edit, 22), (npy_edit, 10), (member_edit, 10), (chained, 6)]


def mutate(rng, data):
    """(mutated bytes, description, changed) from one weighted pick of MUTATIONS.

    changed: {model attribute: value} when a setting was set to a value that may be
    valid (the file may then load, as a model with that setting), else {}.
    """
    weights = np.array([w for _, w in MUTATIONS], dtype=float)
    func = MUTATIONS[int(rng.choice(len(MUTATIONS), p=weights / weights.sum()))][0]
    CHANGED.clear()
    out, what = func(rng, data)
    changed = {k: v for k, v in CHANGED.items() if k in SETTINGS.values()}
    return out, f"{func.__name__}: {what}", changed
