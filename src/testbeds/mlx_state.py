"""Checkpoint files of the MLX workloads: model weights and optimiser state, as safetensors."""

from __future__ import annotations

from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten, tree_unflatten

from testbeds.optim import mlx_optim

MODEL_FILE, OPTIMIZER_FILE = "model.safetensors", "optimizer.safetensors"
TRAINING_FILE = "training.safetensors"  # a Schedule-Free run's training iterate (the model file: its average)


def save_model(model: nn.Module, directory: Path, name: str = MODEL_FILE) -> None:
    mx.save_safetensors(str(Path(directory) / name), dict(tree_flatten(model.parameters())))


def save(model: nn.Module, opt: optim.Optimizer, directory: Path) -> None:
    save_model(model, directory)
    mx.save_safetensors(str(Path(directory) / OPTIMIZER_FILE), mlx_optim.state_arrays(opt))


def load_model(model: nn.Module, directory: Path, name: str = MODEL_FILE) -> None:
    model.update(tree_unflatten(list(mx.load(str(Path(directory) / name)).items())))


def load(model: nn.Module, opt: optim.Optimizer, directory: Path) -> None:
    load_model(model, directory)
    mlx_optim.load_state(opt, mx.load(str(Path(directory) / OPTIMIZER_FILE)))
