#!/usr/bin/env python
"""Collect the grid's run directories into tidy tables and statistics (results/tables/).

runs.csv, curves.csv, data_sources.csv, summary.csv, comparisons.csv, profiles.csv, performance_profile.csv,
scores.csv, ranks.csv, coverage.csv, head_to_head.csv, claims.csv, samples.csv, provenance.csv, tuning.csv,
selected.csv and headline.rst (the report's front page).
"""

import argparse
import json
from pathlib import Path

import pandas as pd

import _bootstrap  # noqa: F401
from testbeds.analysis import claims, headline, stats, tables
from testbeds.config import load_config
from testbeds.runio import atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", nargs="+", type=Path, required=True, help="the grid's cell files (results/cells/)")
    parser.add_argument("--claims", type=Path, default=None, help="the claims to measure (config/claims.yaml)")
    parser.add_argument(
        "--settings",
        default="{}",
        help='JSON: {"baselines": {workload: optimizer}, "targets": {workload: value or null}, "tuning": '
        '{workload: {budget, seed}}, "seeds": [...], "clock": "steps" | "train_seconds", "unavailable": '
        "{workload: [optimizers its framework lacks]}}",
    )
    parser.add_argument("--out", type=Path, required=True, help="tables directory")
    args = parser.parse_args()
    settings = json.loads(args.settings)
    baselines, targets = settings.get("baselines", {}), settings.get("targets", {})
    cells = tables.load_cells(args.cells)
    finals = [Path(path) for cell in cells for path in cell["finals"]]
    runs = tables.runs_table(finals)
    failed = tables.failed_cell_runs(cells, settings.get("seeds", []), runs)
    if len(failed):
        runs = pd.concat([runs, failed], ignore_index=True).sort_values(tables.ID_COLUMNS, kind="stable")
    curves = tables.curves_table(finals)
    provisional = tables.provisional_cells(cells)
    summary = stats.summary_table(runs)
    comparisons = stats.comparisons_table(runs, baselines)
    if len(comparisons):
        comparisons["provisional"] = [
            (c.workload, c.variant, c.optimizer) in provisional or (c.workload, c.variant, c.baseline) in provisional
            for c in comparisons.itertuples()
        ]
    profiles = stats.profiles_table(
        runs, curves, targets, settings.get("clock", "steps"), tuning_curves=tables.chosen_trial_curves(cells)
    )
    complete = stats.complete_optimizers(summary)
    profile = stats.performance_profile(profiles, optimizers=complete)
    scores = stats.benchmark_scores(profile)
    ranks = stats.ranking_table(stats.rank_blocks(runs))
    coverage = stats.coverage_table(summary, settings.get("unavailable"))
    pairs = stats.head_to_head(runs)
    claim_list = load_config([args.claims])["claims"] if args.claims else []
    measured = claims.claims_table(claim_list, runs, settings.get("tuning", {}), provisional)
    outputs = {
        "runs.csv": runs,
        "curves.csv": curves,
        "data_sources.csv": tables.data_sources(runs),
        "summary.csv": summary,
        "comparisons.csv": comparisons,
        "profiles.csv": profiles,
        "performance_profile.csv": profile,
        "scores.csv": scores,
        "ranks.csv": ranks,
        "coverage.csv": coverage,
        "head_to_head.csv": pairs,
        "claims.csv": measured,
        "samples.csv": tables.samples_table(finals),
        "provenance.csv": tables.provenance_table(finals),
        "tuning.csv": tables.tuning_table(cells),
        "selected.csv": tables.selected_table(cells),
    }
    for name, frame in outputs.items():
        atomic_write_text(args.out / name, frame.to_csv(index=False))
    atomic_write_text(
        args.out / "headline.rst",
        headline.render(
            summary,
            comparisons,
            scores,
            runs,
            settings.get("tuning", {}),
            ranks,
            measured,
            baselines=baselines,
            coverage=coverage,
            head_to_head=pairs,
            provisional=provisional,
            schedule_free=settings.get("schedule_free", []),
        ),
    )
    print(
        f"{args.out}: {len(runs)} runs ({(runs['status'] != 'ok').sum()} not ok), "
        f"{len(comparisons)} comparisons against baselines"
    )


if __name__ == "__main__":
    main()
