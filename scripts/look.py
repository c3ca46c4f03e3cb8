#!/usr/bin/env python
"""One look of a sequential design (claims.sequential.looks): test every claim still open on this look's
seeds against its O'Brien-Fleming-type boundary and write which claims stopped, with what, and which stay
open (results/looks/lookK.json; the next look adds seeds only to the open claims' cells)."""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.analysis import sequential, tables
from testbeds.config import load_config
from testbeds.runio import atomic_write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=Path, required=True, help="the claims file (claims.file)")
    parser.add_argument("--finals", nargs="*", default=[], help="final.json of every run of the open claims' cells")
    parser.add_argument("--previous", type=Path, default=None, help="the previous look's results (none at look 0)")
    parser.add_argument("--look", type=int, required=True, help="this look's index, from 0")
    parser.add_argument(
        "--settings",
        required=True,
        help='JSON: {"ids": [the claims the grid runs], "looks": [seeds per look], "seeds": [this look\'s seeds]}',
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = json.loads(args.settings)
    claim_list = [c for c in load_config([args.claims])["claims"] if c["id"] in settings["ids"]]
    previous = json.loads(args.previous.read_text()) if args.previous else None
    runs = tables.runs_table(args.finals)
    result = sequential.look(claim_list, runs, args.look, settings["looks"], settings["seeds"], previous)
    atomic_write_json(args.out, result)
    for claim_id, r in result["claims"].items():
        print(
            f"{claim_id}: {r['status']} at look {r['look']} ({len(r['seeds'])} seeds, z {r['z']}, bound {r['bound']})"
        )


if __name__ == "__main__":
    main()
