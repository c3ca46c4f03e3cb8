#!/usr/bin/env python
"""Collect the grid's run directories into tidy tables: runs.csv, curves.csv, data_sources.csv."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401
from testbeds.analysis import tables
from testbeds.runio import atomic_write_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("finals", nargs="+", type=Path, help="final.json of each run")
    parser.add_argument("--out", type=Path, required=True, help="tables directory")
    args = parser.parse_args()
    runs = tables.runs_table(args.finals)
    outputs = {"runs.csv": runs, "curves.csv": tables.curves_table(args.finals),
               "data_sources.csv": tables.data_sources(runs)}
    for name, frame in outputs.items():
        atomic_write_text(args.out / name, frame.to_csv(index=False))
    print(f"{args.out}: {len(runs)} runs ({(runs['status'] != 'ok').sum()} not ok)")


if __name__ == "__main__":
    main()
