"""The workflow on a real (one-node, localhost) SLURM cluster through profiles/slurm: every job goes
through sbatch but the quick local rules (selection, aggregation, plots), tuning trials go in bundles,
a final run trains and evaluates in one job, and the results equal a local run's."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from helpers import copy_repo, sequential_grid, snakemake
from slurm_cluster import Cluster, unavailable_reason

pytestmark = [pytest.mark.slow, pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))]
GRID = ("--configfile", "config/test.yaml", "only_charlm.yaml")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("slurm-state"))
    cluster.start()
    yield cluster
    cluster.stop()


def workflow(tmp_path: Path, name: str) -> Path:
    workdir = copy_repo(tmp_path / name)
    # charlm tuned: 2 cells x 2 trials, then one final run per cell
    (workdir / "only_charlm.yaml").write_text(
        "grid: {workloads: [charlm]}\nworkloads: {charlm: {tuning: {budget: 2}}}\n"
    )
    return workdir


def finals(workdir: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(workdir)): json.loads(p.read_text())["metrics"]
        for p in sorted((workdir / "results" / "runs").rglob("final.json"))
    }


def test_grid_runs_through_sbatch_and_matches_a_local_run(cluster, tmp_path):
    on_slurm, local = workflow(tmp_path, "slurm"), workflow(tmp_path, "local")
    # the node has 2 CPUs: a bundle of 1-thread trials may take 2 of them at once (the profile says 4)
    result = snakemake(
        on_slurm, "--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2", "--cores", "2", *GRID
    )
    output = result.stdout + result.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    local_rules = re.findall(r"^localrule (\w+):", output, re.M)  # all, cell lists, aggregate, plots (and select)
    assert sorted(set(local_rules)) == ["aggregate", "all", "collect_cell", "plot_summary", "plot_workload"]
    trained = len(list((on_slurm / "results" / "runs").rglob("train.json")))
    trials = len(list((on_slurm / "results" / "tuning").rglob("train.json")))
    assert (trained, trials) == (2, 6)
    # the corpus, one bundle of the 4 first trials, each extension trial (it waits on a selection over the
    # first ones), and one job per final run (trained and evaluated)
    assert len(submitted) == 1 + 1 + 2 + trained
    snakemake(local, "--cores", "2", *GRID)
    assert finals(on_slurm) == finals(local) and len(finals(local)) == 2
    columns = ["workload", "optimizer", "seed", "status", "primary_value"]
    pd.testing.assert_frame_equal(
        pd.read_csv(on_slurm / "results/tables/runs.csv")[columns],
        pd.read_csv(local / "results/tables/runs.csv")[columns],
    )


def test_a_sequential_designs_looks_run_locally_and_each_looks_runs_through_sbatch(cluster, tmp_path):
    workdir = copy_repo(tmp_path / "sequential")
    grid = sequential_grid(workdir)
    result = snakemake(
        workdir, "--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2", "--cores", "2", *grid
    )
    output = result.stdout + result.stderr
    assert re.findall(r"^localcheckpoint (\w+):", output, re.M) == ["look", "look"]  # not submitted
    # the corpus, the first look's 2 seeds in 3 cells, then seed 2 in the open claim's 2 cells
    assert len(re.findall(r"has been submitted with SLURM jobid (\d+)", output)) == 1 + 6 + 2
    claims = pd.read_csv(workdir / "results/tables/claims.csv").set_index("id")
    assert claims["look"].to_dict() == {"decided": 1, "undecided": 2}
