#!/usr/bin/env python
"""Where a finished grid's time went: per workload, the job-seconds of its jobs (Snakemake's benchmark
files) split into optimisation steps (``train_seconds`` of each train.json), the first, compiling step of
each session (``compile_seconds``), the test-split evaluation (``eval_seconds`` of a final run's
final.json, or a separate evaluation job of an older grid), the rest of the training loop (``wall_seconds``
less steps and compilation: periodic validation, checkpoints, logs) and the start-up (the job's seconds
outside the loop and the evaluation: process start, imports, data, model build). Printed side by side
with each part's share; written to results/benchmarks/grid_efficiency.csv.

    python benchmarks/grid_efficiency.py [--results results]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import _table  # noqa: E402

PARTS = ("steps", "compile", "evaluation", "validation", "startup")


def job_seconds(tsv: Path) -> float:
    with open(tsv) as handle:
        return float(next(csv.DictReader(handle, delimiter="\t"))["s"])


def account(results: Path) -> dict[str, dict[str, float]]:
    """workload -> {part: seconds, "jobs": count}."""
    parts: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys((*PARTS, "jobs"), 0.0))
    jobs = results / "benchmarks" / "jobs"
    for tsv in sorted(jobs.rglob("*.tsv")):
        kind, workload = tsv.relative_to(jobs).parts[:2]
        seconds = job_seconds(tsv)
        parts[workload]["jobs"] += 1
        if kind == "evaluate":
            parts[workload]["evaluation"] += seconds
            continue
        stage = "runs" if kind == "train" else "tuning"
        member = tsv.stem  # seedN or trialN
        summary = results / stage / Path(*tsv.relative_to(jobs).parts[1:4]) / member / "train.json"
        final = summary.with_name("final.json")
        trained = json.loads(summary.read_text()) if summary.exists() else {}
        scoring = json.loads(final.read_text()).get("eval_seconds", 0.0) if final.exists() else 0.0
        steps, compiling = trained.get("train_seconds", 0.0), trained.get("compile_seconds", 0.0)
        parts[workload]["steps"] += steps
        parts[workload]["compile"] += compiling
        wall = trained.get("wall_seconds", steps + compiling)
        parts[workload]["evaluation"] += scoring
        parts[workload]["validation"] += max(wall - steps - compiling, 0.0)
        parts[workload]["startup"] += max(seconds - wall - scoring, 0.0)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "results", help="a finished grid's results/")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "grid_efficiency.csv")
    args = parser.parse_args()
    parts = account(args.results)
    if not parts:
        sys.exit(f"{args.results}: no benchmark files under benchmarks/jobs/: run the grid first")
    parts["all"] = {key: sum(p[key] for p in parts.values()) for key in (*PARTS, "jobs")}
    rows = []
    print(f"{'workload':10} {'jobs':>5} {'job-s':>8} " + " ".join(f"{p:>17}" for p in PARTS))
    for workload, p in sorted(parts.items(), key=lambda item: (item[0] == "all", item[0])):
        total = sum(p[k] for k in PARTS)
        shares = {k: p[k] / total if total else 0.0 for k in PARTS}
        print(
            f"{workload:10} {int(p['jobs']):>5} {total:>8.0f} "
            + " ".join(f"{p[k]:>8.0f} ({shares[k]:>5.1%})" for k in PARTS)
        )
        rows.append(
            {
                "workload": workload,
                "jobs": int(p["jobs"]),
                "job_seconds": round(total, 1),
                **{f"{k}_seconds": round(p[k], 1) for k in PARTS},
                **{f"{k}_share": round(shares[k], 4) for k in PARTS},
            }
        )
    _table.save(rows, args.out)


if __name__ == "__main__":
    main()
