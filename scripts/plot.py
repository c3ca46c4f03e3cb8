#!/usr/bin/env python
"""Draw one workload's figures from the grid tables."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401
import pandas as pd
from testbeds.analysis import plots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--tables", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="figure directory")
    args = parser.parse_args()
    runs = pd.read_csv(args.tables / "runs.csv")
    runs = runs[runs["workload"] == args.workload]
    curves = pd.read_csv(args.tables / "curves.csv", low_memory=False)
    curves = curves[curves["workload"] == args.workload]
    args.out.mkdir(parents=True, exist_ok=True)
    metric = runs["primary_metric"].iloc[0]
    plots.learning_curves(curves, runs, metric, str(args.out / "learning_curves.png"))
    plots.final_metric(runs, str(args.out / "final_metric.png"))
    buckets = [pd.read_csv(p).assign(run=str(p.parent)) for p in map(Path, runs["run_dir"] + "/kbeta_buckets.csv")
               if p.exists() and p.stat().st_size > 0]
    buckets = pd.concat(buckets, ignore_index=True) if buckets else pd.DataFrame()
    if buckets.empty:
        plots.empty_figure(str(args.out / "kbeta_diagnostics.png"), "no Kβ run with diagnostics in this workload")
    else:
        plots.kbeta_diagnostics(buckets, str(args.out / "kbeta_diagnostics.png"))
    print(f"{args.out}: figures for {args.workload}")


if __name__ == "__main__":
    main()
