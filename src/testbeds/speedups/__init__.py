"""CPU speed-ups that are not part of any model: each is named in a workload's ``speedups`` setting.

- ``blas``: MLX on Linux re-executes its job once with an optimised BLAS preloaded (``blas.py``); the
  PyPI ``mlx[cpu]`` wheel bundles a reference BLAS about 40x slower.
- ``malloc``: glibc keeps freed memory for reuse (``memory.py``); XLA and MLX free and reallocate large
  buffers every step.
- ``mlx_cpu_math``: on MLX's CPU backend, charlm's GELU and attention softmax use the rational tanh and
  polynomial exp of ``mlx_cpu_math.py`` instead of MLX's own (slow there) functions. This changes the
  numerics (within float32 rounding of the reference), so it is off by default: models use the
  frameworks' own functions.

The setting is part of each run's resolved settings (and so of its hash); docs/performance.md has the
figures.
"""

from __future__ import annotations

SPEEDUPS = ("blas", "malloc", "mlx_cpu_math")


def enabled(run: dict, name: str) -> bool:
    return name in run.get("speedups", ())


def prepare_process(run: dict) -> None:
    """Before the framework loads: the optimised BLAS for MLX (re-executes the script once) and glibc
    keeping freed memory, as the run's ``speedups`` ask."""
    if run["framework"] == "mlx" and enabled(run, "blas"):
        from testbeds.speedups.blas import ensure_fast_blas

        ensure_fast_blas(run["threads"])
    if enabled(run, "malloc"):
        from testbeds.speedups.memory import keep_freed_memory

        keep_freed_memory()
