"""The framework-free skeleton of a training run, shared by the workloads' trainers.

A workload subclasses ``TrainLoop`` and supplies the framework parts (one training step, the periodic
evaluation, its state on disk); the loop does the rest of the run contract (docs/design.md): metrics rows
with a mean train loss per logging window, Kβ diagnostics, evaluation at step 1, every ``eval_every``
steps and at the end, early stopping, atomic checkpoints every ``checkpoint_every`` steps and on
SIGTERM, resume from the newest valid checkpoint, divergence detection, provenance.json and train.json.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import signal
import time
from abc import ABC, abstractmethod
from pathlib import Path

from testbeds.early_stop import EarlyStopping
from testbeds.optim.options import diagnostic_names
from testbeds.runio import Checkpoints, MetricsLog, atomic_write_json, provenance
from testbeds.schedule import bias_ramp, warmup_cosine
from testbeds.settings import config_hash

BASE_COLUMNS = ["step", "wall_seconds", "train_seconds", "train_loss", "lr", "tokens"]
NO_EARLY_STOP = {"patience": 0, "min_delta": 0.0, "warmup": 0}


def say(message: str) -> None:
    print(message, flush=True)


class TrainLoop(ABC):
    """The run contract around a workload's steps; a framework's floor (``MlxLoop``, ``TorchLoop``,
    ``JaxLoop``) adds its plumbing, a workload its data, model, loss and metrics. The abstract methods are the
    hooks every workload defines (Python refuses to build a loop that lacks one, naming it)."""

    packages: list[str] = []
    eval_columns: list[str] = ["val_loss"]  # the first drives early stopping and is reported as best_*
    direction = "min"  # of the first eval column: "min" (lower is better) or "max"
    extra_columns: list[str] = []

    def __init__(self, run: dict, run_dir: Path, device: str, log=say):
        self.run, self.run_dir, self.device, self.log = run, Path(run_dir), device, log
        self.settings = run["train"]
        self.hash = config_hash(run)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.early = EarlyStopping(**self.settings.get("early_stop", NO_EARLY_STOP))
        self.checkpoints = Checkpoints(self.run_dir, log=log)
        # train_seconds: the training-only clock (optimisation steps, without each session's first step,
        # which compiles; compile_seconds holds those)
        self.step, self.tokens, self.wall_before, self.train_seconds, self.compile_seconds = 0, 0, 0.0, 0.0, 0.0
        self.saved_step = None  # the step of the newest checkpoint written or resumed from
        self.window = [0.0, 0]  # sum and count of train losses since the last logged row
        self.terminate = False
        self.total_steps = self.settings.get("steps")  # a workload may derive it (e.g. from epochs)

    # ------------------------------------------------------------- workload hooks
    @abstractmethod
    def train_step(self) -> tuple[float, int, dict]:
        """Run one optimisation step; return (loss, tokens processed, extra metric columns)."""

    @abstractmethod
    def evaluate(self) -> dict:
        """The periodic evaluation: a value for each of ``eval_columns``."""

    @abstractmethod
    def write_state(self, directory: Path) -> None:
        """Write model, optimiser and any other framework state into ``directory``."""

    @abstractmethod
    def read_state(self, directory: Path, meta: dict) -> None:
        """Restore what ``write_state`` wrote, plus the workload's part of ``meta``."""

    def learning_rate(self) -> float:
        """The rate of the step about to run (0-indexed ``self.step``): the workload's schedule
        (``train.schedule``), the same for every optimiser of the workload, times the optimizer entry's
        ``bias_ramp`` (testbeds.schedule). Every framework's floor hands this value to its optimiser."""
        source = self.settings["schedule"] == "source"
        rate = self.source_rate(self.step) if source else self.warmup_cosine_rate(self.step)
        return rate * bias_ramp(self.step, self.run["optimizer"].get("bias_ramp"))

    def warmup_cosine_rate(self, step: int) -> float:
        """The common schedule's rate at 0-indexed ``step``: warm-up to the peak ``train.lr``, then cosine."""
        t = self.settings
        return t["lr"] * warmup_cosine(step, t["warmup_steps"], self.total_steps, t["min_lr_frac"])

    def source_rate(self, step: int) -> float:
        """The rate of 0-indexed ``step`` under the source project's own schedule (``train.schedule:
        source``); a workload whose source schedules its rate says how. Default: a constant rate."""
        return self.settings["lr"]

    def evaluation_parameters(self) -> contextlib.AbstractContextManager:
        """Within: the model holds the parameters to evaluate and save (a Schedule-Free optimiser's average);
        after: exactly the training iterate. The framework floors define it; the default changes nothing."""
        return contextlib.nullcontext()

    def state_meta(self) -> dict:
        """JSON-able state of the workload (data sampler, RNG) stored in the checkpoint's meta."""
        return {}

    def optimizer_diagnostics(self, lr: float) -> dict[str, dict[str, float]]:
        """bucket -> {name: value} of the optimiser's diagnostics after the step just done at rate ``lr``
        (the names its entry declares: ``options.diagnostic_names``); the framework floors define it."""
        return {}

    def describe(self) -> dict:
        """Extra provenance (parameter count, BLAS, ...)."""
        return {}

    def data_manifest(self) -> dict | None:
        return None

    # ---------------------------------------------------------------- the loop
    def setup_logs(self) -> None:
        names = diagnostic_names(self.run["optimizer"])
        summary = [f"{name}_{statistic}" for name in names for statistic in ("mean", "min", "max")]
        columns = BASE_COLUMNS + self.extra_columns + self.eval_columns + summary
        self.metrics = MetricsLog(self.run_dir, columns)
        self.buckets = MetricsLog(self.run_dir, ["step", "bucket", "name", "value"], name="optimizer_diagnostics")

    def wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.session_start

    def save_checkpoint(self) -> None:
        meta = {
            "config_hash": self.hash,
            "tokens": self.tokens,
            "wall_seconds": self.wall(),
            "train_seconds": self.train_seconds,
            "compile_seconds": self.compile_seconds,
            "window": self.window,
            "early_stop": self.early.state(),
            "workload": self.state_meta(),
        }
        self.checkpoints.save(self.step, self.write_state, meta)
        self.saved_step = self.step

    def resume(self) -> None:
        found = self.checkpoints.latest(self.hash)
        if found is not None and not self.metrics.partial.exists():
            # checkpoints of a run that finished: Snakemake removed its outputs to run it again (its code
            # changed, say), so it starts over rather than resume into a metrics log it no longer has
            self.log(f"{self.checkpoints.root}: checkpoints of an earlier, finished run: starting over")
            shutil.rmtree(self.checkpoints.root)
            found = None
        if found is None:
            self.metrics.restart(0)
            self.buckets.restart(0)
            return
        path, meta = found
        self.read_state(path, meta["workload"])
        self.early = EarlyStopping.from_state(meta["early_stop"])
        self.step, self.tokens = meta["step"], meta["tokens"]
        self.wall_before, self.train_seconds, self.window = meta["wall_seconds"], meta["train_seconds"], meta["window"]
        self.compile_seconds = meta.get("compile_seconds", 0.0)
        self.metrics.restart(self.step)
        self.buckets.restart(self.step)
        self.saved_step = self.step
        self.log(f"resumed from {path} at step {self.step}")

    def log_row(self, lr: float, extra: dict, evaluate: bool) -> tuple[dict, bool]:
        loss_sum, count = self.window
        row = {
            "step": self.step,
            "wall_seconds": self.wall(),
            "train_seconds": self.train_seconds,
            "train_loss": loss_sum / max(count, 1),
            "lr": lr,
            "tokens": self.tokens,
            **extra,
        }
        self.window = [0.0, 0]
        stop = False
        if evaluate:
            with self.evaluation_parameters():
                row.update(self.evaluate())
            value = row[self.eval_columns[0]]
            stop = self.early.update(-value if self.direction == "max" else value)
        found = self.optimizer_diagnostics(lr)
        row.update(summarise_diagnostics(found))
        for bucket, values in found.items():
            for name, value in values.items():
                self.buckets.append({"step": self.step, "bucket": bucket, "name": name, "value": value})
        self.metrics.append(row)
        return row, stop

    def begin(self) -> None:
        """Open the logs, resume from the newest valid checkpoint, write provenance, catch SIGTERM."""
        self.session_start = time.perf_counter()
        self.first_step = None  # this session's first step: its seconds (compile included) and end time
        self.setup_logs()
        self.resume()
        atomic_write_json(
            self.run_dir / "provenance.json",
            provenance(self.run, self.device, self.packages, self.data_manifest(), self.describe()),
        )
        self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)

    def record_step(self, loss: float, tokens: int, extra: dict, lr: float, seconds: float) -> str | None:
        """Account for one finished step: log, evaluate, checkpoint. Returns why to stop, or None."""
        t = self.settings
        if self.first_step is None:
            self.first_step = {"seconds": seconds, "finished_at": time.time()}  # start-up = finished_at - launch
            self.compile_seconds += seconds
        else:
            self.train_seconds += seconds
        self.step += 1
        self.tokens += tokens
        self.window = [self.window[0] + loss, self.window[1] + 1]
        if not math.isfinite(loss):
            self.log_row(lr, extra, evaluate=False)
            return f"diverged: train loss {loss} at step {self.step}"
        stop = None
        evaluate = self.evaluates(self.step)
        if self.logs(self.step):
            row, stop_early = self.log_row(lr, extra, evaluate)
            self._progress(row)
            if stop_early:
                stop = (
                    f"early stop at step {self.step} (no improvement of {self.eval_columns[0]} "
                    f"in {self.early.patience} checks)"
                )
        if self.step % t["checkpoint_every"] == 0 or self.terminate:
            self.save_checkpoint()
        if self.terminate:
            raise SystemExit(f"SIGTERM: checkpoint saved at step {self.step}; re-run to resume")
        return stop

    def evaluates(self, step: int) -> bool:
        """Evaluation happens at step 1, every eval_every steps and at the last step."""
        return step == 1 or step % self.settings["eval_every"] == 0 or step == self.total_steps

    def logs(self, step: int) -> bool:
        """A metrics row is written at every evaluation and every log_every steps."""
        return self.evaluates(step) or step % self.settings["log_every"] == 0

    def end(self, stop_reason: str | None) -> dict:
        """Final checkpoint, publish metrics.csv, write train.json."""
        signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.saved_step != self.step:  # not when resumed from the last step's checkpoint (killed before the end)
            self.save_checkpoint()
        status = "diverged" if stop_reason and stop_reason.startswith("diverged") else "ok"
        key = self.eval_columns[0]
        values = [float(r[key]) for r in self.metrics.rows() if r[key]]
        best = (max if self.direction == "max" else min)(values, default=None)
        last = values[-1] if values else None  # the trained model's: what tuning selects on
        self.metrics.finish()
        self.buckets.finish()
        summary = {
            "status": status,
            "stop_reason": stop_reason or "steps",
            "steps": self.step,
            "wall_seconds": self.wall(),
            "train_seconds": self.train_seconds,
            "compile_seconds": self.compile_seconds,
            "tokens": self.tokens,
            "tokens_per_second": self.tokens / self.train_seconds if self.train_seconds else None,
            "first_step": self.first_step,
            f"best_{key}": best,
            "validation": {"metric": key, "value": last, "direction": self.direction},
            "device": self.device,
            "config_hash": self.hash,
            **self.describe(),
        }
        atomic_write_json(self.run_dir / "train.json", summary)
        return summary

    def train(self) -> dict:
        """The plain loop: one ``train_step`` after another until done, diverged or stopped early."""
        self.begin()
        stop = None
        try:
            while self.step < self.total_steps and stop is None:
                lr = self.learning_rate()
                started = time.perf_counter()
                loss, tokens, extra = self.train_step()
                stop = self.record_step(loss, tokens, extra, lr, time.perf_counter() - started)
        except BaseException:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            raise
        return self.end(stop)

    def _on_sigterm(self, signum, frame) -> None:
        self.terminate = True

    def _progress(self, row: dict) -> None:
        shown = " ".join(f"{k} {row[k]:.4f}" for k in self.eval_columns if k in row)
        # the first step of a session compiles and is outside the training clock: no rate to show yet
        rate = f"{self.tokens / self.train_seconds:,.0f} tok/s" if self.train_seconds > 0 else "compiling"
        self.log(
            f"step {row['step']:>6}/{self.total_steps} loss {row['train_loss']:.4f} {shown} lr {row['lr']:.2e} {rate}"
        )


def summarise_diagnostics(found: dict[str, dict[str, float]]) -> dict[str, float]:
    """metrics.csv's columns of the optimiser's diagnostics: each name's mean, min and max over the buckets."""
    by_name: dict[str, list[float]] = {}
    for values in found.values():
        for name, value in values.items():
            by_name.setdefault(name, []).append(value)
    return {
        f"{name}_{statistic}": value
        for name, values in by_name.items()
        for statistic, value in (("mean", sum(values) / len(values)), ("min", min(values)), ("max", max(values)))
    }
