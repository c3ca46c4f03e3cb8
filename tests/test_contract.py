"""The run contract, checked once over every workload of the registry (the five built-in ones and the toy
plug-in): training lowers the loss and writes metrics.csv, train.json, provenance.json,
optimizer_diagnostics.csv and checkpoints; a killed run resumes to the same numbers and the same test
score; evaluation writes final.json and every run file the workload declares; a diverged run gets
final.json with no score and its run files with nothing in them. Each workload's own file tests what is
particular to it."""

import copy
import csv
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from testbeds import config as cfg
from testbeds import schedule, workloads
from testbeds.data import tokens
from testbeds.data.corpus import slice_corpus

from helpers import PLUGINS, REPO, TOY, kill_and_resume

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


def tiny_run(config: dict, name: str, optimizer: str | None = None, **changes) -> dict:
    case = CASES[name]
    variant = next(iter(config["workloads"][name]["variants"]))
    run = cfg.resolve_run(config, name, variant, optimizer or case["optimizer"], 0)
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


# --------------------------------------------------------------- Schedule-Free: the average is what counts
def parameter_sum(trainer) -> float:
    """A fingerprint of the parameters a trainer holds, whatever its framework."""
    if hasattr(trainer, "params"):  # JAX
        import jax

        return float(
            sum(np.asarray(leaf, dtype=np.float64).sum() for leaf in jax.tree_util.tree_leaves(trainer.params))
        )
    model = trainer.module.model if hasattr(trainer, "module") else trainer.model  # lot's Lightning module
    if hasattr(model, "trainable_parameters"):  # MLX
        from mlx.utils import tree_flatten

        return float(sum(np.array(a, dtype=np.float64).sum() for _, a in tree_flatten(model.trainable_parameters())))
    return float(sum(p.detach().double().sum() for p in model.parameters()))


def saved_parameter_sums(checkpoint: Path) -> tuple[float, float]:
    """(the saved model's, the saved training iterate's) parameter sums of a checkpoint, for each framework's files."""
    if (checkpoint / "state.pt").exists() or (checkpoint / "trainer.ckpt").exists():
        import torch

        if (checkpoint / "state.pt").exists():
            state = torch.load(checkpoint / "state.pt", weights_only=False)
            model, training = state["model"], state["training_model"]
        else:
            state = torch.load(checkpoint / "trainer.ckpt", weights_only=False)
            model, training = state["state_dict"], state["training_state_dict"]
        return tuple(
            float(sum(v.double().sum() for v in d.values() if v.is_floating_point())) for d in (model, training)
        )
    if (checkpoint / "state.msgpack").exists():
        from flax import serialization

        state = serialization.msgpack_restore((checkpoint / "state.msgpack").read_bytes())
        return tuple(
            float(sum(np.asarray(v, dtype=np.float64).sum() for v in _leaves(state[key])))
            for key in ("params", "training_params")
        )
    import mlx.core as mx

    return tuple(
        float(sum(np.array(v, dtype=np.float64).sum() for v in mx.load(str(checkpoint / name)).values()))
        for name in ("model.safetensors", "training.safetensors")
    )


def _leaves(tree):
    return [leaf for value in tree.values() for leaf in (_leaves(value) if isinstance(value, dict) else [value])]


@pytest.mark.parametrize("name", ["charlm", "sotalm", "lot", "lds"])
def test_schedule_free_evaluates_and_saves_its_average_and_resumes_exactly(
    name, tiny_config, prepared, tmp_path, monkeypatch
):
    """Validation during training and the checkpoint evaluation loads see the average x, not the training
    iterate y, on every framework floor (and lot's Lightning); the run resumes to the same numbers."""
    data = prepared(name)
    config = copy.deepcopy(tiny_config)
    config["optimizers"]["sf"] = {"algorithm": "schedule_free_adamw", "weight_decay": 0.01}
    config["workloads"][name]["optimizers"].append("sf")
    case = {**CASES[name], "optimizer": "sf"}
    monkeypatch.setitem(CASES, name, case)
    run = tiny_run(config, name)
    train, evaluate = train_and_evaluate_steps(name)
    trainer_class = importlib.import_module(f"testbeds.{name}.train").Trainer
    seen = {}
    original = trainer_class.evaluate

    def fingerprinting(self):
        seen[self.step] = parameter_sum(self)
        return original(self)

    monkeypatch.setattr(trainer_class, "evaluate", fingerprinting)
    kill_and_resume(train, run, data, tmp_path, monkeypatch, kill_after_step=case["kill"])
    last = max(seen)
    checkpoint = sorted((tmp_path / "straight" / "checkpoint").glob("step-*"))[-1]
    average, iterate = saved_parameter_sums(checkpoint)
    assert average != pytest.approx(iterate, rel=1e-6, abs=1e-6)  # x and y differ: the check means something
    assert seen[last] == pytest.approx(average, rel=1e-9, abs=1e-9)  # validation saw x
    finals = [evaluate(tmp_path / attempt, data) for attempt in ("straight", "killed")]
    assert finals[0]["primary_value"] == finals[1]["primary_value"]


def optimiser_rate(trainer) -> float:
    """The learning rate the optimiser itself used in the step just run (not the loop's log of it)."""
    from testbeds.jax_loop import JaxLoop
    from testbeds.mlx_loop import MlxLoop
    from testbeds.torch_loop import TorchLoop

    if isinstance(trainer, MlxLoop):
        return float(trainer.opt.learning_rate)
    if isinstance(trainer, TorchLoop):
        return trainer.opt.param_groups[0]["lr"]
    if isinstance(trainer, JaxLoop):
        return float(trainer.last_hyper["learning_rate"])
    return trainer.trainer.optimizers[0].param_groups[0]["lr"]  # lot: Lightning's optimiser


def rates_received(name: str, run: dict, data, run_dir: Path) -> list[float]:
    """The rate each step's optimiser received, step by step, over a whole run of ``name``."""
    trainer = workloads.step(name, "train").Trainer(run, data, run_dir, log=lambda m: None)
    seen, record = [], trainer.record_step
    if hasattr(trainer, "hyperparameters"):  # the JAX floor hands the rate to the compiled step
        hyper = trainer.hyperparameters

        def keep():
            trainer.last_hyper = hyper()
            return trainer.last_hyper

        trainer.hyperparameters = keep

    def recording(*args, **kwargs):
        seen.append(optimiser_rate(trainer))
        return record(*args, **kwargs)

    trainer.record_step = recording
    trainer.train()
    return seen


@pytest.mark.parametrize("name", [name for name in CASES if name != "toy"])
def test_every_optimiser_of_a_workload_receives_the_schedules_rate_at_every_step(name, tiny_config, prepared, tmp_path):
    """One schedule for every optimiser (train.schedule: warmup_cosine): two optimisers of a workload get the same
    rate at each step, the loop's warm-up + cosine, in every framework floor (mutation: a floor that does not
    hand the rate to its optimiser, or a workload that keeps a schedule of its own)."""
    first, second = tiny_config["workloads"][name]["optimizers"][:2]
    schedule_settings = {"lr": 1e-3, "warmup_steps": 3, "min_lr_frac": 0.1}
    runs = {o: tiny_run(tiny_config, name, o, train=schedule_settings) for o in (first, second)}
    received = {o: rates_received(name, run, prepared(name), tmp_path / o) for o, run in runs.items()}
    assert received[first] == pytest.approx(received[second], rel=1e-6)
    total = len(received[first])
    expected = [1e-3 * schedule.warmup_cosine(t, 3, total, 0.1) for t in range(total)]
    assert received[first] == pytest.approx(expected, rel=1e-6)
    assert expected[0] < expected[2] and expected[-1] < expected[2]  # a warm-up and a decay, not a constant
