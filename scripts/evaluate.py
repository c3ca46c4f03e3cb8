#!/usr/bin/env python
"""Evaluate a trained run directory and write its final.json."""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds import workloads
from testbeds.speedups import prepare_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-dir", required=True, type=Path)
    parser.add_argument("--data", default="", help="prepared data directory of the workload (none for generated tasks)")
    args = parser.parse_args()
    with open(args.run_dir / "provenance.json") as handle:
        run = json.load(handle)["config"]
    prepare_process(run)
    workload = workloads.step(run["workload"], "evaluate")
    final = workload.evaluate(args.run_dir, Path(args.data) if args.data else None)
    print(f"{args.run_dir}: {final['status']} {final['primary_metric']} = {final['primary_value']}")


if __name__ == "__main__":
    main()
