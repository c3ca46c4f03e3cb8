"""``device: auto | cpu | cuda | metal`` resolved per framework; an absent device is an error."""

from __future__ import annotations

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
