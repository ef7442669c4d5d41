"""The ``pnet`` command line: info, predict, CSV rows, errors, --version, closed pipes.

Errors in the user's files are one line on stderr and exit status 1; usage
errors exit 2 (argparse). ``predict`` prints exactly one line per data row.
"""
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import pnet
from modelfiles import HOSTILE, make_model
from pnet import cli

N_FEATURES = 64


@pytest.fixture(scope="module")
def model():
    return make_model("int8", n_features=N_FEATURES, n_projections=16, n_bits=8, n_classes=10)


@pytest.fixture
def model_file(model, tmp_path):
    path = tmp_path / "model.pnet"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(5).standard_normal((25, N_FEATURES))


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _error(capsys, *argv):
    """stderr of a command that must fail as a user-input error: one line, status 1."""
    code, out, err = _run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.startswith(f"pnet {argv[0]}: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _csv(tmp_path, rows, header=None, name="data.csv"):
    lines = ([header] if header is not None else []) + \
        [",".join(repr(float(v)) for v in row) for row in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


# -- info, --version ----------------------------------------------------------------------
def test_info(capsys, model, model_file):
    code, out, err = _run(capsys, "info", model_file)
    assert code == 0 and err == ""
    assert "pnet-compact version 1" in out
    assert f"{model.size_bytes:,} bytes" in out
    assert "T = 16 x d = 8 = 128 bits" in out
    assert "int8" in out
    assert "classes (10) : 1 4 7 10 13 16 19 22 25 28" in out
    assert f"seed {model.seed}" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"pnet {pnet.__version__}\n"


# -- model file errors --------------------------------------------------------------------
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_model_file_is_one_line_and_status_1(capsys, tmp_path, case):
    data = make_model().to_bytes()
    bad = tmp_path / "bad.pnet"
    bad.write_bytes(HOSTILE[case][0](data))
    csv = _csv(tmp_path, np.zeros((2, 9)))
    for argv in (("info", bad), ("predict", bad, csv)):
        err = _error(capsys, *argv)
        assert f"error: {bad}: " in err


def test_other_model_file_errors(capsys, tmp_path):
    csv = _csv(tmp_path, np.zeros((1, 2)))
    text = tmp_path / "model.pnet"
    text.write_bytes(b"not a model")
    assert "not a pnet model file" in _error(capsys, "info", text)
    assert "not a pnet model file" in _error(capsys, "predict", text, csv)
    assert "no such file" in _error(capsys, "info", tmp_path / "missing.pnet")
    assert "is a directory" in _error(capsys, "info", tmp_path)


# -- predict ------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, ",".join(f"pixel{i}" for i in range(N_FEATURES))])
def test_predict(capsys, model, model_file, X, tmp_path, header):
    code, out, err = _run(capsys, "predict", model_file, _csv(tmp_path, X, header))
    assert code == 0 and err == ""
    assert out.splitlines() == [str(v) for v in model.predict(X)]


def test_predict_from_stdin(capsys, model, model_file, X, monkeypatch):
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in X[:7])
    monkeypatch.setattr("sys.stdin", io.StringIO("a header\n" + text))
    code, out, _ = _run(capsys, "predict", model_file, "-", "--header")
    assert code == 0
    assert out.splitlines() == [str(v) for v in model.predict(X[:7])]


def test_predict_proba(capsys, model_file, X, tmp_path):
    code, out, _ = _run(capsys, "predict", model_file, _csv(tmp_path, X[:5]), "--proba")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "1,4,7,10,13,16,19,22,25,28" and len(lines) == 6
    P = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-4)


def test_pandas_csv_gives_one_line_per_row(capsys, model, model_file, X, tmp_path):
    """pandas' to_csv(index=False) names columns 0..n-1: never guess, and with
    --header exactly one prediction per data row."""
    pandas_header = ",".join(str(i) for i in range(N_FEATURES))
    csv = _csv(tmp_path, X[:10], pandas_header)
    err = _error(capsys, "predict", model_file, csv)
    assert "line 1 is 0, 1, ..., 63" in err and "--header or --no-header" in err
    code, out, _ = _run(capsys, "predict", model_file, csv, "--header")
    assert code == 0 and out.splitlines() == [str(v) for v in model.predict(X[:10])]
    code, out, _ = _run(capsys, "predict", model_file, csv, "--no-header")
    first = np.arange(N_FEATURES, dtype=float)[None]
    assert code == 0 and out.splitlines() == \
        [str(v) for v in model.predict(np.vstack([first, X[:10]]))]


@pytest.mark.parametrize("field, shown", [("NA", "'NA'"), ("", "''"), ("1.2.3", "'1.2.3'"),
                                          ("nan?", "'nan?'")])
def test_first_row_mixing_numbers_and_text_is_an_error(capsys, model, model_file, X, tmp_path,
                                                       field, shown):
    rows = [",".join(repr(float(v)) for v in row) for row in X[:4]]
    fields = rows[0].split(",")
    fields[2] = field
    path = tmp_path / "data.csv"
    path.write_text("\n".join([",".join(fields)] + rows[1:]) + "\n")
    err = _error(capsys, "predict", model_file, path)
    assert f"line 1, column 3: {shown} is not a number" in err and "--header" in err
    err = _error(capsys, "predict", model_file, path, "--no-header")
    assert f"line 1, column 3: {shown} is not a number." in err
    code, out, _ = _run(capsys, "predict", model_file, path, "--header")  # the user says so
    assert code == 0 and out.splitlines() == [str(v) for v in model.predict(X[1:4])]


def test_blank_lines_are_ignored_and_lines_counted(capsys, model, model_file, X, tmp_path):
    rows = [",".join(repr(float(v)) for v in row) for row in X[:3]]
    path = tmp_path / "data.csv"
    path.write_text("\n\n" + rows[0] + "\r\n  \n" + rows[1] + "\n\n" + rows[2] + "\n\n")
    code, out, _ = _run(capsys, "predict", model_file, path)
    assert code == 0 and out.splitlines() == [str(v) for v in model.predict(X[:3])]
    path.write_text("\n\n" + rows[0] + "\n\n" + rows[1].replace(",", ",x", 1) + "\n")
    assert "line 5, column 2: 'x" in _error(capsys, "predict", model_file, path)


@pytest.mark.parametrize("content, match", [
    ("1,2,3\n4,5,6\n", "3 columns, but the model expects 64 features"),
    (",".join(["0"] * 64) + "\n" + ",".join(["0"] * 63 + ["x"]) + "\n",
     r"line 2, column 64: 'x' is not a number"),
    (",".join(["0"] * 64) + "\n" + ",".join(["0"] * 60) + "\n",
     "line 2 has 60 columns, the first data row has 64"),
    (",".join(["1"] * 64) + "\n#" + ",".join(["0"] * 64) + "\n",
     r"line 2, column 1: '#0' is not a number"),  # never a dropped 'comment'
    (",".join(["1"] * 64) + "\n" + ",".join(["1_0"] * 64) + "\n",
     r"line 2, column 1: '1_0' is not a number"),
    ("a,b\n", "no data rows"),
    ("", "no data rows"),
    ("\n \n", "no data rows"),
    (",".join(["nan"] * 64) + "\n", "NaN"),
])
def test_bad_csv(capsys, model_file, tmp_path, content, match):
    csv = tmp_path / "bad.csv"
    csv.write_text(content)
    err = _error(capsys, "predict", model_file, csv)
    assert str(csv) in err
    assert re.search(match, err), err


@pytest.mark.parametrize("delimiter, given", [("\t", "\\t"), (";", ";"), (" ", " ")])
def test_delimiters(capsys, model, model_file, X, tmp_path, delimiter, given):
    path = tmp_path / "data.csv"
    path.write_text("\n".join(delimiter.join(repr(float(v)) for v in row) for row in X[:4]))
    code, out, _ = _run(capsys, "predict", model_file, path, "--delimiter", given)
    assert code == 0 and out.splitlines() == [str(v) for v in model.predict(X[:4])]


@pytest.mark.parametrize("argv, message", [
    (["--delimiter", ""], "must be exactly one character, got ''"),
    (["--delimiter", ";;"], "must be exactly one character, got ';;'"),
    (["--delimiter", "."], "'.' can be part of a number"),
    (["--header", "--no-header"], "not allowed with argument --header"),
])
def test_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", "m.pnet", "d.csv", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_usage_errors_and_demo_still_registered(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", "only-one-argument"])
    assert info.value.code == 2
    args = cli.build_parser().parse_args(["demo", "--random-state", "3"])
    assert args.func is cli._demo and args.random_state == 3


# -- a closed pipe ------------------------------------------------------------------------
def test_closed_pipe_ends_quietly(tmp_path):
    """``pnet predict m.pnet big.csv | head -1``: no traceback, nothing on stderr."""
    path = tmp_path / "m.pnet"
    make_model(n_features=2).save(path)
    csv = tmp_path / "big.csv"
    csv.write_text("0.5,-1\n" * 100_000)  # 200 KB of predictions: more than a pipe holds
    # Unbuffered stdout (python -u) drops the rest of a partial write without an error,
    # so the pipe would never be seen as closed: test the ordinary, buffered stdout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen([sys.executable, "-m", "pnet", "predict", str(path), str(csv)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = process.stdout.readline()
    process.stdout.close()  # what head does after one line
    err = process.stderr.read().decode()
    process.stderr.close()
    code = process.wait(timeout=120)
    assert first.strip() == str(pnet.load(path).predict(np.array([[0.5, -1.0]]))[0]).encode()
    assert err == "" and code == 1
