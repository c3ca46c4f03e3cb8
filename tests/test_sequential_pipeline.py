"""A sequential design end to end (claims.sequential.looks) on a tiny charlm grid: a checkpoint per look, the
next look's runs planned only once the look has run and only in the cells of claims still open, the front
page saying where each claim stopped, and nothing left to do on a second invocation."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import copy_repo, sequential_grid, snakemake

pytestmark = pytest.mark.slow


def planned_runs(workdir: Path, *args: str) -> set[tuple[str, int]]:
    """(optimizer, seed) of every final run a dry run plans."""
    out = snakemake(workdir, "-n", *args).stdout
    blocks = re.split(r"^rule ", out, flags=re.M)[1:]
    found = (re.search(r"optimizer=([\w-]+), seed=(\d+)", b) for b in blocks if b.startswith("train_"))
    return {(m.group(1), int(m.group(2))) for m in found if m}


def test_seeds_are_added_look_by_look_only_to_open_claims(tmp_path):
    workdir = copy_repo(tmp_path / "testbeds")
    grid = sequential_grid(workdir)
    # before any look: the first look's seeds (grid.seeds, then 1) in every claim's cell, nothing of a later look
    assert planned_runs(workdir, *grid) == {(o, s) for o in ("kbeta", "adam95", "adam95_twin") for s in (0, 1)}
    snakemake(workdir, "results/looks/look0.json", "--cores", "2", *grid)
    first = json.loads((workdir / "results/looks/look0.json").read_text())["claims"]
    assert (first["decided"]["status"], first["undecided"]["status"]) == ("supported", "open")
    # the look has run: seed 2 only in the open claim's cells (mutation: every claim's cells gain seed 2)
    assert planned_runs(workdir, *grid) == {("adam95", 2), ("adam95_twin", 2)}
    snakemake(workdir, "--cores", "2", *grid)
    runs = pd.read_csv(workdir / "results/tables/runs.csv")
    assert runs.groupby("optimizer")["seed"].apply(sorted).to_dict() == {
        "adam95": [0, 1, 2],
        "adam95_twin": [0, 1, 2],
        "kbeta": [0, 1],
    }
    claims = pd.read_csv(workdir / "results/tables/claims.csv").set_index("id")
    assert claims.loc["decided", "verdict"] == "supported" and claims.loc["decided", "seeds_used"] == 2
    assert claims.loc["undecided", "verdict"] == "inconclusive at the last look"
    assert (claims.loc["undecided", "look"], claims.loc["undecided", "n_pairs"]) == (2, 3)
    front = (workdir / "results/tables/headline.rst").read_text()
    assert "stopped at look 1 of 2" in front and "stopped at look 2 of 2" in front
    assert "Nothing to be done" in snakemake(workdir, "-n", *grid).stdout
