#!/usr/bin/env python
"""Write the pipeline's picture into README.md: Snakemake's rule graph of the tiny grid (config/test.yaml,
where tuned and untuned workloads show every rule) as a Mermaid flowchart between the README's
``<!-- rulegraph -->`` markers. ``--check`` only says whether the README's picture is current (`make
rulegraph` writes it; a test checks it)."""

import argparse
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- rulegraph -->", "<!-- /rulegraph -->"


def rulegraph() -> str:
    """The rule graph as a Mermaid flowchart of rule names (edges sorted, so the text is stable)."""
    snakemake = Path(sys.executable).with_name("snakemake")
    command = [str(snakemake), "--rulegraph", "mermaid-js", "--configfile", "config/test.yaml", "--quiet", "all"]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    names = dict(re.findall(r"^\s*(id\d+)\[(\w+)\]", out, re.M))
    edges = sorted(f"{names[a]} --> {names[b]}" for a, b in re.findall(r"^\s*(id\d+) --> (id\d+)", out, re.M))
    return "```mermaid\nflowchart LR\n" + "\n".join("    " + edge for edge in edges) + "\n```"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's picture is out of date")
    args = parser.parse_args()
    readme = (REPO / "README.md").read_text()
    pattern = re.compile(re.escape(START) + r"\n(?:.*?\n)?" + re.escape(END), re.S)
    if not pattern.search(readme):
        sys.exit(f"README.md has no {START} ... {END} block")
    current = pattern.sub(lambda m: f"{START}\n{rulegraph()}\n{END}", readme)
    if args.check:
        sys.exit(0 if current == readme else "README.md: the pipeline picture is out of date: run `make rulegraph`")
    (REPO / "README.md").write_text(current)
    print("README.md: pipeline picture written")


if __name__ == "__main__":
    main()
