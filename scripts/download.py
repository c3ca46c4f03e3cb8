#!/usr/bin/env python
"""Download a data file and verify its SHA-256 (prints it when none is pinned yet)."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.data.corpus import DataError, download


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--sha256", default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        digest = download(args.url, args.out, args.sha256 or None)
    except DataError as err:
        raise SystemExit(f"error: {err}")
    if not args.sha256:
        print(f"note: no sha256 pinned in the config; {args.out} has sha256 {digest} (pin it in data.sha256)")
    print(f"{args.out}: ok ({digest})")


if __name__ == "__main__":
    main()
