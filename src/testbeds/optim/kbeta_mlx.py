"""Kourkoutas-β for MLX: kbeta's ``KourkoutasSoftmaxFlex`` with its update written for speed.

The class is the reference's own (constructor, options, state layout, ``init_single``, diagnostics
snapshots); only ``apply_gradients`` is rewritten, computing the same quantities in the same order
with two changes that matter on MLX's CPU backend (docs/performance.md; benchmarks/optimizers.py):

- reductions (the norms, the diagnostics) go down the columns of a wide matrix first, which MLX
  vectorises; a flat ``sum(square(g))`` runs one element at a time;
- the per-element arithmetic is Adam's (``mlx.optimizers.Adam``): scalar factors lr/bc₁ and
  1/√bc₂ are computed once per step, so each element needs one division instead of three.

What remains is the norm's own pass: MLX cannot fuse g² into a reduction, so g² is written out.

The results equal the reference's to float32 rounding; tests/test_optim_parity.py checks this on a
spiky gradient stream for every bucket, bias-correction and extra option.
"""

from __future__ import annotations

import mlx.core as mx
from kbeta import KourkoutasSoftmaxFlex
from mlx.utils import tree_flatten, tree_map

ROW = 4096  # elements per row when reducing down columns


def reduce_all(reduce, x: mx.array) -> mx.array:
    """``reduce`` (mx.sum, mx.max, ...) over all of ``x``, down the columns of a wide matrix first:
    MLX's CPU backend vectorises that, while a flat reduction runs one element at a time."""
    width = ROW if x.size % ROW == 0 else x.shape[-1] if x.ndim else 1
    return reduce(reduce(x.reshape(-1, width), axis=0))


def squared_norm(g: mx.array) -> mx.array:
    return reduce_all(mx.sum, mx.square(g))


class KourkoutasBeta(KourkoutasSoftmaxFlex):
    """``KourkoutasSoftmaxFlex`` with the update described above; constructed exactly like it."""

    def set_diagnostics(self, on: bool) -> None:
        """Record the diagnostics in the coming steps (a compiled step is traced with one setting)."""
        self._diag = on

    def apply_gradients(self, grads: dict, params: dict):
        if not self._initialized:
            self.init(grads)
        for k, sched in self._schedulers.items():
            self.state[k] = sched(self.step)
        alpha = self.state["alpha"]
        self.state["step"] = self.step + 1

        buckets: dict = {}

        def collect(g, p, st):
            if g is not None:
                buckets.setdefault(self._layer_id(p), []).append((g, p, st))
            return p

        tree_map(collect, grads, params, self.state)
        if not buckets:
            return params
        first_grad = next(iter(buckets.values()))[0][0]
        lr = self.learning_rate.astype(first_grad.dtype)
        step_size, inv_sqrt_bc2 = self._bias_corrections(lr)
        for key, items in buckets.items():
            beta2 = self._bucket_beta2(key, sum(squared_norm(g) for g, _, _ in items), alpha)
            for g, p, st in items:
                p -= self._update(g, p, st, beta2, lr, step_size, inv_sqrt_bc2)
        return params

    def _bucket_beta2(self, key, sum_sq: mx.array, alpha) -> mx.array:
        """The bucket's β₂ from its gradient norm, updating its EMA (and diagnostics)."""
        stats = self.state["_layer_stats"].setdefault(key, {"grad_ema": mx.zeros([], dtype=sum_sq.dtype)})
        g_norm = mx.sqrt(sum_sq)
        stats["grad_ema"] = alpha * stats["grad_ema"] + (1 - alpha) * g_norm
        warming = (self.step <= self.warmup_steps).astype(g_norm.dtype)
        raw = g_norm / (stats["grad_ema"] + self.tiny_spike)
        sun = (1 - warming) * (raw / (1 + raw))
        beta2 = warming * 0.5 * (self.beta2_min + self.beta2_max) + (1 - warming) * (
            self.beta2_max - (self.beta2_max - self.beta2_min) * sun
        )
        if self._diag:
            stats["last_spike"], stats["last_beta2"] = sun, beta2
        return beta2

    def _bias_corrections(self, lr: mx.array):
        """lr/bc₁ and, unless it depends on the tensor (``exact``), 1/√bc₂: once per step."""
        if self.bias_correction == "none":
            return lr, None
        step_size = lr / (1.0 - self.beta1**self.step)
        if self.bias_correction == "exact":
            return step_size, None
        return step_size, mx.rsqrt(1.0 - self.beta2_max**self.step)

    def _update(self, g, p, st: dict, beta2, lr, step_size, inv_sqrt_bc2) -> mx.array:
        b1 = self.beta1
        m = st["m"] = b1 * st["m"] + (1 - b1) * g
        v = st["v"] = beta2 * st["v"] + (1 - beta2) * mx.square(g)
        v_hat = v
        if "v_max" in st:
            leaked = st["v_max"] if self.decay is None else mx.array(self.decay, v.dtype) * st["v_max"]
            v_hat = st["v_max"] = mx.maximum(leaked, v)
        tiny = self.tiny_denom * mx.maximum(reduce_all(mx.sum, mx.abs(p)) / p.size, 1.0) if self.adaptive_tiny else 0.0
        if self.bias_correction != "none":
            st["beta2_cumprod"] *= beta2
            if self.bias_correction == "exact":
                inv_sqrt_bc2 = mx.rsqrt(1.0 - st["beta2_cumprod"])
        root = mx.sqrt(v_hat) if inv_sqrt_bc2 is None else mx.sqrt(v_hat) * inv_sqrt_bc2
        denom = root + tiny + self.eps
        upd = step_size * m / denom
        if self.max_ratio is not None:
            limit = lr * self.max_ratio
            upd = mx.clip(upd, -limit, limit)
        if self._diag:
            self._record_diagnostics(upd, denom, v_hat, lr)
        return upd

    def _record_diagnostics(self, upd: mx.array, denom: mx.array, v_hat: mx.array, lr: mx.array) -> None:
        s = self.state
        largest = reduce_all(mx.max, mx.abs(upd))
        s["diag_max_ratio"] = mx.maximum(s["diag_max_ratio"], largest / lr)
        s["diag_denom_min"] = mx.minimum(s["diag_denom_min"], reduce_all(mx.min, denom))
        s["diag_upd_norm_max"] = mx.maximum(s["diag_upd_norm_max"], largest)
        s["diag_vhat_max"] = mx.maximum(s["diag_vhat_max"], reduce_all(mx.max, v_hat))


def init_bucket_stats(opt: KourkoutasSoftmaxFlex, params: dict) -> None:
    """Every bucket's statistics (and diagnostics' slots) up front, so a compiled step sees a fixed state."""
    keys = opt.layer_key_fn
    keys.bind(params)
    stats = opt.state["_layer_stats"]
    for _, p in tree_flatten(params):
        bucket = stats.setdefault(keys(p), {"grad_ema": mx.zeros([], dtype=p.dtype)})
        if opt._diag:
            bucket.setdefault("last_spike", mx.zeros([], dtype=p.dtype))
            bucket.setdefault("last_beta2", mx.zeros([], dtype=p.dtype))


def bucket_diagnostics(opt: KourkoutasSoftmaxFlex) -> dict[str, tuple[float, float]]:
    """Last step's (sun-spike, β₂) per bucket; empty unless Kβ runs with diagnostics."""
    if "diag_max_ratio" not in opt.state:  # state allocated by diagnostics=True
        return {}
    return {
        key: (float(st["last_spike"].item()), float(st["last_beta2"].item()))
        for key, st in opt.state["_layer_stats"].items()
    }


def kbeta_diagnostics(opt: KourkoutasSoftmaxFlex) -> dict[str, dict[str, float]]:
    """bucket -> {"sunspike": ..., "beta2": ...} of the last step (Kβ's diagnostics, options.py)."""
    return {key: {"sunspike": s, "beta2": b} for key, (s, b) in bucket_diagnostics(opt).items()}
