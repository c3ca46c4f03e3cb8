"""Reliability: bad configs stop the workflow before any job, killed runs resume to the same numbers,
runs are deterministic, diverging runs are recorded, and two workflows on one directory do not collide."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import BIN, copy_repo, metrics_without_time, snakemake

pytestmark = pytest.mark.slow
from testbeds import config as cfg  # noqa: E402

TEST_CONFIG = cfg.load_config([cfg.DEFAULT_CONFIG, cfg.DEFAULT_CONFIG.parent / "test.yaml"])
WORKLOADS = TEST_CONFIG["grid"]["workloads"]


def variants(workload: str) -> list[str]:
    return list(TEST_CONFIG["workloads"][workload]["variants"])


# (name, YAML overlay on config/test.yaml, text the error must contain)
BAD_CONFIGS = [
    ("unknown top-level key", "extras: 1", "extras"),
    ("misspelt section", "workloads: {charlm: {trian: {steps: 5}}}", "trian"),
    ("misspelt model key", "workloads: {charlm: {model: {d_modle: 64}}}", "d_modle"),
    ("steps not a number", "workloads: {charlm: {train: {steps: ten}}}", "steps"),
    ("negative steps", "workloads: {charlm: {train: {steps: -1}}}", "steps"),
    ("zero batch", "workloads: {charlm: {train: {batch: 0}}}", "batch"),
    ("unknown optimizer", "workloads: {charlm: {optimizers: [kbeta, lamb]}}", "lamb"),
    ("unknown workload", "grid: {workloads: [charlm, nope]}", "nope"),
    ("empty seeds", "grid: {seeds: []}", "seeds"),
    ("negative seed", "grid: {seeds: [-1]}", "seeds"),
    ("duplicate seeds", "grid: {seeds: [0, 0]}", "seeds"),
    ("lmin above lmax", "workloads: {charlm: {train: {lmin: 30, lmax: 20}}}", "lmin"),
    ("lmax above ctx", "workloads: {charlm: {train: {lmax: 64}}}", "lmax"),
    ("heads do not divide d_model", "workloads: {charlm: {model: {n_head: 3}}}", "n_head"),
    ("bad lr schedule", "workloads: {charlm: {train: {lr_schedule: '10-1e-3'}}}", "lr_schedule"),
    ("negative lr", "workloads: {charlm: {train: {lr: -0.1}}}", "lr"),
    ("val_frac too large", "workloads: {charlm: {data: {val_frac: 0.7}}}", "val_frac"),
    ("unknown data source", "workloads: {charlm: {data: {source: web}}}", "source"),
    ("malformed checksum", "workloads: {charlm: {data: {sha256: abc}}}", "sha256"),
    ("unknown device", "workloads: {charlm: {device: tpu}}", "device"),
    ("unknown bucket mode", "optimizers: {kbeta: {layer_bucket: layers}}", "layer_bucket"),
    ("unknown bias correction", "optimizers: {kbeta: {bias_correction: half}}", "bias_correction"),
    ("beta2_min above 1", "optimizers: {kbeta: {beta2_min: 1.5}}", "beta2_min"),
    ("unknown algorithm", "optimizers: {lambx: {algorithm: lamb}}", "lamb"),
    ("optimizer without algorithm", "optimizers: {plain: {beta1: 0.9}}", "algorithm"),
    ("imported optimizer without framework", "optimizers: {mine: {import: 'mine:make'}}", "framework"),
    ("adam beta2 not a number", "optimizers: {adam95: {beta2: high}}", "beta2"),
    ("baseline not run", "workloads: {charlm: {baseline: adamw}}", "baseline"),
    ("variant overrides unknown key", "workloads: {charlm: {variants: {wide: {model.width: 3}}}}", "model.width"),
    ("variant name with a slash", "workloads: {charlm: {variants: {'a/b': {}}}}", "a/b"),
    ("zero threads", "workloads: {charlm: {resources: {threads: 0}}}", "threads"),
    ("negative patience", "workloads: {charlm: {train: {early_stop: {patience: -1}}}}", "patience"),
    ("workloads not a list", "grid: {workloads: charlm}", "workloads"),
    ("lattice shape does not hold the heads", "workloads: {lot: {model: {lattice_shape: [3, 3]}}}", "lattice_shape"),
    ("unknown attention", "workloads: {lot: {variants: {odd: {model.attention: mystery}}}}", "mystery"),
    ("steps and epochs both set", "workloads: {sotalm: {train: {epochs: 2}}}", "epochs"),
    ("patch size does not divide the sequence", "workloads: {lds: {model: {patch_size: 3}}}", "patch_size"),
    ("unknown matrix structure", "workloads: {lds: {data: {structure: toeplitz}}}", "toeplitz"),
    ("lambda of 1 (unstable)", "workloads: {lds: {data: {lambda: 1.0}}}", "lambda"),
    (
        "too few learned positions",
        "workloads: {lds: {model: {positional: learned, max_positions: 8}}}",
        "max_positions",
    ),
    ("patch does not divide the mesh", "workloads: {heat2d: {model: {patch: 3}}}", "patch"),
    ("unstable heat time step", "workloads: {heat2d: {data: {cfl: 0.7}}}", "cfl"),
    ("unknown attention mask", "workloads: {heat2d: {variants: {odd: {model.mask: diagonal}}}}", "diagonal"),
    ("own heat data without a path", "workloads: {heat2d: {data: {source: file}}}", "path"),
    ("override of an optimizer not run", "workloads: {heat2d: {optimizer_overrides: {adamw: {beta1: 0.8}}}}", "adamw"),
    (
        "override with a bad option",
        "workloads: {heat2d: {optimizer_overrides: {kbeta: {warmup_steps: -3}}}}",
        "warmup_steps",
    ),
]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("bad") / "testbeds")


def test_at_least_25_malformed_configs():
    assert len(BAD_CONFIGS) >= 25


@pytest.mark.parametrize("name, overlay, key", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_malformed_config_is_rejected_before_any_job(fresh_copy, tmp_path, name, overlay, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(overlay + "\n")
    result = snakemake(fresh_copy, "--cores", "1", "--configfile", "config/test.yaml", str(bad), check=False)
    message = result.stdout + result.stderr
    assert result.returncode != 0, f"{name}: accepted"
    assert key in message, f"{name}: the error does not name '{key}':\n{message[-1500:]}"
    assert not (fresh_copy / "results").exists(), f"{name}: files were written under results/"


# ---------------------------------------------------------------------------------------- resume
def long_training(workload: str) -> dict:
    """400 steps (heat2d counts epochs: 5 steps each in the test grid)."""
    length = {"epochs": 80} if workload == "heat2d" else {"steps": 400}
    return {"train": {**length, "checkpoint_every": 25, "log_every": 5, "eval_every": 50}}


LONG_RUN = yaml.safe_dump({"workloads": {w: long_training(w) for w in WORKLOADS}})


@pytest.fixture(scope="module")
def resume_copy(tmp_path_factory) -> Path:
    workdir = copy_repo(tmp_path_factory.mktemp("resume") / "testbeds")
    (workdir / "config" / "long.yaml").write_text(LONG_RUN)
    return workdir


def training_pids(run_dir: Path) -> list[int]:
    """Processes running scripts/train.py for ``run_dir`` (as the rule names it: relative to the workdir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and "train.py" in cmdline and str(run_dir) in cmdline.replace("\0", " "):
            pids.append(int(proc.name))
    return pids


def logged_step(run_dir: Path) -> int:
    partial = run_dir / "metrics.partial.csv"
    try:
        rows = partial.read_text().strip().splitlines()
    except OSError:
        return 0
    return int(rows[-1].split(",")[0]) if len(rows) > 1 and rows[-1][:1].isdigit() else 0


def numbers(run_dir: Path) -> tuple[list[dict], dict]:
    """metrics.csv as written (wall time aside) and final.json's metrics."""
    return metrics_without_time(run_dir), yaml.safe_load((run_dir / "final.json").read_text())["metrics"]


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_training_resumes_to_the_same_numbers(resume_copy, workload, sig):
    optimizer = TEST_CONFIG["workloads"][workload]["optimizers"][0]
    variant = variants(workload)[0]
    target = f"results/runs/{workload}/{variant}/{optimizer}/seed0/final.json"
    run_dir = resume_copy / Path(target).parent
    cfg = ("--configfile", "config/test.yaml", "config/long.yaml")
    if not (run_dir / "final.json").exists():
        snakemake(resume_copy, "--cores", "1", target, *cfg)
    reference = numbers(run_dir)
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)

    kill_at = random.Random(sig).randint(30, 300)
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    first = subprocess.Popen(
        [str(BIN / "snakemake"), "--cores", "1", target, *cfg],
        cwd=resume_copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 120
    while logged_step(run_dir) < kill_at and first.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    pids = training_pids(Path(target).parent)
    assert pids, "the training process was not found running"
    for pid in pids:
        os.kill(pid, sig)
    output = first.communicate(timeout=120)[0]
    assert first.returncode != 0, "the interrupted job was reported as done"
    assert not (run_dir / "train.json").exists() and (run_dir / "checkpoint").exists()

    second = snakemake(resume_copy, "--cores", "1", target, *cfg)
    log = (resume_copy / f"results/logs/train/{workload}/{variant}/{optimizer}/seed0.log").read_text()
    assert "resumed from" in log, f"did not resume:\n{log[-2000:]}\n{output[-2000:]}{second.stdout[-500:]}"
    assert numbers(run_dir) == reference


@pytest.mark.parametrize("workload", WORKLOADS)
def test_rerun_script_reproduces_a_run_exactly(resume_copy, workload):
    """Same config and seed give the same run: scripts/rerun.py re-trains from provenance.json."""
    optimizer = TEST_CONFIG["workloads"][workload]["optimizers"][-1]
    variant = variants(workload)[-1]
    target = f"results/runs/{workload}/{variant}/{optimizer}/seed0/final.json"
    snakemake(resume_copy, "--cores", "1", target, "--configfile", "config/test.yaml")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    result = subprocess.run(
        [sys.executable, "scripts/rerun.py", str(Path(target).parent)],
        cwd=resume_copy,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "metrics.csv identical; final metrics identical" in result.stdout


def test_diverging_runs_are_recorded_and_the_grid_goes_on(tmp_path):
    workdir = copy_repo(tmp_path / "testbeds")
    (workdir / "config" / "unstable.yaml").write_text(
        "grid: {workloads: [charlm]}\nworkloads: {charlm: {variants: {base: {}, unstable: {train.lr: 1.0e+30}}}}\n"
    )
    snakemake(workdir, "--cores", "2", "--configfile", "config/test.yaml", "config/unstable.yaml")
    runs = pd.read_csv(workdir / "results" / "tables" / "runs.csv")
    assert set(runs.loc[runs["variant"] == "unstable", "status"]) == {"diverged"}
    assert set(runs.loc[runs["variant"] == "base", "status"]) == {"ok"}
    summary = pd.read_csv(workdir / "results" / "tables" / "summary.csv")
    assert summary.loc[summary["variant"] == "unstable", "n_diverged"].tolist() == [1, 1]
    assert (workdir / "results" / "figures" / "charlm" / "final_metric.png").exists()


def test_a_second_workflow_on_the_same_directory_is_refused(resume_copy):
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    (resume_copy / "config" / "heat_only.yaml").write_text("grid: {workloads: [heat2d]}\n")  # seconds per job
    cfg = ("--configfile", "config/test.yaml", "config/long.yaml", "config/heat_only.yaml")
    first = subprocess.Popen(
        [str(BIN / "snakemake"), "--cores", "1", *cfg],
        cwd=resume_copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 60
    while not list((resume_copy / ".snakemake" / "locks").glob("*")) and time.time() < deadline:
        time.sleep(0.05)
    second = snakemake(resume_copy, "--cores", "1", *cfg, check=False)
    assert second.returncode != 0 and "lock" in (second.stdout + second.stderr).lower()
    assert first.wait(timeout=300) == 0, first.stdout.read()[-2000:]
    assert (resume_copy / "results" / "tables" / "runs.csv").exists()
