"""Optimisers for the PyTorch workloads: torch.optim's Adam, AdamW, SGD, Muon and Adafactor, Lion from
lion-pytorch, Schedule-Free AdamW from schedulefree (its authors' package), and our Kourkoutas-β port.

Each function builds one algorithm of ``options.ALGORITHMS`` from its resolved options.

Adam and AdamW use torch's fused kernel (one pass over each tensor), as Kβ does for its default options
(docs/performance.md has the figures).
"""

from __future__ import annotations

import contextlib
import copy
import math

import torch
from lion_pytorch import Lion
from schedulefree import AdamWScheduleFree

from testbeds.optim.kbeta_torch import KourkoutasBeta
from testbeds.optim.options import diagnostic_names, is_hidden_matrix, relative_step, with_defaults


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


def lion(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    return Lion(
        _tensors(params),
        lr=learning_rate,
        betas=(options["beta1"], options["beta2"]),
        weight_decay=options["weight_decay"],
    )


def adafactor(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    # torch clamps the variance estimate at eps1² where the others add eps to g²: the same but for
    # all-zero gradients, which both leave unchanged
    return torch.optim.Adafactor(
        _tensors(params),
        lr=learning_rate,
        beta2_decay=-options["decay_rate"],
        eps=(options["eps"] ** 0.5, options["eps_scale"]),
        d=options["clip_threshold"],
        weight_decay=0.0,
    )


def muon(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    """torch.optim.Muon (update RMS matched to AdamW's) on the hidden matrices, torch.optim.AdamW on the rest."""
    named = list(params)
    hidden = [p for name, p in named if is_hidden_matrix(name, p.shape)]
    rest = [p for name, p in named if not is_hidden_matrix(name, p.shape)]
    parts = []
    if hidden:
        parts.append(
            torch.optim.Muon(
                hidden,
                lr=learning_rate,
                weight_decay=options["weight_decay"],
                momentum=options["momentum"],
                nesterov=options["nesterov"],
                ns_steps=options["ns_steps"],
                adjust_lr_fn="match_rms_adamw",
            )
        )
    if rest:
        parts.append(
            torch.optim.AdamW(
                rest,
                lr=learning_rate,
                betas=(options["adam_beta1"], options["adam_beta2"]),
                eps=options["eps"],
                weight_decay=options["weight_decay"],
            )
        )
    return Partitioned(parts)


def schedule_free_adamw(options: dict, params, learning_rate: float) -> torch.optim.Optimizer:
    opt = AdamWScheduleFree(
        _tensors(params),
        lr=learning_rate,
        betas=(options["beta1"], options["beta2"]),
        eps=options["eps"],
        weight_decay=options["weight_decay"],
        weight_lr_power=options["weight_lr_power"],
        warmup_steps=0,  # the run's schedule warms up
    )
    opt.train()
    return opt


class Partitioned(torch.optim.Optimizer):
    """Several optimisers over disjoint parameters as one: their param_groups are this one's, so one learning rate
    drives them all, and one state_dict holds them all."""

    def __init__(self, parts: list[torch.optim.Optimizer]):
        self.parts = parts
        super().__init__([group for part in parts for group in part.param_groups], {})

    def _link(self) -> None:
        self.param_groups = [group for part in self.parts for group in part.param_groups]

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for part in self.parts:
            part.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"parts": [part.state_dict() for part in self.parts]}

    def load_state_dict(self, state_dict: dict) -> None:
        for part, state in zip(self.parts, state_dict["parts"], strict=True):
            part.load_state_dict(state)
        self._link()  # loading made new group dicts


def _tensors(params) -> list:
    """Plain tensors or groups from what ``make_optimizer`` gets ((name, tensor) pairs allowed)."""
    params = list(params)
    return [p[1] if isinstance(p, tuple) else p for p in params]


def is_schedule_free(opt: torch.optim.Optimizer) -> bool:
    return isinstance(opt, AdamWScheduleFree)


@contextlib.contextmanager
def evaluation_parameters(opt: torch.optim.Optimizer, model: torch.nn.Module):
    """Within: ``model`` holds the parameters to evaluate (Schedule-Free's average x, via its eval()); after:
    exactly the training iterate again (restored from a copy, not recomputed, so resumes stay exact)."""
    if not is_schedule_free(opt):
        yield
        return
    training = copy.deepcopy(model.state_dict())
    opt.eval()
    try:
        yield
    finally:
        opt.train()
        model.load_state_dict(training)


def evaluated_state(opt: torch.optim.Optimizer, model: torch.nn.Module) -> dict:
    """``model``'s state dict at the parameters evaluation uses (``evaluation_parameters``): a copy for
    Schedule-Free, whose parameters go back to the training iterate afterwards; the live one otherwise."""
    if not is_schedule_free(opt):
        return model.state_dict()
    with evaluation_parameters(opt, model):
        return {key: value.clone() for key, value in model.state_dict().items()}


def diagnostics(opt: torch.optim.Optimizer, spec: dict, step: int, lr: float) -> dict[str, dict[str, float]]:
    """bucket -> {name: value} of the diagnostics ``options.diagnostic_names(spec)`` declares, after ``step``
    steps, the last at rate ``lr``."""
    if not diagnostic_names(spec):
        return {}
    if isinstance(opt, KourkoutasBeta):
        return opt.diagnostics_by_bucket()
    if is_schedule_free(opt):
        group = opt.param_groups[0]
        return {"all": {"averaging_weight": group["lr_max"] ** group["weight_lr_power"] / group["weight_sum"]}}
    if isinstance(opt, torch.optim.Adafactor):
        return {"all": {"relative_step": relative_step(step, lr)}}
    if isinstance(opt, Partitioned) and isinstance(opt.parts[0], torch.optim.Muon):
        buffers = [state["momentum_buffer"] for state in opt.parts[0].state.values()]
        return {"hidden": {"momentum_rms": rms(buffers)}} if buffers else {}
    return {}


def rms(arrays: list) -> float:
    """The root mean square over every element of ``arrays``."""
    return math.sqrt(sum(float((a.double() ** 2).sum()) for a in arrays) / sum(a.numel() for a in arrays))


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


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    """The step's rate (the training loop's schedule) in every parameter group, as torch's schedulers set it."""
    for group in opt.param_groups:
        group["lr"] = lr
