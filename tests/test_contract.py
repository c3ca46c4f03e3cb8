"""The run contract, checked once over every workload of the registry (the five built-in ones and the toy
plug-in): training lowers the loss and writes metrics.csv, train.json, provenance.json,
optimizer_diagnostics.csv and checkpoints; a killed run resumes to the same numbers and the same test
score; evaluation writes final.json and every run file the workload declares; a diverged run gets
final.json with no score and its run files with nothing in them. Each workload's own file tests what is
particular to it."""

import copy
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO
from helpers import kill_and_resume
from test_plugin_workload import PLUGINS, TOY
from testbeds import config as cfg
from testbeds import workloads
from testbeds.data import tokens
from testbeds.data.corpus import slice_corpus

CONTRACT_FILES = ("metrics.csv", "train.json", "provenance.json", "optimizer_diagnostics.csv")
# per workload: the optimiser, and settings small enough for seconds; `kill` is a logged step between two
# checkpoints (the resumed attempt goes back to the one before it)
CASES = {
    "charlm": {"optimizer": "kbeta", "kill": 10, "train": {"steps": 16, "log_every": 2, "checkpoint_every": 4}},
    "sotalm": {"optimizer": "adamw", "kill": 10, "train": {"steps": 16, "log_every": 2, "checkpoint_every": 4}},
    "lot": {
        "optimizer": "adamw",
        "kill": 25,
        "train": {"steps": 30, "lr": 1e-2, "log_every": 5, "checkpoint_every": 10, "eval_every": 10},
        "model": {"dropout": 0.2},  # the dropout RNG must resume too
    },
    "lds": {"optimizer": "kbeta", "kill": 15, "train": {"steps": 20, "log_every": 5, "checkpoint_every": 10}},
    "heat2d": {
        "optimizer": "kbeta",  # its optimiser state has the parameterless nn.RoPE's empty subtree
        "kill": 7,
        "train": {"epochs": 4, "log_every": 1, "eval_every": 100, "checkpoint_every": 5},
    },
    "toy": {"optimizer": "adamw", "kill": 15, "train": {"steps": 20, "log_every": 5, "checkpoint_every": 10}},
}


@pytest.fixture(scope="module")
def toy_registered():
    """The toy plug-in in the registry, for this module only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TESTBEDS_WORKLOADS", str(PLUGINS))
        workloads.registry.cache_clear()
        cfg.workload_schema.cache_clear()
        yield
    workloads.registry.cache_clear()
    cfg.workload_schema.cache_clear()


@pytest.fixture(scope="module")
def tiny_config(toy_registered) -> dict:
    config = cfg.load_config([cfg.DEFAULT_CONFIG, REPO / "config" / "test.yaml"])
    config["workloads"]["toy"] = yaml.safe_load(yaml.safe_dump(TOY))
    return config


def tiny_run(config: dict, name: str, **changes) -> dict:
    case = CASES[name]
    variant = next(iter(config["workloads"][name]["variants"]))
    run = cfg.resolve_run(config, name, variant, case["optimizer"], 0)
    for section in ("train", "model"):
        run[section].update(case.get(section, {}))
    for section, values in changes.items():
        run[section].update(values)
    return run


def prepare_data(name: str, run: dict, out: Path) -> Path | None:
    """The run's data as the pipeline's data rules prepare it (none for a workload that makes its own)."""
    kind, data = workloads.workload(name).data, run["data"]
    if kind == "in-job":
        return None
    if kind == "generated":
        cfg.write_generated_data(name, data, out)
        return out
    slice_corpus("embedded", None, None, data["max_chars"], data["val_frac"], data["test_frac"], out)
    if kind == "corpus":
        return out
    vocab = run["tokenizer"]["vocab_size"]
    tokens.train_tokenizer(out / "train.txt", vocab, out / f"bpe{vocab}" / "tokenizer.json")
    tokens.tokenize(out / f"bpe{vocab}" / "tokenizer.json", out, out / f"bpe{vocab}")
    return out / f"bpe{vocab}"


@pytest.fixture(scope="module")
def prepared(tiny_config, tmp_path_factory):
    """workload -> its data directory, made once per module."""
    made = {}

    def data_of(name: str) -> Path | None:
        if name not in made:
            made[name] = prepare_data(name, tiny_run(tiny_config, name), tmp_path_factory.mktemp(f"data-{name}"))
        return made[name]

    return data_of


def train_and_evaluate_steps(name: str):
    return workloads.step(name, "train").train, workloads.step(name, "evaluate").evaluate


def logged_losses(run_dir: Path) -> list[float]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [float(row["train_loss"]) for row in csv.DictReader(handle) if row["train_loss"]]


@pytest.mark.parametrize("name", list(CASES))
def test_training_writes_the_contract_resumes_to_the_same_numbers_and_evaluation_writes_its_files(
    name, tiny_config, prepared, tmp_path, monkeypatch
):
    train, evaluate = train_and_evaluate_steps(name)
    run, data = tiny_run(tiny_config, name), prepared(name)
    messages = kill_and_resume(train, run, data, tmp_path, monkeypatch, kill_after_step=CASES[name]["kill"])
    assert any("resumed" in m for m in messages)
    straight = tmp_path / "straight"
    assert {f for f in CONTRACT_FILES if (straight / f).exists()} == set(CONTRACT_FILES)
    assert list((straight / "checkpoint").glob("step-*")) and not (straight / "metrics.partial.csv").exists()
    summary = json.loads((straight / "train.json").read_text())
    assert summary["status"] == "ok" and summary["steps"] == run["train"].get("steps", summary["steps"])
    losses = logged_losses(straight)
    assert np.mean(losses[-2:]) < losses[0]  # it learns
    assert json.loads((straight / "provenance.json").read_text())["config"] == run
    finals = [evaluate(tmp_path / attempt, data) for attempt in ("straight", "killed")]
    assert finals[0]["primary_value"] == finals[1]["primary_value"] and math.isfinite(finals[0]["primary_value"])
    assert finals[0]["status"] == "ok" and finals[0]["split"] == "test"
    for attempt in ("straight", "killed"):
        for file in workloads.workload(name).run_files:
            assert (tmp_path / attempt / file).stat().st_size > 0, f"{name}: {file} not written"


@pytest.mark.parametrize("name", list(CASES))
def test_a_diverged_run_is_recorded_and_its_run_files_are_empty(name, tiny_config, prepared, tmp_path):
    train, evaluate = train_and_evaluate_steps(name)
    run = tiny_run(tiny_config, name, train={"lr": 1e30})  # the weights overflow float32
    if "lr_schedule" in run["train"]:
        run["train"]["lr_schedule"] = ""
    summary = train(copy.deepcopy(run), prepared(name), tmp_path, log=lambda m: None)
    assert summary["status"] == "diverged"
    final = evaluate(tmp_path, prepared(name))
    assert final["status"] == "diverged" and math.isnan(final["primary_value"])
    assert json.loads((tmp_path / "final.json").read_text())["primary_value"] is None
    for file in workloads.workload(name).run_files:
        path = tmp_path / file
        if path.suffix == ".csv":
            assert len(path.read_text().splitlines()) == 1, f"{name}: {file} has rows"  # the header only
        elif path.suffix == ".npz":
            assert not np.load(path).files, f"{name}: {file} has arrays"
        else:
            assert not json.loads(path.read_text()), f"{name}: {file} is not empty"
