#!/usr/bin/env python
"""Train one run of the grid and write its run directory (metrics.csv, checkpoint/, ...).

Examples:
  python scripts/train.py --workload charlm --optimizer kbeta --seed 0 --data results/data/charlm/<key> \
      --out /tmp/run --set train.steps=100
"""

import argparse
import sys
from pathlib import Path

import runargs
from testbeds import workloads
from testbeds.speedups import prepare_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    runargs.add_run_arguments(parser)
    parser.add_argument("--data", default="", help="prepared data directory of the workload (none for generated tasks)")
    parser.add_argument("--out", required=True, type=Path, help="run directory to write")
    args = parser.parse_args()
    run = runargs.resolve(args)
    prepare_process(run)
    workload = workloads.step(run["workload"], "train")
    summary = workload.train(run, Path(args.data) if args.data else None, args.out)
    print(f"{args.out}: {summary['status']} after {summary['steps']} steps ({summary['stop_reason']})")


if __name__ == "__main__":
    sys.exit(main())
