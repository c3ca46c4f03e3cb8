#!/usr/bin/env python
"""Prepare the heat2d data set: solve the heat equation (source: generated) or import your own
[samples, t, ny, nx] array (source: file); split 70/20/10 into chunked .npz files with a manifest.

Example: python scripts/prepare_heat.py --settings '{"source": "generated", ...}' --out results/data/heat2d/<key>
"""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401
from testbeds.heat2d.data import HeatDataError, write_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="the workload's data section as JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        manifest = write_dataset(json.loads(args.settings), args.out)
    except HeatDataError as err:
        raise SystemExit(f"error: {err}")
    print(f"{args.out}: {manifest['label']}; splits {manifest['splits']}; sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
