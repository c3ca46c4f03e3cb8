"""A researcher's own optimiser by import path: a config entry `{import: "module:function", framework}` runs
on that framework's workloads with the same tuning and statistics, is "not available" on the others (never
a failure, outside any ranking), and bad entries are refused naming the key."""

import copy
import importlib.util

import pandas as pd
import pytest
import torch

from testbeds import config as cfg
from testbeds.analysis import stats
from testbeds.optim.registry import make_optimizer

from helpers import PLUGINS, SIGNUM


@pytest.fixture
def config(default_config, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))  # where signum.py lives (a user: installed, or on PYTHONPATH)
    config = copy.deepcopy(default_config)
    config["optimizers"]["signum"] = copy.deepcopy(SIGNUM)
    for name in ("sotalm", "charlm"):
        config["workloads"][name]["optimizers"].append("signum")
    return config


def test_it_runs_on_its_framework_only_and_the_others_say_not_available(config):
    cfg.validate(config)
    cells = {(c["workload"], c["optimizer"]) for c in cfg.grid_cells(config)}
    assert ("sotalm", "signum") in cells and ("charlm", "signum") not in cells  # sotalm: torch, charlm: MLX
    assert cfg.unavailable(config)["charlm"] == ["signum"] and cfg.unavailable(config)["sotalm"] == []
    run = cfg.resolve_run(config, "sotalm", "base", "signum", 0)
    model = torch.nn.Linear(3, 2)
    opt = make_optimizer("torch", run["optimizer"], 0.1, params=list(model.named_parameters()))
    assert type(opt).__name__ == "Signum" and opt.param_groups[0]["momentum"] == 0.9
    model(torch.ones(1, 3)).sum().backward()
    before = model.weight.detach().clone()
    opt.step()
    assert torch.allclose((before - model.weight).abs(), torch.full_like(before, 0.1))  # a signed step of lr
    with pytest.raises(ValueError, match="not available for mlx"):
        make_optimizer("mlx", run["optimizer"], 0.1)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"import": "signum"}, "optimizers.signum.import"),  # no function
        ({"import": "no_such_module:make"}, "optimizers.signum.import"),
        ({"import": "json:no_such_function"}, "optimizers.signum.import"),  # read from json's source, not imported
        ({"import": "signum:no_such_factory"}, "optimizers.signum.import"),
        ({"framework": "tensorflow"}, "optimizers.signum.framework"),
    ],
)
def test_a_bad_imported_entry_is_refused_naming_the_key(config, change, key):
    config["optimizers"]["signum"].update(change)
    with pytest.raises(cfg.ConfigError, match=key.replace(".", r"\.")):
        cfg.validate(config)


def test_a_factory_defined_at_the_top_of_its_module_is_found_without_importing_it():
    assert {"make", "Signum"} <= cfg.top_level_names(str(PLUGINS / "signum.py"))
    assert "dumps" in cfg.top_level_names(importlib.util.find_spec("json").origin)
    assert cfg.top_level_names(None) is None  # a built-in module: no source to read, not refused


def test_an_imported_optimiser_whose_framework_no_listing_workload_uses_is_refused(config):
    # mutation: check_imported_runs_somewhere not called (it would run nowhere without a word)
    config["workloads"]["sotalm"]["optimizers"].remove("signum")  # left: charlm (MLX) only
    with pytest.raises(cfg.ConfigError, match=r"optimizers\.signum\.framework: torch matches none .*charlm: mlx"):
        cfg.validate(config)


def test_a_baseline_its_framework_lacks_is_refused(config):
    config["workloads"]["charlm"]["baseline"] = "signum"
    with pytest.raises(cfg.ConfigError, match="workloads.charlm.baseline: 'signum' is not available for mlx"):
        cfg.validate(config)


def test_coverage_names_the_workloads_where_it_is_not_available():
    summary = pd.DataFrame(
        [
            {"workload": w, "variant": "base", "optimizer": o, "mean": 1.0, "direction": "min"}
            for w, o in [("a", "adamw"), ("b", "adamw"), ("a", "signum")]
        ]
    )
    coverage = stats.coverage_table(summary, {"a": [], "b": ["signum"]}).set_index("optimizer")
    assert coverage.loc["signum", "not_available_on"] == "b" and not coverage.loc["signum", "ranked"]
    assert coverage.loc["adamw", "not_available_on"] == "" and coverage.loc["adamw", "ranked"]
