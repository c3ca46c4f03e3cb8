#!/usr/bin/env python
"""Train one run of the grid and write its run directory (metrics.csv, checkpoint/, ...); with --evaluate,
score it on the test split in the same process (final.json and the workload's run files), as
scripts/evaluate.py does in a process of its own.

Examples:
  python scripts/train.py --workload charlm --optimizer kbeta --seed 0 --data results/data/charlm/<key> \
      --out /tmp/run --set train.steps=100 --evaluate
"""

import argparse
import errno
import shutil
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
    parser.add_argument("--evaluate", action="store_true", help="then score it on the test split (final.json)")
    args = parser.parse_args()
    run = runargs.resolve(args)
    prepare_process(run)
    data = Path(args.data) if args.data else None
    try:
        summary = workloads.step(run["workload"], "train").train(run, data, args.out)
    except (OSError, RuntimeError) as err:
        if not disk_full(err):
            raise
        free = shutil.disk_usage(args.out if args.out.exists() else args.out.parent).free
        sys.exit(
            f"{args.out}: the disk is full ({free / 2**20:.0f} MiB free) while writing the run; free space and "
            "run it again: it resumes from its last checkpoint"
        )
    print(f"{args.out}: {summary['status']} after {summary['steps']} steps ({summary['stop_reason']})")
    if args.evaluate:  # one process: the framework's import and compiled functions serve both
        final = workloads.step(run["workload"], "evaluate").evaluate(args.out, data)
        print(f"{args.out}: {final['status']} {final['primary_metric']} = {final['primary_value']}")


def disk_full(err: BaseException) -> bool:
    """An out-of-space error, as Python (ENOSPC) or a framework's writer (MLX: "[write] Unable to write") says."""
    return getattr(err, "errno", None) == errno.ENOSPC or "Unable to write" in str(err) or "No space left" in str(err)


if __name__ == "__main__":
    sys.exit(main())
