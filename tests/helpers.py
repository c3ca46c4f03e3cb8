"""What the tests share: the repository and its interpreter, a tiny charlm run, a copy of the workflow and
Snakemake run in it, the plug-in workload and optimiser of tests/plugins, a simulated kill between two
checkpoints and the metrics to compare after it. Test modules import from here, never from each other."""

import csv
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from testbeds import config as cfg
from testbeds.runio import MetricsLog

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PLUGINS = Path(__file__).resolve().parent / "plugins"
# a researcher's own torch optimiser, by import path (its folder on PYTHONPATH)
SIGNUM = {
    "import": "signum:make",
    "framework": "torch",
    "momentum": 0.9,
    "search": {"train.lr": {"log_uniform": [1e-3, 1e-1]}},
}
TOY = {
    "framework": "torch",
    "device": "cpu",
    "resources": {"threads": 1, "mem_mb": 1000, "runtime_min": 10, "gpu": 0},
    "speedups": [],
    "optimizers": ["adamw", "sgd"],
    "baseline": "adamw",
    "tuning": {"budget": 2, "seed": 1000},  # a plug-in is tuned like the built-in workloads, with nothing to write
    "variants": {"base": {}, "no_bias": {"model.bias": False}},
    "data": {"features": 4, "n_train": 256, "n_val": 64, "noise": 0.1, "seed": 3},
    "model": {"bias": True},
    "train": {
        "steps": 30,
        "batch": 16,
        "lr": 0.05,
        "schedule": "warmup_cosine",
        "warmup_steps": 3,
        "min_lr_frac": 0.1,
        "eval_every": 10,
        "log_every": 5,
        "checkpoint_every": 10,
    },
}


def tiny_run(config: dict, optimizer: str = "kbeta", seed: int = 0, **train) -> dict:
    """A charlm run small enough for a unit test (a second or two)."""
    run = cfg.resolve_run(config, "charlm", "base", optimizer, seed)
    run["model"].update(d_model=32, n_layer=1, n_head=2, ctx=32)
    run["train"].update(
        steps=12, batch=4, lmin=8, lmax=32, len_bucket=8, eval_every=4, eval_bs=8, log_every=2, checkpoint_every=4
    )
    run["train"].update(train)
    run["eval"]["batch"] = 16
    return run


def copy_repo(dest: Path) -> Path:
    """A working copy of the workflow (no results), for end-to-end Snakemake runs."""
    ignore = shutil.ignore_patterns(".venv", "results", ".snakemake", ".git", "__pycache__", ".pytest_cache")
    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", **(env or {}))
    result = subprocess.run([str(BIN / "snakemake"), *args], cwd=workdir, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


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


def sequential_grid(workdir: Path) -> tuple[str, ...]:
    """A tiny sequential design in a workflow copy (charlm, looks of 2 and 3 seeds) with two claims whose
    outcome does not depend on the machine: "decided" (Kβ's test bits per character below 1000: supported at
    the first look) and "undecided" (Adam β₂ = 0.95 against a twin with the same settings: identical runs, no
    spread, open at every look). Returns the config arguments."""
    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text())
    arm = {"source": "test", "workload": "charlm", "variant": "base", "metric": "primary", "direction": "min"}
    claims = [
        {**arm, "id": "decided", "statement": "Kβ below 1000 bpc", "optimizer": "kbeta", "against": {"value": 1000}},
        {
            **arm,
            "id": "undecided",
            "statement": "Adam below its twin",
            "optimizer": "adam95",
            "against": {"optimizer": "adam95_twin"},
        },
    ]
    (workdir / "sequential_claims.yaml").write_text(yaml.safe_dump({"claims": claims}))
    extra = {
        "grid": {"workloads": ["charlm"], "seeds": [0]},
        "optimizers": {"adam95_twin": config["optimizers"]["adam95"]},
        "workloads": {"charlm": {"optimizers": ["kbeta", "adam95", "adam95_twin"]}},
        "claims": {"file": "sequential_claims.yaml", "sequential": {"looks": [2, 3]}},
    }
    (workdir / "sequential.yaml").write_text(yaml.safe_dump(extra))
    return ("--configfile", "config/test.yaml", "sequential.yaml")


def make_claim(claim_id: str, optimizer: str, against: dict, workload: str = "w", variant: str = "v", **extra) -> dict:
    """A claim of config/claims.yaml's form about a loss (lower is better) of ``optimizer`` against ``against``."""
    arm = {"workload": workload, "variant": variant, "optimizer": optimizer}
    return {
        "id": claim_id,
        "source": "s",
        "statement": f"{optimizer} below {against}",
        **arm,
        "against": against,
        "metric": "primary",
        "direction": "min",
        **extra,
    }


def run_row(workload: str, variant: str, optimizer: str, seed: int, value: float | None, **extra) -> dict:
    """One row of runs.csv for the analysis' tests: a loss (lower is better); None: a run that diverged."""
    return dict(
        workload=workload,
        variant=variant,
        optimizer=optimizer,
        seed=seed,
        status="ok" if value is not None else "diverged",
        primary_metric="loss",
        direction="min",
        primary_value=math.nan if value is None else value,
        steps=100,
        **extra,
    )


def cell_runs(values: dict[str, list], workload: str = "w", variant: str = "v") -> pd.DataFrame:
    """The runs of cells WORKLOAD/VARIANT/OPTIMIZER, one per seed in order (None: diverged)."""
    return pd.DataFrame(
        [run_row(workload, variant, o, seed, x) for o, xs in values.items() for seed, x in enumerate(xs)]
    )
