"""device: auto | cpu | cuda | metal, one resolver per framework; an absent device is an error."""

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
    assert devices.resolve_torch("auto") == ("cuda" if torch.cuda.is_available() else
                                            "mps" if torch.backends.mps.is_available() else "cpu")
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
