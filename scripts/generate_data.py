#!/usr/bin/env python
"""Make a generated workload's data set with its data.py's write_dataset (lds: LDS systems with their
Kalman-filter baseline, or bigram chains; heat2d: heat-equation solutions or your own array), writing the
data files and manifest.json (last) into --out.

Example: python scripts/generate_data.py --workload lds --settings '{"task": "lds", ...}' --out results/data/lds/<key>
"""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds import config as cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", required=True)
    parser.add_argument("--settings", required=True, help="the workload's data section as JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        manifest = cfg.write_generated_data(args.workload, json.loads(args.settings), args.out)
    except (KeyError, ValueError, OSError) as err:  # a data error names the file or the setting
        raise SystemExit(f"error: {err}")
    print(f"{args.out}: {manifest.get('label', args.workload)}; sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
