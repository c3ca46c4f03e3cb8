#!/usr/bin/env python
"""How long Snakemake takes to plan a 1,000-run grid: `snakemake -n` over 5 workloads x 4 optimisers x 50
seeds (each workload's first variant), tuned with the default budget, the DAG of training, evaluation and
aggregation jobs included.

The workflow is copied into a scratch directory whose config/config.yaml is that grid (a --configfile on
top of the default config would merge the default variants back in). Two plans are timed: a fresh grid
(the tuning trials; the final runs wait for their cell's selection) and the same grid once every cell is
chosen (every final run and evaluation planned), made by writing the outputs of the data, trial and
select jobs as placeholder files (each selection picks trial 0). Median of --repeats dry runs, each a
fresh `snakemake` process as a user would start it. Writes results/benchmarks/dryrun.csv.

    python benchmarks/dryrun.py [--seeds 50 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))
from testbeds import config as cfg  # noqa: E402
from testbeds import tuning  # noqa: E402

import _table  # noqa: E402

OPTIMIZERS = ["kbeta", "adam95", "adam999", "adamw"]


def big_grid(seeds: int) -> dict:
    config = cfg.load_config([cfg.DEFAULT_CONFIG])
    config["grid"]["seeds"] = list(range(seeds))
    for entry in config["workloads"].values():
        first = next(iter(entry["variants"]))
        entry["variants"] = {first: entry["variants"][first]}
        entry["optimizers"] = list(OPTIMIZERS)
    return config


def workflow_copy(config: dict, scratch: Path) -> Path:
    for name in ("Snakefile", "workflow", "scripts", "envs", "src"):
        source = REPO / name
        target = scratch / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, target)
    (scratch / "config").mkdir()
    (scratch / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return scratch


def dry_run(directory: Path) -> tuple[float, dict[str, int], str]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n"], cwd=directory, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"snakemake -n failed:\n{result.stdout}\n{result.stderr}")
    table = result.stdout.split("Job stats:")[-1]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    return seconds, counts, result.stdout


BEFORE_SELECTION = [
    "download",
    "slice_corpus",
    "generate_data",
    "train_tokenizer",
    "tokenize",
    "tune",
    "select_round",
    "select",
]


def choose_every_cell(config: dict, directory: Path, plan: str) -> None:
    """Write the outputs of the jobs up to the selections, in DAG order (so their times are consistent),
    each selection (and each extension round's) choosing trial 0: what a finished tuning stage leaves behind,
    for planning purposes."""
    outputs: dict[str, list[str]] = {rule: [] for rule in BEFORE_SELECTION}
    for block in re.split(r"^(?:local)?(?:rule|checkpoint) ", plan, flags=re.M)[1:]:
        rule, listed = block.split(":")[0], re.search(r"^\s+output: (.*)$", block, re.M)
        if rule in outputs and listed:
            outputs[rule] += listed.group(1).split(", ")
    for rule in BEFORE_SELECTION:
        for name in outputs[rule]:
            path = directory / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if rule in ("select", "select_round"):  # no edge: extension rounds take their next points
                workload, _, optimizer = Path(name).parts[2:5]
                points = tuning.trial_points(
                    {o: cfg.search_space(config, workload, o) for o in config["workloads"][workload]["optimizers"]},
                    1,
                    cfg.tuning_settings(config, workload)["seed"],
                )
                path.write_text(json.dumps({"status": "ok", "trial": 0, "settings": points[optimizer][0], "edges": {}}))
            else:
                path.write_text("")
        time.sleep(0.05)


def timed(directory: Path, repeats: int) -> tuple[float, list[float], dict[str, int], str]:
    timings, counts, plan = [], {}, ""
    for _ in range(repeats):
        seconds, counts, plan = dry_run(directory)
        timings.append(seconds)
    return sorted(timings)[len(timings) // 2], timings, counts, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "dryrun.csv")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        config = big_grid(args.seeds)
        directory = workflow_copy(config, Path(scratch))
        for stage in ("fresh", "chosen"):
            seconds, timings, counts, plan = timed(directory, args.repeats)
            trials, runs = counts.get("tune", 0), counts.get("train", 0)
            print(
                f"snakemake -n, {stage}: {trials} trials, {runs} final runs, {counts.get('total')} jobs in all, "
                f"{seconds:.2f} s (median of {args.repeats}: {', '.join(f'{t:.2f}' for t in timings)}); target <= 5 s"
            )
            rows.append(
                {
                    "stage": stage,
                    "trials": trials,
                    "final_runs": runs,
                    "jobs": counts.get("total"),
                    "seconds": round(seconds, 2),
                }
            )
            if stage == "fresh":
                choose_every_cell(config, directory, plan)
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
