"""The model file (``pnet._modelfile``, ``pnet._npz``): old files, corrupt and hostile
files, and a fuzz test.

Every file that is not an intact pnet-compact file must raise ``ModelFileError``
and nothing else, without allocating much more than its own size. The fuzz test
mutates real model files (``PNET_FUZZ_CASES`` cases, default 2,000, a few
seconds); the full run, at least 10,000 cases::

    PNET_FUZZ_CASES=20000 python -m pytest tests/test_modelfile.py -k fuzz
"""
import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import pnet
from modelfiles import (CENTRAL_FIELDS, HOSTILE, LOCAL_FIELDS, archive, as_zip64,
                        assert_same_model, bzip2_bomb, central_entries, local_headers,
                        make_model, members, set_field, set_key)
from pnet import CompactProjectionNet, ModelFileError

DATA = Path(__file__).parent / "data"
FUZZ_CASES = int(os.environ.get("PNET_FUZZ_CASES", "2000"))
#: a load may allocate this many times the file's size, plus this constant (the
#: arrays, their checks, the dequantised later layers, a JSON header of 64 KiB)
MEMORY_FACTOR, MEMORY_CONSTANT = 8, 2 << 20

BASES = {"float32-flat-int": {}, "float32-hidden-str": dict(hidden=(5,), labels="str"),
         "int8-flat-str": dict(quantize="int8", labels="str", projection="gaussian"),
         "int8-hidden-int": dict(quantize="int8", hidden=(6, 4)),
         "int4-hidden-str (v2)": dict(quantize="int4", hidden=(5,), labels="str"),
         "ternary-flat-int (v2)": dict(quantize="ternary", n_bits=5),
         "sparse_sign-int8 (v3)": dict(quantize="int8", projection="sparse_sign"),
         "sparse_sign-float32-hidden (v3)": dict(projection="sparse_sign", hidden=(5,)),
         "float32-sums-int8 (v5)": dict(quantize="int8", sums="float32"),
         "float32-sums-ternary-str (v5)": dict(quantize="ternary", labels="str",
                                               projection="sparse_sign", sums="float32")}


@pytest.fixture(scope="module")
def bases():
    """name -> (file bytes, model loaded from them): new files and files written before."""
    files = {name: make_model(**kw, seed=i).to_bytes() for i, (name, kw) in
             enumerate(BASES.items())}
    files.update({p.stem: p.read_bytes() for p in sorted(DATA.glob("*.pnet"))})
    return {name: (data, CompactProjectionNet.from_bytes(data)) for name, data in files.items()}


def _load_error(data):
    with pytest.raises(ModelFileError) as info:
        CompactProjectionNet.from_bytes(data, source="m.pnet")
    message = str(info.value)
    assert message.startswith("m.pnet: ") and "\n" not in message
    return message


# -- files written before load, and round trips ----------------------------------------
@pytest.mark.parametrize("quantize, version", [(None, 1), ("int8", 1), ("int4", 2),
                                               ("ternary", 2)])
@pytest.mark.parametrize("hidden", [(), (7,)])
def test_every_format_round_trips_in_the_oldest_version_that_holds_it(quantize, version,
                                                                       hidden):
    model = make_model(quantize, hidden=hidden, n_projections=5, n_bits=7)  # 35 bits: odd
    data = model.to_bytes()
    loaded = CompactProjectionNet.from_bytes(data)
    assert loaded.format_version == model.format_version == version
    assert_same_model(loaded, model)
    assert loaded.size_bytes == model.size_bytes
    X = np.random.default_rng(0).random((20, 9))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    if version == 2:  # a narrow format packs its weights: the file is smaller
        assert len(data) < len(make_model("int8", hidden=hidden, n_projections=5,
                                          n_bits=7).to_bytes())


def test_narrow_values_out_of_range_are_refused():
    # ternary stores 2 bits: the code 0b10 (-2) is not a ternary value
    model = make_model("ternary", n_bits=4)
    bad = model.coefs_[0].copy()
    bad[0, 0] = -2
    with pytest.raises(ValueError, match="exceed the ternary range"):
        CompactProjectionNet(**{**dict(seed=model.seed, n_features=9, n_projections=4,
                                       n_bits=4, projection="ternary", density=1 / 3,
                                       activation="relu", classes=model.classes_,
                                       coefs=[bad], intercepts=model.intercepts_,
                                       scales=model.scales_, quantize="ternary")})
def test_files_written_before_still_load(monkeypatch):
    """tests/data: written by pnet before the hardened reader (numpy 1.24 and 2.4 alike).
    They name pnet 0.1.0 as their writer; today's writer, under that name, must give
    the same bytes."""
    monkeypatch.setattr(pnet, "__version__", "0.1.0")
    spec = importlib.util.spec_from_file_location("make_model_files",
                                                  DATA / "make_model_files.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    expected = maker.golden_models(CompactProjectionNet)
    assert sorted(expected) == sorted(p.stem for p in DATA.glob("*.pnet"))
    for name, model in expected.items():
        loaded = pnet.load(DATA / f"{name}.pnet")
        assert_same_model(loaded, model)
        assert model.to_bytes() == (DATA / f"{name}.pnet").read_bytes()  # same writer


@pytest.mark.parametrize("name", BASES)
def test_round_trip_and_equivalent_layouts(bases, name):
    """The same members in another valid zip layout load the same model: zipfile's
    own local headers, reordered members, zip64 directory records."""
    data, model = bases[name]
    assert_same_model(CompactProjectionNet.from_bytes(model.to_bytes()), model)
    plain = archive(members(data))
    reordered = archive(members(data)[::-1])
    zip64 = as_zip64(data)
    with zipfile.ZipFile(io.BytesIO(zip64)) as z:  # the helper writes valid zip64
        assert z.testzip() is None
    for variant in (plain, reordered, zip64, as_zip64(reordered)):
        assert variant != data
        assert_same_model(CompactProjectionNet.from_bytes(variant), model)


def test_ignored_zip_fields_do_not_matter(bases):
    """Times, 'version needed' and the like are not read: changing them changes nothing."""
    data, model = bases["int8-hidden-int"]
    for base, fields in ((central_entries(data)[1], CENTRAL_FIELDS),
                         (local_headers(data)[2], LOCAL_FIELDS)):
        for field in ("needed", "time"):
            edited = set_field(data, base, fields[field], 0xFFFF)
            assert_same_model(CompactProjectionNet.from_bytes(edited), model)


def test_missing_file_directory_and_device(tmp_path):
    with pytest.raises(FileNotFoundError):
        pnet.load(tmp_path / "nope.pnet")
    with pytest.raises(ModelFileError, match="is a directory, not a pnet model file"):
        pnet.load(tmp_path)
    with pytest.raises(ModelFileError, match="not a regular file"):
        pnet.load(os.devnull)


@pytest.mark.parametrize("key, value, match", [
    ("activation", ["relu"], r"activation must be one of .*, got \['relu'\]"),
    ("projection", ["ternary"], r"projection must be one of .*, got \['ternary'\]"),
    ("n_features", 2**63, r"n_features must be an integer in \[1, 9223372036854775807\]"),
])
def test_constructor_rejects_wrong_types_with_value_error(key, value, match):
    """The settings check behind from_bytes raises ValueError (-> ModelFileError)."""
    model = make_model()
    settings = dict(seed=model.seed, n_features=9, n_projections=4, n_bits=4,
                    projection="ternary", density=0.5, activation="relu",
                    classes=model.classes_, coefs=model.coefs_, intercepts=model.intercepts_)
    with pytest.raises(ValueError, match=match):
        CompactProjectionNet(**{**settings, key: value})


def test_save_refuses_unsaveable_labels():
    model = make_model()
    model.classes_ = np.array([object() for _ in model.classes_], dtype=object)
    with pytest.raises(ValueError, match="numbers or strings"):
        model.to_bytes()


# -- the hostile files of issue 8, and their kin ------------------------------------------
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_files_raise_model_file_error(bases, case):
    """Each raises ModelFileError naming the problem, with little memory traced."""
    data, _ = bases["float32-flat-int"]
    build, match = HOSTILE[case]
    bad = build(data)
    tracemalloc.start()
    try:
        message = _load_error(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert re.search(match, message), message
    assert peak < MEMORY_FACTOR * len(bad) + MEMORY_CONSTANT, (case, peak)


def test_bzip2_bomb_is_not_decompressed(bases):
    """numpy's own reader would inflate the member (32 MiB); pnet reads nothing of it."""
    bomb = bzip2_bomb(bases["float32-flat-int"][0])
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        assert z.getinfo("coef_0.npy").file_size > 32 << 20
    tracemalloc.start()
    try:
        _load_error(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_memory_of_a_valid_load_is_bounded():
    """A 4 MB model: the load traces about the arrays once (plus checks), not more."""
    model = make_model(n_projections=64, n_bits=64, hidden=(256,), n_classes=10)
    data = model.to_bytes()
    tracemalloc.start()
    try:
        loaded = CompactProjectionNet.from_bytes(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_same_model(loaded, model)
    assert len(data) < peak < 3 * len(data)


# -- corrupt and foreign files (messages) -------------------------------------------------
def _describe(a):
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str, "shape": list(a.shape),
            "sha256": hashlib.sha256(a.tobytes()).hexdigest()}


def _rewrite(data, edit_arrays=None, edit_header=None, fix_records=True):
    """A model file's bytes with its arrays and/or header edited (checksums redone)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays.pop("header").tobytes())
    if edit_arrays:
        edit_arrays(arrays)
    if fix_records:
        old = header["arrays"]  # an object array keeps its record (if any)
        header["arrays"] = {k: _describe(a) if a.dtype != object else old[k]
                            for k, a in arrays.items() if a.dtype != object or k in old}
    if edit_header:
        edit_header(header)
    out = io.BytesIO()
    np.savez(out, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    return out.getvalue()


def _with_raw_header(data, header):
    """A model file's bytes with the header array replaced by ``header``."""
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k != "header"}
    if isinstance(header, bytes):
        header = np.frombuffer(header, np.uint8)
    out = io.BytesIO()
    np.savez(out, header=header, **arrays)
    return out.getvalue()


class _Trap:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _flip_in_array(data, array):
    """Flip one byte in the middle of an array's payload inside the archive."""
    start = data.find(array.tobytes())
    assert start > 0
    i = start + array.nbytes // 2
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def _corrupt_cases(model, trap):
    good = model.to_bytes()
    W = np.ascontiguousarray(model.coefs_[0])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    one_npy = io.BytesIO()
    np.save(one_npy, np.arange(5))
    plain = io.BytesIO()
    np.savez(plain, coef_0=W)

    def drop(name):
        return lambda a: a.pop(name)

    def put(name, value):
        return lambda a: a.__setitem__(name, value)

    return {
        "truncated half": (good[:len(good) // 2], "truncated or corrupted"),
        "truncated tail": (good[:-10], "truncated or corrupted"),
        "truncated to the magic": (good[:4], "truncated or corrupted"),
        "flipped payload byte": (_flip_in_array(good, W),
                                 "member 'coef_0.npy' is truncated or corrupted: bad CRC-32"),
        "payload changed, CRC redone": (
            _rewrite(good, put("coef_0", W[::-1].copy()), fix_records=False),
            "checksum mismatch for array 'coef_0'"),
        "version 6": (_rewrite(good, edit_header=set_key("version", 6)),
                      "unsupported pnet-compact version 6.*newer pnet"),
        "version 0": (_rewrite(good, edit_header=set_key("version", 0)),
                      "unsupported pnet-compact version 0"),
        "version missing": (_rewrite(good, edit_header=lambda h: h.pop("version")),
                            "unsupported pnet-compact version None"),
        "other format": (_rewrite(good, edit_header=set_key("format", "keras")),
                         "not a pnet model file.*'keras'"),
        "deleted array": (_rewrite(good, drop("intercept_0")),
                          r"missing arrays \['intercept_0'\]"),
        "extra array": (_rewrite(good, put("extra", np.zeros(3))),
                        r"unexpected arrays \['extra'\]"),
        "extra object array": (_rewrite(good, put("evil", np.array([_Trap(trap)]))),
                               r"unexpected arrays \['evil'\]"),
        "pickle in place of weights": (_rewrite(good, put("coef_0", np.array([_Trap(trap)]))),
                                       "'coef_0' holds Python objects \\(a pickle\\)"),
        "weights wrong shape": (_rewrite(good, put("coef_0", W[:-1].copy())),
                                r"array 'coef_0' has shape \[127, 10\], but the header's "
                                r"layer_sizes \[128, 10\] make it \[128, 10\]"),
        "weights wrong dtype": (_rewrite(good, put("coef_0", W.astype(np.float64))),
                                r"array 'coef_0' is <f8, but (float32|int8) files store"),
        "settings disagree": (_rewrite(good, edit_header=set_key("n_bits", 9)),
                              r"inconsistent model file: layer 0 weights .* \(144, fan_out\)"),
        "bad projection": (_rewrite(good, edit_header=set_key("projection", "cubic")),
                           "projection must be"),
        "sparse_sign in a v1 file": (_rewrite(good, edit_header=set_key("projection",
                                                                       "sparse_sign")),
                                     'projection must be "ternary" or "gaussian"'),
        "sums in a v4 file": (_rewrite(good, edit_header=lambda h: h.update(version=4,
                                                                            sums="float32")),
                              r"unknown keys \['sums'\]"),
        "v5 without sums": (_rewrite(good, edit_header=set_key("version", 5)),
                            'version 5 header\'s sums must be "float32", got None'),
        "v5 float64 sums": (_rewrite(good, edit_header=lambda h: h.update(version=5,
                                                                          sums="float64")),
                            'sums must be "float32", got \'float64\''),
        "v5 sums not a string": (_rewrite(good, edit_header=lambda h: h.update(version=5,
                                                                               sums=[32])),
                                 r"sums must be \"float32\", got \[32\]"),
        "v5 gaussian float32 sums": (_rewrite(good, edit_header=lambda h: h.update(
            version=5, sums="float32", projection="gaussian")), "float32 sums need"),
        "negative seed": (_rewrite(good, edit_header=set_key("seed", -1)),
                          r"seed must be an integer in \[0, "),
        "unknown quantize": (_rewrite(good, edit_header=set_key("quantize", "int4")),
                             "unknown quantize 'int4'"),
        "header record lies": (_rewrite(good, edit_header=lambda h: h["arrays"]["classes"]
                                        .__setitem__("shape", [11])),
                               r"array 'classes' is .* but the header says"),
        "repeated class": (_rewrite(good, put("classes", np.arange(10) // 2)),
                           "at least 2 distinct labels"),
        "flipped header byte": (good.replace(b'"format"', b'"f\xffrmat"'),
                                "member 'header.npy' is truncated or corrupted: bad CRC-32"),
        "header not json": (_with_raw_header(good, b'{"format": "pnet-compact", '),
                            "the header is not valid JSON"),
        "header not bytes": (_with_raw_header(good, np.zeros(3)),
                             "'header' is not a JSON byte array"),
        "no header (plain npz)": (plain.getvalue(), "no 'header' array"),
        "text file": (b"0,1,2\n3,4,5\n", r"not a pnet model file \(not a zip"),
        "PNG image": (png, r"not a pnet model file \(a PNG image\)"),
        "npy file": (one_npy.getvalue(), r"single \.npy array"),
        "pickle file": (pickle.dumps({"coef_0": W}), "Python pickle"),
        "empty file": (b"", "the file is empty"),
    }


CORRUPT_NAMES = [
    "truncated half", "truncated tail", "truncated to the magic", "flipped payload byte",
    "payload changed, CRC redone", "version 6", "version 0", "version missing",
    "other format", "deleted array", "extra array", "extra object array",
    "pickle in place of weights", "weights wrong shape", "weights wrong dtype",
    "settings disagree", "bad projection", "sparse_sign in a v1 file", "sums in a v4 file",
    "v5 without sums", "v5 float64 sums", "v5 sums not a string", "v5 gaussian float32 sums",
    "negative seed",
    "unknown quantize",
    "header record lies", "repeated class", "flipped header byte", "header not json",
    "header not bytes", "no header (plain npz)", "text file", "PNG image", "npy file",
    "pickle file", "empty file",
]


@pytest.mark.parametrize("quantize", [None, "int8"])
@pytest.mark.parametrize("case", CORRUPT_NAMES)
def test_corrupt_files_raise_model_file_error(tmp_path, quantize, case):
    trap = tmp_path / "code-ran"
    model = make_model(quantize, n_features=64, n_projections=16, n_bits=8, n_classes=10)
    cases = _corrupt_cases(model, trap)
    assert sorted(cases) == sorted(CORRUPT_NAMES)
    data, match = cases[case]
    path = tmp_path / "bad.pnet"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=match) as info:
        pnet.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(ModelFileError, match=match):
        CompactProjectionNet.from_bytes(data)
    assert not trap.exists()  # loading never ran the pickle's code
    assert isinstance(info.value, ValueError)


def test_pickle_inside_would_run_code(tmp_path):
    """The trap used above is live: numpy with allow_pickle=True does run it."""
    trap = tmp_path / "code-ran"
    buffer = io.BytesIO()
    np.savez(buffer, coef_0=np.array([_Trap(trap)]))
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=True) as f:
        f["coef_0"]
    assert trap.exists()


# -- the fuzz test ----------------------------------------------------------------------
def test_fuzz_mutated_files_raise_model_file_error_or_load_identically(bases):
    """FUZZ_CASES mutations of real files: only ModelFileError or an identical model
    (or, when a mutation set a setting to a valid value, the model with that setting),
    and no load traces more than MEMORY_FACTOR x its file size + MEMORY_CONSTANT."""
    from mutations import MUTATIONS, mutate

    names = sorted(bases)
    failures, outcomes, used = [], {"error": 0, "identical": 0, "as edited": 0}, set()
    for case in range(FUZZ_CASES):
        rng = np.random.default_rng([20170630, case])
        base = names[case % len(names)]
        data, model = bases[base]
        bad, what, changed = mutate(rng, data)
        used.add(what.split(":")[0])
        tracemalloc.start()  # traces the load only
        try:
            loaded = CompactProjectionNet.from_bytes(bad)
        except ModelFileError:
            outcomes["error"] += 1
        except BaseException as exc:  # noqa: BLE001 - the test is that nothing else escapes
            failures.append((case, base, what, f"{type(exc).__name__}: {exc}"[:300]))
        else:
            try:
                assert_same_model(loaded, model, changed)
                outcomes["identical" if not changed else "as edited"] += 1
            except AssertionError as exc:
                failures.append((case, base, what, f"loaded a different model: {exc}"))
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        if peak > MEMORY_FACTOR * len(bad) + MEMORY_CONSTANT:
            failures.append((case, base, what, f"traced {peak:,} bytes"))
    print(f"{FUZZ_CASES} cases: {outcomes}")
    assert not failures, failures[:10]
    assert sum(outcomes.values()) == FUZZ_CASES
    assert outcomes["error"] > FUZZ_CASES // 2 and outcomes["identical"] > 0, outcomes
    assert used == {func.__name__ for func, _ in MUTATIONS}
