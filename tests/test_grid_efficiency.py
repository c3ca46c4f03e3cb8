"""benchmarks/grid_efficiency.py splits a finished grid's job-seconds into steps, compilation, evaluation,
the rest of the training loop and the start-up, from Snakemake's benchmark files, train.json and final.json."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid_efficiency():
    spec = importlib.util.spec_from_file_location("grid_efficiency", REPO / "benchmarks" / "grid_efficiency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def job(results: Path, kind: str, stage: str, member: str, seconds: float, summary: dict, final: dict | None = None):
    tsv = results / "benchmarks" / "jobs" / kind / "w" / "base" / "adamw" / f"{member}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    tsv.write_text(f"s\th:m:s\n{seconds}\t0:00:{int(seconds):02d}\n")
    run = results / stage / "w" / "base" / "adamw" / member
    run.mkdir(parents=True, exist_ok=True)
    (run / "train.json").write_text(json.dumps(summary))
    if final is not None:
        (run / "final.json").write_text(json.dumps(final))


def test_a_final_runs_evaluation_is_counted_as_evaluation_not_as_start_up(grid_efficiency, tmp_path):
    trial = {"train_seconds": 6.0, "compile_seconds": 1.0, "wall_seconds": 8.0}
    job(tmp_path, "tuning", "tuning", "trial0", 10.0, trial)
    final = {"train_seconds": 6.0, "compile_seconds": 0.5, "wall_seconds": 7.0}
    job(tmp_path, "train", "runs", "seed0", 12.0, final, {"eval_seconds": 4.0})
    parts = grid_efficiency.account(tmp_path)["w"]
    # validation: (8 - 6 - 1) + (7 - 6 - 0.5); start-up: (10 - 8) + (12 - 7 - 4)
    assert parts == {"steps": 12.0, "compile": 1.5, "evaluation": 4.0, "validation": 1.5, "startup": 3.0, "jobs": 2}
