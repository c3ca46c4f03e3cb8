"""The definitions of docs/optimizers.md in NumPy (float64), one function per algorithm: ``step(params, grads,
state, lr, options) -> params`` over dicts of arrays keyed by parameter path. Every framework's optimiser is
held to these on one gradient stream (tests/test_modern_optimizers.py)."""

from __future__ import annotations

import numpy as np

from testbeds.optim.options import is_hidden_matrix

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def lion(params, grads, state, lr, o):
    out = {}
    for k, g in grads.items():
        m = state.setdefault(k, np.zeros_like(g))
        c = o["beta1"] * m + (1 - o["beta1"]) * g
        out[k] = params[k] * (1 - lr * o["weight_decay"]) - lr * np.sign(c)
        state[k] = o["beta2"] * m + (1 - o["beta2"]) * g
    return out


def adafactor(params, grads, state, lr, o):
    t = state["t"] = state.get("t", 0) + 1
    beta2 = 1 - t ** -o["decay_rate"]
    out = {}
    for k, g in grads.items():
        g2 = g * g + o["eps"]
        if g.ndim == 2:
            row = state[k + "/row"] = beta2 * state.get(k + "/row", 0.0) + (1 - beta2) * g2.mean(axis=1)
            col = state[k + "/col"] = beta2 * state.get(k + "/col", 0.0) + (1 - beta2) * g2.mean(axis=0)
            v = np.outer(row, col) / row.mean()
        else:
            v = state[k] = beta2 * state.get(k, 0.0) + (1 - beta2) * g2
        u = g / np.sqrt(v)
        u = u / max(1.0, rms(u) / o["clip_threshold"])
        step = min(lr, t**-0.5) * max(o["eps_scale"], rms(params[k]))
        out[k] = params[k] - step * u
    return out


def rms(x) -> float:
    return float(np.sqrt(np.mean(x * x)))


def newton_schulz(g, steps: int):
    a, b, c = NS_COEFFICIENTS
    x = g.T if g.shape[0] > g.shape[1] else g
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(steps):
        A = x @ x.T
        x = a * x + (b * A + c * A @ A) @ x
    return x.T if g.shape[0] > g.shape[1] else x


def muon(params, grads, state, lr, o):
    t = state["t"] = state.get("t", 0) + 1
    b1, b2 = o["adam_beta1"], o["adam_beta2"]
    out = {}
    for k, g in grads.items():
        decayed = params[k] * (1 - lr * o["weight_decay"])
        if is_hidden_matrix(k, g.shape):
            B = state[k] = o["momentum"] * state.get(k, 0.0) + g
            direction = g + o["momentum"] * B if o["nesterov"] else B
            out[k] = decayed - lr * 0.2 * max(g.shape) ** 0.5 * newton_schulz(direction, o["ns_steps"])
        else:
            m = state[k + "/m"] = b1 * state.get(k + "/m", 0.0) + (1 - b1) * g
            v = state[k + "/v"] = b2 * state.get(k + "/v", 0.0) + (1 - b2) * g * g
            out[k] = decayed - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + o["eps"])
    return out


def schedule_free_adamw(params, grads, state, lr, o):
    """y (the parameters) and z; x = eval_params(...) is what evaluation uses."""
    b1, b2 = o["beta1"], o["beta2"]
    t = state["t"] = state.get("t", 0) + 1
    lr_max = state["lr_max"] = max(state.get("lr_max", lr), lr)
    weight = lr_max ** o["weight_lr_power"]
    state["weight_sum"] = state.get("weight_sum", 0.0) + weight
    ck = weight / state["weight_sum"]
    out = {}
    for k, g in grads.items():
        y = params[k]
        z = state.setdefault(k + "/z", y.copy())
        v = state[k + "/v"] = b2 * state.get(k + "/v", 0.0) + (1 - b2) * g * g
        u = g / (np.sqrt(v / (1 - b2**t)) + o["eps"]) + o["weight_decay"] * y
        out[k] = (1 - ck) * y + ck * z - lr * (1 - b1 + b1 * ck) * u
        state[k + "/z"] = z - lr * u
    return out


def schedule_free_eval_params(params, state, o):
    b1 = o["beta1"]
    return {k: (y - (1 - b1) * state[k + "/z"]) / b1 for k, y in params.items()}


STEPS = {"lion": lion, "adafactor": adafactor, "muon": muon, "schedule_free_adamw": schedule_free_adamw}


def run(algorithm: str, options: dict, params: dict, stream, lrs) -> tuple[dict, dict]:
    """Parameters after the stream (lrs: one learning rate per step), and the final state."""
    params = {k: v.astype(np.float64) for k, v in params.items()}
    state: dict = {}
    for grads, lr in zip(stream, lrs, strict=True):
        params = STEPS[algorithm](params, {k: g.astype(np.float64) for k, g in grads.items()}, state, lr, options)
    return params, state
