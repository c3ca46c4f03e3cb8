"""Final evaluation of a heat2d run on the test split.

Per predicted frame, the MSE of the one-shot (teacher-forced) prediction and of the autoregressive
rollout from the context frames (frame_errors.csv); the rollout's relative L2 on the interior pixels over
the frames trained on (primary metric: the boundary is given, so counting it flatters every model), and
on all pixels; the interior error on the frames past the training window (extrapolation); its inference
time; the same rollout with 8-bit weights (``mlx.nn.quantize``; ``eval.quantized_kernels``); and the first
test sample's frames (frames.npz) for the figure. For scale, ``persistence_*`` is the error of holding the
last context frame.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.heat2d import FRAME_ERROR_COLUMNS
from testbeds.heat2d.data import HeatSplit
from testbeds.heat2d.model import build_model, one_shot, rollout
from testbeds.mlx_loop import load_model, use_device


def relative_l2(pred: np.ndarray, truth: np.ndarray, start: int, stop: int | None = None, interior=False) -> np.ndarray:
    """Per sample ‖pred - truth‖ / ‖truth‖ over frames start..stop-1 (a predicted part of a rollout), on the
    interior pixels only (without the fixed boundary) or on all of them."""
    pred, truth = pred[:, start:stop], truth[:, start:stop]
    if interior:
        pred, truth = pred[..., 1:-1, 1:-1], truth[..., 1:-1, 1:-1]
    diff = (pred - truth).reshape(len(pred), -1)
    return np.linalg.norm(diff, axis=1) / np.maximum(np.linalg.norm(truth.reshape(len(pred), -1), axis=1), 1e-12)


def trained_frames(run: dict, total: int) -> int:
    """How many frames of each sample training saw (``train.frames``; null: all of them)."""
    return min(run["train"]["frames"] or total, total)


def batched(fn, model, split: HeatSplit, count: int, batch: int) -> np.ndarray:
    out = [
        np.asarray(fn(model, mx.array(split.fields[i : i + batch]), mx.array(split.alpha[i : i + batch])))
        for i in range(0, count, batch)
    ]
    return np.concatenate(out)


def quantized(model: nn.Module, bits: int, group_size: int, kernels: bool) -> tuple[nn.Module, float]:
    """A copy with every Linear whose input width the group size divides quantised (``mlx.nn.quantize``), and
    the fraction of weights that were. ``kernels`` off: those Linears keep float32 matmuls of their
    dequantised weights, the same quantised values, since MLX's quantised CPU kernels are several times
    slower (equal in exact arithmetic; the rounding differs)."""

    def eligible(_path: str, m: nn.Module) -> bool:
        return isinstance(m, nn.Linear) and m.weight.shape[1] % group_size == 0

    q = copy.deepcopy(model)
    total = sum(m.weight.size for _, m in q.named_modules() if isinstance(m, nn.Linear))
    done = sum(m.weight.size for p, m in q.named_modules() if eligible(p, m))
    if kernels:
        nn.quantize(q, group_size=group_size, bits=bits, class_predicate=eligible)
    else:
        for path, m in q.named_modules():
            if eligible(path, m):
                packed = mx.quantize(m.weight, group_size=group_size, bits=bits)
                m.weight = mx.dequantize(*packed, group_size=group_size, bits=bits)
    return q, done / total


def frame_table(one: np.ndarray, rolled: np.ndarray, truth: np.ndarray) -> str:
    shot_mse = ((one - truth) ** 2).mean(axis=(0, 2, 3))
    roll_mse = ((rolled - truth) ** 2).mean(axis=(0, 2, 3))
    rows = [",".join(FRAME_ERROR_COLUMNS)] + [
        f"{t},{float(shot_mse[t])!r},{float(roll_mse[t])!r}" for t in range(1, len(shot_mse))
    ]
    return "\n".join(rows) + "\n"


class Heat2dEvaluation(Evaluation):
    """Rollouts of the test samples from their context frames, scored on the interior pixels."""

    def describe(self, run: dict, summary: dict, data_dir: Path) -> Description:
        return Description(
            primary="rollout_rel_l2_interior",
            curve="val_rollout_rel_l2_interior",
            data_source=HeatSplit(data_dir, "test").manifest["label"],
            files={"frame_errors.csv": ",".join(FRAME_ERROR_COLUMNS) + "\n", "frames.npz": {}},  # no rows
        )

    def score(self, run: dict, checkpoint: Path, data_dir: Path) -> Scores:
        e, test = run["eval"], HeatSplit(data_dir, "test")
        use_device(run)
        model = load_model(build_model(run, test.manifest), checkpoint)
        count, batch, P = len(test), e["batch"], model.context
        truth = test.fields
        W = trained_frames(run, truth.shape[1])  # frames W.. are past the training window
        one = batched(one_shot, model, test, count, batch)
        started = time.perf_counter()
        rolled = batched(rollout, model, test, count, batch)
        seconds = time.perf_counter() - started
        q_model, q_fraction = quantized(model, e["quantize_bits"], e["quantize_group_size"], e["quantized_kernels"])
        q_rolled = batched(rollout, q_model, test, count, batch)
        rel = relative_l2(rolled, truth, P, W, interior=True)
        persistence = np.repeat(truth[:, P - 1 : P], truth.shape[1], axis=1)  # the last context frame, held
        metrics = {
            "rollout_rel_l2_interior": float(rel.mean()),
            "rollout_rel_l2_interior_median": float(np.median(rel)),
            "rollout_rel_l2": float(relative_l2(rolled, truth, P, W).mean()),
            f"rollout_rel_l2_interior_q{e['quantize_bits']}": float(relative_l2(q_rolled, truth, P, W, True).mean()),
            "quantized_weight_fraction": q_fraction,
            "persistence_rel_l2_interior": float(relative_l2(persistence, truth, P, W, interior=True).mean()),
            "persistence_rel_l2": float(relative_l2(persistence, truth, P, W).mean()),
            "rollout_mse": float(((rolled[:, P:W] - truth[:, P:W]) ** 2).mean()),
            "one_shot_mse": float(((one[:, P:W] - truth[:, P:W]) ** 2).mean()),
            "trained_frames": W,
            "test_samples": count,
        }
        if W < truth.shape[1]:
            metrics["extrapolation_rel_l2_interior"] = float(relative_l2(rolled, truth, W, interior=True).mean())
            metrics["persistence_extrapolation_rel_l2_interior"] = float(
                relative_l2(persistence, truth, W, interior=True).mean()
            )
        trivial = {  # persistence: the last context frame held, which an untrained model predicts
            name: metrics[f"persistence_{name.removeprefix('rollout_')}"]
            for name in ("rollout_rel_l2_interior", "rollout_rel_l2", "extrapolation_rel_l2_interior")
            if f"persistence_{name.removeprefix('rollout_')}" in metrics
        }
        return Scores(
            metrics=metrics,
            files={
                "frame_errors.csv": frame_table(one, rolled, truth),
                "frames.npz": {"truth": truth[0], "one_shot": one[0], "rollout": rolled[0], "context": np.array(P)},
            },
            trivial=trivial,
            throughput={
                "rollout_samples_per_second": count / seconds if seconds else None,
                "inference_seconds_per_sample": seconds / count if seconds else None,
            },
        )


evaluate = Heat2dEvaluation()
