"""Optimisers for the PyTorch workloads: torch.optim's Adam, AdamW and SGD, and our Kourkoutas-β port.

Each function builds one algorithm of ``options.ALGORITHMS`` from its resolved options.

Adam and AdamW use torch's fused kernel (one pass over each tensor), as Kβ does for its default options
(docs/performance.md has the figures).
"""

from __future__ import annotations

import torch

from testbeds.optim.kbeta_torch import KourkoutasBeta
from testbeds.optim.options import with_defaults


def adam(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        params, lr=learning_rate, betas=(options["beta1"], options["beta2"]), eps=options["eps"], fused=True
    )


def adamw(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        params,
        lr=learning_rate,
        betas=(options["beta1"], options["beta2"]),
        eps=options["eps"],
        weight_decay=options["weight_decay"],
        fused=True,
    )


def kbeta(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    return KourkoutasBeta(params, lr=learning_rate, **options)


def sgd(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        params,
        lr=learning_rate,
        momentum=options["momentum"],
        nesterov=options["nesterov"],
        weight_decay=options["weight_decay"],
    )


def bucket_diagnostics(opt: torch.optim.Optimizer) -> dict[str, tuple[float, float]]:
    return opt.bucket_diagnostics() if isinstance(opt, KourkoutasBeta) and opt.diagnostics else {}


def matrix_decay_groups(named_parameters, weight_decay: float) -> list[dict]:
    """Two parameter groups: weight decay on matrices (dim >= 2), none on vectors (norms, biases)."""
    named = list(named_parameters)
    matrices = [(n, p) for n, p in named if p.ndim >= 2]
    vectors = [(n, p) for n, p in named if p.ndim < 2]
    groups = [
        {"params": [p for _, p in matrices], "param_names": [n for n, _ in matrices], "weight_decay": weight_decay},
        {"params": [p for _, p in vectors], "param_names": [n for n, _ in vectors], "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def parameter_groups(model: torch.nn.Module, spec: dict):
    """What ``make_optimizer`` gets: AdamW decays matrices only; the others take named parameters."""
    if spec.get("algorithm") == "adamw":
        return matrix_decay_groups(model.named_parameters(), with_defaults(spec)["weight_decay"])
    return list(model.named_parameters())


def warmup_cosine_scheduler(opt: torch.optim.Optimizer, warmup: int, total: int, min_frac: float):
    """``schedule.warmup_cosine`` from torch's schedulers: LinearLR over the warm-up, then CosineAnnealingLR."""
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(1, total - warmup), eta_min=opt.param_groups[0]["lr"] * min_frac
    )
    if warmup == 0:
        return decay
    ramp = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / warmup, total_iters=max(1, warmup - 1))
    return torch.optim.lr_scheduler.SequentialLR(opt, [ramp, decay], milestones=[warmup])
