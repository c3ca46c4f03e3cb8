"""Optimisers for the MLX workloads: Adam, AdamW, SGD, Lion, Adafactor and Muon from mlx.optimizers (the
last two held to the definitions of docs/optimizers.md by small subclasses), Schedule-Free AdamW ported
(MLX has none; ``ScheduleFreeAdamW``, held to the authors' package by a parity test), Kourkoutas-β from
kbeta (``kbeta_mlx.KourkoutasBeta``: the package's KourkoutasSoftmaxFlex with a faster update). Each
function named after an algorithm builds it from its resolved options (``options.ALGORITHMS``).

kbeta's default per-array bucket keys on ``id(array)``; MLX makes new arrays every
step, so its statistics table would grow each step and the gradient EMA would
restart. ``BucketKeys`` gives keys that are stable across steps: the parameter's
path (per-array), its shape (shape) or one key (global).
"""

from __future__ import annotations

import mlx.core as mx
import mlx.optimizers as optim
from kbeta import KourkoutasSoftmaxFlex
from mlx.utils import tree_flatten, tree_map, tree_map_with_path

from testbeds.optim.kbeta_mlx import KourkoutasBeta, init_bucket_stats, kbeta_diagnostics
from testbeds.optim.options import diagnostic_names, is_hidden_matrix, relative_step


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


def lion(options: dict, learning_rate: float) -> optim.Optimizer:
    return optim.Lion(learning_rate, betas=[options["beta1"], options["beta2"]], weight_decay=options["weight_decay"])


class RelativeStepAdafactor(optim.Adafactor):
    """mlx.optimizers.Adafactor with torch's relative step: min(lr, 1/√t) scaled by the parameter's RMS (MLX's
    own relative step ignores the learning rate)."""

    def _compute_learning_rate(self, step, parameter_rms):
        step_size = mx.minimum(
            self.learning_rate.astype(parameter_rms.dtype), mx.rsqrt(step.astype(parameter_rms.dtype))
        )
        return mx.maximum(self.eps[1], parameter_rms) * step_size


def adafactor(options: dict, learning_rate: float) -> optim.Optimizer:
    return RelativeStepAdafactor(
        learning_rate,
        eps=(options["eps"], options["eps_scale"]),
        clip_threshold=options["clip_threshold"],
        decay_rate=-options["decay_rate"],
        relative_step=False,
    )


class AdamWMatchedMuon(optim.Muon):
    """mlx.optimizers.Muon with the definition's decoupled weight decay (MLX adds it to the gradient) and its
    update scaled by 0.2·√max(m, n) to AdamW's RMS (MLX: √max(1, m/n)); momentum and Newton-Schulz are MLX's."""

    def apply_single(self, gradient: mx.array, parameter: mx.array, state: dict):
        v = self.momentum * state["v"] + (1 - self.momentum) * gradient
        state["v"] = v
        update = gradient * (1 - self.momentum) + v * self.momentum if self.nesterov else v
        update = self._zeropower_via_newtonschulz5(update, steps=self.ns_steps)
        lr = self.learning_rate.astype(gradient.dtype)
        return parameter * (1 - lr * self.weight_decay) - lr * 0.2 * max(update.shape) ** 0.5 * update


def muon(options: dict, learning_rate: float) -> optim.Optimizer:
    """Muon on the hidden matrices, AdamW on the rest (``MultiOptimizer``: its first optimiser takes what the
    filter picks)."""
    hidden = AdamWMatchedMuon(
        learning_rate,
        momentum=options["momentum"],
        weight_decay=options["weight_decay"],
        nesterov=options["nesterov"],
        ns_steps=options["ns_steps"],
    )
    rest = optim.AdamW(
        learning_rate,
        betas=[options["adam_beta1"], options["adam_beta2"]],
        eps=options["eps"],
        weight_decay=options["weight_decay"],
        bias_correction=True,
    )
    return optim.MultiOptimizer([hidden, rest], [lambda path, array: is_hidden_matrix(path, array.shape)])


class ScheduleFreeAdamW(optim.Optimizer):
    """Schedule-Free AdamW (Defazio et al. 2024) as the authors' ``schedulefree.AdamWScheduleFree`` computes
    it, which is the parity test's reference. The parameters are the training iterate y; ``z`` is kept per
    parameter and ``eval_parameters`` gives the average x to evaluate."""

    def __init__(self, learning_rate, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, weight_lr_power=2.0):
        super().__init__()
        self._maybe_schedule("learning_rate", learning_rate)
        self.betas, self.eps, self.weight_decay, self.weight_lr_power = betas, eps, weight_decay, weight_lr_power

    def init(self, parameters: dict):
        super().init(parameters)
        self.state.setdefault("lr_max", mx.array(-1.0))
        self.state.setdefault("weight_sum", mx.array(0.0))

    def init_single(self, parameter: mx.array, state: dict):
        state["z"] = mx.array(parameter)
        state["v"] = mx.zeros_like(parameter)

    def apply_gradients(self, gradients: dict, parameters: dict):
        if not self._initialized:
            self.init(gradients)
        schedule = self._schedulers.get("learning_rate")
        lr = schedule(self.step) if schedule else self.learning_rate  # this step's, as the base class will set it
        lr_max = mx.maximum(self.state["lr_max"], lr)
        weight = lr_max**self.weight_lr_power
        self.state["lr_max"], self.state["weight_sum"] = lr_max, self.state["weight_sum"] + weight
        self._ckp1 = weight / self.state["weight_sum"]  # this step's averaging weight, for apply_single
        return super().apply_gradients(gradients, parameters)

    def apply_single(self, gradient: mx.array, parameter: mx.array, state: dict):
        beta1, beta2 = self.betas
        lr, ckp1 = self.learning_rate.astype(gradient.dtype), self._ckp1.astype(gradient.dtype)
        v = beta2 * state["v"] + (1 - beta2) * mx.square(gradient)
        state["v"] = v
        denom = mx.sqrt(v / (1 - beta2 ** self.step.astype(gradient.dtype))) + self.eps
        u = gradient / denom + self.weight_decay * parameter
        y = parameter + ckp1 * (state["z"] - parameter)
        state["z"] = state["z"] - lr * u
        return y + lr * (beta1 * (1 - ckp1) - 1) * u

    def eval_parameters(self, parameters: dict) -> dict:
        """x = y + (1 - 1/β₁)(z - y), per parameter."""
        weight = 1 - 1 / self.betas[0]
        return tree_map(lambda y, state: y + weight * (state["z"] - y), parameters, self.state)


def schedule_free_adamw(options: dict, learning_rate: float) -> optim.Optimizer:
    return ScheduleFreeAdamW(
        learning_rate,
        betas=(options["beta1"], options["beta2"]),
        eps=options["eps"],
        weight_decay=options["weight_decay"],
        weight_lr_power=options["weight_lr_power"],
    )


def is_schedule_free(opt: optim.Optimizer) -> bool:
    return isinstance(opt, ScheduleFreeAdamW)


def evaluation_parameters(opt: optim.Optimizer, parameters: dict) -> dict:
    """The parameters to evaluate: Schedule-Free's average x; the training parameters (the same object) for the
    others."""
    return opt.eval_parameters(parameters) if is_schedule_free(opt) else parameters


def is_kbeta(opt: optim.Optimizer) -> bool:
    return isinstance(opt, KourkoutasSoftmaxFlex)


def init_state(opt: optim.Optimizer, params: dict) -> None:
    """Create the whole optimiser state up front, so a compiled step sees a fixed state tree."""
    opt.init(params)
    if is_kbeta(opt):
        init_bucket_stats(opt, params)


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
    """One training step per diagnostics setting, built on first use by ``make_step()``, for an optimiser that
    computes its diagnostics inside the step (it has ``set_diagnostics``: Kβ, a few reductions per tensor):
    runs compute them only on logged steps, a step function is traced (and compiled) for each setting, and
    ``get(logged)`` switches the optimiser to it. Build the steps after resuming (compiled steps capture the
    state)."""

    def __init__(self, opt: optim.Optimizer, spec: dict, make_step):
        self.opt, self.make_step, self.steps = opt, make_step, {}
        self.switchable = hasattr(opt, "set_diagnostics")
        self.wanted = self.switchable and bool(diagnostic_names(spec))

    def get(self, logged: bool):
        diagnostics = self.wanted and logged
        if diagnostics not in self.steps:
            self.steps[diagnostics] = self.make_step()
        if self.switchable:
            self.opt.set_diagnostics(diagnostics)
        return self.steps[diagnostics]


def diagnostics(opt: optim.Optimizer, spec: dict, step: int, lr: float) -> dict[str, dict[str, float]]:
    """bucket -> {name: value} of the diagnostics ``options.diagnostic_names(spec)`` declares, after ``step``
    steps, the last at rate ``lr``."""
    if not diagnostic_names(spec):
        return {}
    if is_kbeta(opt):
        return kbeta_diagnostics(opt)
    if is_schedule_free(opt):
        weight = opt.state["lr_max"] ** opt.weight_lr_power
        return {"all": {"averaging_weight": float((weight / opt.state["weight_sum"]).item())}}
    if isinstance(opt, optim.Adafactor):
        return {"all": {"relative_step": relative_step(step, lr)}}
    if isinstance(opt, optim.MultiOptimizer) and isinstance(opt.optimizers[0], AdamWMatchedMuon):
        buffers = [v for key, v in tree_flatten(opt.optimizers[0].state) if key.endswith(".v")]
        squares = sum(float(mx.sum(mx.square(v.astype(mx.float32))).item()) for v in buffers)
        return {"hidden": {"momentum_rms": (squares / sum(v.size for v in buffers)) ** 0.5}} if buffers else {}
    return {}


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
