"""Fast BLAS for MLX on Linux.

The PyPI ``mlx[cpu]`` wheel for Linux bundles a reference BLAS; preloading an optimised
one (Debian's ``libopenblas0-pthread``, or Intel MKL from PyPI) makes its matmuls far
faster (docs/performance.md). The dynamic loader reads LD_PRELOAD only at
process start, so ``ensure_fast_blas`` re-executes the current script once with
the library preloaded and the BLAS thread count set to the job's threads.
"""

from __future__ import annotations

import glob
import os
import platform
import sys

MARKER = "TESTBEDS_BLAS"


def candidates() -> list[str]:
    arch = platform.machine()
    return [
        f"/usr/lib/{arch}-linux-gnu/openblas-pthread/libopenblas.so.0",
        os.path.join(sys.prefix, "lib", "libopenblas.so.0"),  # conda-forge libopenblas (envs/mlx.yaml)
        *sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*"))),  # PyPI mkl, no root needed
    ]


def find_fast_blas() -> str | None:
    return next((path for path in candidates() if os.path.exists(path)), None)


def thread_env(threads: int) -> dict[str, str]:
    n = str(threads)
    return {"OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OMP_NUM_THREADS": n}


def ensure_fast_blas(threads: int) -> str:
    """Re-exec this process with an optimised BLAS preloaded (Linux); returns what is in use."""
    if sys.platform != "linux":
        return "platform default (Accelerate on macOS)"
    if os.environ.get(MARKER):
        return os.environ[MARKER]
    lib = find_fast_blas()
    if lib is None:
        print(
            "warning: no optimised BLAS found (install Debian's libopenblas0-pthread: `make setup`); "
            "MLX falls back to its bundled reference BLAS, many times slower",
            file=sys.stderr,
        )
        os.environ[MARKER] = "mlx bundled reference BLAS"
        return os.environ[MARKER]
    env = dict(os.environ, **thread_env(threads), **{MARKER: lib})
    env["LD_PRELOAD"] = ":".join(filter(None, [lib, os.environ.get("LD_PRELOAD")]))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
    raise AssertionError("unreachable")
