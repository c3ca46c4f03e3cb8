"""Piecewise-constant learning-rate schedules written as ``"step:lr,step:lr"`` strings.

As in Testbed D: steps are 1-indexed, and the learning rate at a step is the value
of the largest boundary ``<= step``; before the first boundary the base rate holds.
"""

from __future__ import annotations


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
