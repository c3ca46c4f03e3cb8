#!/usr/bin/env python
"""Draw the grid's figures from its tables: one workload's (--workload), or the cross-workload ones (--summary)."""

import argparse
import json
from pathlib import Path

import pandas as pd

import _bootstrap  # noqa: F401

from testbeds import workloads
from testbeds.analysis import plots, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", help="draw this workload's figures")
    parser.add_argument("--summary", action="store_true", help="draw the cross-workload figures")
    parser.add_argument("--own", action="store_true", help="draw the workload's own figures (its plots.py)")
    parser.add_argument("--settings", default="{}", help="with --own: the workload's config entry as JSON")
    parser.add_argument("--tables", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="figure directory")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summary:
        profile = pd.read_csv(args.tables / "performance_profile.csv")
        scores = pd.read_csv(args.tables / "scores.csv")
        plots.performance_profiles(profile, scores, str(args.out / "performance_profiles.png"))
        plots.critical_difference(pd.read_csv(args.tables / "ranks.csv"), str(args.out / "critical_difference.png"))
        print(f"{args.out}: cross-workload figures")
        return
    runs = pd.read_csv(args.tables / "runs.csv")
    runs = runs[runs["workload"] == args.workload]
    if args.own:
        workloads.step(args.workload, "plots").draw(runs, args.tables, args.out, json.loads(args.settings))
        return
    curves = pd.read_csv(args.tables / "curves.csv", low_memory=False)
    curves = curves[curves["workload"] == args.workload]
    plots.learning_curves(curves, runs, str(args.out / "learning_curves.png"))
    plots.final_metric(runs, str(args.out / "final_metric.png"))
    plots.wallclock(curves, runs, str(args.out / "wallclock.png"))
    diagnostics = optimizer_diagnostics(runs)
    if diagnostics.empty:
        plots.empty_figure(str(args.out / "optimizer_diagnostics.png"), "no run in this workload logs diagnostics")
    else:
        plots.optimizer_diagnostics(diagnostics, str(args.out / "optimizer_diagnostics.png"))
    draw_tuning(args.tables / "tuning.csv", args.workload, args.out, trivial_value(runs))
    print(f"{args.out}: figures for {args.workload}")


def optimizer_diagnostics(runs: pd.DataFrame) -> pd.DataFrame:
    """Every run's optimizer_diagnostics.csv rows, with its optimizer and a name for the run."""
    frames = [
        pd.read_csv(path).assign(optimizer=r.optimizer, run=f"{r.variant}/{r.optimizer}/seed{r.seed}")
        for r in runs.itertuples()
        if (path := Path(r.run_dir, "optimizer_diagnostics.csv")).exists()
    ]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def trivial_value(runs: pd.DataFrame) -> dict:
    """workload -> the trivial model's score of its primary metric (uniform guess, persistence), where recorded."""
    values = {}
    for workload, group in runs.groupby("workload"):
        column = f"trivial.{group['primary_metric'].iloc[0]}"
        if column in group and group[column].notna().any():
            values[workload] = float(group[column].dropna().iloc[0])
    return values


def draw_tuning(table: Path, workload: str, out: Path, trivial: dict) -> None:
    """The budget and sensitivity figures of a tuned workload (empty figures that say so otherwise)."""
    trials = pd.read_csv(table)
    trials = trials[trials["workload"] == workload] if len(trials) else trials
    budget, sensitivity = str(out / "tuning_budget.png"), str(out / "tuning_sensitivity.png")
    if trials.empty or "hp.train.lr" not in trials or trials["hp.train.lr"].isna().all():
        for path in (budget, sensitivity):
            plots.empty_figure(path, f"{workload} is not tuned (tuning.budget: 0): configured settings")
        return
    curve = stats.expected_best_curve(trials, trivial)
    if curve.empty:
        plots.empty_figure(budget, "every tuning trial diverged")
    else:
        plots.tuning_budget(curve, trials["metric"].iloc[0], budget)
    plots.tuning_sensitivity(trials, sensitivity)


if __name__ == "__main__":
    main()
