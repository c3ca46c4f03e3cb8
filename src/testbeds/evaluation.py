"""One evaluation skeleton for every workload: the status gate, the timing, the divergence check, the run
files and final.json live here; a workload's ``evaluate.py`` subclasses ``Evaluation`` and keeps only its
scoring (``describe`` and ``score``), as AlgoPerf's workloads score while the harness evaluates.

Framework-free: the workload's methods import their framework.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from testbeds.runio import (
    atomic_write_json,
    atomic_write_npz,
    atomic_write_text,
    final_checkpoint,
    read_json,
    write_final,
)


@dataclass
class Description:
    """What final.json says of a run whatever its status.

    ``bound``: the primary metric's best possible value where runs can reach it (the report flags a cell
    whose runs all end there); ``metrics``: final metrics known without the model (e.g. the best validation
    value during training);
    ``files``: each run file's content for a run that has nothing to show (a diverged one): a CSV's header,
    no arrays, an empty list; ``units``: what the throughput counts per evaluation (``throughput`` names it).
    """

    primary: str
    curve: str
    data_source: str
    bound: float | None = None
    metrics: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    throughput: str | None = None
    units: float = 0.0
    extra: dict = field(default_factory=dict)


@dataclass
class Scores:
    """A trained run scored on the test split: its metrics, the run files' contents, the trivial model's
    score per metric (a uniform guess, persistence), throughput figures the workload timed itself (beside
    the skeleton's rate over the whole scoring) and further final.json fields."""

    metrics: dict
    files: dict = field(default_factory=dict)
    trivial: dict = field(default_factory=dict)
    throughput: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def write_run_file(path: Path, content) -> None:
    """A run file by its kind: text for .csv, arrays for .npz, JSON for .json."""
    if path.suffix == ".npz":
        atomic_write_npz(path, **content)
    elif path.suffix == ".json":
        atomic_write_json(path, content)
    else:
        atomic_write_text(path, content)


class Evaluation(ABC):
    """A workload's evaluation: ``describe`` a run, ``score`` a trained one; ``__call__`` does the rest."""

    direction = "min"  # of the primary metric

    @abstractmethod
    def describe(self, run: dict, summary: dict, data_dir: Path | None) -> Description:
        """The run's primary and curve metric names, data source and what it shows if it diverged."""

    @abstractmethod
    def score(self, run: dict, checkpoint: Path, data_dir: Path | None) -> Scores:
        """Load the model saved in ``checkpoint`` and score it on the test split."""

    def __call__(self, run_dir: Path, data_dir: Path | None = None) -> dict:
        """Write final.json and the run files of ``run_dir``: a run that diverged in training gets the empty run
        files and status ``diverged``; one whose score is a non-finite primary value gets status ``diverged``
        and keeps the files its scoring wrote (they show where it went wrong)."""
        run_dir = Path(run_dir)
        prov, summary = read_json(run_dir / "provenance.json"), read_json(run_dir / "train.json")
        run = prov["config"]
        about = self.describe(run, summary, data_dir)
        status, metrics, files, seconds = summary["status"], dict(about.metrics), dict(about.files), 0.0
        scores = Scores(metrics={})
        if status == "ok":
            started = time.perf_counter()
            scores = self.score(run, final_checkpoint(run_dir, prov, summary), data_dir)
            seconds = time.perf_counter() - started
            metrics.update(scores.metrics)
            files.update(scores.files)
            if not math.isfinite(metrics[about.primary]):
                status = "diverged"
        for name, content in files.items():
            write_run_file(run_dir / name, content)
        rate = about.units / seconds if seconds and about.units else None
        return write_final(
            run_dir,
            prov,
            summary,
            status=status,
            primary=about.primary,
            curve=about.curve,
            direction=self.direction,
            metrics=metrics,
            trivial=scores.trivial,
            data_source=about.data_source,
            bound=about.bound,
            throughput={**({about.throughput: rate} if about.throughput else {}), **scores.throughput},
            eval_seconds=seconds,
            **{**about.extra, **scores.extra},
        )
