"""Helpers the tests share: a simulated kill between two checkpoints and the metrics to compare after it."""

import csv
from pathlib import Path

import pytest

from testbeds.runio import MetricsLog


class SimulatedKill(RuntimeError):
    """Raised by ``kill_and_resume`` after a logged step, like a kill between two checkpoints."""


def metrics_without_time(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [
            {k: v for k, v in row.items() if k not in ("wall_seconds", "train_seconds")}
            for row in csv.DictReader(handle)
        ]


def kill_and_resume(train, run: dict, data, tmp_path: Path, monkeypatch, kill_after_step: int) -> list[str]:
    """Train ``run`` straight, then again with a simulated kill after ``kill_after_step`` was logged and a
    resumed second attempt; asserts both give identical metrics.csv (wall time aside). Returns the resumed
    attempt's log messages."""
    train(run, data, tmp_path / "straight", log=lambda m: None)
    original = MetricsLog.append

    def dies(self, row):
        original(self, row)
        if row["step"] == kill_after_step and self.final.name == "metrics.csv":
            raise SimulatedKill

    monkeypatch.setattr(MetricsLog, "append", dies)
    with pytest.raises(SimulatedKill):
        train(run, data, tmp_path / "killed", log=lambda m: None)
    monkeypatch.setattr(MetricsLog, "append", original)
    assert not (tmp_path / "killed" / "train.json").exists()
    messages: list[str] = []
    train(run, data, tmp_path / "killed", log=messages.append)
    assert metrics_without_time(tmp_path / "killed") == metrics_without_time(tmp_path / "straight")
    return messages
