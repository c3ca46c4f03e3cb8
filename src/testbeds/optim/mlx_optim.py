"""Optimisers for the MLX workloads: Adam, AdamW and SGD from mlx.optimizers, Kourkoutas-β from kbeta
(``kbeta_mlx.KourkoutasBeta``: the package's KourkoutasSoftmaxFlex with a faster update). Each function
named after an algorithm builds it from its resolved options (``options.ALGORITHMS``).

kbeta's default per-array bucket keys on ``id(array)``; MLX makes new arrays every
step, so its statistics table would grow each step and the gradient EMA would
restart. ``BucketKeys`` gives keys that are stable across steps: the parameter's
path (per-array), its shape (shape) or one key (global).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.optimizers as optim
from kbeta import KourkoutasSoftmaxFlex
from mlx.utils import tree_flatten, tree_map_with_path

from testbeds.optim.kbeta_mlx import KourkoutasBeta


class BucketKeys:
    """``layer_key_fn`` for KourkoutasSoftmaxFlex that does not depend on array identity."""

    def __init__(self, mode: str):
        if mode not in ("global", "shape", "per-array"):
            raise ValueError(f"layer_bucket must be global, shape or per-array, not '{mode}'")
        self.mode = mode
        self._paths: dict[int, str] = {}

    def bind(self, params: dict) -> None:
        """Map the arrays about to be updated to their paths (per-array mode)."""
        if self.mode == "per-array":
            self._paths = {id(a): path.replace(".", "/") for path, a in tree_flatten(params)}

    def __call__(self, p: mx.array) -> str:
        if self.mode == "global":
            return "global"
        if self.mode == "shape":
            return "shape:" + "x".join(str(n) for n in p.shape)
        try:
            return self._paths[id(p)]
        except KeyError:
            raise RuntimeError("BucketKeys.bind(params) must be called before each per-array update") from None


def adam(options: dict, learning_rate: float) -> optim.Optimizer:
    return optim.Adam(
        learning_rate, betas=[options["beta1"], options["beta2"]], eps=options["eps"], bias_correction=True
    )


def adamw(options: dict, learning_rate: float) -> optim.Optimizer:
    return optim.AdamW(
        learning_rate,
        betas=[options["beta1"], options["beta2"]],
        eps=options["eps"],
        weight_decay=options["weight_decay"],
        bias_correction=True,
    )


def kbeta(options: dict, learning_rate: float, cls: type = KourkoutasBeta) -> KourkoutasSoftmaxFlex:
    """Kβ with stable bucket keys; ``cls`` may be the package's own class."""
    options = dict(options)
    return cls(learning_rate, layer_key_fn=BucketKeys(options.pop("layer_bucket")), **options)


def sgd(options: dict, learning_rate: float) -> optim.Optimizer:
    return optim.SGD(
        learning_rate, momentum=options["momentum"], weight_decay=options["weight_decay"], nesterov=options["nesterov"]
    )


def is_kbeta(opt: optim.Optimizer) -> bool:
    return isinstance(opt, KourkoutasSoftmaxFlex)


def init_state(opt: optim.Optimizer, params: dict) -> None:
    """Create the whole optimiser state up front, so a compiled step sees a fixed state tree."""
    opt.init(params)
    if is_kbeta(opt):
        keys = opt.layer_key_fn
        keys.bind(params)
        stats = opt.state["_layer_stats"]
        for _, p in tree_flatten(params):
            bucket = stats.setdefault(keys(p), {"grad_ema": mx.zeros([], dtype=p.dtype)})
            if opt._diag:
                bucket.setdefault("last_spike", mx.zeros([], dtype=p.dtype))
                bucket.setdefault("last_beta2", mx.zeros([], dtype=p.dtype))


def apply_update(opt: optim.Optimizer, model, grads: dict) -> None:
    """``opt.update(model, grads)``, binding Kβ's per-array keys to this step's arrays."""
    if is_kbeta(opt):
        opt.layer_key_fn.bind(model.trainable_parameters())
    opt.update(model, grads)


def compile_step(step, model, opt: optim.Optimizer, enabled: bool = True):
    """``step`` compiled with the model's and the optimiser's state as its implicit inputs and outputs."""
    if not enabled:
        return step
    state = [model.state, opt.state]
    return mx.compile(step, inputs=state, outputs=state)


class DiagnosticSteps:
    """One training step per Kβ-diagnostics setting, built on first use by ``make_step()``.

    Kβ's diagnostics cost a few reductions per tensor, so runs compute them only on logged steps: a step
    function is traced (and compiled) for each setting, and ``get(logged)`` switches the optimiser to it.
    Build the steps after resuming, since compiled steps capture the state.
    """

    def __init__(self, opt: optim.Optimizer, spec: dict, make_step):
        self.opt, self.make_step, self.steps = opt, make_step, {}
        self.wanted = is_kbeta(opt) and spec.get("diagnostics", False)

    def get(self, logged: bool):
        diagnostics = self.wanted and logged
        if diagnostics not in self.steps:
            self.steps[diagnostics] = self.make_step()
        if is_kbeta(self.opt):
            self.opt._diag = diagnostics
        return self.steps[diagnostics]


def bucket_diagnostics(opt: optim.Optimizer) -> dict[str, tuple[float, float]]:
    """Last step's (sun-spike, β₂) per bucket; empty unless Kβ runs with diagnostics."""
    if not (is_kbeta(opt) and "diag_max_ratio" in opt.state):  # state allocated by diagnostics=True
        return {}
    return {
        key: (float(st["last_spike"].item()), float(st["last_beta2"].item()))
        for key, st in opt.state["_layer_stats"].items()
    }


def state_arrays(opt: optim.Optimizer) -> dict[str, mx.array]:
    return dict(tree_flatten(opt.state))


def load_state(opt: optim.Optimizer, arrays: dict[str, mx.array]) -> None:
    """Restore a state saved by ``state_arrays`` into an optimiser whose state was initialised."""
    current = dict(tree_flatten(opt.state))
    missing, extra = set(current) - set(arrays), set(arrays) - set(current)
    if missing or extra:
        raise ValueError(
            f"optimizer state does not match: missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]}"
        )
    # in place of each leaf: empty subtrees (a parameterless module such as nn.RoPE) must stay in the tree
    opt.state = tree_map_with_path(lambda path, leaf: arrays[path].astype(leaf.dtype), opt.state)
    opt._initialized = True
