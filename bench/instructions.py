"""Instructions per row of the compact model's predictions, counted by callgrind (issue 12).

``python -m bench.instructions [--quick]``  (needs ``valgrind``; ~10 min, ``--quick`` ~3 min)

Timings on this shared 2-core machine swing 5-10x with other people's load; an
instruction count does not (``valgrind --tool=callgrind`` counts the same total for
the same binary and input, loaded or idle). For each model (the MNIST subset's
default compact int8 net, T = 60, d = 12, trained 5 epochs alone, for each
projection and density in ``MODELS``), a child process loads the model file under valgrind with instrumentation
off, warms every kernel up, and then counts only the calls measured:
``predict_one(x)``, the public ``predict(x[None])``, and one ``predict`` of a
batch (float32 rows in [0, 1], and the same images as uint8 pixels). Each is counted at two call counts and the difference is divided by the
extra rows, so start-up and the polling around the measured region cancel out.
Numba and BLAS run one thread (batches then run the serial row kernels). Note
that the child compiles for this machine's CPU (``host_cpu``: valgrind presents a
CPU of its own, and numba would otherwise count code compiled for that one), and
that valgrind counts ``rep stosb`` (glibc's memset of large blocks, e.g. zeroing
the 720 float64 sums of a row) once per byte: ~5,800 of each row's count.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

#: label -> (projection, density); the first is the default, the last the baseline
MODELS = {"sparse_sign 8/D (default)": ("sparse_sign", "auto"),
          "ternary 8/D": ("ternary", "auto"),
          "ternary 1/sqrt(D) (pnet 0.1)": ("ternary", 1 / 28)}
CALLS = {"predict_one(x)": "one", "predict(x[None])": "public", "predict(X) batch": "batch",
         "predict(X) batch, uint8 pixels": "bytes"}


def child(model, what, n, X_path, flag):
    """Runs under valgrind: warm up, signal, wait, run ``n`` calls, signal."""
    import pnet

    c = pnet.load(model)
    X = np.load(X_path)
    P = np.rint(X * 255).astype(np.uint8)  # the same images as 8-bit pixels
    c.predict_one(X[0]), c.predict(X[:1]), c.predict(X), c.predict(P)
    Path(flag + ".ready").touch()
    while not os.path.exists(flag + ".go"):
        time.sleep(0.05)
    if what == "one":
        for i in range(n):
            c.predict_one(X[i % len(X)])
    elif what == "public":
        for i in range(n):
            c.predict(X[i % len(X)][None])
    elif what == "bytes":
        c.predict(P[:n])
    else:
        c.predict(X[:n])
    Path(flag + ".done").touch()
    time.sleep(1)


#: CPU features valgrind cannot execute (prefixes of LLVM's names)
VALGRIND_LACKS = ("avx512", "avx10", "amx", "gfni", "vaes", "vpclmulqdq", "avxvnni", "avxifma",
                  "avxneconvert", "sha512", "sm3", "sm4", "cmpccxadd", "apx")


def host_cpu():
    """NUMBA_CPU_NAME / NUMBA_CPU_FEATURES of this machine, for the child under valgrind.

    valgrind answers CPUID for a CPU of its own (here "haswell" on an AMD Zen 3), and
    numba compiles for the CPU it detects: without these the counted code is not the
    code that runs outside valgrind (the bit-plane layer: 8,273 instructions per MNIST
    row compiled for haswell against 5,331 for znver3, before 38e37d1). valgrind
    executes AVX2, BMI2 and POPCNT but not AVX-512 nor the newer VEX instructions
    (GFNI, which LLVM uses for byte shuffles on an Emerald Rapids; VAES; AVX-VNNI;
    ...), so those features are turned off (``VALGRIND_LACKS``)."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    features = [("-" + f[1:]) if f[1:].startswith(VALGRIND_LACKS) else f
                for f in llvm.get_host_cpu_features().flatten().split(",")]
    return {"NUMBA_CPU_NAME": llvm.get_host_cpu_name(), "NUMBA_CPU_FEATURES": ",".join(features)}


def count(model, what, n, X_path, tmp):
    """Instructions of ``n`` calls (or an n-row batch) in a fresh valgrind process."""
    flag = os.path.join(tmp, f"{Path(model).stem}.{what}.{n}")
    out = flag + ".callgrind"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", **host_cpu())
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         sys.executable, "-m", "bench.instructions", "--child", model, what, str(n), X_path,
         flag], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for event, command in (("ready", "on"), ("done", "off")):
        while not os.path.exists(f"{flag}.{event}"):
            if proc.poll() is not None:
                raise RuntimeError(f"the child exited early ({proc.returncode}): {flag}")
            time.sleep(0.2)
        subprocess.run(["callgrind_control", "-i", command, str(proc.pid)], check=True,
                       capture_output=True)
        if event == "ready":
            Path(flag + ".go").touch()
    proc.wait()
    for line in Path(out).read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        return child(argv[1], argv[2], int(argv[3]), argv[4], argv[5])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (100 vs 300)")
    args = parser.parse_args(argv)
    lo, hi = (50, 150) if args.quick else (100, 900)

    from sklearn.exceptions import ConvergenceWarning

    from pnet import ProjectionNetClassifier

    from .datasets import load

    X_train, X_test, y_train, y_test = load("mnist")
    with tempfile.TemporaryDirectory() as tmp:
        X_path = os.path.join(tmp, "X.npy")
        np.save(X_path, np.ascontiguousarray(X_test[:1000]))
        per_row = {}
        for label, (projection, density) in MODELS.items():
            clf = ProjectionNetClassifier(projection=projection, density=density,
                                          quantize="int8", random_state=0, max_iter=5,
                                          trainer_weight=0, distillation_weight=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X_train, y_train)
            model = os.path.join(tmp, f"model{len(per_row)}.pnet")
            clf.to_compact().save(model)
            for call, what in CALLS.items():
                a = count(model, what, lo, X_path, tmp)
                b = count(model, what, hi, X_path, tmp)
                per_row[label, call] = (b - a) / (hi - lo)
                print(f"  {label} {call}: {per_row[label, call]:,.0f} instructions/row",
                      flush=True)
    labels, base = list(MODELS), list(MODELS)[-1]
    print("\n| call | " + " | ".join(labels) + f" | ratios to {base} |")
    print("|---|" + "---:|" * (len(labels) + 1))
    for call in CALLS:
        counts = [per_row[label, call] for label in labels]
        ratios = ", ".join(f"{c / per_row[base, call]:.2f}×" for c in counts[:-1])
        print(f"| {call} | " + " | ".join(f"{c:,.0f}" for c in counts) + f" | {ratios} |")


if __name__ == "__main__":
    main()
