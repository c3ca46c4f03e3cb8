"""Patience-based early stopping on an evaluation metric (lower is better).

``patience`` counts evaluation checks without an improvement larger than
``min_delta`` over the best value so far; the first ``warmup`` checks are ignored
entirely. ``patience = 0`` disables stopping.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass
class EarlyStopping:
    patience: int
    min_delta: float = 0.0
    warmup: int = 0
    checks: int = 0
    best: float = math.inf
    bad_checks: int = 0

    def update(self, value: float) -> bool:
        """Record one evaluation; True when training should stop."""
        self.checks += 1
        if self.checks <= self.warmup:
            return False
        if value < self.best - self.min_delta:
            self.best, self.bad_checks = value, 0
        else:
            self.bad_checks += 1
        return self.patience > 0 and self.bad_checks >= self.patience

    def state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> "EarlyStopping":
        """Inverse of ``state()`` (JSON stores an infinite best as null)."""
        return cls(**{**state, "best": math.inf if state["best"] is None else state["best"]})
