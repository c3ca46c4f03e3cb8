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
    chosen = tuning.select(trials, direction="min")
    assert chosen["status"] == "ok" and chosen["trial"] == 2 and chosen["settings"] == {"train.lr": 0.01}
    assert tuning.select(trials, direction="max")["trial"] == 0  # exact match: higher wins


def test_selection_breaks_ties_to_the_lower_index_and_fails_when_all_diverged():
    assert tuning.select([trial(0, 1.0), trial(1, 0.5), trial(2, 0.5)], direction="min")["trial"] == 1
    failed = tuning.select([trial(0, 1.0, "diverged"), trial(1, None, "diverged")], direction="min")
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
        (lambda c: c["optimizers"]["adam999"].update(search={"train.nope": {"uniform": [0, 1]}}), "train.nope"),
        (lambda c: c["optimizers"]["adamw"].update(search={"optimizer.gamma": {"uniform": [0, 1]}}), "optimizer.gamma"),
        (lambda c: c["optimizers"]["adam999"].update(search={"train.lr": {"log_uniform": [1e-2, 1e-3]}}), "lo < hi"),
        (lambda c: c["optimizers"]["adam999"].update(search={"train.lr": {"log_uniform": [0.0, 1e-3]}}), "positive"),
        (lambda c: c["optimizers"]["adam999"].update(search={"optimizer.beta2": {"uniform": [0.9, 1.5]}}), "beta2"),
        (lambda c: c["optimizers"]["adam999"].update(search={"train.lr": {"normal": [0, 1]}}), "train.lr"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": -1, "seed": 0}), "workloads.lds.tuning.budget"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": 2.5, "seed": 0}), "workloads.lds.tuning.budget"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": 10**9, "seed": 7}), "workloads.lds.tuning"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": 3, "seed": 1}), "workloads.lds.tuning.seed"),
        (lambda c: c["workloads"]["lds"].update(tuning={"budget": 3, "seed": 7, "studies": 0}), "studies"),
    ],
)
def test_bad_search_spaces_and_budgets_are_rejected_naming_the_key(change, named):
    config = copy.deepcopy(CONFIG)
    change(config)
    with pytest.raises(cfg.ConfigError, match=named.replace(".", r"\.")):
        cfg.validate(config)


def test_the_default_grid_tunes_every_optimizer_at_a_seed_no_evaluation_uses():
    cfg.validate(CONFIG)
    for name in CONFIG["grid"]["workloads"]:
        settings = cfg.tuning_settings(CONFIG, name)
        assert settings["budget"] + settings["extend"] >= 3 and settings["seed"] not in CONFIG["grid"]["seeds"]
        for optimizer in CONFIG["workloads"][name]["optimizers"]:
            assert "train.lr" in cfg.search_space(CONFIG, name, optimizer)
    assert "optimizer.weight_decay" in cfg.search_space(CONFIG, "lds", "adamw")


def test_the_default_grid_has_a_core_of_three_optimizers_on_every_workload():
    core = set.intersection(*(set(CONFIG["workloads"][w]["optimizers"]) for w in CONFIG["grid"]["workloads"]))
    assert {"adamw", "kbeta", "sgd"} <= core


def test_a_tuning_seed_among_the_evaluated_seeds_is_refused_with_the_reason():
    config = copy.deepcopy(CONFIG)
    config["workloads"]["lds"]["tuning"]["seed"] = CONFIG["grid"]["seeds"][0]
    with pytest.raises(cfg.ConfigError, match=r"tuning\.seed.*also in grid\.seeds.*seed of its own"):
        cfg.validate(config)
    config["workloads"]["lds"]["tuning"]["budget"] = 0  # untuned: no trial, so no conflict
    cfg.validate(config)


def test_expected_best_is_the_unbiased_estimator_and_equals_the_chosen_trial_at_the_budget():
    values = np.array([3.0, 1.0, 2.0])
    assert stats.expected_best(values, 1, direction="min") == pytest.approx(2.0)  # the mean
    # best (lowest) of two of {1, 2, 3} drawn without replacement: pairs {1,2}, {1,3}, {2,3} -> (1 + 1 + 2) / 3
    assert stats.expected_best(values, 2, direction="min") == pytest.approx(4 / 3)
    assert stats.expected_best(values, 2, direction="max") == pytest.approx((2 + 3 + 3) / 3)
    assert stats.expected_best(values, 3, direction="min") == 1.0  # the trial tuning chose
    with pytest.raises(ValueError):
        stats.expected_best(values, 4, direction="min")
    trials = pd.DataFrame(
        {
            "workload": "w",
            "variant": "v",
            "optimizer": "o",
            "direction": "min",
            "value": [3.0, 1.0, 2.0, 0.1],
            "status": ["ok", "ok", "ok", "diverged"],
        }
    )
    curve = stats.expected_best_curve(trials)
    assert list(curve["trials"]) == [1, 2, 3, 4]
    assert curve["expected_best"].is_monotonic_decreasing and curve["expected_best"].iloc[-1] == 1.0  # 0.1 diverged
    assert (curve["low"] <= curve["expected_best"] + 1e-12).all() and (
        curve["expected_best"] <= curve["high"] + 1e-12
    ).all()
    # a diverged trial scores the trivial model's value (here 10), not the worst finished trial's (3): k = 1 is the
    # mean of 3, 1, 2 and 10 (mutation: the worst finite value gives (3 + 1 + 2 + 3) / 4)
    with_trivial = stats.expected_best_curve(trials, {"w": 10.0})
    assert with_trivial["expected_best"].iloc[0] == pytest.approx(16 / 4)
    assert curve["expected_best"].iloc[0] == pytest.approx(9 / 4)  # none recorded: the worst finite value


def lr_trial(k: int, lr: float, value: float | None, status: str = "ok") -> dict:
    return {"trial": k, "status": status, "value": value, "direction": "min", "settings": {"train.lr": lr}}


SPACE = {"train.lr": {"log_uniform": [1e-3, 1e-1]}}


def test_a_choice_at_the_lowest_or_highest_value_tried_is_flagged_provisional():
    low = tuning.choose([lr_trial(0, 1e-3, 1.0), lr_trial(1, 1e-2, 2.0), lr_trial(2, 3e-2, 3.0)], SPACE, 3, 0)
    assert low["edges"] == {"train.lr": "low"} and low["provisional"]
    assert low["tried"] == {"train.lr": [1e-3, 3e-2]} and low["declared"] == {"train.lr": [1e-3, 1e-1]}
    inside = tuning.choose([lr_trial(0, 1e-3, 2.0), lr_trial(1, 1e-2, 1.0), lr_trial(2, 3e-2, 3.0)], SPACE, 3, 0)
    assert inside["edges"] == {} and not inside["provisional"]
    # the highest learning rate diverged: the best one below it is bracketed, not at an edge
    bracketed = tuning.choose(
        [lr_trial(0, 1e-3, 2.0), lr_trial(1, 1e-2, 1.0), lr_trial(2, 3e-2, None, "diverged")], SPACE, 3, 0
    )
    assert bracketed["edges"] == {}
    high = tuning.choose([lr_trial(0, 1e-3, 2.0), lr_trial(1, 1e-2, 1.0), lr_trial(2, 3e-2, 0.5)], SPACE, 3, 0)
    assert high["edges"] == {"train.lr": "high"}


def with_trials(trials, space, budget, extend):
    """A round's selection as select_trial.py writes it: the choice and the study's trials so far."""
    return {**tuning.choose(trials, space, budget, extend), "trials": trials}


def test_an_extension_round_steps_past_the_edge_in_the_keys_scale_where_no_parabola_can_be_fitted():
    at_low = with_trials([lr_trial(0, 1e-3, 1.0), lr_trial(1, 1e-2, 2.0)], SPACE, 2, 1)
    nxt = {"train.lr": 0.05}
    # log scale: the declared width (2 decades) over the budget (2): one decade below 1e-3
    assert tuning.extension_point(at_low, SPACE, 2, 0, nxt, lambda s: True) == {"train.lr": pytest.approx(1e-4)}
    # an invalid step: the midpoint towards the neighbour instead (in log scale), never another optimiser's point
    valid = lambda s: s["train.lr"] >= 1e-3  # noqa: E731
    assert tuning.extension_point(at_low, SPACE, 2, 0, nxt, valid) == {"train.lr": pytest.approx(10**-2.5)}
    assert tuning.extension_point(at_low, SPACE, 2, 0, nxt, lambda s: False) == nxt  # nothing valid: fallback
    linear = {"optimizer.momentum": {"uniform": [0.8, 0.9]}}
    assert tuning.step_past(linear["optimizer.momentum"], 0.9, "high", 2) == pytest.approx(0.95)


def test_an_interior_choice_moves_to_the_vertex_of_its_parabola_or_towards_its_better_neighbour():
    """Three learning rates on an exact parabola in log10 lr with its minimum at 10^-2.3: the round lands there
    (mutation: the sequence's next point, as before, or the midpoint rule alone)."""
    curve = lambda lr: (math.log10(lr) + 2.3) ** 2  # noqa: E731
    trials = [lr_trial(k, lr, curve(lr)) for k, lr in enumerate([1e-3, 3e-3, 3e-2])]
    inside = with_trials(trials, SPACE, 3, 2)
    point = tuning.extension_point(inside, SPACE, 3, 0, {"train.lr": 0.05}, lambda s: True)
    assert math.log10(point["train.lr"]) == pytest.approx(-2.3, abs=1e-4)
    # two finite values only: between the choice and its better neighbour (the one below diverged)
    trials = [lr_trial(0, 1e-3, None, "diverged"), lr_trial(1, 3e-3, 1.0), lr_trial(2, 3e-2, 1.5)]
    midpoint = tuning.extension_point(with_trials(trials, SPACE, 3, 2), SPACE, 3, 0, {}, lambda s: True)
    assert midpoint == {"train.lr": pytest.approx(math.sqrt(3e-3 * 3e-2), rel=1e-5)}


def test_each_extension_round_moves_one_key_the_learning_rate_first():
    """AdamW at the edge of both keys: round 0 moves the learning rate only, round 1 the weight decay only
    (mutation: every key at an edge moved at once, as before)."""
    space = {"train.lr": {"log_uniform": [1e-3, 1e-1]}, "optimizer.weight_decay": {"log_uniform": [1e-3, 0.3]}}
    trials = [
        {"trial": 0, "status": "ok", "value": 1.0, "settings": {"train.lr": 1e-3, "optimizer.weight_decay": 0.3}},
        {"trial": 1, "status": "ok", "value": 2.0, "settings": {"train.lr": 1e-2, "optimizer.weight_decay": 0.01}},
    ]
    for t in trials:
        t["direction"] = "min"
    selection = with_trials(trials, space, 2, 2)
    first = tuning.extension_point(selection, space, 2, 0, {}, lambda s: True)
    second = tuning.extension_point(selection, space, 2, 1, {}, lambda s: True)
    assert first == {"train.lr": pytest.approx(1e-4), "optimizer.weight_decay": 0.3}
    assert second["train.lr"] == 1e-3 and second["optimizer.weight_decay"] > 0.3
    assert tuning.outside_declared(second, space) == {"optimizer.weight_decay": "above"}
    assert tuning.outside_declared(first, space) == {"train.lr": "below"}


def test_tuning_lands_near_the_optimum_wherever_it_lies():
    """benchmarks/tuning_regret.py's 1-D case, budget 4 + 2 rounds, on fewer seeds: mean regret at most 0.010
    decade^2 and no optimum position more than 1.75x worse than the best (mutation: the previous rule, a step past
    an edge and otherwise the sequence's next point: 0.017 decade^2)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tuning_regret", cfg.REPO / "benchmarks" / "tuning_regret.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    per_position = bench.regrets(1, 4, 2, seeds=150)
    assert np.mean(per_position) <= 0.010
    assert max(per_position) / min(per_position) <= 1.75


def test_studies_repeat_the_search_and_the_median_studys_choice_is_run():
    """Three studies of two trials (budget 2, no extension): their best values 1.0, 3.0 and 2.0; the median
    study (value 2.0, study 2) is chosen, not the luckiest (a mutation choosing the best study picks 1.0)."""
    trials = [
        lr_trial(0, 1e-3, 1.0),
        lr_trial(1, 1e-2, 5.0),
        lr_trial(2, 2e-3, 3.0),
        lr_trial(3, 2e-2, 4.0),
        lr_trial(4, 5e-3, 2.0),
        lr_trial(5, 5e-2, 6.0),
    ]
    chosen = tuning.choose(trials, SPACE, 2, 0)
    assert chosen["study"] == 2 and chosen["trial"] == 4 and chosen["value"] == 2.0
    assert [s["value"] for s in chosen["studies"]] == [1.0, 3.0, 2.0]
    a, b = tuning.unit_points(1, 4, 1000, 0), tuning.unit_points(1, 4, 1000, 1)
    assert a != b and a == tuning.unit_points(1, 4, 1000)  # independent scrambles; study 0 is the seed's


def test_a_cell_whose_trials_all_diverged_counts_as_diverged_in_every_table():
    from testbeds.analysis import tables

    trials = [
        {
            "trial": k,
            "status": "diverged",
            "metric": "val_loss",
            "value": None,
            "direction": "min",
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


def test_a_choice_past_the_declared_range_is_flagged_in_selected_csv():
    """An extension round stepped the learning rate below [1e-3, 1e-1] and that trial won: selected.csv says so
    (mutation: outside_declared not written)."""
    from testbeds.analysis import tables

    trials = [lr_trial(0, 1e-3, 2.0), lr_trial(1, 1e-2, 3.0), lr_trial(2, 1e-4, 1.0)]
    selected = {**tuning.choose(trials, SPACE, 2, 1), "metric": "val_loss", "budget": 2, "extend": 1}
    cell = {"workload": "w", "variant": "v", "optimizer": "adam", "finals": [], "selected": selected}
    row = tables.selected_table([cell]).iloc[0]
    assert row["outside_declared"] == "train.lr below its declared range"
    inside = {**tuning.choose(trials[:2], SPACE, 2, 0), "metric": "val_loss", "budget": 2}
    assert tables.selected_table([{**cell, "selected": inside}]).iloc[0]["outside_declared"] == ""
