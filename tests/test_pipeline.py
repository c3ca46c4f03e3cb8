"""End to end: the Snakemake workflow on the tiny grid (config/test.yaml) in a copy of the repo."""

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from testbeds import workloads
from testbeds.analysis import aggregate

from helpers import snakemake

pytestmark = pytest.mark.slow


def rule_kind(name: str) -> str:
    """A rule's name with the per-workload ones merged: train_charlm -> train, plot_lot -> plot_own."""
    if name.startswith("train_") and name != "train_tokenizer":
        return "train"
    return "plot_own" if name.startswith("plot_") and name not in ("plot_workload", "plot_summary") else name


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Job counts per rule (per-workload rules merged, see rule_kind) of a dry run."""
    out = snakemake(workdir, "-n", *args).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1]
    counts: dict[str, int] = {}
    for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M):
        if m.group(1) != "total":
            counts[rule_kind(m.group(1))] = counts.get(rule_kind(m.group(1)), 0) + int(m.group(2))
    return counts


def planned_rules_and_workloads(workdir: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, workload wildcard or '') of every job a dry run plans."""
    out = snakemake(workdir, "-n", *args).stdout
    jobs = set()
    for block in re.split(r"^rule ", out, flags=re.M)[1:]:
        workload = re.search(r"wildcards: .*?workload=([\w-]+)", block)
        jobs.add((rule_kind(block.split(":")[0]), workload.group(1) if workload else ""))
    return jobs


def edit_test_config(workdir: Path, change) -> None:
    path = workdir / "config" / "test.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_bad_config_is_rejected_before_any_job(workflow_copy, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("workloads:\n  charlm:\n    train:\n      stepz: 10\n")
    result = snakemake(workflow_copy, "-n", "--configfile", "config/test.yaml", str(bad), check=False)
    assert result.returncode != 0
    assert "stepz" in result.stdout + result.stderr
    unknown = tmp_path / "unknown_opt.yaml"
    unknown.write_text("workloads:\n  charlm:\n    optimizers: [kbeta, lamb]\n")
    result = snakemake(workflow_copy, "-n", "--configfile", "config/test.yaml", str(unknown), check=False)
    assert result.returncode != 0 and "lamb" in result.stdout + result.stderr
    assert not (workflow_copy / "results").exists()


def test_grid_runs_end_to_end_and_is_incremental(workflow_copy):
    cfg = ("--configfile", "config/test.yaml")
    assert planned_jobs(workflow_copy, *cfg) == {
        "slice_corpus": 2,
        "train_tokenizer": 1,
        "tokenize": 1,
        "generate_data": 3,
        "tune": 30,  # lot and lds are tuned: 2 trials for each of their 12 cells, + lot's extension round
        "select_round": 6,  # lot's extension round: where its trial goes depends on the choice so far
        "select": 12,
        "train": 13,  # the untuned cells (trained and evaluated); a tuned cell's wait for its selection
        "collect_cell": 25,
        "aggregate": 1,
        "plot_workload": 5,
        "plot_own": 3,
        "plot_summary": 1,
        "all": 1,
    }
    snakemake(workflow_copy, "--cores", "2", *cfg)
    written = {path.name for path in (workflow_copy / "results" / "tables").iterdir()}
    own = {figure.file for spec in workloads.registry().values() for figure in spec.figures if figure.table}
    assert written - own == {table.file for table in aggregate.TABLES} | {aggregate.FRONT_PAGE}  # nothing unlisted
    runs = pd.read_csv(workflow_copy / "results" / "tables" / "runs.csv")
    assert len(runs) == 25 and (runs["status"] == "ok").all() and (runs["split"] == "test").all()
    assert runs["run_dir"].str.startswith("results/runs/").all() and set(runs["seed"]) == {0}  # no trial is scored
    tuned = runs[runs["workload"].isin(["lot", "lds"])]
    selected = pd.read_csv(workflow_copy / "results" / "tables" / "selected.csv")
    trials = pd.read_csv(workflow_copy / "results" / "tables" / "tuning.csv")
    assert len(selected) == 12 and len(trials) == 30 and (selected["budget"] == 2).all()  # lot: 2 + 1 extension
    chosen = trials[trials["chosen"]].merge(selected, on=["workload", "variant", "optimizer"])
    assert len(chosen) == 12 and (chosen["hp.train.lr_x"] == chosen["hp.train.lr_y"]).all()
    keys = ["workload", "variant", "optimizer"]
    assert selected.set_index(keys)["hp.train.lr"].to_dict() == tuned.set_index(keys)["hp.train.lr"].to_dict()
    # lot's extension trial: with two points the choice sits at an edge, so trial 2 goes one step (a decade:
    # the declared two decades over the budget of 2) past it
    for (workload, variant, optimizer), cell in trials[trials["workload"] == "lot"].groupby(keys):
        first = cell[cell["trial"] < 2].set_index("trial")
        if (first["status"] != "ok").any():
            continue
        best = first["value"].idxmin()
        low = first["hp.train.lr"].min()
        step = 0.1 if first.loc[best, "hp.train.lr"] == low else 10.0
        extension = cell.set_index("trial").loc[2, "hp.train.lr"]
        assert extension == pytest.approx(first.loc[best, "hp.train.lr"] * step, rel=1e-5), (variant, optimizer)
    assert selected["edge"].fillna("").str.contains("train.lr").any() == selected["provisional"].any()
    for name in ("tuning_budget.png", "tuning_sensitivity.png"):
        assert (workflow_copy / "results" / "figures" / "lds" / name).stat().st_size > 10_000
    assert set(runs.loc[runs["workload"] == "lot", "variant"]) == {"lattice", "phase", "vanilla"}
    assert runs.loc[runs["workload"].isin(["charlm", "sotalm"]), "data_source"].str.startswith("embedded").all()
    assert runs.loc[runs["workload"] == "lds", "data_source"].str.startswith("generated").all()
    lds = runs[runs["workload"] == "lds"].set_index("variant")
    assert set(lds.loc["bigram", "primary_metric"]) == {"ce_excess"} and set(lds.loc["base", "primary_metric"]) == {
        "score"
    }
    for name in ("rollout_scores.png", "trajectories.png"):
        assert (workflow_copy / "results" / "figures" / "lds" / name).stat().st_size > 1000
    rollouts = pd.read_csv(workflow_copy / "results" / "tables" / "rollouts_lds.csv")
    assert set(rollouts["variant"]) == {"base", "patch4"} and rollouts["h"].max() == 8
    assert (runs.loc[runs["workload"] == "lot", "data_source"] == "copy-reverse (generated)").all()
    for name in ("phases.png", "order_parameter.png"):
        assert (workflow_copy / "results" / "figures" / "lot" / name).stat().st_size > 1000
    for name in ("frame_errors.png", "frames.png"):
        assert (workflow_copy / "results" / "figures" / "heat2d" / name).stat().st_size > 1000
    assert set(runs.loc[runs["workload"] == "heat2d", "variant"]) == {"causal", "block", "sinusoidal"}
    for workload in ("charlm", "sotalm", "lot", "lds", "heat2d"):
        for name in ("learning_curves.png", "final_metric.png", "wallclock.png", "optimizer_diagnostics.png"):
            assert (workflow_copy / "results" / "figures" / workload / name).stat().st_size > 1000
    assert (workflow_copy / "results" / "figures" / "summary" / "performance_profiles.png").exists()
    tables = workflow_copy / "results" / "tables"
    summary = pd.read_csv(tables / "summary.csv")
    assert len(summary) == 25 and (summary["ci_method"] == "none (n=1)").all()  # one seed: no interval, said so
    comparisons = pd.read_csv(tables / "comparisons.csv")
    assert set(comparisons["optimizer"]) == {"kbeta", "sgd"} and len(comparisons) == 14
    assert list(comparisons["baseline"]) == ["adam95"] * 7 + ["adamw"] * 7
    claims = pd.read_csv(tables / "claims.csv").set_index("id")
    assert claims.loc["charlm-kbeta-vs-adam999", "verdict"] == "not run in this grid"  # no adam999 in the tiny grid
    assert claims.loc["charlm-kbeta-vs-adam95", "verdict"] == "inconclusive (n = 1)"  # one seed cannot decide
    samples = pd.read_csv(tables / "samples.csv")
    assert set(samples["workload"]) == {"sotalm"} and samples["continuation"].notna().all()
    run_dir = workflow_copy / "results" / "runs" / "charlm" / "base" / "kbeta" / "seed0"
    assert {"metrics.csv", "final.json", "provenance.json", "train.json", "checkpoint"} <= {
        p.name for p in run_dir.iterdir()
    }

    assert planned_jobs(workflow_copy, *cfg) == {}  # a second run has nothing to do

    edit_test_config(workflow_copy, lambda c: c["grid"].update(seeds=[0, 1]))
    added = planned_jobs(workflow_copy, *cfg)
    assert added["train"] == 25 and "generate_data" not in added  # only the new runs
    target = "results/runs/charlm/base/kbeta/seed1/final.json"
    assert planned_jobs(workflow_copy, target, *cfg) == {"train": 1}
    chosen_lr = selected.set_index(["workload", "variant", "optimizer"]).loc[("lds", "base", "adamw"), "hp.train.lr"]
    plan = snakemake(workflow_copy, "-n", "-p", "results/runs/lds/base/adamw/seed1/final.json", *cfg).stdout
    assert f'"lr": {chosen_lr}' in plan  # a tuned cell's other seeds train at the chosen settings

    edit_test_config(workflow_copy, lambda c: c["grid"].update(seeds=[0]))
    edit_test_config(workflow_copy, lambda c: c["workloads"]["charlm"]["train"].update(steps=21))
    changed = planned_jobs(workflow_copy, *cfg)
    assert changed["train"] == 2 and "slice_corpus" not in changed  # the two charlm runs, not sotalm, not the data

    edit_test_config(workflow_copy, lambda c: c["workloads"]["charlm"]["train"].update(steps=20))
    edit_test_config(workflow_copy, lambda c: c["workloads"]["lds"]["tuning"].update(budget=3))
    assert planned_jobs(workflow_copy, *cfg) == {  # one more trial per lds cell; no run or trial done again
        "tune": 6,
        "select": 6,
        "collect_cell": 6,
        "aggregate": 1,
        "plot_workload": 5,
        "plot_own": 3,
        "plot_summary": 1,
        "all": 1,
    }
    edit_test_config(workflow_copy, lambda c: c["workloads"]["lds"]["tuning"].update(budget=2))
    report = workflow_copy / "results" / "report.html"
    snakemake(workflow_copy, *cfg, "--report", str(report))
    html = report.read_text(errors="replace")
    assert "learning_curves.png" in html and "embedded" in html
    assert "every claim on one axis" in html  # the front page's picture of the claims
    assert "p adj. (raw; test)" in html and "source projects" in html
    assert (
        "lds: tuned, budget 2 per optimizer at tuning seed 1000 (no evaluated run uses it), on the test split" in html
    )
    assert "lot: tuned, budget 2 per optimizer + 1 extension round at tuning seed 1000" in html
    assert "tuning_sensitivity.png" in html

    # the DAG knows the code: a workload's model re-runs its runs only, the analysis only the aggregation
    model = workflow_copy / "src" / "testbeds" / "charlm" / "model.py"
    original = model.read_text()
    model.write_text(original + "\n# edited\n")
    jobs = planned_rules_and_workloads(workflow_copy, *cfg)
    assert {w for rule, w in jobs if rule in ("train", "tune")} == {"charlm"}
    assert {rule for rule, _ in jobs} >= {"train", "aggregate"}
    model.write_text(original)
    stats = workflow_copy / "src" / "testbeds" / "analysis" / "stats.py"
    stats.write_text(stats.read_text() + "\n# edited\n")
    rules = {rule for rule, _ in planned_rules_and_workloads(workflow_copy, *cfg)}
    assert "aggregate" in rules and not rules & {"train", "tune", "slice_corpus", "generate_data"}


def test_workflow_lints_clean(workflow_copy):
    result = snakemake(workflow_copy, "--lint")
    assert "Congratulations" in result.stdout + result.stderr


def test_slurm_profile_maps_config_resources_without_a_cluster(workflow_copy):
    """`snakemake --profile profiles/slurm -n` needs no cluster and shows each job's resolved resources."""
    out = snakemake(workflow_copy, "--profile", "profiles/slurm", "-n", "--configfile", "config/paper.yaml").stdout
    blocks = [block.strip() for block in re.split(r"\n\s*\[[^\]]+\]\n", out)]
    trials = {re.search(r"output: (\S+)", b).group(1): b for b in blocks if b.startswith("rule tune:")}
    runs = {
        re.search(r"output: (\S+)", b).group(1): b for b in blocks if re.match(r"rule train_\w+:", b) and "seed=" in b
    }
    # the paper grid: sotalm 3 + lot 3 x 2 + lds 3 x 29 variants cells tuned with 4 trials and one extension
    # round each (their final runs wait for the selection); charlm 3 and heat2d 3 x 3 cells keep the source's
    # schedule, 10 seeds each (a grouped trial is printed in its group too: counted once by its output)
    assert len(trials) == 5 * (3 + 6 + 87) and len(runs) == 10 * (3 + 9)
    trials, runs = list(trials.values()), list(runs.values())
    assert all("gpu=1" in job and "slurm_partition=main" in job for job in trials + runs)
    assert "runtime=1440" in out and "mem_mb=16000" in out
