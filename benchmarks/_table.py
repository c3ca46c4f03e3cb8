"""Printing and saving the benchmark tables (results/benchmarks/*.csv)."""

from __future__ import annotations

import csv
from pathlib import Path


def save(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written: {out}")
