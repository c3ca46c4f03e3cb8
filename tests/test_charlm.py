"""charlm (MLX): the model, bits per character, batches, Kβ buckets, the run contract, resume."""

import csv
import json
import math

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from testbeds.charlm import evaluate as charlm_eval
from testbeds.charlm.data import BatchSampler, CharCorpus, validation_windows
from testbeds.charlm.model import CharTransformer, cross_entropy
from testbeds.charlm.train import Trainer, train
from testbeds.optim.registry import make_optimizer
from testbeds.runio import read_json

from helpers import metrics_without_time, tiny_run


def numpy_ce(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(-1, keepdims=True)
    logsumexp = np.log(np.exp(shifted).sum(-1)) + logits.max(-1)
    return float(np.mean(logsumexp - np.take_along_axis(logits, targets[..., None], -1)[..., 0]))


def test_cross_entropy_is_mean_logsumexp_minus_target_logit():
    rng = np.random.default_rng(0)
    logits, targets = rng.normal(size=(3, 7, 11)).astype(np.float32), rng.integers(0, 11, size=(3, 7))
    assert cross_entropy(mx.array(logits), mx.array(targets)).item() == pytest.approx(
        numpy_ce(logits, targets), rel=1e-5
    )


def test_validation_bpc_covers_every_character_once():
    mx.random.seed(0)
    model = CharTransformer(13, d_model=16, n_layer=1, n_head=2, ctx=8)
    tokens = np.random.default_rng(1).integers(0, 13, size=45)
    windows = validation_windows(tokens, 8)
    assert sum(len(y) for _, y in windows) == len(tokens) - 1
    assert np.array_equal(np.concatenate([y for _, y in windows]), tokens[1:])
    by_hand = sum(numpy_ce(np.array(model(mx.array(x[None]))), y[None]) * len(y) for x, y in windows) / (
        len(tokens) - 1
    )
    assert charlm_eval.validation_ce(model, tokens, ctx=8, batch=2) == pytest.approx(by_hand, rel=1e-5)


def test_model_is_causal():
    mx.random.seed(0)
    model = CharTransformer(20, d_model=16, n_layer=2, n_head=2, ctx=16)
    x = np.random.default_rng(0).integers(0, 20, size=(1, 16))
    changed = x.copy()
    changed[0, 10] = (changed[0, 10] + 1) % 20
    a, b = np.array(model(mx.array(x))), np.array(model(mx.array(changed)))
    assert np.array_equal(a[0, :10], b[0, :10])
    assert not np.allclose(a[0, 10:], b[0, 10:])


def test_batch_lengths_are_bucketed_capped_and_resumable():
    tokens = np.arange(5000) % 50
    sampler = BatchSampler(tokens, batch=3, lmin=5, lmax=60, len_bucket=16, ctx=48, deterministic=False, seed=4)
    lengths = [sampler.next()[0].shape[1] for _ in range(50)]
    assert set(lengths) <= {16, 32, 48} and len(set(lengths)) > 1
    state = sampler.state()
    ahead = [sampler.next() for _ in range(3)]
    sampler.restore(state)
    again = [sampler.next() for _ in range(3)]
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(ahead, again))
    fixed = BatchSampler(tokens, batch=3, lmin=5, lmax=60, len_bucket=16, ctx=48, deterministic=True, seed=4)
    x, y = fixed.next()
    assert x.shape == (3, 48) and np.array_equal(x[:, 1:], y[:, :-1])


@pytest.mark.parametrize("mode, expected", [("per-array", "params"), ("shape", "shapes"), ("global", 1)])
def test_kbeta_buckets_are_stable_across_steps(config, small_corpus, tmp_path, mode, expected):
    run = tiny_run(config, "kbeta")
    run["optimizer"]["layer_bucket"] = mode
    trainer = Trainer(run, small_corpus, tmp_path, log=lambda m: None)
    params = dict(tree_flatten(trainer.model.trainable_parameters()))
    want = {"params": len(params), "shapes": len({p.shape for p in params.values()}), 1: 1}[expected]
    step = trainer.make_step()
    emas = []
    x, y = trainer.sampler.next()  # the same batch and a tiny learning rate: the gradient norm n stays put
    for _ in range(4):
        mx.eval(step(mx.array(x), mx.array(y), mx.array(1e-7)), trainer.opt.state)
        stats = trainer.opt.state["_layer_stats"]
        assert len(stats) == want
        emas.append(float(next(iter(stats.values()))["grad_ema"].item()))
    alpha = run["optimizer"]["alpha"]
    # from 0, ema_k = (1 - α^k) n: four steps hold (1 - α⁴)/(1 - α) ≈ 3.6 times the first; restarting
    # every step (new bucket keys) would keep it at (1 - α) n
    np.testing.assert_allclose(emas[-1] / emas[0], (1 - alpha**4) / (1 - alpha), rtol=0.01)


def test_kbeta_default_id_keys_would_grow(config, small_corpus, tmp_path):
    """The trap BucketKeys avoids: kbeta's id() keys give new buckets every step."""
    import mlx.nn as nn
    from kbeta import KourkoutasSoftmaxFlex

    mx.random.seed(0)
    model = nn.Linear(4, 4)
    opt = KourkoutasSoftmaxFlex(learning_rate=1e-3)
    grad = nn.value_and_grad(model, lambda m, x: (m(x) ** 2).sum())
    sizes = []
    for _ in range(3):
        _, g = grad(model, mx.ones((2, 4)))
        opt.update(model, g)
        mx.eval(model.parameters(), opt.state)
        sizes.append(len(opt.state["_layer_stats"]))
    assert sizes[-1] > sizes[0]


def test_training_writes_the_run_contract(config, small_corpus, tmp_path):
    run = tiny_run(config, "kbeta", steps=24, eval_every=8)
    summary = train(run, small_corpus, tmp_path, log=lambda m: None)
    assert summary["status"] == "ok" and summary["steps"] == 24
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [1] + list(range(2, 25, 2))
    assert {"step", "wall_seconds", "train_loss", "lr", "val_bpc", "beta2_mean", "sunspike_mean"} <= set(rows[0])
    evals = [r for r in rows if r["val_bpc"]]
    assert [int(r["step"]) for r in evals] == [1, 8, 16, 24]
    assert float(evals[-1]["val_bpc"]) < float(evals[0]["val_bpc"])  # it learns
    assert all(float(r["val_bpc"]) == pytest.approx(float(r["val_loss"]) / math.log(2)) for r in evals)
    prov = read_json(tmp_path / "provenance.json")
    assert prov["config"] == run and prov["seed"] == 0 and prov["device"] == "cpu"
    assert prov["packages"]["mlx"] and prov["data"]["train_sha256"]
    assert not (tmp_path / "metrics.partial.csv").exists()
    final = charlm_eval.evaluate(tmp_path, small_corpus)
    assert final["status"] == "ok" and final["primary_metric"] == "test_bpc" and final["direction"] == "min"
    assert final["curve_metric"] == "val_bpc" and final["split"] == "test"
    corpus = CharCorpus(small_corpus)
    assert final["metrics"]["test_units"] == len(corpus.test) - 1 and not np.array_equal(corpus.test, corpus.val)
    assert math.isfinite(final["primary_value"]) and final["primary_value"] < math.log2(corpus.vocab_size)
    assert json.loads((tmp_path / "final.json").read_text())["config_hash"] == prov["config_hash"]


def test_corrupt_checkpoint_falls_back_to_an_older_one(config, small_corpus, tmp_path):
    run = tiny_run(config, "adam999", steps=8, checkpoint_every=4)
    train(run, small_corpus, tmp_path, log=lambda m: None)
    newest = sorted((tmp_path / "checkpoint").glob("step-*"))[-1]
    with open(newest / "model.safetensors", "r+b") as handle:
        handle.seek(100)
        handle.write(b"garbage")
    messages = []
    from testbeds.runio import Checkpoints

    path, meta = Checkpoints(tmp_path, log=messages.append).latest()
    assert meta["step"] == 4 and "checksum" in messages[0]


def test_early_stopping_stops_training(config, small_corpus, tmp_path):
    run = tiny_run(
        config, "adam999", steps=40, eval_every=4, early_stop={"patience": 2, "min_delta": 100.0, "warmup": 0}
    )
    summary = train(run, small_corpus, tmp_path, log=lambda m: None)
    # checks at steps 1 (sets best), 4 and 8 (no improvement > 100 nats): stop at step 8
    assert summary["steps"] == 8 and "early stop" in summary["stop_reason"]
    final = charlm_eval.evaluate(tmp_path, small_corpus)
    assert final["steps"] == 8 and final["status"] == "ok"


def test_absent_device_is_a_clear_error(config, small_corpus, tmp_path):
    from testbeds.devices import DeviceError

    run = tiny_run(config)
    run["device"] = "cuda"
    with pytest.raises(DeviceError, match="cuda"):
        train(run, small_corpus, tmp_path, log=lambda m: None)


def test_optimizer_factory_uses_framework_implementations(config):
    import mlx.optimizers as optim
    from kbeta import KourkoutasSoftmaxFlex

    assert isinstance(make_optimizer("mlx", config["optimizers"]["adam999"], 1e-3), optim.Adam)
    assert isinstance(make_optimizer("mlx", config["optimizers"]["adamw"], 1e-3), optim.AdamW)
    kbeta = make_optimizer("mlx", config["optimizers"]["kbeta"], 1e-3)
    assert isinstance(kbeta, KourkoutasSoftmaxFlex) and kbeta.bias_correction == "beta2max"


def test_a_finished_run_run_again_starts_over(config, small_corpus, tmp_path):
    """Snakemake re-runs a finished job (its code changed, say) after removing its outputs: the old final
    checkpoint must not be resumed into an empty metrics log."""
    run = tiny_run(config)
    train(run, small_corpus, tmp_path, log=lambda m: None)
    first = metrics_without_time(tmp_path)
    for name in ("metrics.csv", "train.json", "provenance.json", "optimizer_diagnostics.csv"):
        (tmp_path / name).unlink()
    messages = []
    train(run, small_corpus, tmp_path, log=messages.append)
    assert any("starting over" in m for m in messages)
    assert metrics_without_time(tmp_path) == first and len(first) > 2


def test_a_byte_level_corpus_is_scored_in_bits_per_byte(config, tmp_path):
    from testbeds.data.corpus import slice_corpus

    slice_corpus("embedded", None, None, 20_000, 0.1, 0.1, tmp_path / "data", unit="byte")
    corpus = CharCorpus(tmp_path / "data")
    assert corpus.bits_metric == "val_bpb" and corpus.vocab_size <= 256
    run = tiny_run(config)
    train(run, tmp_path / "data", tmp_path / "run", log=lambda m: None)
    assert "val_bpb" in (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    final = charlm_eval.evaluate(tmp_path / "run", tmp_path / "data")
    assert final["primary_metric"] == "test_bpb" and "test_bpc" not in final["metrics"]
    assert final["metrics"]["test_bpb"] == pytest.approx(final["metrics"]["test_loss"] / math.log(2))
