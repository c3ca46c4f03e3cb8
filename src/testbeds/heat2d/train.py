"""Training of the heat2d workload (source 000) in MLX.

Loss = MSE of the predicted next frames + w_boundary · Σ over the four edges of their MSE + w_pde · the
mean squared heat-equation residual of consecutive predicted frames, (ŷ_{t+1} - ŷ_t) - αΔ ∇²ŷ_t on the
interior (dimensionless: scaled by the frame interval Δ) + w_initial · the MSE of the first predicted
frames. One learning-rate schedule (train.schedule) for every optimiser. Batches are a pure function
of the step (a permutation per epoch), so a resumed run sees exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from testbeds.heat2d.data import HeatSplit
from testbeds.heat2d.evaluate import batched, relative_l2, trained_frames
from testbeds.heat2d.model import HeatTransformer, build_model, count_parameters, one_shot, rollout
from testbeds.loop import say
from testbeds.mlx_loop import MlxLoop
from testbeds.schedule import lr_at, parse_lr_schedule


def laplacian(u: mx.array) -> mx.array:
    """5-point Laplacian on the interior of fields (..., ny, nx) of the unit square."""
    ny, nx = u.shape[-2:]
    c = u[..., 1:-1, 1:-1]
    return (u[..., 1:-1, 2:] - 2 * c + u[..., 1:-1, :-2]) * (nx - 1) ** 2 + (
        u[..., 2:, 1:-1] - 2 * c + u[..., :-2, 1:-1]
    ) * (ny - 1) ** 2


def loss_terms(pred: mx.array, target: mx.array, alpha: mx.array, interval: float, initial_frames: int) -> dict:
    """The loss parts for predicted frames ``pred`` of ``target`` (both (B, T', ny, nx))."""

    def mse(a, b):
        return mx.mean((a - b) ** 2)

    edges = (
        mse(pred[..., :, 0], target[..., :, 0])
        + mse(pred[..., :, -1], target[..., :, -1])
        + mse(pred[..., 0, :], target[..., 0, :])
        + mse(pred[..., -1, :], target[..., -1, :])
    )
    change = (pred[:, 1:] - pred[:, :-1])[..., 1:-1, 1:-1]
    residual = change - alpha.reshape(-1, 1, 1, 1) * interval * laplacian(pred[:, :-1])
    return {
        "mse": mse(pred, target),
        "boundary": edges,
        "pde": mx.mean(residual**2),
        "initial": mse(pred[:, :initial_frames], target[:, :initial_frames]),
    }


def heat_loss(model: HeatTransformer, fields: mx.array, alpha: mx.array, weights: dict, interval: float) -> mx.array:
    """Next-frame prediction loss: output t predicts frame t + 1, for t = 0..T-2."""
    terms = loss_terms(model(fields, alpha)[:, :-1], fields[:, 1:], alpha, interval, weights["initial_frames"])
    return (
        terms["mse"]
        + weights["boundary"] * terms["boundary"]
        + weights["pde"] * terms["pde"]
        + weights["initial"] * terms["initial"]
    )


class Trainer(MlxLoop):
    eval_columns = ["val_rollout_rel_l2_interior", "val_mse"]

    def __init__(self, run: dict, data_dir: Path, run_dir: Path, log=say):
        super().__init__(run, run_dir, log)
        t, loss = self.settings, run["loss"]
        self.train_split, self.val_split = HeatSplit(data_dir, "train"), HeatSplit(data_dir, "val")
        self.manifest = self.train_split.manifest
        if loss["pde"] > 0 and not (self.manifest["alpha_known"] and self.manifest["frame_interval"]):
            raise ValueError(
                "loss.pde > 0 needs α per sample and the frame interval; this data set "
                f"({self.manifest['label']}) lacks them: set loss.pde to 0"
            )
        model = build_model(run, self.manifest)
        self.frames = trained_frames(run, self.manifest["frames"])  # the training window; later ones: extrapolation
        self.per_epoch = len(self.train_split) // t["batch"]
        if self.per_epoch < 1:
            raise ValueError(f"train.batch ({t['batch']}) is larger than the {len(self.train_split)} training samples")
        self.total_steps = t["epochs"] * self.per_epoch
        self.lr_points = parse_lr_schedule(t["lr_schedule"])
        self.use_model(model)

    def batch_at(self, step: int) -> np.ndarray:
        """Sample indices of 0-indexed ``step``: a slice of epoch step // per_epoch's permutation."""
        epoch, index = divmod(step, self.per_epoch)
        order = np.random.default_rng([self.run["seed"], epoch]).permutation(len(self.train_split))
        return np.sort(order[index * self.settings["batch"] : (index + 1) * self.settings["batch"]])

    def source_rate(self, step: int) -> float:
        return lr_at(step // self.per_epoch + 1, self.settings["lr"], self.lr_points)  # the source's, by epoch

    def make_step(self):
        model = self.model
        weights, interval = self.run["loss"], self.manifest["frame_interval"] or 1.0
        loss_and_grad = nn.value_and_grad(model, lambda m, f, a: heat_loss(m, f, a, weights, interval))

        def step(fields, alpha, lr):
            loss, grads = loss_and_grad(model, fields, alpha)
            self.apply(grads, lr)
            return loss

        return self.compiled(step)

    def train_step(self) -> tuple[float, int, dict]:
        picked = self.batch_at(self.step)
        fields, alpha = self.train_split.fields[picked, : self.frames], self.train_split.alpha[picked]
        loss = self.run_step(mx.array(fields), mx.array(alpha))
        return loss.item(), fields.shape[0] * fields.shape[1] * self.model.patches, {}  # tokens: frames x patches

    def evaluate(self) -> dict:
        count = min(self.settings["eval_samples"], len(self.val_split))
        truth, batch = self.val_split.fields[:count], self.settings["batch"]
        rolled = batched(rollout, self.model, self.val_split, count, batch)
        shot = batched(one_shot, self.model, self.val_split, count, batch)
        context, W = self.model.context, self.frames
        return {  # on the training window, as the primary metric of the final evaluation
            "val_rollout_rel_l2_interior": float(relative_l2(rolled, truth, context, W, interior=True).mean()),
            "val_mse": float(np.mean((shot[:, 1:W] - truth[:, 1:W]) ** 2)),
        }

    def describe(self) -> dict:
        return {**super().describe(), "parameters": count_parameters(self.model), "steps_per_epoch": self.per_epoch}

    def data_manifest(self) -> dict:
        return self.manifest


def train(run: dict, data_dir: Path, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
