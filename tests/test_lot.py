"""lot (PyTorch Lightning): the oscillators change attention and learn, the task is fair, export, training."""

import csv
import math

import numpy as np
import pytest
import torch

from testbeds import config as cfg
from testbeds.lot import evaluate as lot_eval
from testbeds.lot import model as M
from testbeds.lot.data import DELIMITER, IGNORE, copy_reverse, datasets, exact_match, final_test_set
from testbeds.lot.export import export_onnx, onnx_logits
from testbeds.lot.model import build_model
from testbeds.lot.train import train
from testbeds.runio import MetricsLog, read_json

from helpers import REPO, SimulatedKill, metrics_without_time

LATTICE = {
    "lattice_shape": (2, 2),
    "kuramoto_steps": 4,
    "dt": 0.1,
    "init_freq_range": (0.9, 1.1),
    "coupling_init": 0.1,
    "amplitude_init": 0.5,
}


def lattice_model(attention="lattice", seed=0):
    torch.manual_seed(seed)
    settings = LATTICE if attention == "lattice" else {"amplitude_init": 0.5} if attention == "phase" else {}
    return M.LatticeTransformer(20, 16, 16, 4, 2, 0.0, attention, settings)


def test_phase_changes_the_attention_output_and_every_oscillator_parameter_gets_a_gradient():
    model = lattice_model()
    x = torch.randint(3, 20, (2, 12))
    before = model(x)
    attn = model.blocks[0].attn
    with torch.no_grad():
        attn.phase0 += 1.0  # a different phase, everything else equal
    assert not torch.allclose(model(x), before, atol=1e-6)
    y = torch.randint(3, 20, (2, 12))
    loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
    loss.backward()
    for name in ("omega", "coupling", "phase0", "amplitude", "offset_freq"):
        grad = getattr(attn, name).grad
        assert grad is not None and grad.abs().sum() > 0, f"no gradient reaches {name} through the task loss"


def test_sync_and_diversity_losses_have_gradient_paths():
    model = lattice_model()
    model.regularisers(lambda_sync=1.0, lambda_div=0.0).backward()
    assert model.blocks[0].attn.coupling.grad.abs().sum() > 0 and model.blocks[0].attn.omega.grad.abs().sum() > 0
    model.zero_grad()
    model.regularisers(lambda_sync=0.0, lambda_div=1.0).backward()
    assert model.blocks[1].attn.omega.grad.abs().sum() > 0
    assert 0.0 <= model.sync_orders()[0].item() <= 1.0


def test_kuramoto_coupling_synchronises_identical_oscillators():
    attn = M.LatticeAttention(16, 4, 0.0, lattice_shape=(2, 2), kuramoto_steps=200, dt=0.1, coupling_init=1.0)
    with torch.no_grad():
        attn.omega.fill_(1.0)  # same natural frequency: coupling pulls the phases together
    assert attn.sync_order().item() > 0.99
    attn.coupling.data.zero_()
    assert attn.sync_order().item() < 0.1  # evenly spread initial phases stay spread without coupling


def test_neighbour_weights_follow_the_lattice():
    w = M.lattice_neighbours((2, 4))
    assert w[0, 1] == pytest.approx(math.exp(-1)) and w[0, 5] == pytest.approx(math.exp(-math.sqrt(2)))
    assert w[0, 2] == 0 and torch.equal(w, w.T) and torch.all(w.diagonal() == 0)


def test_vanilla_is_parameter_matched_within_one_percent():
    lattice, vanilla = M.count_parameters(lattice_model("lattice")), M.count_parameters(lattice_model("vanilla"))
    assert lattice != vanilla and abs(lattice - vanilla) / lattice < 0.01


def test_attention_registry():
    assert set(M.ATTENTION) >= {"vanilla", "lattice"}
    with pytest.raises(ValueError, match="unknown attention"):
        M.LatticeTransformer(20, 16, 16, 4, 1, 0.0, "mystery", {})
    with pytest.raises(ValueError, match="lattice shape"):
        M.LatticeAttention(16, 4, 0.0, lattice_shape=(3, 2))


def test_phase_ablation_keeps_the_offset_term_and_drops_the_oscillator_dynamics():
    """phase = lattice without ω, κ and the Kuramoto integration: with the lattice's integrated phases as its
    free phases it computes the same attention, and it has exactly the oscillator parameters fewer."""
    torch.manual_seed(0)
    phase = M.LatticeTransformer(20, 16, 16, 4, 2, 0.0, "phase", {"amplitude_init": 0.5})
    lattice = lattice_model("lattice")
    assert {"omega", "coupling"}.isdisjoint(n.split(".")[-1] for n, _ in phase.named_parameters())
    assert M.count_parameters(lattice) - M.count_parameters(phase) == 2 * 4 * 2  # ω and κ per head and layer
    state = {k: v for k, v in lattice.state_dict().items() if not k.endswith(("omega", "coupling"))}
    for i, block in enumerate(lattice.blocks):
        state[f"blocks.{i}.attn.phase0"] = block.attn.phases().detach()  # θ after the dynamics, as free phases
    phase.load_state_dict(state)
    x = torch.randint(3, 20, (2, 12))
    torch.testing.assert_close(phase.eval()(x), lattice.eval()(x))
    before = phase.blocks[0].attn.phases().clone()
    phase.blocks[0].attn.phase0.grad = None
    assert torch.equal(phase.blocks[0].attn.phases(), before)  # no dynamics: θ is the parameter itself
    phase.regularisers(lambda_sync=1.0, lambda_div=1.0).backward()  # no ω: the diversity term is absent
    assert phase.blocks[0].attn.phase0.grad.abs().sum() > 0


@pytest.mark.parametrize("attention", ["lattice", "phase", "vanilla"])
def test_model_is_causal(attention):
    model = lattice_model(attention).eval()
    x = torch.randint(3, 20, (1, 16))
    changed = x.clone()
    changed[0, 9] = 3 if x[0, 9] != 3 else 4
    a, b = model(x), model(changed)
    torch.testing.assert_close(a[0, :9], b[0, :9])


def test_copy_reverse_scores_only_the_reversed_half_and_validation_is_held_out():
    x, y = copy_reverse(50, 6, 30, seed=1)
    assert x.shape == y.shape == (50, 12)
    assert torch.all(x[:, 6] == DELIMITER) and torch.all(y[:, :6] == IGNORE)
    assert torch.equal(y[:, 6:], x[:, :6].flip(1))
    vx, _ = copy_reverse(50, 6, 30, seed=2)
    assert not torch.equal(vx, x)
    perfect = torch.nn.functional.one_hot(y.clamp_min(0), 30).float()
    assert exact_match(perfect, y).mean() == 1.0
    perfect[0, 3] = 0  # a mistake at an unscored position does not count
    perfect[1, 8] = 0
    assert exact_match(perfect, y)[:2].tolist() == [1.0, 0.0]


def test_onnx_export_matches_pytorch(tmp_path):
    model = lattice_model().eval()
    x, _ = copy_reverse(4, 8, 20, seed=3)
    path = export_onnx(model, x, tmp_path / "lot.onnx")
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(onnx_logits(path, x.numpy()), expected, rtol=1e-4, atol=1e-5)


def lot_run(variant="lattice", optimizer="adamw", **train_settings):
    config = cfg.load_config([cfg.DEFAULT_CONFIG, REPO / "config" / "test.yaml"])
    run = cfg.resolve_run(config, "lot", variant, optimizer, 0)
    run["train"].update(train_settings)
    return run


def test_training_learns_and_writes_the_contract(tmp_path):
    run = lot_run("lattice", "kbeta", steps=100, lr=1e-2, eval_every=50)
    summary = train(run, None, tmp_path, log=lambda m: None)
    assert summary["status"] == "ok" and summary["steps"] == 100
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    evals = [r for r in rows if r["val_exact_match"]]
    assert float(evals[-1]["val_ce"]) < float(evals[0]["val_ce"]) - 0.3
    assert all(0 <= float(r["sync_order"]) <= 1 for r in evals) and rows[-1]["beta2_mean"]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    final = lot_eval.evaluate(tmp_path)
    assert final["primary_metric"] == "test_ce" and final["direction"] == "min" and final["curve_metric"] == "val_ce"
    assert {"test_exact_match", "longer_exact_match", "longer_ce"} <= set(final["metrics"])
    assert summary["validation"] == {"metric": "val_ce", "value": float(evals[-1]["val_ce"]), "direction": "min"}
    # the final evaluation scores the last checkpoint: on the validation set it gives the last periodic
    # evaluation's numbers, and its reported values come from the test set, a different one
    model = lot_eval.load_trained(tmp_path, read_json(tmp_path / "provenance.json"), summary, "cpu")
    on_val = lot_eval.evaluate_model(model, datasets(run)[1], run["train"]["eval_batch"], "cpu")
    assert on_val["ce_loss"] == pytest.approx(float(evals[-1]["val_ce"]), rel=1e-5)
    on_test = lot_eval.evaluate_model(model, final_test_set(run), run["train"]["eval_batch"], "cpu")
    assert final["metrics"]["test_ce"] == pytest.approx(on_test["ce_loss"]) != pytest.approx(on_val["ce_loss"])
    assert not torch.equal(final_test_set(run)[0], datasets(run)[1][0])
    assert len(final["head_phases"]) == 1 and len(final["head_phases"][0]) == 4
    assert len(final["metrics"]["attention_entropy"]) == 1 and len(final["metrics"]["attention_entropy"][0]) == 4


def test_a_run_killed_after_its_last_checkpoint_finishes_on_resume(tmp_path, monkeypatch):
    """Killed between the final checkpoint and train.json, a run resumes at its last step and only finishes
    (Lightning cannot save a checkpoint without having fitted: the loop must not write one again)."""
    run = lot_run("vanilla", "adamw", steps=10, checkpoint_every=10)
    original = MetricsLog.finish

    def killed(self):
        raise SimulatedKill

    monkeypatch.setattr(MetricsLog, "finish", killed)
    with pytest.raises(SimulatedKill):
        train(run, None, tmp_path / "killed", log=lambda m: None)
    monkeypatch.setattr(MetricsLog, "finish", original)
    messages = []
    summary = train(run, None, tmp_path / "killed", log=messages.append)
    assert any("resumed" in m and "step 10" in m for m in messages) and summary["steps"] == 10
    train(run, None, tmp_path / "straight", log=lambda m: None)
    assert metrics_without_time(tmp_path / "killed") == metrics_without_time(tmp_path / "straight")


def test_build_model_from_config_matches_variants():
    lattice, vanilla = build_model(lot_run("lattice")), build_model(lot_run("vanilla"))
    assert isinstance(lattice.blocks[0].attn, M.LatticeAttention)
    assert type(vanilla.blocks[0].attn) is M.VanillaAttention
    assert type(build_model(lot_run("phase")).blocks[0].attn) is M.PhaseAttention
    run = lot_run("vanilla")
    assert vanilla.pos.shape[1] == 2 * run["data"]["prefix_len"] * run["eval"]["length_factor"]  # longer tests fit
