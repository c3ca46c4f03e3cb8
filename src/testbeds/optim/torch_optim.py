"""Optimisers for the PyTorch workloads: torch.optim's Adam/AdamW, and our Kourkoutas-β port."""

from __future__ import annotations

import torch

from testbeds.optim.kbeta_torch import KourkoutasBeta
from testbeds.optim.registry import kbeta_options


def make_optimizer(spec: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    algorithm = spec["algorithm"]
    if algorithm == "adam":
        return torch.optim.Adam(params, lr=learning_rate, betas=(spec["beta1"], spec["beta2"]), eps=spec["eps"])
    if algorithm == "adamw":
        return torch.optim.AdamW(params, lr=learning_rate, betas=(spec["beta1"], spec["beta2"]), eps=spec["eps"],
                                 weight_decay=spec.get("weight_decay", 0.01))
    if algorithm == "kbeta":
        return KourkoutasBeta(params, lr=learning_rate, **kbeta_options(spec))
    raise ValueError(f"unknown optimizer algorithm '{algorithm}'")


def bucket_diagnostics(opt: torch.optim.Optimizer) -> dict[str, tuple[float, float]]:
    return opt.bucket_diagnostics() if isinstance(opt, KourkoutasBeta) and opt.diagnostics else {}
