"""The by-bit loop alone in C: float64 lanes against float32 lanes (issue 12).

``python -m bench.bybit_loop``  (needs gcc and an AVX-512 CPU; ~10 s)

Writes the bit groups of the default model's hyperplanes (MNIST's 784 features,
T * d = 720 bits, sparse_sign at 8 entries a plane) to a temporary directory,
compiles ``bench/c/bybit_loop.c`` with ``gcc -O3 -march=native`` and runs it three
times: the time 10,000 rows' by-bit sums take in 8 float64 lanes (float64 rows),
8 float64 lanes from a float32 table (float32 rows), 16 float32 lanes in one
register (uint8 rows), and two halves of 8 float32 lanes (uint8 rows before). A measurement for the decision
on a versioned float32 LSH (bench/RESULTS.md, "Float32 rows: a float32 lane
table"), not a test of pnet's kernels.
"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from pnet import Hyperplanes

N_FEATURES, N_BITS = 784, 720


def main():
    if shutil.which("gcc") is None:
        sys.exit("bench.bybit_loop needs gcc")
    if "avx512f" not in Path("/proc/cpuinfo").read_text():
        sys.exit("bench.bybit_loop needs a CPU with AVX-512 (its loops are zmm intrinsics)")
    hp = Hyperplanes(0, N_FEATURES, N_BITS, "sparse_sign", 8 / N_FEATURES)
    _, gptr, gidx, gsgn = hp.block_cache()[1:]
    with tempfile.TemporaryDirectory() as tmp:
        np.asarray(gptr, np.int64).tofile(Path(tmp, "gptr.bin"))
        np.asarray(gidx, np.int32).tofile(Path(tmp, "gidx.bin"))
        np.asarray(gsgn, np.float64).tofile(Path(tmp, "gsgn.bin"))
        binary = str(Path(tmp, "bybit_loop"))
        source = Path(__file__).with_name("c") / "bybit_loop.c"
        subprocess.run(["gcc", "-O3", "-march=native", "-o", binary, str(source)], check=True)
        for _ in range(3):
            subprocess.run([binary, tmp, str(N_FEATURES)], check=True)


if __name__ == "__main__":
    main()
