"""Learning-rate schedules: the rate of every step, computed by the training loop for every framework
(``testbeds.loop.TrainLoop.learning_rate``), so that every optimiser of a workload trains under one schedule.

- ``warmup_cosine`` (``train.schedule: warmup_cosine``, every workload's default): a linear warm-up over
  ``train.warmup_steps`` to the peak ``train.lr`` (what tuning searches), then a cosine down to
  ``min_lr_frac`` times the peak at the last step.
- ``source``: the schedule of the workload's source project, to reproduce its comparison as published:
  piecewise constant ``"step:lr,step:lr"`` strings for charlm and heat2d (``lr_schedule``; empty: a constant
  rate), a constant rate for lot, the warm-up + cosine above for sotalm and lds. As in Testbed D, the
  strings' steps are 1-indexed and the rate at a step is the value of the largest boundary ``<= step``;
  before the first boundary the base rate holds.
- ``bias_ramp(step, beta)``: an optimizer entry's ``bias_ramp: β`` multiplies every step's rate by
  √(1 − β^t): the ramp that Kβ's ``bias_correction: beta2max`` builds into its update, given to another
  optimiser so that the two can be compared with the same ramp (docs/statistics.md, "Kβ's ramp").
"""

from __future__ import annotations

import math

SCHEDULES = ("warmup_cosine", "source")


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


def piecewise_problem(train: dict) -> str | None:
    """What is wrong with a workload's ``train.lr_schedule``, or None: a malformed string, or one set while
    ``train.schedule`` is not ``source`` (it would be silently ignored)."""
    try:
        parse_lr_schedule(train["lr_schedule"])
    except ValueError as err:
        return str(err)
    if train["lr_schedule"] and train["schedule"] != "source":
        return f"{train['lr_schedule']!r} applies only under train.schedule: source (now {train['schedule']!r})"
    return None


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


def bias_ramp(step: int, beta: float | None) -> float:
    """√(1 − β^t) at 0-indexed ``step`` (t = step + 1); 1 without a ramp (``beta`` None or 0)."""
    return math.sqrt(1.0 - beta ** (step + 1)) if beta else 1.0
