#!/usr/bin/env python
"""Collect the grid's run directories into tidy tables and statistics (results/tables/): the tables of
testbeds.analysis.aggregate.TABLES and headline.rst (the report's front page)."""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.analysis import aggregate, headline, plots, tables
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
        '{workload: [optimizers its framework lacks]}, "schedule_free": [optimizers]}',
    )
    parser.add_argument("--looks", type=Path, default=None, help="a sequential design's last look (results/looks/)")
    parser.add_argument("--out", type=Path, required=True, help="tables directory")
    args = parser.parse_args()
    settings = json.loads(args.settings)
    claim_list = load_config([args.claims])["claims"] if args.claims else []
    sequential = json.loads(args.looks.read_text()) if args.looks else None
    built = aggregate.build_tables(tables.load_cells(args.cells), claim_list, settings, sequential)
    for name, frame in built.items():
        atomic_write_text(args.out / name, frame.to_csv(index=False))
    claims = built["claims.csv"]
    figure = plots.claims_forest(claims) if len(claims) and claims["n_pairs"].gt(0).any() else None
    atomic_write_text(args.out / aggregate.FRONT_PAGE, headline.render(built, settings, figure))
    runs = built["runs.csv"]
    print(f"{args.out}: {len(runs)} runs ({(runs['status'] != 'ok').sum()} not ok), {len(built)} tables")


if __name__ == "__main__":
    main()
