#!/usr/bin/env python
"""Encode a sliced corpus (train.txt, val.txt) into memory-mappable token arrays with a trained tokenizer."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.data.tokens import tokenize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokenizer", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="directory with train.txt, val.txt, manifest.json")
    parser.add_argument("--out", type=Path, required=True, help="directory for train.bin, val.bin, meta.json")
    args = parser.parse_args()
    meta = tokenize(args.tokenizer, args.data, args.out)
    print(f"{args.out}: {meta['n_train_tokens']:,} train + {meta['n_val_tokens']:,} val tokens ({meta['dtype']})")


if __name__ == "__main__":
    main()
