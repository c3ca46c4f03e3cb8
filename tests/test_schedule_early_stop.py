import math

import pytest
from testbeds.early_stop import EarlyStopping
from testbeds.schedule import lr_at, parse_lr_schedule, warmup_cosine


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


@pytest.mark.parametrize("warmup, total, min_frac", [(10, 300, 0.1), (4, 20, 0.0), (1, 5, 0.5), (0, 12, 0.2)])
def test_torch_and_optax_warmup_cosine_are_the_one_definition(warmup, total, min_frac):
    import torch
    from testbeds.optim.jax_optim import warmup_cosine_schedule
    from testbeds.optim.torch_optim import warmup_cosine_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5)
    scheduler = warmup_cosine_scheduler(opt, warmup, total, min_frac)
    optax_schedule = warmup_cosine_schedule(0.5, warmup, total, min_frac)
    for step in range(total):
        expected = 0.5 * warmup_cosine(step, warmup, total, min_frac)
        assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-9, abs=1e-12), step
        assert float(optax_schedule(step)) == pytest.approx(expected, rel=1e-6, abs=1e-7), step  # float32
        opt.step()
        scheduler.step()
