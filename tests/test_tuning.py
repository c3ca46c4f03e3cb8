"""Tuning: search spaces, quasi-random points, selection, and the config checks of both."""

import copy
import math

import numpy as np
import pandas as pd
import pytest

from testbeds import config as cfg
from testbeds import tuning
from testbeds.analysis import stats

CONFIG = cfg.load_config([cfg.DEFAULT_CONFIG])


def trial(k, value, status="ok"):
    return {"trial": k, "status": status, "value": value, "settings": {"train.lr": 10.0**-k}}


def test_selection_picks_the_best_trial_and_never_a_diverged_one():
    trials = [trial(0, 2.0), trial(1, 0.5, "diverged"), trial(2, 1.0), trial(3, 1.5), trial(4, math.nan)]
    chosen = tuning.select(trials, higher_is_better=False)
    assert chosen["status"] == "ok" and chosen["trial"] == 2 and chosen["settings"] == {"train.lr": 0.01}
    assert tuning.select(trials, higher_is_better=True)["trial"] == 0  # exact match: higher wins


def test_selection_breaks_ties_to_the_lower_index_and_fails_when_all_diverged():
    assert tuning.select([trial(0, 1.0), trial(1, 0.5), trial(2, 0.5)], higher_is_better=False)["trial"] == 1
    failed = tuning.select([trial(0, 1.0, "diverged"), trial(1, None, "diverged")], higher_is_better=False)
    assert failed == {"status": "failed", "trial": None, "settings": None, "value": None}


def test_points_are_reproducible_shared_across_optimizers_and_a_prefix_of_a_larger_budget():
    lr = {"log_uniform": [1e-4, 1e-2]}
    spaces = {
        "adam": {"train.lr": lr},
        "adamw": {"train.lr": lr, "optimizer.weight_decay": {"log_uniform": [1e-3, 0.3]}},
        "sgd": {"train.lr": {"log_uniform": [1e-2, 1.0]}},
    }
    points = tuning.trial_points(spaces, 6, seed=0)
    assert points == tuning.trial_points(spaces, 6, seed=0)
    assert points != tuning.trial_points(spaces, 6, seed=1)
    adam = [p["train.lr"] for p in points["adam"]]
    assert adam == [p["train.lr"] for p in points["adamw"]]  # same key, same range: the same learning rates
    assert np.allclose(np.log10([p["train.lr"] for p in points["sgd"]]), np.log10(adam) + 2, atol=1e-5)
    assert len(set(adam)) == 6 and all(1e-4 <= v <= 1e-2 for v in adam)
    smaller = tuning.trial_points(spaces, 3, seed=0)
    assert smaller["adamw"] == points["adamw"][:3]  # raising the budget only appends points
    # the trials cover the range: one in each half of the log interval at least
    assert min(adam) < 1e-3 < max(adam)


def test_value_at_maps_quantiles_of_each_distribution():
    assert tuning.value_at({"log_uniform": [1e-4, 1e-2]}, 0.5) == pytest.approx(1e-3)
    assert tuning.value_at({"uniform": [0.0, 2.0]}, 0.25) == 0.5
    assert [tuning.value_at({"choice": ["a", "b", "c"]}, u) for u in (0.0, 0.4, 0.99)] == ["a", "b", "c"]


def test_applied_settings_reach_the_run_and_its_optimizer():
    run = cfg.resolve_run(CONFIG, "lds", "base", "adamw", 0)
    tuned = tuning.apply(run, {"train.lr": 0.005, "optimizer.weight_decay": 0.2})
    assert tuned["train"]["lr"] == 0.005 and tuned["optimizer"]["weight_decay"] == 0.2
    assert run["train"]["lr"] == CONFIG["workloads"]["lds"]["train"]["lr"]  # the resolved run is not changed
    assert "search" not in run["optimizer"]


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda c: c["optimizers"]["adam95"].update(search={"train.nope": {"uniform": [0, 1]}}), "train.nope"),
        (lambda c: c["optimizers"]["adamw"].update(search={"optimizer.gamma": {"uniform": [0, 1]}}), "optimizer.gamma"),
        (lambda c: c["optimizers"]["adam95"].update(search={"train.lr": {"log_uniform": [1e-2, 1e-3]}}), "lo < hi"),
        (lambda c: c["optimizers"]["adam95"].update(search={"train.lr": {"log_uniform": [0.0, 1e-3]}}), "positive"),
        (lambda c: c["optimizers"]["adam95"].update(search={"optimizer.beta2": {"uniform": [0.9, 1.5]}}), "beta2"),
        (lambda c: c["optimizers"]["adam95"].update(search={"train.lr": {"normal": [0, 1]}}), "train.lr"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": -1, "seed": 0}), "workloads.lds.tuning.budget"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": 2.5, "seed": 0}), "workloads.lds.tuning.budget"),
    ],
)
def test_bad_search_spaces_and_budgets_are_rejected_naming_the_key(change, named):
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(cfg.ConfigError, match=named.replace(".", r"\.")):
        cfg.validate(config)


def test_the_default_grid_tunes_every_optimizer_with_a_budget_of_at_least_four():
    cfg.validate(CONFIG)
    for name in CONFIG["grid"]["workloads"]:
        assert cfg.tuning_settings(CONFIG, name)["budget"] >= 4
        for optimizer in CONFIG["workloads"][name]["optimizers"]:
            assert "train.lr" in cfg.search_space(CONFIG, name, optimizer)
    assert "optimizer.weight_decay" in cfg.search_space(CONFIG, "lds", "adamw")


def test_expected_best_matches_the_order_statistics_of_the_trials():
    values = np.array([3.0, 1.0, 2.0])
    assert stats.expected_best(values, 1, higher_is_better=False) == pytest.approx(2.0)  # the mean
    # best (lowest) of two draws with replacement from {1, 2, 3}: P(1) = 5/9, P(2) = 3/9, P(3) = 1/9
    assert stats.expected_best(values, 2, higher_is_better=False) == pytest.approx((5 * 1 + 3 * 2 + 1 * 3) / 9)
    assert stats.expected_best(values, 2, higher_is_better=True) == pytest.approx((1 * 1 + 3 * 2 + 5 * 3) / 9)
    trials = pd.DataFrame(
        {
            "workload": "w",
            "variant": "v",
            "optimizer": "o",
            "higher_is_better": False,
            "value": [3.0, 1.0, 2.0, 0.1],
            "status": ["ok", "ok", "ok", "diverged"],
        }
    )
    curve = stats.expected_best_curve(trials)
    assert list(curve["trials"]) == [1, 2, 3, 4]
    assert curve["expected_best"].is_monotonic_decreasing and curve["expected_best"].min() >= 1.0  # 0.1 diverged
    assert (curve["low"] <= curve["expected_best"] + 1e-12).all() and (
        curve["expected_best"] <= curve["high"] + 1e-12
    ).all()


def test_a_cell_whose_trials_all_diverged_counts_as_diverged_in_every_table():
    from testbeds.analysis import tables

    trials = [
        {
            "trial": k,
            "status": "diverged",
            "metric": "val_loss",
            "value": None,
            "higher_is_better": False,
            "settings": {"train.lr": lr},
            "steps": 3,
            "train_seconds": 0.1,
        }
        for k, lr in enumerate((0.1, 0.3))
    ]
    selected = {**tuning.select(trials, False), "metric": "val_loss", "budget": 2, "trials": trials}
    cell = {"workload": "w", "variant": "v", "optimizer": "sgd", "finals": [], "selected": selected}
    known = pd.DataFrame(
        [{"workload": "w", "primary_metric": "test_loss", "curve_metric": "val_loss", "direction": "min"}]
    )
    failed = tables.failed_cell_runs([cell], [0, 1], known)
    assert list(failed["seed"]) == [0, 1] and (failed["status"] == "diverged").all()
    assert failed["primary_metric"].eq("test_loss").all() and failed["primary_value"].isna().all()
    assert "every one of 2 tuning trials diverged" in failed["stop_reason"].iloc[0]
    assert tables.selected_table([cell])[["status", "budget"]].values.tolist() == [["failed", 2]]
    tried = tables.tuning_table([cell])
    assert list(tried["hp.train.lr"]) == [0.1, 0.3] and not tried["chosen"].any()
    summary = stats.summary_table(failed.assign(optimizer="sgd", variant="v"))
    assert summary["success_rate"].iloc[0] == 0 and summary["n_diverged"].iloc[0] == 2
