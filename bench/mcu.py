"""From a fitted model to C on a microcontroller: size, stack, QEMU labels, host speed.

Run ``python -m bench.mcu [--quick]`` (default: ~5 minutes, mostly training and QEMU;
``--quick`` trains 5 epochs and checks fewer rows). Needs, beyond the bench extra,
the Debian packages ``gcc-arm-none-eabi`` and ``qemu-system-arm``::

    apt-get install -y gcc-arm-none-eabi qemu-system-arm

(without them only the host part runs). This module owns the C export benchmark;
it calls ``CompactProjectionNet.export_c`` and compiles what it writes.

For digits and the MNIST subset (``bench.datasets.load``), it fits
``ProjectionNetClassifier(random_state=0)`` (defaults: sparse_sign projection, T = 60,
d = 12, density 'auto', no hidden layer) and exports its compact model in float32, int8
and int4; and, as the peer, the same estimator with ``projection='ternary'`` at the
same ``density_`` (int8 only, hashed and with tables: rows ``-ternary-``):

- **Cortex-M4 build**: ``arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os`` (soft-float
  ABI: float and double in software, IEEE-exact; and the int8 model once more with
  ``-mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffp-contract=fast``: float in the FPU, which
  has a fused multiply-add, double still in software), ``-ffunction-sections
  -fdata-sections -Wl,--gc-sections``, no C library: the model, ``bench/mcu/main.c``
  (predicts the test rows, prints the class indices through ARM semihosting) and
  ``bench/mcu/startup.c`` (vector table, semihosting, stack painting), linked
  with ``bench/mcu/cortex_m4.ld`` (QEMU mps2-an386's memory map) and libgcc.
- **Flash**: ``arm-none-eabi-size`` of that firmware minus the same firmware with a
  one-line stub instead of the model: the model's weights, its code and the libgcc
  routines it pulls in (soft-float add, multiply, compare, conversions).
- **RAM**: the model's .data + .bss (``arm-none-eabi-size`` of its object: 0, all
  weights are const) + its worst-case stack: the deepest call chain from
  ``pnet_predict`` in gcc's ``-fcallgraph-info=su`` (the frames of pnet's own
  functions; libgcc's leaf routines add a few dozen bytes), checked against the
  high-water mark of the painted stack measured under QEMU (the whole firmware).
- **Labels**: the firmware runs in ``qemu-system-arm -M mps2-an386`` (a Cortex-M4
  board) with ``-semihosting-config enable=on,target=native``; its class indices
  must equal Python's ``argmax(decision_function(X))`` on every test row.
- **Instructions per row**: SysTick ticks around each ``pnet_predict`` under
  ``-icount shift=0`` (one guest instruction = 1 ns of virtual time, one tick of the
  board's 25 MHz clock = 40 instructions, so +-40 per row). QEMU models no cycles: a
  Cortex-M4 needs at least one cycle per instruction (loads 2, multiplies and
  branches more), so at 168 MHz a row takes at least instructions / 168 µs.
- **Host speed**: ``pnet/c/pnet_check_main.c`` compiled with ``gcc -O2``, mean time
  of one ``pnet_predict`` over the test rows (median of passes), against Python's
  ``predict_one`` (median latency), rounds interleaved; with the hyperplanes hashed
  on the fly (the default export: one word of 64 sums at a time), hashed with all
  sums at once (``all_sums=True``: sparse_sign draws each feature once) and as const
  tables (``hyperplane_table=True``), for both projections (int8), with each
  sparse_sign time / the ternary time of the same build. The MCU table has the
  int8 model in these three exports too (rows ``-sums``, ``-table``).
- **local** (rows ``-local-``): ``projection='local'`` ('auto' windows of the 8 x 8
  or 28 x 28 image, 2-5 and 6-17 pixels, density 0.5) in int8, hashed (each bit
  summed over its own window), with tables, and with tables for uint8 rows.
- **uint8 rows** (rows ``-u8``): the int8 model exported with ``input_type='uint8'``
  (int32 sums, no floating point in the projection), fed the test images as bytes
  (``bench.datasets.as_pixels``: MNIST's 0..255, digits' 0..16), hashed, all sums
  and tables (and hashed and tables built for the FPU: rows ``-fpu-u8``);
  labels against Python's predictions of the same byte rows; on the host, the
  tables' and all sums' uint8 builds beside their float32 ones.
"""
import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pnet import ProjectionNetClassifier
from pnet.export_c import c_float

from ._common import (Goal, add_mode_arguments, fmt_ratio, fmt_time, format_machine_info,
                      markdown_table, median_latency, mode_name, print_section)
from .datasets import as_pixels, load

HERE = Path(__file__).resolve().parent / "mcu"
HARNESS = str(resources.files("pnet").joinpath("c", "pnet_check_main.c"))
ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-Os", "-std=c99", "-Wall", "-Wextra",
             "-ffunction-sections", "-fdata-sections"]
ARM_LINK = ["-nostartfiles", "-nostdlib", "-T", str(HERE / "cortex_m4.ld"),
            "-Wl,--gc-sections"]
QEMU = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
        "-serial", "none", "-semihosting-config", "enable=on,target=native",
        "-icount", "shift=0", "-kernel"]
#: guest instructions per SysTick tick under -icount shift=0 (1 ns each; 25 MHz clock)
INSTRUCTIONS_PER_TICK = 40
#: the Cortex-M4's single-precision FPU (float in hardware, double still in software);
#: -ffp-contract=fast lets gcc fuse float a * b + c into VFMA, which pnet must prevent
FPU_FLAGS = ["-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-ffp-contract=fast"]
HOST_FLAGS = ["-std=c99", "-O2", "-DPNET_PROBA"]
FORMATS = (None, "int8", "int4")
#: the exports compared: export_c's keyword arguments
EXPORTS = {"hash": {}, "sums": {"all_sums": True}, "table": {"hyperplane_table": True}}
#: the estimator's default projection, then its peer at the same density
PROJECTIONS = ("sparse_sign", "ternary")
#: windows of the image ('auto' windows and density), MCU table only: int8 hashed,
#: tables, tables for uint8 rows
LOCAL = "local"

GOALS = {
    "flash": Goal("Cortex-M4 flash of the dense int8 model - its size_bytes", 3072, False,
                  " bytes", 13),
    "ram": Goal("RAM (data + bss + worst-case stack) of the MNIST T=60 d=12 model", 2048,
                False, " bytes", 13),
    "speed": Goal("C predict of one MNIST row at -O2 on this machine", 2.0, False, " µs",
                  13),
}


@dataclass
class Mode:
    max_iter: int   # training epochs
    mcu_rows: int   # test rows run under QEMU (per model)
    rounds: int     # interleaved timing rounds (median kept)


MODES = {"quick": Mode(5, 100, 3), "default": Mode(30, 1000, 5)}


# -- building ------------------------------------------------------------------------------
def run(cmd, **kwargs):
    """subprocess.run that raises with the command's stderr on failure."""
    result = subprocess.run(cmd, capture_output=True, **kwargs)
    if result.returncode != 0:
        err = result.stderr.decode() if isinstance(result.stderr, bytes) else result.stderr
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{err[-3000:]}")
    return result


def write_rows(path, X):
    """rows.h: the test rows as a const array (in flash) of float, or of uint8_t for
    uint8 rows; ``row_t`` names the type."""
    ctype, literal = ("uint8_t", str) if X.dtype == np.uint8 else ("float", c_float)
    lines = ["{" + ", ".join(map(literal, x)) + "}" for x in X]
    Path(path).write_text(
        f"typedef {ctype} row_t;\n#define N_ROWS {len(X)}u\n"
        f"static const row_t rows[{len(X)}][{X.shape[1]}] = {{\n"
        + ",\n".join(lines) + "\n};\n")


def arm_size(path):
    """(text, data, bss) bytes of an object or ELF (``arm-none-eabi-size``)."""
    out = run(["arm-none-eabi-size", str(path)], text=True).stdout.splitlines()[1].split()
    return int(out[0]), int(out[1]), int(out[2])


def static_stack(ci_path, root="pnet_predict"):
    """Deepest stack from ``root`` in a gcc ``-fcallgraph-info=su`` file: the sum of
    the frames along the worst call chain (functions without a size count 0)."""
    text = Path(ci_path).read_text()
    node = r'title: "([^"]+)" label: "[^"]*\\n(\d+) bytes'
    frames = {t: int(n) for t, n in re.findall(node, text)}
    calls = {}
    for src, dst in re.findall(r'sourcename: "([^"]+)" targetname: "([^"]+)"', text):
        calls.setdefault(src, set()).add(dst)

    def deepest(name, seen=()):
        if name in seen:
            raise ValueError(f"recursion through {name}: no static stack bound")
        below = [deepest(c, seen + (name,)) for c in calls.get(name, ())]
        return frames.get(name, 0) + max(below, default=0)
    return deepest(root)


def build_firmware(model_dir, X, stub=False, fpu=False):
    """The Cortex-M4 ELF predicting the rows X (or the stub's), in model_dir."""
    write_rows(model_dir / "rows.h", X)
    elf = model_dir / ("stub.elf" if stub else "firmware.elf")
    sources = [str(HERE / "main.c"), str(HERE / "startup.c")]
    if stub:
        defines = ["-DPNET_STUB"]
    else:
        defines = []
        sources.append(str(model_dir / "pnet_model.c"))
    run(["arm-none-eabi-gcc", *ARM_FLAGS, *(FPU_FLAGS if fpu else []), *defines,
         f"-I{model_dir}", *sources, *ARM_LINK, "-lm", "-lc", "-lgcc", "-o", str(elf)])
    return elf


def model_object(model_dir, fpu=False):
    """pnet_model.c alone for the Cortex-M4: (object sizes, worst-case stack)."""
    obj = model_dir / "pnet_model.o"
    run(["arm-none-eabi-gcc", *ARM_FLAGS, *(FPU_FLAGS if fpu else []),
         "-fcallgraph-info=su", "-c",
         str(model_dir / "pnet_model.c"), "-o", str(obj)], cwd=model_dir)
    return arm_size(obj), static_stack(model_dir / "pnet_model.ci")


def run_qemu(elf, timeout=1800):
    """(class indices, guest instructions in pnet_predict, stack high-water bytes)
    printed by the firmware under QEMU (which writes the semihosting console to its
    stderr)."""
    out = run([*QEMU, str(elf)], text=True, timeout=timeout).stderr.split("\n")
    named = {line.split()[0]: int(line.split()[1]) for line in out
             if line.startswith(("ticks ", "stack "))}
    indices = [int(line) for line in out if line.strip().isdigit()]
    return np.array(indices), named["ticks"] * INSTRUCTIONS_PER_TICK, named["stack"]


def build_host(model_dir, flags=HOST_FLAGS):
    exe = model_dir / "pnet_check"
    run(["gcc", *flags, f"-I{model_dir}", str(model_dir / "pnet_model.c"), HARNESS, "-lm",
         "-o", str(exe)])
    return exe


def host_seconds(exe, X, passes):
    """Median over ``passes`` of the mean seconds of one pnet_predict over the rows X."""
    out = run([str(exe), "--time", str(passes)], input=np.ascontiguousarray(X).tobytes())
    return float(out.stdout)


def host_labels(exe, model, X):
    """Class indices of X from the host build (a check that the timed code is right)."""
    out = run([str(exe)], input=np.ascontiguousarray(X).tobytes()).stdout
    n_words, n_classes = (model.layer_sizes[0] + 63) // 64, len(model.classes_)
    row = np.dtype([("bits", "<u8", n_words), ("logits", "<f4", n_classes),
                    ("proba", "<f8", n_classes), ("index", "<i4")])
    return np.frombuffer(out, row)["index"]


def tools_available():
    return all(shutil.which(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-size",
                                        "qemu-system-arm"))


# -- the study -----------------------------------------------------------------------------
def fit(dataset, mode, projection="sparse_sign", density="auto"):
    X_train, X_test, y_train, y_test = load(dataset)
    start = time.perf_counter()
    clf = ProjectionNetClassifier(random_state=0, max_iter=mode.max_iter,
                                  projection=projection, density=density)
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return clf, np.ascontiguousarray(X_test, dtype=np.float32), y_test, seconds


def model_name(dataset, projection, fmt, export="hash", fpu=False, u8=False):
    """digits-int8, mnist-ternary-int8-table, mnist-int8-sums-u8, ...: the default
    projection and export unnamed."""
    return "-".join([dataset] + [projection] * (projection != PROJECTIONS[0])
                    + [fmt or "float32"] + [export] * (export != "hash") + ["fpu"] * fpu
                    + ["u8"] * u8)


def mcu_rows(dataset, clfs, X, y, mode, workdir):
    """One row per format, the int8 model with hyperplane tables, with all sums on the
    stack (``all_sums=True``), and built for the FPU (``FPU_FLAGS``), of the MCU
    table; then the ternary peer's int8 model, hashed and with tables; then the
    int8 model for uint8 rows, in the three exports, and hashed and with tables for
    the FPU; then the local model's int8, hashed, with tables, and with tables for
    uint8 rows."""
    rows, results = [], {}
    stubs = {}
    default, peer = PROJECTIONS
    variants = ([(default, fmt, "hash", False, False) for fmt in FORMATS]
                + [(default, "int8", "table", False, False),
                   (default, "int8", "sums", False, False),
                   (default, "int8", "hash", True, False),
                   (peer, "int8", "hash", False, False),
                   (peer, "int8", "table", False, False)]
                + [(default, "int8", export, False, True) for export in EXPORTS]
                + [(default, "int8", export, True, True) for export in ("hash", "table")]
                + [(LOCAL, "int8", "hash", False, False), (LOCAL, "int8", "table", False, False),
                   (LOCAL, "int8", "table", False, True)])
    X_mcu = X[:mode.mcu_rows]
    for projection, fmt, export, fpu, u8 in variants:
        model = clfs[projection].to_compact(quantize=fmt)
        name = model_name(dataset, projection, fmt, export, fpu, u8)
        model_dir = workdir / name
        model.export_c(model_dir, **EXPORTS[export], input_type="uint8" if u8 else "float32")
        (text, data, bss), stack = model_object(model_dir, fpu)
        X_rows = as_pixels(X_mcu) if u8 else X_mcu
        elf = build_firmware(model_dir, X_rows, fpu=fpu)
        if (fpu, u8) not in stubs:  # the stub reads the same rows
            stubs[fpu, u8] = arm_size(build_firmware(model_dir, X_rows, stub=True, fpu=fpu))
        fw, stub = arm_size(elf), stubs[fpu, u8]
        flash = (fw[0] + fw[1]) - (stub[0] + stub[1])
        start = time.perf_counter()
        indices, instructions, high_water = run_qemu(elf)
        qemu_s = time.perf_counter() - start
        expected = np.argmax(model.decision_function(X_rows), axis=1)
        same = int(np.sum(indices == expected)) if indices.shape == expected.shape else 0
        accuracy = np.mean(model.classes_[expected] == y[:mode.mcu_rows])
        results[name] = dict(model=model, flash=flash, ram=data + bss + stack,
                             same=same, n=len(expected))
        rows.append([name, f"{model.size_bytes:,}",
                     f"{text:,}", f"{flash:,}", f"{flash - model.size_bytes:+,}",
                     f"{data + bss}", f"{stack:,}", f"{high_water:,}",
                     f"{same}/{len(expected)}", f"{100 * accuracy:.1f} %",
                     f"{instructions / len(expected):,.0f}", f"{qemu_s:.1f} s"])
    return rows, results


def host_rows(dataset, clfs, X, mode, workdir):
    """C pnet_predict (hashed hyperplanes, one word of sums or all; tables; -O2, and
    -O3 -march=native for the tables; all sums and tables for uint8 rows) vs Python
    predict_one, int8, both projections, rounds interleaved: {projection: {build:
    median seconds per row}}."""
    builds = {"hash": ("hash", HOST_FLAGS), "sums": ("sums", HOST_FLAGS),
              "table": ("table", HOST_FLAGS),
              "table-O3": ("table", [*HOST_FLAGS, "-O3", "-march=native"]),
              "sums-u8": ("sums", HOST_FLAGS), "table-u8": ("table", HOST_FLAGS)}
    models = {p: clfs[p].to_compact(quantize="int8") for p in PROJECTIONS}
    rows_of = {name: as_pixels(X) if name.endswith("-u8") else X for name in builds}
    exes = {}
    for projection, model in models.items():
        for name, (export, flags) in builds.items():
            model_dir = workdir / f"{model_name(dataset, projection, 'int8')}-host-{name}"
            u8 = name.endswith("-u8")
            model.export_c(model_dir, **EXPORTS[export],
                           input_type="uint8" if u8 else "float32")
            exes[projection, name] = build_host(model_dir, flags)
            expected = np.argmax(model.decision_function(rows_of[name]), axis=1)
            assert np.array_equal(host_labels(exes[projection, name], model, rows_of[name]),
                                  expected)
    times = {(p, name): [] for p in PROJECTIONS for name in [*builds, "python"]}
    for _ in range(mode.rounds):  # interleaved rounds: the same load for all
        for projection, model in models.items():
            for name in ("hash", "sums", "sums-u8"):
                times[projection, name].append(
                    host_seconds(exes[projection, name], rows_of[name][:200], 3))
            for name in ("table", "table-O3", "table-u8"):
                times[projection, name].append(
                    host_seconds(exes[projection, name], rows_of[name], 5))
            times[projection, "python"].append(
                median_latency(model.predict_one, X, len(X))[0])
    med = {p: {name: statistics.median(times[p, name]) for name in [*builds, "python"]}
           for p in PROJECTIONS}
    what = {"hash": "C -O2, hyperplanes hashed (default)",
            "sums": "C -O2, hashed, all sums at once (all_sums)",
            "table": "C -O2, hyperplane tables",
            "table-O3": "C -O3 -march=native, hyperplane tables",
            "sums-u8": "C -O2, hashed, all sums, uint8 rows (int32 sums)",
            "table-u8": "C -O2, hyperplane tables, uint8 rows (int32 sums)",
            "python": "Python predict_one"}
    rows = [[f"{dataset} int8 {p}, {what[k]}", fmt_time(med[p][k]),
             fmt_ratio(med[p][k] / med[p]["python"]),
             fmt_ratio(med[p][k] / med["ternary"][k])]
            for p in PROJECTIONS for k in what]
    return rows, med


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mode_arguments(parser, quick="5 epochs, 100 rows under QEMU, 3 timing rounds")
    args = parser.parse_args()
    mode = MODES[mode_name(args)]
    print(format_machine_info())
    print(f"mode: {mode_name(args)} ({mode})")
    have_arm = tools_available()
    if not have_arm:
        print("arm-none-eabi-gcc / qemu-system-arm not found: host part only "
              "(apt-get install -y gcc-arm-none-eabi qemu-system-arm)")
    else:
        versions = [run([t, "--version"], text=True).stdout.splitlines()[0]
                    for t in ("arm-none-eabi-gcc", "qemu-system-arm")]
        print("cross toolchain: " + "; ".join(versions))
    print("host compiler: " + run(["gcc", "--version"], text=True).stdout.splitlines()[0])
    mcu_table, host_table, results, speed = [], [], {}, {}
    with tempfile.TemporaryDirectory(prefix="pnet-mcu-") as tmp:
        workdir = Path(tmp)
        for dataset in ("digits", "mnist"):
            clf, X, y, seconds = fit(dataset, mode)
            peer = fit(dataset, mode, PROJECTIONS[1], clf.density_)[0]
            E = clf.to_compact().hyperplanes.n_entries
            print(f"{dataset}: fitted in {seconds:.1f} s, {len(X)} test rows, density_ "
                  f"{clf.density_:.5f} (sparse_sign: E = {E} entries per feature)",
                  flush=True)
            clfs = dict(zip(PROJECTIONS, (clf, peer)))
            if have_arm:
                clfs[LOCAL] = fit(dataset, mode, LOCAL)[0]
            if have_arm:
                rows, res = mcu_rows(dataset, clfs, X, y, mode, workdir)
                mcu_table += rows
                results.update(res)
            rows, speed[dataset] = host_rows(dataset, clfs, X, mode, workdir)
            host_table += rows
    if have_arm:
        print_section("Cortex-M4 (arm-none-eabi-gcc -Os, QEMU mps2-an386)", markdown_table(
            ["model", "size_bytes", "pnet_model.o text", "firmware flash - stub",
             "flash - size_bytes", "data+bss", "stack (static)", "stack (QEMU, whole fw)",
             "labels = Python", "test accuracy", "Thumb instructions / row", "QEMU run"],
            mcu_table))
    print_section("One row on this machine: C vs Python predict_one (int8; C: CPU time "
                  "per call, mean over the rows, median of passes and rounds)",
                  markdown_table(["what", "per row", "vs Python", "/ ternary"], host_table))
    lines = []
    if have_arm:
        int8 = [results[model_name(d, PROJECTIONS[0], "int8")] for d in ("digits", "mnist")]
        worst = max(r["flash"] - r["model"].size_bytes for r in int8)
        lines.append(GOALS["flash"].line(worst, f"{worst:+,} bytes, worst of digits/MNIST"))
        ram = results["mnist-int8"]["ram"]
        lines.append(GOALS["ram"].line(ram, f"{ram:,} bytes, int8, hashed hyperplanes"))
        same = sum(r["same"] for r in results.values())
        total = sum(r["n"] for r in results.values())
        lines.append(f"labels under QEMU equal to Python's: {same}/{total} rows "
                     f"({len(results)} firmwares)")
    mnist = speed["mnist"][PROJECTIONS[0]]
    us = 1e6 * mnist["table"]
    lines.append(GOALS["speed"].line(us, f"{us:.2f} µs with hyperplane tables, "
                                         f"{1e6 * mnist['sums']:.1f} µs hashed with all "
                                         f"sums, {1e6 * mnist['hash']:.1f} µs hashed"))
    print_section("Goals", "\n".join(f"- {line}" for line in lines))


if __name__ == "__main__":
    main()
