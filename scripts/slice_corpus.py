#!/usr/bin/env python
"""Slice a text corpus (embedded, enwik8, TinyStories or a file) into train.txt / val.txt / test.txt / manifest.json."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.data.corpus import DataError, slice_corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", choices=["embedded", "enwik8", "tinystories", "file"], required=True)
    parser.add_argument("--path", default=None, help="source file (enwik8 / enwik8.zip / a text file)")
    parser.add_argument("--sha256", default=None, help="expected SHA-256 of the source file")
    parser.add_argument("--max-chars", type=int, required=True, help="how many units to keep")
    parser.add_argument(
        "--unit",
        choices=["auto", "char", "byte"],
        default="auto",
        help="characters or raw bytes (auto: bytes for enwik8)",
    )
    parser.add_argument("--val-frac", type=float, required=True)
    parser.add_argument("--test-frac", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        manifest = slice_corpus(
            args.source,
            args.path or None,
            args.sha256 or None,
            args.max_chars,
            args.val_frac,
            args.test_frac,
            args.out,
            args.unit,
        )
    except DataError as err:
        raise SystemExit(f"error: {err}")
    print(
        f"{args.out}: {manifest['label']}, {manifest['n_train_chars']:,} train + {manifest['n_val_chars']:,} val + "
        f"{manifest['n_test_chars']:,} test "
        f"characters, vocabulary {manifest['vocab_size']}, source sha256 {manifest['source_sha256']}"
    )


if __name__ == "__main__":
    main()
