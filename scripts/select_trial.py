#!/usr/bin/env python
"""Choose the best tuning trial of one (workload, variant, optimizer) on the validation split.

Reads each trial's train.json and provenance.json; writes selected.json: the choice (best validation value,
never a diverged trial, ties to the lower index; status "failed" when every trial diverged) and every trial.
"""

import argparse
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
        "higher_is_better": validation["higher_is_better"],
        "settings": run["tuned"],
        "steps": summary["steps"],
        "train_seconds": summary["train_seconds"],
        "run_dir": str(summary_path.parent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("summaries", nargs="+", type=Path, help="train.json of each trial")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    trials = sorted((trial_record(p) for p in args.summaries), key=lambda t: t["trial"])
    chosen = tuning.select(trials, trials[0]["higher_is_better"])
    atomic_write_json(args.out, {**chosen, "metric": trials[0]["metric"], "budget": len(trials), "trials": trials})
    print(f"{args.out}: {chosen['status']}, trial {chosen['trial']} {trials[0]['metric']} = {chosen['value']}")


if __name__ == "__main__":
    main()
