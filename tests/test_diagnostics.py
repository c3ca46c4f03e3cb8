"""One diagnostics path: an optimiser declares its diagnostics by name (options.py) and every framework's module
computes them; the loop, the tables and the report's figure take any names (Kβ's are not special)."""

import mlx.core as mx
import pytest
import torch

from testbeds.loop import summarise_diagnostics
from testbeds.optim import jax_optim, mlx_optim, torch_optim
from testbeds.optim.options import diagnostic_names, with_defaults
from testbeds.optim.registry import make_optimizer
from testbeds.settings import REPO

from optim_streams import gradient_stream, initial_params, run_optax

STEPS, LR = 6, 0.01


def torch_diagnostics(spec: dict) -> dict:
    params = {k: torch.tensor(v, requires_grad=True) for k, v in initial_params().items()}
    opt = make_optimizer("torch", spec, LR, params=list(params.items()))
    for grads in gradient_stream(steps=STEPS):
        for name, p in params.items():
            p.grad = torch.tensor(grads[name])
        opt.step()
    return torch_optim.diagnostics(opt, spec, STEPS, LR)


def mlx_diagnostics(spec: dict) -> dict:
    opt = make_optimizer("mlx", spec, LR)
    params = {k: mx.array(v) for k, v in initial_params().items()}
    mlx_optim.init_state(opt, params)
    if hasattr(opt, "set_diagnostics"):
        opt.set_diagnostics(True)
    for grads in gradient_stream(steps=STEPS):
        if mlx_optim.is_kbeta(opt):
            opt.layer_key_fn.bind(params)
        params = opt.apply_gradients({k: mx.array(v) for k, v in grads.items()}, params)
        mx.eval(params, opt.state)
    return mlx_optim.diagnostics(opt, spec, STEPS, LR)


def jax_diagnostics(spec: dict) -> dict:
    _, state = run_optax(make_optimizer("jax", spec, LR), gradient_stream(steps=STEPS))
    return jax_optim.diagnostics(state, spec, STEPS, LR)


FRAMEWORKS = {"torch": torch_diagnostics, "mlx": mlx_diagnostics, "jax": jax_diagnostics}


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_schedule_free_reports_its_averaging_weight(framework):
    # at a constant rate with weight lr^2 every iterate weighs the same: the newest gets 1/t of the average
    spec = with_defaults({"algorithm": "schedule_free_adamw"})
    assert diagnostic_names(spec) == ("averaging_weight",)
    found = FRAMEWORKS[framework](spec)
    assert found == {"all": {"averaging_weight": pytest.approx(1 / STEPS, rel=1e-5)}}


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_adafactor_reports_its_relative_step(framework):
    spec = with_defaults({"algorithm": "adafactor"})
    assert FRAMEWORKS[framework](spec) == {"all": {"relative_step": pytest.approx(min(LR, STEPS**-0.5))}}


@pytest.mark.parametrize("framework", list(FRAMEWORKS))
def test_kbeta_reports_sunspike_and_beta2_per_bucket_only_when_asked(framework):
    spec = with_defaults({"algorithm": "kbeta", "beta2_min": 0.88, "diagnostics": True, "layer_bucket": "per-array"})
    found = FRAMEWORKS[framework](spec)
    assert len(found) == len(initial_params())
    for values in found.values():
        assert set(values) == {"sunspike", "beta2"} and 0.88 <= values["beta2"] <= 0.999
        assert 0 <= values["sunspike"] < 1
    assert diagnostic_names({**spec, "diagnostics": False}) == ()


def test_the_loop_summarises_any_names_over_buckets():
    # mutation: min and max swapped, or the mean over names instead of buckets
    found = {"a": {"x": 1.0, "y": 10.0}, "b": {"x": 3.0, "y": 20.0}}
    assert summarise_diagnostics(found) == {
        "x_mean": 2.0,
        "x_min": 1.0,
        "x_max": 3.0,
        "y_mean": 15.0,
        "y_min": 10.0,
        "y_max": 20.0,
    }
    assert summarise_diagnostics({}) == {}


def test_no_generic_file_names_an_optimisers_diagnostics():
    """The loop, the floors, the figures, the rules and the scripts take diagnostics by name from the table."""
    # mutation: loop.py writing "sunspike"/"beta2" columns again, or the rule naming kbeta_diagnostics.png
    generic = [
        *(REPO / "src" / "testbeds").glob("*_loop.py"),
        REPO / "src" / "testbeds" / "loop.py",
        *(REPO / "src" / "testbeds" / "analysis").glob("*.py"),
        *(REPO / "workflow" / "rules").glob("*.smk"),
        *(REPO / "scripts").glob("*.py"),
    ]
    found = [
        f"{path.relative_to(REPO)}: {word}"
        for path in generic
        for word in ("sunspike", "kbeta_diagnostics", "averaging_weight", "relative_step", "kbeta_optax")
        if word in path.read_text()
    ]
    assert len(generic) > 15 and found == []


def test_muon_reports_the_same_momentum_rms_in_every_framework():
    # one gradient stream, momentum as an average in all three (optax keeps a sum: mutation, its (1 - μ) dropped)
    spec = with_defaults({"algorithm": "muon"})
    found = {name: run(spec) for name, run in FRAMEWORKS.items()}
    values = {name: f["hidden"]["momentum_rms"] for name, f in found.items()}
    assert values["torch"] > 0.01
    assert values["mlx"] == pytest.approx(values["torch"], rel=1e-4)
    assert values["jax"] == pytest.approx(values["torch"], rel=1e-4)
