#!/usr/bin/env python
"""Train a byte-level BPE tokenizer (``tokenizers``) on a corpus's training split."""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.data.tokens import train_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="train.txt of a sliced corpus")
    parser.add_argument("--vocab-size", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="tokenizer.json to write")
    args = parser.parse_args()
    tokenizer = train_tokenizer(args.train, args.vocab_size, args.out)
    print(f"{args.out}: byte-level BPE, {tokenizer.get_vocab_size()} tokens")


if __name__ == "__main__":
    main()
