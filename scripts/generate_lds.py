#!/usr/bin/env python
"""Generate the lds workload's data set: LDS systems with their Kalman-filter baseline, or bigram chains.

Writes systems.npz and manifest.json (settings, SHA-256, per-system KF-MSE or entropy floor) into --out.
Example: python scripts/generate_lds.py --settings '{"task": "lds", ...}' --out results/data/lds/<key>
"""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401
from testbeds.lds.data import write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="the workload's data section as JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    manifest = write_dataset(json.loads(args.settings), args.out)
    baseline = manifest.get("kf_mse") or manifest["entropy_floor"]
    print(
        f"{args.out}: {manifest['label']}; baseline per system {[round(b, 4) for b in baseline]}; "
        f"sha256 {manifest['sha256']}"
    )


if __name__ == "__main__":
    main()
