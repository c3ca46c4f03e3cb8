#!/usr/bin/env python
"""Collect the grid's run directories into tidy tables and statistics (results/tables/).

runs.csv, curves.csv, data_sources.csv, summary.csv, comparisons.csv, profiles.csv,
performance_profile.csv, scores.csv, samples.csv, provenance.csv and headline.rst (the report's front-page table).
"""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401
from testbeds.analysis import headline, stats, tables
from testbeds.runio import atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("finals", nargs="+", type=Path, help="final.json of each run")
    parser.add_argument(
        "--settings",
        default="{}",
        help='JSON: {"baselines": {workload: optimizer}, "targets": {workload: value or null}}',
    )
    parser.add_argument("--out", type=Path, required=True, help="tables directory")
    args = parser.parse_args()
    settings = json.loads(args.settings)
    baselines, targets = settings.get("baselines", {}), settings.get("targets", {})
    runs = tables.runs_table(args.finals)
    curves = tables.curves_table(args.finals)
    summary = stats.summary_table(runs)
    comparisons = stats.comparisons_table(runs, baselines)
    profiles = stats.profiles_table(runs, curves, baselines, targets)
    profile = stats.performance_profile(profiles)
    scores = stats.benchmark_scores(profile)
    outputs = {
        "runs.csv": runs,
        "curves.csv": curves,
        "data_sources.csv": tables.data_sources(runs),
        "summary.csv": summary,
        "comparisons.csv": comparisons,
        "profiles.csv": profiles,
        "performance_profile.csv": profile,
        "scores.csv": scores,
        "samples.csv": tables.samples_table(args.finals),
        "provenance.csv": tables.provenance_table(args.finals),
    }
    for name, frame in outputs.items():
        atomic_write_text(args.out / name, frame.to_csv(index=False))
    atomic_write_text(args.out / "headline.rst", headline.render(summary, comparisons, scores, runs))
    print(
        f"{args.out}: {len(runs)} runs ({(runs['status'] != 'ok').sum()} not ok), "
        f"{len(comparisons)} comparisons against baselines"
    )


if __name__ == "__main__":
    main()
