"""``device: auto | cpu | cuda | metal`` resolved per framework; an absent device is an error."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "metal")


class DeviceError(RuntimeError):
    pass


def resolve_mlx(requested: str) -> str:
    """Select the MLX device for ``requested`` and return the name of the one in use."""
    import mlx.core as mx

    gpu_backend = "metal" if mx.metal.is_available() else "cuda" if mx.cuda.is_available() else None
    if requested not in DEVICES:
        raise DeviceError(f"device '{requested}' is not one of {', '.join(DEVICES)}")
    if requested == "auto":
        requested = gpu_backend or "cpu"
    if requested == "cpu":
        mx.set_default_device(mx.cpu)
        return "cpu"
    if requested != gpu_backend:
        seen = ", ".join(filter(None, ["cpu", gpu_backend]))
        raise DeviceError(f"device '{requested}' was requested but MLX here has only: {seen}")
    mx.set_default_device(mx.gpu)
    return requested


def resolve_torch(requested: str) -> str:
    """The torch device for ``requested`` (``metal`` is PyTorch's ``mps``), as a device string."""
    import torch

    available = {"cuda": torch.cuda.is_available(), "metal": torch.backends.mps.is_available()}
    if requested not in DEVICES:
        raise DeviceError(f"device '{requested}' is not one of {', '.join(DEVICES)}")
    if requested == "auto":
        requested = next((name for name, ok in available.items() if ok), "cpu")
    if requested != "cpu" and not available[requested]:
        seen = ", ".join(["cpu"] + [name for name, ok in available.items() if ok])
        raise DeviceError(f"device '{requested}' was requested but PyTorch here has only: {seen}")
    return {"cpu": "cpu", "cuda": "cuda", "metal": "mps"}[requested]


def resolve_jax(requested: str, threads: int | None = None) -> str:
    """The JAX platform for ``requested`` ("cpu" or "gpu"); call before the first JAX computation.

    ``threads`` caps XLA's CPU thread pool so that parallel jobs do not oversubscribe the cores.
    """
    if requested not in DEVICES:
        raise DeviceError(f"device '{requested}' is not one of {', '.join(DEVICES)}")
    if requested == "metal":
        raise DeviceError("device 'metal' is not supported by JAX here (use the MLX workloads on Apple silicon)")
    if threads:
        flags = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in flags:
            os.environ["XLA_FLAGS"] = (
                f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}".strip()
            )
    import jax

    with cpus_while_starting(threads):
        platforms = {d.platform for d in jax.devices()} | {"cpu"}
    if requested == "auto":
        requested = "cuda" if "gpu" in platforms else "cpu"
    if requested == "cuda" and "gpu" not in platforms:
        raise DeviceError(f"device 'cuda' was requested but JAX here has only: {', '.join(sorted(platforms))}")
    jax.config.update("jax_platform_name", "gpu" if requested == "cuda" else "cpu")
    enable_jax_compilation_cache(jax)
    return requested


@contextlib.contextmanager
def cpus_while_starting(threads: int | None):
    """Let the process see only ``threads`` CPUs while a runtime sizes its thread pool, then all again.

    XLA's CPU client ignores intra_op_parallelism_threads and sizes its pool by the CPUs the process may
    run on, so a 1-thread lds job used both cores and slowed the job beside it. The pool keeps the size
    it was created with; afterwards every thread may run on any of the allowed CPUs again (Linux only)."""
    if not threads or not hasattr(os, "sched_getaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    if threads >= len(allowed):
        yield
        return
    os.sched_setaffinity(0, sorted(allowed)[:threads])
    try:
        yield
    finally:
        for task in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):  # a thread may have exited meanwhile
                os.sched_setaffinity(int(task), allowed)


def jax_compilation_cache_dir() -> str:
    """``$TESTBEDS_JAX_CACHE`` (empty: off), else ``$XDG_CACHE_HOME/testbeds/jax`` (~/.cache/testbeds/jax)."""
    if "TESTBEDS_JAX_CACHE" in os.environ:
        return os.environ["TESTBEDS_JAX_CACHE"]
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "testbeds" / "jax")


def enable_jax_compilation_cache(jax) -> None:
    """JAX's persistent compilation cache: the grid's jobs compile the same steps (seeds share shapes,
    optimisers share the evaluation), so all but the first load the executable instead of compiling.
    A cached executable is the one the compiler would produce, so results do not change."""
    directory = jax_compilation_cache_dir()
    if directory:
        jax.config.update("jax_compilation_cache_dir", directory)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
