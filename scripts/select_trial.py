#!/usr/bin/env python
"""Choose the best tuning trial of one (workload, variant, optimizer) on the validation split.

Reads each trial's train.json and provenance.json; writes selected.json: the choice (best validation value,
never a diverged trial, ties to the lower index; status "failed" when every trial diverged; with several
studies, the median study's choice), the searched keys it sits at the edge of, the range each key was tried
over, and every trial. An extension round's file is the same selection over the trials run before it.
"""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds import tuning
from testbeds.runio import atomic_write_json, read_json


def trial_record(summary_path: Path) -> dict:
    summary = read_json(summary_path)
    run = read_json(summary_path.parent / "provenance.json")["config"]
    validation = summary["validation"]
    return {
        "trial": run["trial"],
        "status": summary["status"],
        "metric": validation["metric"],
        "value": validation["value"],
        "direction": validation["direction"],
        "settings": run["tuned"],
        "steps": summary["steps"],
        "train_seconds": summary["train_seconds"],
        "run_dir": str(summary_path.parent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("summaries", nargs="+", type=Path, help="train.json of each trial")
    parser.add_argument("--space", type=json.loads, required=True, help="JSON: the cell's search space")
    parser.add_argument("--budget", type=int, required=True, help="trials of each study before extension")
    parser.add_argument("--extend", type=int, default=0, help="extension rounds of each study")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    trials = sorted((trial_record(p) for p in args.summaries), key=lambda t: t["trial"])
    chosen = tuning.choose(trials, args.space, args.budget, args.extend)
    atomic_write_json(
        args.out,
        {**chosen, "metric": trials[0]["metric"], "budget": args.budget, "extend": args.extend, "trials": trials},
    )
    edge = f", at the edge: {chosen['edges']}" if chosen["edges"] else ""
    print(f"{args.out}: {chosen['status']}, trial {chosen['trial']} {trials[0]['metric']} = {chosen['value']}{edge}")


if __name__ == "__main__":
    main()
