"""Learning-rate schedules.

- Piecewise constant, written as ``"step:lr,step:lr"`` strings (charlm, heat2d). As in Testbed D: steps
  are 1-indexed, and the learning rate at a step is the value of the largest boundary ``<= step``; before
  the first boundary the base rate holds.
- Linear warm-up then cosine decay (sotalm, lds): ``warmup_cosine`` is the one definition; the torch and
  optax schedules of ``optim.torch_optim`` and ``optim.jax_optim`` are built from those libraries'
  schedulers to equal it step for step (a test holds all three together).
"""

from __future__ import annotations

import math


def parse_lr_schedule(text: str) -> list[tuple[int, float]]:
    """``"1:1e-3,30000:5e-4"`` -> ``[(1, 1e-3), (30000, 5e-4)]``; ``""`` -> ``[]``."""
    points = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        step, sep, value = item.partition(":")
        try:
            if not sep:
                raise ValueError
            point = (int(step), float(value))
        except ValueError:
            raise ValueError(f"'{item}' is not of the form step:lr") from None
        if point[0] < 1 or point[1] < 0:
            raise ValueError(f"'{item}': the step must be >= 1 and the rate >= 0")
        points.append(point)
    steps = [s for s, _ in points]
    if steps != sorted(set(steps)):
        raise ValueError(f"steps must increase strictly, got {steps}")
    return points


def lr_at(step: int, base_lr: float, points: list[tuple[int, float]]) -> float:
    """Learning rate of 1-indexed ``step``."""
    lr = base_lr
    for boundary, value in points:
        if boundary <= step:
            lr = value
    return lr


def warmup_cosine(step: int, warmup: int, total: int, min_frac: float) -> float:
    """Learning-rate factor of 0-indexed ``step``: (step + 1) / warmup during the warm-up (never 0, so the
    first step learns), then a cosine from 1 down to ``min_frac`` at step ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * progress))
