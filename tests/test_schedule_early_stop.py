import math

import pytest

from testbeds.early_stop import EarlyStopping
from testbeds.schedule import bias_ramp, lr_at, parse_lr_schedule, piecewise_problem, warmup_cosine


def test_piecewise_schedule_is_one_indexed_and_takes_largest_boundary():
    points = parse_lr_schedule("1:1e-3,30000:5e-4,40000:1e-4")
    assert lr_at(1, 9.0, points) == 1e-3
    assert lr_at(29999, 9.0, points) == 1e-3
    assert lr_at(30000, 9.0, points) == 5e-4
    assert lr_at(45000, 9.0, points) == 1e-4
    assert lr_at(5, 3e-4, parse_lr_schedule("10:1e-4")) == 3e-4  # before the first boundary: base lr
    assert parse_lr_schedule("") == []


@pytest.mark.parametrize("text", ["10-1e-3", "a:1", "5:1e-3,5:1e-4", "0:1e-3", "10:1,5:2"])
def test_bad_schedules_rejected(text):
    with pytest.raises(ValueError):
        parse_lr_schedule(text)


def test_early_stopping_counts_checks_without_improvement():
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    assert [stopper.update(v) for v in (5.0, 4.0, 3.95, 3.92)] == [False, False, False, True]
    assert stopper.best == 4.0


def test_early_stopping_ignores_warmup_checks_and_can_be_disabled():
    stopper = EarlyStopping(patience=1, warmup=2)
    assert [stopper.update(v) for v in (1.0, 1.0, 3.0, 3.0)] == [False, False, False, True]
    never = EarlyStopping(patience=0)
    assert not any(never.update(5.0) for _ in range(10))


def test_early_stopping_state_round_trips_through_json_nulls():
    stopper = EarlyStopping(patience=3)
    state = stopper.state()
    state["best"] = None if math.isinf(state["best"]) else state["best"]
    assert EarlyStopping.from_state(state) == stopper


def test_warmup_cosine_schedule():
    assert warmup_cosine(0, 10, 100, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100, 0.1) == pytest.approx(0.1 + 0.9 * 0.5)
    assert warmup_cosine(100, 10, 100, 0.1) == pytest.approx(0.1)


def test_kbetas_ramp_multiplies_every_steps_rate_of_the_optimiser_that_asks_for_it(tmp_path):
    """bias_ramp: β gives an optimiser the ramp that Kβ's beta2max bias correction builds in, √(1 − β^t), on top
    of the workload's schedule (mutation: the ramp dropped, or t counted from 0)."""
    from testbeds.loop import TrainLoop

    class Rates(TrainLoop):  # the loop's rate logic alone: no model, no framework
        train_step = evaluate = write_state = read_state = None

    Rates.__abstractmethods__ = frozenset()
    train = {"steps": 100, "lr": 0.01, "schedule": "warmup_cosine", "warmup_steps": 10, "min_lr_frac": 0.1}
    runs = {ramp: {"train": train, "optimizer": {"bias_ramp": ramp} if ramp else {}} for ramp in (None, 0.999)}
    loops = {ramp: Rates(run, tmp_path / str(ramp), "cpu") for ramp, run in runs.items()}
    for step in (0, 49, 99):
        rates = {}
        for ramp, loop in loops.items():
            loop.step = step
            rates[ramp] = loop.learning_rate()
        assert rates[None] == pytest.approx(0.01 * warmup_cosine(step, 10, 100, 0.1))
        assert rates[0.999] == pytest.approx(rates[None] * math.sqrt(1 - 0.999 ** (step + 1)))
    assert bias_ramp(49, 0.999) == pytest.approx(0.2209, abs=1e-4)  # 0.22 at step 50, as the issue measured


def test_a_piecewise_string_is_refused_where_it_would_be_ignored():
    assert piecewise_problem({"lr_schedule": "1:1e-3", "schedule": "source"}) is None
    assert "schedule: source" in piecewise_problem({"lr_schedule": "1:1e-3", "schedule": "warmup_cosine"})
    assert "step:lr" in piecewise_problem({"lr_schedule": "10-1e-3", "schedule": "source"})
