"""heat2d (source 000): the FTCS solver, the data sets, the model's masks (no target leak), training, evaluation."""

import csv

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from testbeds import config as cfg
from testbeds.heat2d import data as heat_data
from testbeds.heat2d import solver
from testbeds.heat2d.model import HeatTransformer, rollout
from testbeds.heat2d.train import train

CONFIG = cfg.load_config([cfg.DEFAULT_CONFIG, cfg.DEFAULT_CONFIG.parent / "test.yaml"])


def heat_run(variant: str = "causal", optimizer: str = "adam95", **sections) -> dict:
    run = cfg.resolve_run(CONFIG, "heat2d", variant, optimizer, 0)
    for section, values in sections.items():
        run[section].update(values)
    return run


# ------------------------------------------------------------------------------------------- solver
def fourier_mode_error(n: int, alpha: float = 0.1, t_end: float = 0.2) -> float:
    """Max error against T = exp(-2π² α t) sin(πx) sin(πy), zero boundaries, at time t_end."""
    x = np.linspace(0, 1, n)
    mode = np.sin(np.pi * x)[None, :] * np.sin(np.pi * x)[:, None]
    dt, substeps = solver.time_step(t_end, alpha, n, n, cfl=0.25)
    frames = solver.solve(mode[None], np.zeros((1, 4)), np.array([alpha]), dt, substeps, 2)
    exact = np.exp(-2 * np.pi**2 * alpha * t_end) * mode
    return float(np.abs(frames[0, -1] - exact).max())


def test_solver_matches_the_analytic_fourier_mode_and_converges():
    errors = [fourier_mode_error(n) for n in (9, 17, 33)]
    assert errors[-1] < 2e-3
    assert errors[0] > errors[1] > errors[2]
    assert errors[0] / errors[2] > 8  # second order in space (dt follows dx²): about 16x per two halvings


def test_boundary_values_are_held_and_the_interior_relaxes_towards_them():
    settings = heat_run()["data"]
    params = solver.sample_parameters({**settings, "samples": 5})
    initial = np.broadcast_to(params["initial"][:, None, None], (5, 8, 8)).copy()
    dt, substeps = solver.time_step(0.5, 0.1, 8, 8, 0.4)
    frames = solver.solve(initial, params["boundary"], np.full(5, 0.1), dt, substeps, 30)
    b = params["boundary"]
    assert np.allclose(frames[:, :, 1:-1, 0], b[:, None, 0:1], atol=1e-6)  # left
    assert np.allclose(frames[:, :, 1:-1, -1], b[:, None, 1:2], atol=1e-6)  # right
    assert np.allclose(frames[:, :, 0, :], b[:, None, 2:3], atol=1e-6)  # bottom (owns its corners)
    assert np.allclose(frames[:, :, -1, :], b[:, None, 3:4], atol=1e-6)  # top
    assert np.ptp(frames[:, 0, 1:-1, 1:-1].reshape(5, -1), axis=1).max() == 0  # a uniform interior to start
    low, high = b.min(axis=1) - 1e-6, b.max(axis=1) + 1e-6
    inside = frames[:, -1, 1:-1, 1:-1].reshape(5, -1)
    between = (np.minimum(low, params["initial"]) - 1e-6)[:, None] <= inside
    assert between.all() and (inside <= np.maximum(high, params["initial"])[:, None] + 1e-6).all()  # max principle


def test_unstable_cfl_is_refused():
    with pytest.raises(ValueError, match="cfl"):
        solver.time_step(0.1, 0.1, 8, 8, cfl=0.6)


# -------------------------------------------------------------------------------------------- data
def test_generation_in_chunks_equals_one_piece_and_is_checksummed(tmp_path):
    settings = heat_run()["data"]
    whole = heat_data.write_dataset({**settings, "chunk": 1000}, tmp_path / "whole", log=lambda m: None)
    chunked = heat_data.write_dataset({**settings, "chunk": 4}, tmp_path / "chunked", log=lambda m: None)
    assert len(chunked["chunks"]["train"]) > 1 and whole["splits"] == chunked["splits"] == {
        "train": 21,
        "val": 6,
        "test": 3,
    }
    for split in heat_data.SPLITS:
        a, b = heat_data.HeatSplit(tmp_path / "whole", split), heat_data.HeatSplit(tmp_path / "chunked", split)
        np.testing.assert_array_equal(a.fields, b.fields)
        assert a.fields.shape[1:] == (8, 8, 8) and np.isfinite(a.fields).all()
    again = heat_data.write_dataset({**settings, "chunk": 4}, tmp_path / "again", log=lambda m: None)
    assert again["sha256"] == chunked["sha256"] and whole["frame_interval"] == pytest.approx(1.0 / 7)


def test_own_array_is_validated_and_split(tmp_path):
    settings = {**heat_run()["data"], "source": "file"}
    fields = np.random.default_rng(0).random((10, 5, 6, 6)).astype(np.float32)
    np.save(tmp_path / "mine.npy", fields)
    manifest = heat_data.write_dataset(
        {**settings, "path": str(tmp_path / "mine.npy")}, tmp_path / "ok", log=lambda m: None
    )
    assert manifest["splits"] == {"train": 7, "val": 2, "test": 1} and manifest["alpha_known"] is False
    np.testing.assert_array_equal(heat_data.HeatSplit(tmp_path / "ok", "test").fields, fields[9:])

    fields[8, 2, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", fields)
    with pytest.raises(heat_data.HeatDataError, match="sample 8"):
        heat_data.write_dataset({**settings, "path": str(tmp_path / "nan.npy")}, tmp_path / "bad", log=lambda m: None)
    np.save(tmp_path / "flat.npy", fields[:, 0])
    with pytest.raises(heat_data.HeatDataError, match=r"\[samples, t"):
        heat_data.write_dataset({**settings, "path": str(tmp_path / "flat.npy")}, tmp_path / "bad2", log=lambda m: None)
    with pytest.raises(heat_data.HeatDataError, match="not a file"):
        heat_data.write_dataset(
            {**settings, "path": str(tmp_path / "missing.npy")}, tmp_path / "bad3", log=lambda m: None
        )


# ------------------------------------------------------------------------------------------- model
def tiny_model(mask: str, time_encoding: str = "rope", context: int = 3) -> HeatTransformer:
    mx.random.seed(0)
    model = HeatTransformer(8, 8, 8, 4, 16, 2, 2, 32, mask, context, time_encoding)
    model.head.weight = mx.random.normal(model.head.weight.shape) * 0.1  # a non-trivial head (it starts at zero)
    return model


def test_patches_round_trip_and_output_shape():
    model = tiny_model("causal")
    fields = mx.random.normal((2, 8, 8, 8))
    patches = model.to_patches(fields[..., None])
    assert patches.shape == (2, 8 * 4, 16)
    assert mx.array_equal(model.from_patches(patches, 8), fields).item()
    assert model(fields, mx.ones((2,))).shape == (2, 8, 8, 8)


@pytest.mark.parametrize("mask", ["causal", "block"])
@pytest.mark.parametrize("time_encoding", ["rope", "sinusoidal"])
def test_no_frame_is_visible_to_the_position_that_predicts_it(mask, time_encoding):
    """Output t predicts frame t + 1; changing frame t must leave every prediction of frames <= t alone."""
    model, context = tiny_model(mask, time_encoding), 3
    fields, alpha = mx.random.normal((2, 8, 8, 8)), mx.array([0.05, 0.1])
    base = np.asarray(model(fields, alpha))
    for t in range(8):
        changed = np.array(fields)
        changed[:, t] += 5.0
        diff = np.abs(np.asarray(model(mx.array(changed), alpha)) - base).max(axis=(0, 2, 3))  # per output
        assert np.all(diff[:t] == 0), (t, diff)  # outputs 0..t-1 predict frames 1..t
        if mask == "block" and t >= context:
            assert np.all(diff == 0)  # frames past the context are never inputs
        elif t < 7:
            assert diff[t:].max() > 1e-4  # later predictions do use it


def test_causal_rollout_feeds_back_its_own_frames():
    model = tiny_model("causal")
    fields, alpha = mx.random.normal((1, 8, 8, 8)), mx.array([0.1])
    rolled = np.asarray(rollout(model, fields, alpha))
    np.testing.assert_array_equal(rolled[:, :3], np.asarray(fields[:, :3]))  # the context is kept
    later = np.array(fields)
    later[:, 3:] = 99.0  # true frames after the context cannot influence a rollout
    np.testing.assert_allclose(np.asarray(rollout(model, mx.array(later), alpha)), rolled, rtol=1e-6, atol=1e-6)
    step = np.asarray(model(mx.array(rolled), alpha))[:, 3]
    np.testing.assert_allclose(rolled[:, 4], step, rtol=1e-5, atol=1e-5)  # frame 4 from frames 0..3 of the rollout


# ---------------------------------------------------------------------------------------- training
def test_relative_l2_interior_leaves_out_the_boundary_and_the_frames_outside_the_window():
    from testbeds.heat2d.evaluate import relative_l2

    truth = np.ones((2, 5, 6, 6))
    pred = truth.copy()
    pred[:, :, 0, :] += 1.0  # wrong on the top edge only
    assert np.all(relative_l2(pred, truth, 1, interior=True) == 0)
    assert np.all(relative_l2(pred, truth, 1) > 0.3)
    pred[:, 4, 2, 2] += 2.0  # an interior error in frame 4 only
    assert np.all(relative_l2(pred, truth, 1, 4, interior=True) == 0)
    assert np.allclose(relative_l2(pred, truth, 4, interior=True), 2.0 / 4.0)  # ‖2‖ / ‖ones(4x4)‖


def rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_short_training_lowers_the_loss_and_evaluation_reports_every_metric(tmp_path):
    from testbeds.heat2d.evaluate import evaluate, quantized

    run = heat_run(train={"epochs": 40, "lr": 3e-3, "eval_every": 1000, "log_every": 5, "checkpoint_every": 1000})
    heat_data.write_dataset(run["data"], tmp_path / "data", log=lambda m: None)
    summary = train(run, tmp_path / "data", tmp_path / "run", log=lambda m: None)
    losses = [float(r["train_loss"]) for r in rows(tmp_path / "run" / "metrics.csv")]
    assert summary["status"] == "ok" and summary["steps"] == 40 * 5
    assert np.mean(losses[-3:]) < 0.7 * losses[0]
    final = evaluate(tmp_path / "run", tmp_path / "data")
    m = final["metrics"]
    # the untrained model is the persistence forecast; training must beat it, not merely stay below 1
    assert final["primary_metric"] == "rollout_rel_l2_interior"
    assert m["rollout_rel_l2_interior"] < 0.8 * m["persistence_rel_l2_interior"]
    assert {"rollout_rel_l2_interior_q8", "one_shot_mse", "rollout_rel_l2", "persistence_rel_l2"} <= set(m)
    # trained on frames 0..5 of 8: frames 6 and 7 are extrapolation, scored on their own
    assert m["trained_frames"] == 6 and {
        "extrapolation_rel_l2_interior",
        "persistence_extrapolation_rel_l2_interior",
    } <= set(m)
    assert final["throughput"]["inference_seconds_per_sample"] > 0  # timings are not metrics: reruns must match
    frame_rows = rows(tmp_path / "run" / "frame_errors.csv")
    assert [int(r["frame"]) for r in frame_rows] == list(range(1, 8))
    assert all(float(r["one_shot_mse"]) >= 0 and float(r["rollout_mse"]) >= 0 for r in frame_rows)  # plain numbers
    model, fraction = quantized(tiny_model("causal"), 8, 32, kernels=True)  # only the MLP output layer is 32 wide
    assert 0 < fraction <= 1 and any(isinstance(m, nn.QuantizedLinear) for _, m in model.named_modules())


def test_dequantised_weights_are_the_quantised_kernels_weights():
    """quantized_kernels off: the same 8-bit weights, float matmuls; the rollout agrees to float rounding."""
    from testbeds.heat2d.evaluate import quantized

    model = tiny_model("causal")
    with_kernels, fraction = quantized(model, 8, 32, kernels=True)
    dequantised, same_fraction = quantized(model, 8, 32, kernels=False)
    assert fraction == same_fraction
    original, floats = dict(model.named_modules()), dict(dequantised.named_modules())
    quantised = {path: m for path, m in with_kernels.named_modules() if isinstance(m, nn.QuantizedLinear)}
    assert quantised
    for path, m in quantised.items():
        weights = mx.dequantize(m.weight, m.scales, m.biases, group_size=32, bits=8)
        assert mx.array_equal(weights, floats[path].weight).item()
        assert not mx.array_equal(floats[path].weight, original[path].weight).item()  # really quantised
    fields, alpha = mx.random.normal((2, 8, 8, 8)), mx.array([0.05, 0.1])
    np.testing.assert_allclose(
        np.asarray(rollout(dequantised, fields, alpha)), np.asarray(rollout(with_kernels, fields, alpha)), atol=1e-5
    )


def test_the_compiled_rollout_computes_the_models_own_steps_with_its_current_weights():
    from mlx.utils import tree_map

    def step_by_step(model, fields, alpha):  # the rollout, calling the model itself
        frames = [fields[:, t] for t in range(model.context)]
        for t in range(model.context - 1, fields.shape[1] - 1):
            known = mx.stack(frames + [mx.zeros_like(frames[0])] * (fields.shape[1] - len(frames)), axis=1)
            frames.append(model(known, alpha)[:, t])
        return np.asarray(mx.stack(frames, axis=1))

    model, fields, alpha = tiny_model("causal"), mx.random.normal((2, 8, 8, 8)), mx.array([0.05, 0.1])
    before = np.asarray(rollout(model, fields, alpha))
    np.testing.assert_array_equal(before, step_by_step(model, fields, alpha))
    model.update(tree_map(lambda w: w * 1.1, model.parameters()))  # as training does between validations
    after = np.asarray(rollout(model, fields, alpha))
    assert not np.array_equal(after, before)
    np.testing.assert_array_equal(after, step_by_step(model, fields, alpha))


def test_pde_loss_without_alpha_is_a_clear_error(tmp_path):
    run = heat_run(loss={"pde": 1e-3})
    run["data"].update(source="file", path=str(tmp_path / "mine.npy"))
    np.save(tmp_path / "mine.npy", np.random.default_rng(0).random((20, 8, 8, 8)).astype(np.float32))
    heat_data.write_dataset(run["data"], tmp_path / "data", log=lambda m: None)
    with pytest.raises(ValueError, match="loss.pde"):
        train(run, tmp_path / "data", tmp_path / "run", log=lambda m: None)


def test_fourier_features_make_every_patch_distinct_at_initialisation():
    model = HeatTransformer(8, 8, 4, 2, 16, 2, 1, 32, "causal", 2)
    rows = np.array(model.to_patches(model.fourier()[None, None]))[0]  # (16 patches, 2 x 2 pixels x 2 channels)
    assert len(np.unique(rows.round(6), axis=0)) == len(rows)


def test_rope_rotates_each_token_by_its_frame_index():
    model = HeatTransformer(8, 8, 4, 4, 16, 2, 1, 32, "causal", 2)
    attention, frames, patches = model.blocks[0].attn, 5, 4
    x = mx.random.normal((1, 2, frames * patches, 8), key=mx.random.key(0))
    rotated = np.array(attention.rotate_by_frame(x, frames))
    for j in range(patches):  # a patch's tokens over the frames, rotated as a sequence of positions 0, 1, ...
        tokens = [f * patches + j for f in range(frames)]
        np.testing.assert_allclose(rotated[:, :, tokens], np.array(nn.RoPE(8, base=100.0)(x[:, :, tokens])), atol=1e-6)
    assert not np.allclose(rotated[:, :, patches:], np.array(x[:, :, patches:]))  # frames after 0 do move


def test_every_optimizer_gets_the_same_learning_rate_schedule(tmp_path):
    """The source's code gave Adam and Kβ different schedules; here the schedule is the workload's, also when it
    is the source's own piecewise one by epoch (train.schedule: source)."""
    settings = {"epochs": 4, "schedule": "source", "lr_schedule": "1:2e-3,3:5e-4", "eval_every": 100, "log_every": 1}
    schedules = {}
    for optimizer in ("adam95", "kbeta", "sgd"):
        run = heat_run(optimizer=optimizer, train={**settings, "checkpoint_every": 100})
        if not (tmp_path / "data").exists():
            heat_data.write_dataset(run["data"], tmp_path / "data", log=lambda m: None)
        train(run, tmp_path / "data", tmp_path / optimizer, log=lambda m: None)
        schedules[optimizer] = [(r["step"], float(r["lr"])) for r in rows(tmp_path / optimizer / "metrics.csv")]
    assert schedules["adam95"] == schedules["kbeta"] == schedules["sgd"]
    assert {lr for _, lr in schedules["adam95"]} == {2e-3, 5e-4}  # both pieces of the schedule were used
