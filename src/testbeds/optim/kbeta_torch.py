"""Kourkoutas-β for PyTorch: a ``torch.optim.Optimizer`` matching kbeta's KourkoutasSoftmaxFlex.

Per step t and layer bucket b (the reference package's update, docs/optimizers.md):

    ‖g_b‖ -> ema_b = α ema_b + (1-α) ‖g_b‖
    sun_b = 0 while t <= warmup_steps, else r/(1+r) with r = ‖g_b‖ / (ema_b + tiny_spike)
    β₂_b  = (β₂min+β₂max)/2 while warming up, else β₂max - (β₂max-β₂min) sun_b

and per tensor the Adam-style update with β₂_b, optional soft-max AMSGrad (``decay``), trust-region
clip (``max_ratio``), adaptive tiny term and bias correction ``none | beta2max | exact``.

Buckets: ``global`` (one), ``shape`` (tensors of equal shape) or ``per-array`` (each tensor, named by
its parameter name when the optimiser is given named parameters). The bucket-level options (alpha,
beta2_min/max, tiny_spike, warmup_steps) are shared by all parameter groups; the others may differ per
group. Scalars are computed in float32 like the MLX reference.
"""

from __future__ import annotations

import math

import torch
from torch.optim import Optimizer

from testbeds.optim.options import kbeta_options

BUCKET_LEVEL = ("alpha", "beta2_min", "beta2_max", "tiny_spike", "warmup_steps")


class KourkoutasBeta(Optimizer):
    def __init__(self, params, lr: float = 1e-3, **options):
        options = kbeta_options(options)
        self.layer_bucket = options.pop("layer_bucket")
        self.diagnostics = options.pop("diagnostics")
        super().__init__(params, {"lr": lr, **options})
        for key in BUCKET_LEVEL:
            if len({group[key] for group in self.param_groups}) > 1:
                raise ValueError(f"Kourkoutas-beta option {key!r} must be the same in every parameter group")
        self.state["kbeta"] = {"step": 0, "grad_ema": {}, "last_spike": {}, "last_beta2": {}}

    def _bucket(self, group_index: int, param_index: int, group: dict, p: torch.Tensor) -> str:
        if self.layer_bucket == "global":
            return "global"
        if self.layer_bucket == "shape":
            return "shape:" + "x".join(str(n) for n in p.shape)
        names = group.get("param_names")
        return names[param_index] if names else f"group{group_index}.param{param_index}"

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        shared = self.state["kbeta"]
        shared["step"] += 1
        t = shared["step"]
        params = [
            (gi, pi, p)
            for gi, group in enumerate(self.param_groups)
            for pi, p in enumerate(group["params"])
            if p.grad is not None
        ]
        if not params:
            return loss
        keys = [self._bucket(gi, pi, self.param_groups[gi], p) for gi, pi, p in params]
        buckets = list(dict.fromkeys(keys))
        index = torch.tensor([buckets.index(k) for k in keys])
        norms = torch.stack(torch._foreach_norm([p.grad.float() for _, _, p in params])).cpu()
        sum_sq = torch.zeros(len(buckets), dtype=torch.float32).index_add_(0, index, torch.square(norms))
        beta2, sun = self._bucket_beta2(shared, buckets, sum_sq, self.param_groups[0], t)
        if self.diagnostics:
            shared["last_spike"].update(zip(buckets, sun.unbind()))
            shared["last_beta2"].update(zip(buckets, beta2.unbind()))
        beta2_of = dict(zip(buckets, beta2.tolist()))
        for gi, group in enumerate(self.param_groups):
            members = [(p, beta2_of[k]) for (g, _, p), k in zip(params, keys) if g == gi]
            if members:
                self._update_group(group, [p for p, _ in members], [b for _, b in members], t)
        return loss

    def _bucket_beta2(self, shared: dict, buckets: list[str], sum_sq: torch.Tensor, o: dict, t: int):
        """β₂ and sun-spike of every bucket (vectors over ``buckets``), updating their gradient-norm EMAs."""
        g_norm = torch.sqrt(sum_sq)
        known = shared["grad_ema"]
        ema = torch.stack([known[k] if k in known else torch.zeros(()) for k in buckets])
        alpha = torch.tensor(o["alpha"], dtype=torch.float32)  # float32 arithmetic, as the reference
        ema = alpha * ema + (1 - alpha) * g_norm
        shared["grad_ema"].update(zip(buckets, ema.unbind()))
        if t <= o["warmup_steps"]:
            return torch.full_like(g_norm, 0.5 * (o["beta2_min"] + o["beta2_max"])), torch.zeros_like(g_norm)
        raw = g_norm / (ema + o["tiny_spike"])
        sun = raw / (1 + raw)
        return o["beta2_max"] - (o["beta2_max"] - o["beta2_min"]) * sun, sun

    def _update_group(self, o: dict, params: list, beta2s: list[float], t: int) -> None:
        """The per-tensor update of one parameter group."""
        keep_vmax = o["decay"] is not None or o["max_ratio"] is not None
        for p in params:
            state = self.state[p]
            if not state:
                state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                state["beta2_cumprod"] = torch.ones((), dtype=p.dtype, device=p.device)
                if keep_vmax:
                    state["v_max"] = torch.zeros_like(p)
        bc1, bc2 = self._bias_corrections(o, params, beta2s, t)
        if keep_vmax or o["adaptive_tiny"]:
            self._foreach_update(o, params, beta2s, bc1, bc2)
        else:
            self._fused_update(o, params, beta2s, bc1, bc2, t)

    def _bias_corrections(self, o: dict, params: list, beta2s: list[float], t: int) -> tuple[float, list[float]]:
        """1 - β₁ᵗ, and each tensor's 1 - β₂-product (1 for bias_correction none), in float32 as the reference."""
        step = torch.tensor(float(t), dtype=torch.float32)
        bc1 = (1.0 - torch.pow(torch.tensor(o["beta1"], dtype=torch.float32), step)).item()
        if o["bias_correction"] == "none":
            return bc1, [1.0] * len(params)
        if o["bias_correction"] == "exact":
            cumprods = [self.state[p]["beta2_cumprod"] for p in params]
            torch._foreach_mul_(cumprods, beta2s)
            return bc1, [(1.0 - c).item() for c in cumprods]
        return bc1, [(1.0 - torch.pow(torch.tensor(o["beta2_max"], dtype=torch.float32), step)).item()] * len(params)

    def _fused_update(self, o: dict, params: list, beta2s: list[float], bc1: float, bc2: list[float], t: int) -> None:
        """torch's fused Adam kernel, one call per tensor with its bucket's β₂: a single pass over the tensor.

        The kernel divides by its own bias corrections 1 - β₁ᵗ and 1 - β₂ᵗ (with this step's β₂);
        scaling lr and eps by sqrt(bc2 / (1 - β₂ᵗ)) (and lr by 1 - β₁ᵗ for bias_correction none) turns
        its update into the reference's lr m̂ / (sqrt(v / bc2) + eps).
        """
        steps: dict[torch.device, torch.Tensor] = {}  # the kernel's step count, one tensor per device
        base_lr = o["lr"] * (bc1 if o["bias_correction"] == "none" else 1.0)
        for p, beta2, correction in zip(params, beta2s, bc2):
            state = self.state[p]
            if p.device not in steps:
                steps[p.device] = torch.tensor(float(t), dtype=torch.float32, device=p.device)
            scale = math.sqrt(correction / (1.0 - beta2**t))
            torch._fused_adam_(
                [p],
                [p.grad],
                [state["m"]],
                [state["v"]],
                [],
                [steps[p.device]],
                lr=base_lr * scale,
                beta1=o["beta1"],
                beta2=beta2,
                weight_decay=0.0,
                eps=o["eps"] * scale,
                amsgrad=False,
                maximize=False,
            )

    def _foreach_update(self, o: dict, params: list, beta2s: list[float], bc1: float, bc2: list[float]) -> None:
        """The general update (soft-max AMSGrad, trust region, adaptive tiny) as multi-tensor operations."""
        grads = [p.grad for p in params]
        ms = [self.state[p]["m"] for p in params]
        vs = [self.state[p]["v"] for p in params]
        torch._foreach_lerp_(ms, grads, 1 - o["beta1"])  # m = β₁ m + (1 - β₁) g
        torch._foreach_mul_(vs, beta2s)  # v = β₂ v + (1 - β₂) g², β₂ per bucket
        torch._foreach_addcmul_(vs, grads, grads, [1 - b for b in beta2s])
        v_hat = vs
        if o["decay"] is not None or o["max_ratio"] is not None:
            v_hat = [self.state[p]["v_max"] for p in params]
            if o["decay"] is not None:
                torch._foreach_mul_(v_hat, o["decay"])
            torch._foreach_maximum_(v_hat, vs)
        lr = o["lr"]
        step_size = lr if o["bias_correction"] == "none" else lr / bc1
        denom = torch._foreach_sqrt(v_hat)
        torch._foreach_div_(denom, [b**0.5 for b in bc2])  # sqrt(v̂ / bc2), as sqrt(v̂) / sqrt(bc2)
        if o["adaptive_tiny"]:
            torch._foreach_add_(denom, [o["tiny_denom"] * torch.clamp(p.abs().mean(), min=1.0) for p in params])
        torch._foreach_add_(denom, o["eps"])
        if o["max_ratio"] is None:
            torch._foreach_addcdiv_(params, ms, denom, [-step_size] * len(params))
            return
        updates = torch._foreach_div(ms, denom)
        torch._foreach_mul_(updates, step_size)
        limit = lr * o["max_ratio"]  # trust region: |Δθ| <= lr · max_ratio
        torch._foreach_clamp_min_(updates, -limit)
        torch._foreach_clamp_max_(updates, limit)
        torch._foreach_sub_(params, updates)

    def diagnostics_by_bucket(self) -> dict[str, dict[str, float]]:
        """bucket -> {"sunspike": ..., "beta2": ...} of the last step (Kβ's diagnostics, options.py)."""
        return {k: {"sunspike": s, "beta2": b} for k, (s, b) in self.bucket_diagnostics().items()}

    def bucket_diagnostics(self) -> dict[str, tuple[float, float]]:
        """Last step's (sun-spike, β₂) per bucket; empty unless ``diagnostics=True``."""
        shared = self.state["kbeta"]
        return {k: (float(shared["last_spike"][k]), float(shared["last_beta2"][k])) for k in shared["last_beta2"]}
