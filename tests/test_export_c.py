"""The C export (``pnet.export_c``): compiled with the system C compiler, it must give
Python's bits, logits and labels exactly, and its probabilities within 1e-6.

Every model is compiled once per flag set (module-scoped cache) with
``-std=c99 -Wall -Wextra -Werror -pedantic``, at ``-O0`` and at
``-O2 -march=native -ffp-contract=fast`` (gcc fuses ``a * b + c`` into an FMA
there when the CPU has one: the runtime must prevent it), and run through
``pnet/c/pnet_check_main.c`` on a few hundred rows, awkward ones included.
Skipped, with the reason, only when no C compiler is found.
"""
import os
import shutil
import subprocess
from importlib import resources

import numpy as np
import pytest

import pnet
from modelfiles import make_model
from pnet import Hyperplanes, cli
from pnet.export_c import c_float, c_string, export_c
from pnet.textfront import TextFront
from test_c_textfront import MAX_BYTES, awkward_texts

CC = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (gcc or cc, or $CC) found")

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-DPNET_PROBA"]
FLAGS = {"O0": ["-O0"], "O2-native-fma": ["-O2", "-march=native", "-ffp-contract=fast"]}
DATA = os.path.join(os.path.dirname(__file__), "data")
HARNESS = str(resources.files("pnet").joinpath("c", "pnet_check_main.c"))


def random_model(projection="ternary", quantize=None, hidden=(), activation="relu",
                 n_features=23, n_projections=5, n_bits=20, n_classes=4, density=1 / 3,
                 classes=None, seed=0, text_front=None, window=None, sums="float64"):
    """``modelfiles.make_model`` with this module's defaults: 100 bits (two words)."""
    return make_model(quantize, hidden, "int" if classes is None else classes, projection,
                      n_features, n_projections, n_bits, n_classes, seed, activation,
                      density, text_front, window, sums)


#: the exports: hashed entries, one word of sums at a time (the default); hyperplane
#: tables (dense ternary / sparse_sign); hashed with all the sums at once (all_sums);
#: each also for uint8 rows ("-u8": int32 sums for ternary and sparse_sign)
EXPORTS = {"hash": {}, "table": {"hyperplane_table": True}, "all-sums": {"all_sums": True}}
EXPORTS.update({f"{name}-u8": {**kw, "input_type": "uint8"} for name, kw in EXPORTS.items()})
HASH, HASHED, TABLE = ("hash",), ("hash", "all-sums"), ("hash", "table")
ALL = ("hash", "table", "all-sums")
ALL_U8 = ALL + ("hash-u8", "table-u8", "all-sums-u8")
#: name -> (model factory, its exports)
MODELS = {
    "ternary-float32": (lambda: random_model(), TABLE),
    "ternary-float32-identity": (lambda: random_model(hidden=(9,), activation="identity",
                                                      seed=8), HASHED),
    "ternary-int8-relu": (lambda: random_model(quantize="int8", hidden=(16,), seed=1,
                                               n_bits=30), TABLE + ("hash-u8", "table-u8")),
    "ternary-int4-tanh": (lambda: random_model(quantize="int4", hidden=(12, 8),
                                               activation="tanh", seed=2), TABLE),
    "ternary-ternary-logistic": (lambda: random_model(quantize="ternary", hidden=(10,),
                                                      activation="logistic", seed=3), HASH),
    "gaussian-float32-tanh": (lambda: random_model("gaussian", hidden=(10,),
                                                   activation="tanh", seed=4), HASH),
    "gaussian-int8": (lambda: random_model("gaussian", quantize="int8", seed=5,
                                           n_bits=7, n_projections=3),
                      HASHED + ("all-sums-u8",)),
    "gaussian-int4-logistic": (lambda: random_model("gaussian", quantize="int4",
                                                    hidden=(6,), activation="logistic",
                                                    seed=6), HASH),
    "ternary-ternary-relu-sparse": (lambda: random_model(quantize="ternary", hidden=(5,),
                                                         density=0.05, seed=7,
                                                         n_features=40), HASH),
    # sparse_sign: 100 bits (not a multiple of 64: the second word has 36), E = 10
    "sparse-float32": (lambda: random_model("sparse_sign", density=0.1, seed=12), ALL_U8),
    "sparse-int8-relu": (lambda: random_model("sparse_sign", quantize="int8", hidden=(16,),
                                              seed=13, n_bits=30), ALL_U8),
    "sparse-int4-tanh": (lambda: random_model("sparse_sign", quantize="int4",
                                              hidden=(12, 8), activation="tanh",
                                              density=0.05, seed=14), ALL),
    "sparse-ternary-logistic": (lambda: random_model("sparse_sign", quantize="ternary",
                                                     hidden=(10,), activation="logistic",
                                                     density=0.2, seed=15), ALL),
    # E = 117 of 130 bits: most late draws hit a bit already drawn (the skip path)
    "sparse-dense-0.9-int8": (lambda: random_model("sparse_sign", quantize="int8", seed=16,
                                                   density=0.9, n_projections=2,
                                                   n_bits=65), ALL_U8),
    # E = 1: every feature reaches one bit
    "sparse-one-entry": (lambda: random_model("sparse_sign", seed=17, density=0.001), ALL),
    # local: windows of a 5 x 6 image (not square), sides 1 to 4 / 2 to 5
    "local-float32": (lambda: random_model("local", density=0.5, seed=20, n_features=30,
                                           window=(5, 6, 1, 4)), ALL_U8),
    "local-int8-relu": (lambda: random_model("local", quantize="int8", hidden=(16,), seed=21,
                                             n_features=30, density=0.8, n_bits=30,
                                             window=(5, 6, 2, 5)), ALL_U8),
    # float32 sums (the default of fitted models): C float sums
    "ternary-f32sums": (lambda: random_model(sums="float32", seed=22), ALL_U8),
    "sparse-f32sums-int8": (lambda: random_model("sparse_sign", quantize="int8", density=0.1,
                                                 hidden=(16,), seed=23, sums="float32"),
                            ALL_U8),
    "local-f32sums": (lambda: random_model("local", density=0.5, seed=24, n_features=30,
                                           window=(5, 6, 1, 4), sums="float32"), ALL_U8),
    "text-sparse-f32sums": (lambda: random_model("sparse_sign", text_front=TextFront(),
                                                 density=0.05, seed=25, sums="float32"),
                            HASHED),
    "file-float32-flat": (lambda: pnet.load(os.path.join(DATA, "float32-flat.pnet")), TABLE),
    "file-int8-hidden": (lambda: pnet.load(os.path.join(DATA, "int8-hidden.pnet")),
                         ("hash", "hash-u8")),
    "text-ternary-float32": (lambda: random_model(text_front=TextFront(), density=0.05,
                                                  seed=9), HASH),
    "text-ternary-int8-tanh": (lambda: random_model(
        text_front=TextFront(char_ngram_range=(2, 3), counts="sqrt", lowercase=False),
        quantize="int8", hidden=(8,), activation="tanh", density=0.1, seed=10), HASH),
    "text-gaussian-int4-relu": (lambda: random_model(
        "gaussian", text_front=TextFront(norm=None, skip_weight=0.0), quantize="int4",
        hidden=(6,), seed=11), HASH),
    "text-sparse-float32": (lambda: random_model("sparse_sign", text_front=TextFront(),
                                                 density=0.05, seed=18), HASHED),
    "text-sparse-int8-tanh-0.9": (lambda: random_model(
        "sparse_sign", text_front=TextFront(char_ngram_range=(2, 3), counts="sqrt"),
        quantize="int8", hidden=(8,), activation="tanh", density=0.9, seed=19,
        n_bits=13), HASHED),
}
CASES = [(name, flags, export) for name, (_, exports) in MODELS.items() for flags in FLAGS
         for export in exports]


def awkward_rows(n_features, n=300, seed=0):
    """float32 rows: normal, sparse, all zero, negative, subnormal, huge, mixed scales,
    exact ties (integer entries whose sums can cancel to exactly 0), and -0.0."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features))
    X[40:100] *= rng.random((60, n_features)) < 0.2  # sparse
    X[100] = 0.0
    X[101] = -0.0
    X[102:120] = -np.abs(X[102:120])
    X[120:140] *= 1e-41  # subnormal float32
    X[140:160] *= 1e30
    X[160:170] = 3.4e38 * np.sign(X[160:170])
    X[170:200] *= 10.0 ** rng.integers(-40, 38, size=(30, n_features))  # every scale
    X[200:260] = rng.integers(-2, 3, size=(60, n_features))  # sums tie at 0
    X[260:280, ::2] = 0.0
    return X.astype(np.float32)


def rounding_rows(n_features, n=200, seed=0):
    """float32 rows whose float32 sums round where float64 sums do not: +-2**25 on a
    few features (float32 spacing 4 there) and small integers on the others, so that
    the big terms cancel after the small ones were rounded away (or not)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(n, n_features)).astype(np.float64)
    big = rng.random((n, n_features)) < 0.3
    X[big] = rng.choice([-2.0**25, 2.0**25], size=big.sum())
    return X.astype(np.float32)


def byte_rows(n_features, n=300, seed=0):
    """uint8 rows: random bytes, sparse, all 0, all 255 (the largest sums), single
    pixels, and small values whose sums tie at exactly 0."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, n_features), dtype=np.uint8)
    X[40:100] *= rng.random((60, n_features)) < 0.2  # sparse
    X[100] = 0
    X[101:110] = 255
    X[110:130] = 0
    X[np.arange(110, 130), np.arange(20) % n_features] = 255  # one pixel each
    X[130:200] = rng.integers(0, 3, size=(70, n_features))  # sums tie at 0
    X[200:220] = 1
    return X


def compile_harness(model, outdir, flags, export):
    export_c(model, outdir, max_text_bytes=MAX_BYTES, **EXPORTS[export])
    exe = os.path.join(outdir, "pnet_check")
    cmd = [CC, *STRICT, *FLAGS[flags], f"-I{outdir}", os.path.join(outdir, "pnet_model.c"),
           HARNESS, "-lm", "-o", exe]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"
    return exe


def encode_rows(model, X):
    """The harness's input: float32 or uint8 rows (as X), or texts as a uint32 length
    and the bytes."""
    if model._text:
        return b"".join(np.uint32(len(t)).tobytes() + t for t in X)
    if X.dtype == np.uint8:
        return np.ascontiguousarray(X).tobytes()
    return np.ascontiguousarray(X, np.float32).tobytes()


def run_harness(exe, model, X):
    """(bits, logits, proba, index) of every row, from the compiled C."""
    out = subprocess.run([exe], input=encode_rows(model, X), capture_output=True,
                         check=True).stdout
    n_words, n_classes = (model.layer_sizes[0] + 63) // 64, len(model.classes_)
    row = np.dtype([("bits", "<u8", n_words), ("logits", "<f4", n_classes),
                    ("proba", "<f8", n_classes), ("index", "<i4")])
    rows = np.frombuffer(out, row)
    assert rows.shape == (len(X),)
    return rows["bits"], rows["logits"], rows["proba"], rows["index"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(model name, flags, export) -> (model, compiled harness), built on first use."""
    cache = {}

    def get(name, flags, export):
        if (name, flags, export) not in cache:
            model = MODELS[name][0]()
            outdir = tmp_path_factory.mktemp(f"{name}-{flags}-{export}")
            cache[name, flags, export] = model, compile_harness(model, outdir, flags, export)
        return cache[name, flags, export]
    return get


# sklearn's finite check sums X first: +-3.4e38 rows overflow to inf - inf there (harmless)
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
@pytest.mark.parametrize("name, flags, export", CASES)
def test_c_matches_python(built, name, flags, export):
    model, exe = built(name, flags, export)
    if model._text:
        X = awkward_texts(np.random.default_rng(3))
        bits, logits, proba, index = run_harness(exe, model, X)
        assert list(index[-2:]) == [-1, -1]  # beyond PNET_MAX_TEXT_BYTES
        X, bits, logits, proba, index = X[:-2], bits[:-2], logits[:-2], proba[:-2], index[:-2]
        expected_bits = model.hyperplanes.project_csr(*model.text_front.transform(X),
                                                      sorted_features=True)
    elif export.endswith("-u8"):
        X = byte_rows(model.n_features_in_)
        bits, logits, proba, index = run_harness(exe, model, X)
        expected_bits = model.hyperplanes.project(X)
        # Python's uint8 path gives the bits of the same values in float64 (exact
        # sums); the C's int32 sums are compared with it below
        np.testing.assert_array_equal(expected_bits, model.hyperplanes.project(X * 1.0))
    else:
        X = awkward_rows(model.n_features_in_)
        if model.sums == "float32":  # rows whose bits tell float from double sums
            X = np.vstack([X, rounding_rows(model.n_features_in_)])
            h = model.hyperplanes
            float64_sums = Hyperplanes(h.seed, h.n_features, h.n_bits, h.projection,
                                       h.density, h.window, "float64")
            assert (float64_sums.project(X) != h.project(X)).any(axis=1).sum() > 20
        bits, logits, proba, index = run_harness(exe, model, X)
        expected_bits = model.hyperplanes.project(X)
    np.testing.assert_array_equal(bits, expected_bits)
    expected = model.decision_function(X)
    np.testing.assert_array_equal(logits.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(index, np.argmax(expected, axis=1))
    np.testing.assert_array_equal(model.classes_[index], model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    ones = [model.predict_one(x) for x in X[::25]]  # the single-row path agrees too
    np.testing.assert_array_equal(model.classes_[index[::25]], ones)


def test_bits_are_not_trivial(built):
    """The rows exercise both bit values and several classes (else equality proves little)."""
    model, exe = built("ternary-int8-relu", "O0", "hash")
    bits, _, _, index = run_harness(exe, model, awkward_rows(model.n_features_in_))
    ones = np.unpackbits(bits.view(np.uint8)).mean()
    assert 0.2 < ones < 0.6 and np.unique(index).size == len(model.classes_)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_row_predicts_minus_one(built, value):
    model, exe = built("ternary-float32", "O2-native-fma", "hash")
    X = np.ones((3, model.n_features_in_), dtype=np.float32)
    X[1, 4] = value
    index = run_harness(exe, model, X)[3]
    assert index[1] == -1 and index[0] >= 0 and index[2] >= 0


def test_labels_are_exported_as_strings(tmp_path):
    classes = np.array(['plain', 'quo"te', "back\\slash", "??=trigraph", "émeu ✓", "tab\tend"])
    model = random_model(classes=classes, n_classes=len(classes))
    exe = compile_harness(model, tmp_path, "O0", "hash")
    out = subprocess.run([exe, "--labels"], capture_output=True, check=True).stdout
    assert out.decode("utf-8").split("\n")[:-1] == list(classes)


def test_only_allowed_headers(tmp_path):
    """stdint.h and stddef.h only, math.h where gaussian, tanh or logistic need it
    (or for pnet_proba's softmax), no malloc."""
    def includes(model):
        export_c(model, tmp_path)
        text = (tmp_path / "pnet_model.c").read_text() + (tmp_path / "pnet_model.h").read_text()
        assert "malloc(" not in text
        lines = [line.split("#include")[1].strip() for line in text.splitlines()
                 if line.startswith("#include")]
        return sorted(set(lines)), text
    plain, text = includes(random_model(hidden=(4,)))
    assert plain == ['"pnet_model.h"', "<math.h>", "<stddef.h>", "<stdint.h>"]
    assert "#ifdef PNET_PROBA\n#include <math.h>\n#endif" in text  # only for pnet_proba
    _, text = includes(random_model("gaussian"))
    assert "\n#include <math.h>\n" in text.replace("#ifdef PNET_PROBA\n#include <math.h>", "")


NM = shutil.which("nm")


@pytest.mark.skipif(NM is None, reason="no nm to list the object's undefined symbols")
@pytest.mark.parametrize("model, libm", [
    (lambda: random_model("sparse_sign", quantize="int8", hidden=(4,), density=0.1), False),
    (lambda: random_model(hidden=(4,), activation="tanh"), True),
    (lambda: random_model("sparse_sign", text_front=TextFront(), density=0.05), True)])
def test_the_header_says_when_libm_is_needed(tmp_path, model, libm):
    # what the header promises about libm is what the compiled object calls from it
    model = model()
    export_c(model, tmp_path)
    header = (tmp_path / "pnet_model.h").read_text()
    assert ("stdint.h and stddef.h and math.h (libm)" in header) == libm
    obj = tmp_path / "pnet_model.o"
    subprocess.run([CC, "-std=c99", "-O0", "-c", str(tmp_path / "pnet_model.c"),
                    f"-I{tmp_path}", "-o", str(obj)], check=True)
    undefined = subprocess.run([NM, "-u", str(obj)], capture_output=True, text=True,
                               check=True).stdout.split()
    libm_calls = {"sqrt", "exp", "expf", "log", "cos", "tanh", "tanhf", "sqrtf", "logf"}
    assert bool(libm_calls & set(undefined)) == libm, undefined


def test_float_literals_round_trip():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.standard_normal(1000).astype(np.float32),
                             np.float32([0.0, -0.0, 1.0, 3.4028235e38, 1.4e-45, -1e-40, 0.1])])
    for v in values:
        text = c_float(v)
        assert text.endswith("f") and np.float32(float(text[:-1])).tobytes() == v.tobytes()
    assert c_string('a"\\?\n') == '"a\\"\\\\\\?\\012"'


@pytest.mark.parametrize("model", [
    random_model("gaussian"),
    random_model("sparse_sign", text_front=TextFront(), density=0.05)])
def test_hyperplane_table_needs_ternary_or_sparse_sign_dense(tmp_path, model):
    with pytest.raises(ValueError, match="needs a ternary, sparse_sign or local projection"):
        export_c(model, tmp_path, hyperplane_table=True)


def test_sparse_sign_table_layout(tmp_path):
    """E entries per feature, +1 bits first: the table holds exactly Hyperplanes.table()."""
    model = random_model("sparse_sign", density=0.3, n_bits=50)  # 250 bits: uint8
    export_c(model, tmp_path, hyperplane_table=True)
    text = (tmp_path / "pnet_model.c").read_text()
    assert "#define PNET_N_ENTRIES 75 " in text and " pnet_list_start[" not in text

    def array(name):
        body = text.split(f"static const uint8_t {name}[")[1].split("{")[1].split("}")[0]
        return np.array([int(v) for v in body.replace("\n", " ").split(",")])
    bits, signs = model.hyperplanes.table()
    positives, listed = array("pnet_list_positives"), array("pnet_list_bits").reshape(bits.shape)
    np.testing.assert_array_equal(positives, (signs > 0).sum(axis=1))
    for j in range(len(bits)):
        assert sorted(listed[j, :positives[j]]) == sorted(bits[j][signs[j] > 0])
        assert sorted(listed[j, positives[j]:]) == sorted(bits[j][signs[j] < 0])


def test_cli_export_c(tmp_path, capsys):
    model = random_model(quantize="int8")
    model.save(tmp_path / "m.pnet")
    assert cli.main(["export-c", str(tmp_path / "m.pnet"), str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.split()
    assert [os.path.basename(p) for p in printed] == ["pnet_model.h", "pnet_model.c"]
    model.export_c(tmp_path / "api")
    for name in ("pnet_model.h", "pnet_model.c"):
        assert (tmp_path / "out" / name).read_text() == (tmp_path / "api" / name).read_text()
    code = cli.main(["export-c", str(tmp_path / "m.pnet"), str(tmp_path / "t"),
                     "--hyperplane-table"])
    assert code == 0 and "pnet_list_bits" in (tmp_path / "t" / "pnet_model.c").read_text()
    code = cli.main(["export-c", str(tmp_path / "m.pnet"), str(tmp_path / "s"), "--all-sums"])
    source = (tmp_path / "s" / "pnet_model.c").read_text()
    assert code == 0 and "#define PNET_SUM_BITS 100\n" in source
    assert "#define PNET_SUM_BITS 64\n" in (tmp_path / "out" / "pnet_model.c").read_text()
    export_gaussian = random_model("gaussian")
    export_gaussian.save(tmp_path / "g.pnet")
    code = cli.main(["export-c", str(tmp_path / "g.pnet"), str(tmp_path / "g"),
                     "--hyperplane-table"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("pnet export-c: error: ") and "ternary" in err


def test_cli_export_c_text_model(tmp_path, capsys):
    model = random_model(text_front=TextFront(), density=0.05)
    model.save(tmp_path / "t.pnet")
    assert cli.main(["export-c", str(tmp_path / "t.pnet"), str(tmp_path / "out"),
                     "--max-text-bytes", "100"]) == 0
    header = (tmp_path / "out" / "pnet_model.h").read_text()
    assert "#define PNET_MAX_TEXT_BYTES 100\n" in header and "pnet_predict_text" in header
    code = cli.main(["export-c", str(tmp_path / "t.pnet"), str(tmp_path / "bad"),
                     "--max-text-bytes", "-1"])
    err = capsys.readouterr().err
    assert code == 1 and "max_text_bytes must be an int >= 0" in err


def test_uint8_export_checks_its_input(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="input_type must be one of"):
        export_c(random_model(), tmp_path, input_type="float64")
    for dtype in (np.uint8, np.dtype("uint8")):  # numpy's names of the type do too
        export_c(random_model(), tmp_path / "np", input_type=dtype)
        assert "typedef uint8_t pnet_input_t;" in (tmp_path / "np" / "pnet_model.h").read_text()
    with pytest.raises(ValueError, match="input_type must be one of"):
        export_c(random_model(), tmp_path, input_type=["uint8"])
    text_model = random_model(text_front=TextFront(), density=0.05)
    with pytest.raises(ValueError, match="input_type='uint8' is for models of dense rows"):
        export_c(text_model, tmp_path, input_type="uint8")
    # int32 sums hold 255 * n_features: the bound is checked, not assumed
    monkeypatch.setattr("pnet.export_c.MAX_U8_FEATURES", 22)
    with pytest.raises(ValueError, match="at most 22 features, this model has 23"):
        export_c(random_model(), tmp_path, input_type="uint8")
    export_c(random_model("gaussian"), tmp_path, input_type="uint8")  # double sums: no bound


def test_cli_export_c_uint8(tmp_path, capsys):
    model = random_model("sparse_sign", quantize="int8", density=0.1)
    model.save(tmp_path / "m.pnet")
    assert cli.main(["export-c", str(tmp_path / "m.pnet"), str(tmp_path / "u8"),
                     "--input-type", "uint8"]) == 0
    header = (tmp_path / "u8" / "pnet_model.h").read_text()
    assert "typedef uint8_t pnet_input_t;" in header
    assert "int pnet_predict(const uint8_t *x);" in header
    assert "#define PNET_INPUT_U8 1\n" in (tmp_path / "u8" / "pnet_model.c").read_text()
    model.export_c(tmp_path / "f32")
    assert "typedef float pnet_input_t;" in (tmp_path / "f32" / "pnet_model.h").read_text()
    # int32 sums: 4 bytes each on the stack, against 8 for double
    assert "sums 256" in header.replace("\n * ", " ")
    assert "sums 512" in (tmp_path / "f32" / "pnet_model.h").read_text().replace("\n * ", " ")
    text_model = random_model(text_front=TextFront(), density=0.05)
    text_model.save(tmp_path / "t.pnet")
    code = cli.main(["export-c", str(tmp_path / "t.pnet"), str(tmp_path / "t"),
                     "--input-type", "uint8"])
    assert code == 1 and "for models of dense rows" in capsys.readouterr().err


@pytest.mark.parametrize("n_features", [1, 3])
def test_uint8_harness_takes_rows_narrower_than_four_bytes(tmp_path, n_features):
    # the harness sizes its row table by the row's bytes, not by 4 (a heap overflow)
    model = random_model(n_features=n_features, n_projections=2, n_bits=8)
    exe = compile_harness(model, tmp_path, "O0", "hash-u8")
    X = np.arange(3000 * n_features).reshape(3000, n_features).astype(np.uint8)
    bits, logits, _, index = run_harness(exe, model, X)
    np.testing.assert_array_equal(bits, model.hyperplanes.project(X))
    np.testing.assert_array_equal(index, np.argmax(model.decision_function(X), axis=1))


def test_uint8_sums_beyond_int16(tmp_path):
    """Rows built so that one bit's sum is 255 * (its +1 entries) > 2**15: int32 holds
    it (an int16 sum type would wrap and flip the bit)."""
    model = random_model("sparse_sign", quantize="int8", n_features=300, n_projections=2,
                         n_bits=20, density=0.9, seed=20)
    bits, signs = model.hyperplanes.table()  # (300, E) each
    R = np.zeros((300, model.layer_sizes[0]))
    R[np.arange(300)[:, None], bits] = signs
    X = (255 * (R.T > 0)).astype(np.uint8)  # row k: 255 wherever r_k is +1
    assert (X.astype(np.int64) * (R.T > 0)).sum(axis=1).max() > 2**15
    exe = compile_harness(model, tmp_path, "O2-native-fma", "table-u8")
    out_bits, logits, _, index = run_harness(exe, model, X)
    np.testing.assert_array_equal(out_bits, model.hyperplanes.project(X))
    np.testing.assert_array_equal(logits.view(np.uint32),
                                  model.decision_function(X).view(np.uint32))


@pytest.mark.parametrize("projection, input_type, sums, sum_type", [
    ("sparse_sign", "uint8", "float64", "int32_t"), ("ternary", "uint8", "float64", "int32_t"),
    ("gaussian", "uint8", "float64", "double"), ("sparse_sign", "float32", "float64", "double"),
    ("sparse_sign", "float32", "float32", "float"), ("local", "float32", "float32", "float"),
    ("ternary", "uint8", "float32", "int32_t")])
def test_the_sums_type_is_int32_only_for_uint8_rows_of_plus_minus_one_entries(
        tmp_path, projection, input_type, sums, sum_type):
    # double sums of bytes are exact too, so the bits cannot tell: ask the compiler
    # (C11's _Generic names the type; the export itself is C99)
    window = (5, 6, 1, 4) if projection == "local" else None
    export_c(random_model(projection, density=0.1, sums=sums, window=window,
                          n_features=30 if window else 23), tmp_path, input_type=input_type)
    source = (tmp_path / "pnet_model.c").read_text()
    check = tmp_path / "check.c"
    check.write_text(source + "\n_Static_assert(_Generic((pnet_sum)0, "
                     f"{sum_type}: 1, default: 0), \"pnet_sum is {sum_type}\");\n")
    result = subprocess.run([CC, "-std=c11", "-c", str(check), f"-I{tmp_path}",
                             "-o", str(tmp_path / "check.o")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    sum_bytes = 8 if sum_type == "double" else 4
    header = (tmp_path / "pnet_model.h").read_text().replace("\n * ", " ")
    assert f"sums {sum_bytes * 64}" in header  # one word of 64 sums held: the stack note
