"""Config validation: the schema and the cross-field rules reject bad input, naming the key."""

import pytest

from testbeds import config as cfg
from testbeds import settings


def test_default_config_is_valid(config):
    cfg.validate(config)


def test_paper_config_is_valid():
    config = cfg.load_config([cfg.DEFAULT_CONFIG, cfg.REPO / "config" / "paper.yaml"])
    cfg.validate(config)
    run = cfg.resolve_run(config, "charlm", "base", "kbeta", 0)
    assert run["model"] == {"d_model": 512, "n_layer": 6, "n_head": 8, "ctx": 512}
    assert run["train"]["steps"] == 50001 and run["train"]["batch"] == 4
    assert run["data"]["source"] == "enwik8"
    assert config["grid"]["seeds"] == list(range(10))


@pytest.mark.parametrize(
    "extra",
    [
        ["study.yaml"],
        ["study.yaml", "study_charlm.yaml"],
        ["study.yaml", "study_heat2d.yaml"],
        ["study.yaml", "study_charlm.yaml", "study_sequential.yaml"],
    ],
    ids=["study", "charlm", "heat2d", "charlm-sequential"],
)
def test_study_configs_are_valid(extra):
    config = cfg.load_config([cfg.DEFAULT_CONFIG, *(cfg.REPO / "config" / name for name in extra)])
    cfg.validate(config)
    assert cfg.tuning_settings(config, "charlm")["studies"] == 3 and len(config["grid"]["seeds"]) == 5
    assert cfg.sequential_looks(config) == ([5, 10, 15] if "study_sequential.yaml" in extra else None)


def test_the_sequential_example_is_valid_on_the_default_grid():
    config = cfg.load_config([cfg.DEFAULT_CONFIG, cfg.REPO / "config" / "sequential.yaml"])
    cfg.validate(config)
    assert cfg.sequential_looks(config) == [5, 10, 20] and cfg.claims_file(config).name == "claims.yaml"


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["workloads"]["charlm"]["model"].update(d_modle=64), "d_modle"),
        (lambda c: c["workloads"]["charlm"]["train"].update(steps="many"), "workloads.charlm.train.steps"),
        (lambda c: c["workloads"]["charlm"]["train"].update(steps=-5), "workloads.charlm.train.steps"),
        (lambda c: c["workloads"]["charlm"].update(optimizers=["kbeta", "sgdx"]), "sgdx"),
        (lambda c: c["grid"].update(seeds=[]), "grid.seeds"),
        (lambda c: c["grid"].update(workloads=["nope"]), "grid.workloads"),
        (lambda c: c["optimizers"]["kbeta"].update(layer_bucket="layers"), "optimizers.kbeta.layer_bucket"),
        (lambda c: c["workloads"]["charlm"]["data"].update(source="web"), "workloads.charlm.data.source"),
        (lambda c: c["workloads"]["charlm"]["train"].update(lmin=200), "lmin"),
        (lambda c: c["workloads"]["charlm"]["train"].update(lmax=512), "lmax"),
        (lambda c: c["workloads"]["charlm"]["model"].update(n_head=5), "n_head"),
        (lambda c: c["workloads"]["charlm"]["train"].update(lr_schedule="10-1e-3"), "lr_schedule"),
        (lambda c: c["workloads"]["charlm"].update(baseline="adam95"), "baseline"),
        (lambda c: c["workloads"]["charlm"]["variants"].update(wide={"model.width": 3}), "model.width"),
        (lambda c: c["claims"].update(sequential={"looks": [5, 5, 10]}), "claims.sequential.looks"),
        (lambda c: c["claims"].update(sequential={"looks": [1, 5]}), "claims.sequential.looks"),
        (lambda c: c["claims"].update(sequential={"seeds": [5, 10]}), "claims.sequential"),
    ],
)
def test_bad_config_rejected_naming_the_key(config, mutate, key):
    mutate(config)
    with pytest.raises(cfg.ConfigError, match=key.replace(".", r"\.")):
        cfg.validate(config)


def test_variant_overrides_resolve(config):
    config["workloads"]["charlm"]["variants"]["wide"] = {"model.d_model": 128}
    cfg.validate(config)
    base = cfg.resolve_run(config, "charlm", "base", "kbeta", 1)
    wide = cfg.resolve_run(config, "charlm", "wide", "kbeta", 1)
    assert wide["model"]["d_model"] == 128 and base["model"]["d_model"] != 128
    assert cfg.config_hash(base) != cfg.config_hash(wide)
    assert cfg.config_hash(base) == cfg.config_hash(cfg.resolve_run(config, "charlm", "base", "kbeta", 1))


def test_grid_runs_enumerates_every_combination(config):
    runs = cfg.grid_runs(config)
    expected = sum(
        len(config["workloads"][w]["optimizers"]) * len(config["workloads"][w]["variants"])
        for w in config["grid"]["workloads"]
    ) * len(config["grid"]["seeds"])
    assert len(runs) == expected and len({tuple(r.values()) for r in runs}) == expected


def test_dotted_override_parsing():
    assert settings.parse_override("train.steps=100") == ("train.steps", 100)
    assert settings.parse_override("data.path=null") == ("data.path", None)
    with pytest.raises(cfg.ConfigError):
        settings.parse_override("train.steps")
    tree = {"train": {"steps": 1}}
    with pytest.raises(cfg.ConfigError, match="train.step"):
        settings.set_dotted(tree, "train.step", 3)


def test_a_claims_file_that_does_not_exist_is_named(config):
    config["claims"]["file"] = "config/claimz.yaml"
    with pytest.raises(cfg.ConfigError, match=r"claims\.file: config/claimz\.yaml does not exist"):
        cfg.load_claims(config)


def test_a_claim_cells_seeds_at_a_look_are_the_grids_then_the_next_integers(config):
    config["grid"]["seeds"] = [3, 7]
    assert cfg.look_seeds(config, 5) == [3, 7, 8, 9, 10] and cfg.look_seeds(config, 1) == [3]
