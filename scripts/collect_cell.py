#!/usr/bin/env python
"""Write a cell's list of final.json files (one per seed) and its selection file, for the aggregate step."""

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cell", nargs=3, metavar=("WORKLOAD", "VARIANT", "OPTIMIZER"), required=True)
    parser.add_argument("--finals", nargs="*", default=[], help="final.json of each seed (none: every trial diverged)")
    parser.add_argument("--selection", default=None, help="the cell's selected.json, if it is tuned")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cell = dict(zip(("workload", "variant", "optimizer"), args.cell))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**cell, "finals": args.finals, "selection": args.selection}, indent=1) + "\n")


if __name__ == "__main__":
    main()
