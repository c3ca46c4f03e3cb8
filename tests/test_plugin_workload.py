"""A workload is a plug-in: a package defined here, in tests/plugins/toy, found through TESTBEDS_WORKLOADS,
is validated, trained, evaluated and aggregated by the tiny grid with no change anywhere else; so is an
optimiser of one's own (tests/plugins/signum.py, by import path)."""

import os

import pandas as pd
import pytest
import yaml

from testbeds import config as cfg
from testbeds import workloads

from helpers import PLUGINS, SIGNUM, TOY, copy_repo, snakemake


@pytest.fixture
def plugin_path(monkeypatch):
    monkeypatch.setenv("TESTBEDS_WORKLOADS", str(PLUGINS))
    workloads.registry.cache_clear()
    cfg.workload_schema.cache_clear()
    yield
    monkeypatch.delenv("TESTBEDS_WORKLOADS")
    workloads.registry.cache_clear()
    cfg.workload_schema.cache_clear()


def test_the_registry_finds_built_in_workloads_and_plug_ins(plugin_path):
    found = workloads.registry()
    assert {"charlm", "sotalm", "lot", "lds", "heat2d", "toy"} <= set(found)
    assert found["toy"].module == "toy" and found["lds"].module == "testbeds.lds"
    assert found["toy"].framework == "torch" and found["heat2d"].data == "generated"


def test_a_plug_in_is_validated_with_its_own_schema_and_checks(config, plugin_path):
    config["workloads"]["toy"] = TOY
    cfg.validate(config)
    config["workloads"]["toy"] = {**TOY, "data": {**TOY["data"], "noise": -1}}
    with pytest.raises(cfg.ConfigError, match=r"workloads\.toy\.data\.noise"):
        cfg.validate(config)
    config["workloads"]["toy"] = {**TOY, "data": {**TOY["data"], "n_val": 999}}
    with pytest.raises(cfg.ConfigError, match=r"workloads\.toy\.data\.n_val"):
        cfg.validate(config)


def test_an_unknown_workload_is_rejected_naming_it(config):
    config["workloads"]["nonesuch"] = TOY
    with pytest.raises(cfg.ConfigError, match=r"workloads\.nonesuch.*unknown workload"):
        cfg.validate(config)


@pytest.mark.slow
def test_a_plug_in_workload_and_an_imported_optimizer_run_through_the_tiny_grid(tmp_path):
    workdir = copy_repo(tmp_path / "wf")
    grid = {
        "grid": {"workloads": ["toy", "charlm"], "seeds": [0]},
        "optimizers": {"signum": SIGNUM},
        "workloads": {
            "toy": {**TOY, "optimizers": TOY["optimizers"] + ["signum"]},
            "charlm": {"optimizers": ["kbeta", "adam95", "signum"]},
        },
    }
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(grid))
    env = {"TESTBEDS_WORKLOADS": str(PLUGINS), "PYTHONPATH": str(PLUGINS)}
    snakemake(workdir, "--cores", "2", "--configfile", "config/test.yaml", str(tmp_path / "toy.yaml"), env=env)
    runs = pd.read_csv(workdir / "results" / "tables" / "runs.csv")
    toy = runs[runs["workload"] == "toy"]
    assert len(toy) == 6 and (toy["status"] == "ok").all() and (toy["primary_metric"] == "test_mse").all()
    assert toy["run_dir"].str.startswith("results/runs/toy/").all()  # fresh runs at the chosen settings
    trials = pd.read_csv(workdir / "results" / "tables" / "tuning.csv")
    assert len(trials[trials["workload"] == "toy"]) == 12  # Signum tuned like the others: 2 trials per cell
    assert set(toy["variant"]) == {"base", "no_bias"} and set(toy["optimizer"]) == {"adamw", "sgd", "signum"}
    # Signum is torch's: on charlm (MLX) it is not run, not failed, and the coverage table says why
    assert set(runs.loc[runs["workload"] == "charlm", "optimizer"]) == {"kbeta", "adam95"}
    coverage = pd.read_csv(workdir / "results" / "tables" / "coverage.csv").set_index("optimizer")
    assert coverage.loc["signum", "not_available_on"] == "charlm" and not coverage.loc["signum", "ranked"]
    # no optimizer ran both workloads: the summary has no profile and says so (it crashed before 2026-12-07)
    assert (workdir / "results" / "figures" / "summary" / "performance_profiles.png").stat().st_size > 1000
    assert pd.read_csv(workdir / "results" / "tables" / "scores.csv").empty
    assert (toy["primary_value"] < 1.0).all()  # learned: the targets' variance is about 4
    for name in ("learning_curves.png", "final_metric.png"):
        assert (workdir / "results" / "figures" / "toy" / name).stat().st_size > 1000
    comparisons = pd.read_csv(workdir / "results" / "tables" / "comparisons.csv")
    assert set(comparisons.loc[comparisons["workload"] == "toy", "optimizer"]) == {"sgd", "signum"}
    assert os.environ.get("TESTBEDS_WORKLOADS") is None  # the test process itself was not changed


def test_a_trainer_that_lacks_a_hook_of_its_framework_floor_is_refused_naming_it(tmp_path):
    """The hooks are abstract methods: a loop without one cannot be built, and the error says which."""
    from testbeds.mlx_loop import MlxLoop
    from testbeds.torch_loop import TorchLoop

    run = cfg.resolve_run(cfg.load_config([cfg.DEFAULT_CONFIG]), "charlm", "base", "adamw", 0)

    class NoStep(MlxLoop):  # no make_step
        def train_step(self):
            return 0.0, 0, {}

        def evaluate(self):
            return {}

        def learning_rate(self):
            return 0.0

    class NoEvaluation(TorchLoop):
        def train_step(self):
            return 0.0, 0, {}

    with pytest.raises(TypeError, match="make_step"):
        NoStep(run, tmp_path / "mlx")
    with pytest.raises(TypeError, match="evaluate"):
        NoEvaluation(run, tmp_path / "torch")
