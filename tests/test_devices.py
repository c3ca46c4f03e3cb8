"""device: auto | cpu | cuda | metal, one resolver per framework; an absent device is an error."""

import os
from pathlib import Path

import pytest

from testbeds import devices


def test_mlx_resolves_cpu_and_refuses_absent_gpus():
    assert devices.resolve_mlx("cpu") == "cpu"
    assert devices.resolve_mlx("auto") in ("cpu", "metal", "cuda")
    import mlx.core as mx

    absent = [d for d in ("cuda", "metal") if not (mx.metal.is_available() if d == "metal" else mx.cuda.is_available())]
    for device in absent:
        with pytest.raises(devices.DeviceError, match=device):
            devices.resolve_mlx(device)


def test_torch_maps_metal_to_mps_and_refuses_absent_devices():
    import torch

    assert devices.resolve_torch("cpu") == "cpu"
    assert devices.resolve_torch("auto") == (
        "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    )
    if not torch.cuda.is_available():
        with pytest.raises(devices.DeviceError, match="cuda"):
            devices.resolve_torch("cuda")


def test_jax_resolves_cpu_and_refuses_metal():
    assert devices.resolve_jax("cpu") == "cpu"
    with pytest.raises(devices.DeviceError, match="metal"):
        devices.resolve_jax("metal")


@pytest.mark.parametrize("resolve", [devices.resolve_mlx, devices.resolve_torch, devices.resolve_jax])
def test_unknown_device_is_rejected(resolve):
    with pytest.raises(devices.DeviceError, match="tpu"):
        resolve("tpu")


COMPILE_ONCE = """
import jax, jax.numpy as jnp
from testbeds.devices import resolve_jax
resolve_jax("cpu", 1)
print(float(jax.jit(lambda x: jnp.tanh(x) @ x.T)(jnp.ones((8, 8))).sum()))
"""


def test_jax_jobs_share_compiled_steps_through_the_persistent_cache(tmp_path):
    """A second job compiling the same step loads it from the cache directory; an empty setting turns it off."""
    import subprocess
    import sys

    def job(cache: str | None, home: Path) -> str:
        env = {k: v for k, v in os.environ.items() if k != "TESTBEDS_JAX_CACHE"}
        env["XDG_CACHE_HOME"] = str(home)
        if cache is not None:
            env["TESTBEDS_JAX_CACHE"] = cache
        return subprocess.run(
            [sys.executable, "-c", COMPILE_ONCE], env=env, capture_output=True, text=True, check=True
        ).stdout

    cache = tmp_path / "jax"
    first = job(str(cache), tmp_path)
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "nothing was written to the compilation cache"
    assert job(str(cache), tmp_path) == first and sorted(p.name for p in cache.iterdir()) == entries  # a hit
    job(None, tmp_path / "home")  # default location
    assert any((tmp_path / "home" / "testbeds" / "jax").iterdir())
    job("", tmp_path / "off")  # turned off
    assert not (tmp_path / "off").exists()
