"""The ``pnet`` command line: ``pnet demo``, ``pnet info MODEL``, ``pnet predict MODEL CSV``,
``pnet export-c MODEL OUTDIR``.

Run ``pnet --help`` for the commands. ``info`` and ``predict`` read model files
written by ``CompactProjectionNet.save`` (``pnet.load``). Errors in the user's
files (any bad model file, a CSV that is not numeric, has the wrong number of
columns or an ambiguous first line) print one line to stderr and exit with
status 1, without a traceback; usage errors exit with status 2 (argparse). A
closed pipe (``pnet predict ... | head``) ends the command quietly.
``predict`` prints exactly one line per data row of the CSV (``read_csv``).
"""
import argparse
import os
import sys
import warnings

import numpy as np


class InputError(Exception):
    """A problem with the user's input files, reported as one line and exit status 1."""


def _demo(args):
    from .demo import run

    run(random_state=args.random_state, verbose=args.verbose)
    return 0


# -- info --------------------------------------------------------------------------------
def _info(args):
    model = _load_model(args.model)
    classes = model.classes_
    shown = " ".join(str(c) for c in classes[:args.max_classes])
    if len(classes) > args.max_classes:
        shown += f" ... ({len(classes) - args.max_classes} more)"
    hidden = "".join(f" -> {n}" for n in model.layer_sizes[1:-1])
    weights = "float32" if model.quantize is None else \
        f"{model.quantize}, one float32 scale per output unit; float32 biases"
    lines = [
        ("file", f"{args.model} ({os.path.getsize(args.model):,} bytes on disk)"),
        ("format", f"pnet-compact version {model.format_version}"),
        ("projection", f"{model.projection}, T = {model.n_projections} x d = {model.n_bits} "
                       f"= {model.layer_sizes[0]} bits, density {model.density:.6g}, "
                       f"seed {model.seed}"
                       + ("" if model.window is None else
                          ", image {}x{}, windows {}-{} pixels".format(*model.window))),
        ("input", "text (front version "
                  f"{model.text_front.to_dict()['version']})" if model._text
                  else f"{model.n_features_in_} features"),
        ("network", f"{model.layer_sizes[0]} bits{hidden} -> {len(classes)} classes"
                    + (f" (hidden activation {model.activation})" if hidden else "")),
        ("weights", weights),
        ("model size", f"{model.size_bytes:,} bytes ({model.size_bits:,} bits): stored "
                       "weights, biases and scales + 8-byte seed"),
        (f"classes ({len(classes)})", shown),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}} : {value}")
    return 0


# -- predict -----------------------------------------------------------------------------
def _predict(args):
    model = _load_model(args.model)
    if model._text:  # a text model: one text per line, every line a row
        X = read_lines(args.data)
    else:
        X = read_csv(args.data, args.delimiter, model.n_features_in_, args.header)
    try:
        if args.proba:
            P = model.predict_proba(X)
            print(args.delimiter.join(str(c) for c in model.classes_))
            lines = [args.delimiter.join(f"{p:.6g}" for p in row) for row in P]
        else:
            lines = [str(label) for label in model.predict(X)]
    except ValueError as exc:  # NaN / infinity in the data
        raise InputError(f"{args.data}: {exc}") from exc
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


# -- export-c ----------------------------------------------------------------------------
def _export_c(args):
    model = _load_model(args.model)
    try:
        paths = model.export_c(args.outdir, hyperplane_table=args.hyperplane_table,
                               max_text_bytes=args.max_text_bytes, all_sums=args.all_sums,
                               input_type=args.input_type)
    except ValueError as exc:  # tables of a gaussian model, uint8 rows of a text model
        raise InputError(f"{args.model}: {exc}") from exc
    except OSError as exc:
        raise InputError(f"{args.outdir}: {exc.strerror or exc}.") from exc
    for path in paths:
        print(path)
    return 0


def _load_model(path):
    from .compact import ModelFileError, load

    try:
        return load(path)
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file.") from exc
    except ModelFileError as exc:
        raise InputError(str(exc)) from exc
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}.") from exc


def _read_text(path, encoding):
    """A text file's contents ('-' is stdin); InputError for a missing or unreadable one."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding=encoding) as f:
            return f.read()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as text ({exc}).") from exc


def read_lines(path):
    """The lines of a UTF-8 text file ('-' is stdin), one text per line (a text model's
    input): every line is a row, an empty one too; only the final newline ends the file."""
    lines = _read_text(path, "utf-8-sig").split("\n")  # a byte-order mark is not text
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise InputError(f"{path}: no lines to predict.")
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_csv(path, delimiter, n_columns, header=None):
    """(n_rows, n_columns) float64 from a numeric CSV ('-' is stdin): one row per data line.

    header: True (the first non-blank line is a header), False (it is data) or
    None (detect: a first line of numbers is data, one with no number is a
    header; a mix, or exactly the integers 0, 1, ..., n-1 that pandas writes as
    column names, is an error asking for --header or --no-header). Blank lines
    are ignored; every other line must hold n_columns numbers. Raises
    InputError naming the line and column of the first problem.
    """
    text = _read_text(path, "utf-8-sig")
    numbered = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
    if numbered and (header or header is None and _is_header(path, *numbered[0], delimiter)):
        numbered = numbered[1:]
    if not numbered:
        raise InputError(f"{path}: no data rows.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            X = np.loadtxt([line for _, line in numbered], delimiter=delimiter,
                           dtype=np.float64, ndmin=2, comments=None)
    except (ValueError, UserWarning):
        X = None
    if X is None or X.shape[0] != len(numbered):  # find the line, the slow way
        raise InputError(f"{path}: {_first_problem(numbered, delimiter, n_columns)}")
    if X.shape[1] != n_columns:
        raise InputError(f"{path}: {X.shape[1]} columns, but the model expects {n_columns} "
                         "features.")
    return X


def _is_number(field):
    """Whether a CSV field is a number as np.loadtxt reads it (float() without '_')."""
    try:
        float(field)
    except ValueError:
        return False
    return "_" not in field


def _is_header(path, lineno, line, delimiter):
    """Whether the first non-blank line is a header, by --header/--no-header's rules."""
    fields = [f.strip() for f in line.split(delimiter)]
    numeric = [_is_number(f) for f in fields]
    if not any(numeric):
        return True
    if not all(numeric):
        col = numeric.index(False) + 1
        raise InputError(
            f"{path}: line {lineno}, column {col}: {fields[col - 1]!r} is not a number, but "
            "other fields of this first line are: use --header if it is a header, or fix "
            "the field (and use --no-header) if it is data.")
    if fields == [str(i) for i in range(len(fields))]:
        raise InputError(
            f"{path}: line {lineno} is 0, 1, ..., {len(fields) - 1}: the column names "
            "pandas writes, or data? Use --header or --no-header.")
    return False


def _first_problem(numbered, delimiter, n_columns):
    """The first bad line, found the slow way (only when loadtxt has failed)."""
    expected = len(numbered[0][1].split(delimiter))
    for lineno, line in numbered:
        fields = line.split(delimiter)
        if len(fields) != expected:
            return f"line {lineno} has {len(fields)} columns, the first data row has {expected}."
        for col, field in enumerate(fields, 1):
            if not _is_number(field):
                return f"line {lineno}, column {col}: {field.strip()!r} is not a number."
    return f"cannot parse it as a numeric CSV with {n_columns} columns."


def _delimiter(text):
    """argparse type of --delimiter: one character that no number holds ('\\t': a tab)."""
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"must be exactly one character, got {text!r} ({len(text)} characters); "
            "use '\\t' for a tab.")
    if text in "0123456789.+-eE\r\n":
        raise argparse.ArgumentTypeError(f"{text!r} can be part of a number or a line end; "
                                         "choose another delimiter.")
    return text


# -- the parser --------------------------------------------------------------------------
def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(prog="pnet", description="ProjectionNet on the CPU.")
    parser.add_argument("--version", action="version", version=f"pnet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train on scikit-learn's digits and report both nets")
    demo.add_argument("--random-state", type=int, default=0)
    demo.add_argument("--verbose", action="store_true", help="one line per epoch")
    demo.set_defaults(func=_demo)

    info = sub.add_parser("info", help="describe a model file (CompactProjectionNet.save)")
    info.add_argument("model", help="model file")
    info.add_argument("--max-classes", type=int, default=20,
                      help="class labels to list (default 20)")
    info.set_defaults(func=_info)

    predict = sub.add_parser(
        "predict", help="predict every row of a numeric CSV (or every line of a text file)",
        description="One prediction per data row of a numeric CSV, in order, on stdout. "
        "Blank lines are ignored; every other line is one row of numbers. Without "
        "--header or --no-header, a first line of numbers is data and a first line "
        "with no number is a header; any other first line (numbers mixed with text or "
        "empty fields, or exactly 0,1,...,n-1 as pandas writes column names) is an "
        "error asking for one of the two. A text model reads a UTF-8 text file "
        "instead: one text per line, every line a row (an empty one too), no header.")
    predict.add_argument("model", help="model file")
    predict.add_argument("data", help="numeric CSV, one sample per row; for a text model, "
                         "a text file, one text per line ('-' for stdin)")
    header = predict.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_const", const=True,
                        default=None, help="the first non-blank line is a header: skip it")
    header.add_argument("--no-header", dest="header", action="store_const", const=False,
                        help="the first line is data")
    predict.add_argument("--delimiter", type=_delimiter, default=",",
                         help="field separator, one character (default ','; '\\t' for a tab)")
    predict.add_argument("--proba", action="store_true",
                         help="print class probabilities (a header row of classes first)")
    predict.set_defaults(func=_predict)

    export = sub.add_parser(
        "export-c", help="write the model as dependency-free C99 (pnet_model.h, pnet_model.c)",
        description="Write pnet_model.h and pnet_model.c into OUTDIR: C99 that predicts "
        "bit for bit as the model (see the comment at the top of pnet_model.h).")
    export.add_argument("model", help="model file")
    export.add_argument("outdir", help="directory for the two files (created if needed)")
    export.add_argument("--hyperplane-table", action="store_true",
                        help="store the hyperplanes' non-zero entries as const tables "
                             "(ternary, sparse_sign or local, dense input): faster, more "
                             "flash (default: hash them on the fly; for local the "
                             "tables are ~20x faster)")
    export.add_argument("--all-sums", action="store_true",
                        help="without tables: keep all T*d projection sums on the stack "
                             "(8 bytes each, 4 summed in int32) instead of 64 at a "
                             "time; sparse_sign then "
                             "draws each feature's entries once, not once per 64 bits")
    export.add_argument("--input-type", choices=("float32", "uint8"), default="float32",
                        help="dense models: the type of the row values the C takes "
                             "(default float32; uint8: 8-bit rows, which ternary, "
                             "sparse_sign and local projections sum exactly in int32, no "
                             "floating point in the projection)")
    export.add_argument("--max-text-bytes", type=int, default=256,
                        help="text models: the longest text in bytes the C takes "
                             "(default 256)")
    export.set_defaults(func=_export_c)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
    except InputError as exc:
        message = " ".join(str(exc).splitlines())
        print(f"pnet {args.command}: error: {message}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader has gone (``pnet predict ... | head``): stop quietly, as the Python
        # docs advise: point stdout at devnull so the flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
