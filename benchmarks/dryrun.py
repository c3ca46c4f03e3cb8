#!/usr/bin/env python
"""How long Snakemake takes to plan a 1,000-run grid: `snakemake -n` over 5 workloads x 4 optimisers x 50
seeds (each workload's first variant), the DAG of training, evaluation and aggregation jobs included.

The workflow is copied into a scratch directory whose config/config.yaml is that grid (a --configfile on
top of the default config would merge the default variants back in). Median of --repeats dry runs, each a
fresh `snakemake` process as a user would start it. Writes results/benchmarks/dryrun.csv.

    python benchmarks/dryrun.py [--seeds 50 --repeats 3]
"""

from __future__ import annotations

import argparse
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
import _table  # noqa: E402

from testbeds import config as cfg  # noqa: E402

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


def dry_run(directory: Path) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "snakemake"), "-n"], cwd=directory, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"snakemake -n failed:\n{result.stdout}\n{result.stderr}")
    table = result.stdout.split("Job stats:")[-1]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    return seconds, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "dryrun.csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = workflow_copy(big_grid(args.seeds), Path(scratch))
        timings = []
        for _ in range(args.repeats):
            seconds, counts = dry_run(directory)
            timings.append(seconds)
    seconds = sorted(timings)[len(timings) // 2]
    runs = counts.get("train", 0)
    print(
        f"snakemake -n: {runs} training runs, {counts.get('total', sum(counts.values()))} jobs in all, "
        f"{seconds:.2f} s (median of {args.repeats}: {', '.join(f'{t:.2f}' for t in timings)}); target <= 5 s"
    )
    _table.save([{"training_runs": runs, "jobs": counts.get("total"), "seconds": round(seconds, 2)}], args.out)


if __name__ == "__main__":
    main()
