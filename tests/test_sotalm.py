"""sotalm (PyTorch): components against their definitions, tokenizer, KV-cache generation, training."""

import csv
import math

import numpy as np
import pytest
import torch

from testbeds import config as cfg
from testbeds.data import tokens
from testbeds.sotalm import evaluate as sota_eval
from testbeds.sotalm import model as M
from testbeds.sotalm.train import train

from helpers import REPO


def test_rope_is_a_rotation_with_relative_position_dot_products():
    cos, sin = M.rope_tables(64, 16)
    q, k = torch.randn(16), torch.randn(16)

    def rot(v, pos):
        return M.apply_rope(v.view(1, 1, 1, 16), cos[pos : pos + 1], sin[pos : pos + 1]).view(16)

    for pos in (0, 5, 63):
        assert rot(q, pos).norm() == pytest.approx(q.norm().item(), rel=1e-5)  # preserves norms
    assert rot(q, 10) @ rot(k, 3) == pytest.approx((rot(q, 27) @ rot(k, 20)).item(), rel=1e-4, abs=1e-5)
    assert rot(q, 10) @ rot(k, 3) != pytest.approx((rot(q, 10) @ rot(k, 4)).item(), rel=1e-3)
    # each pair (i, i + d/2) turns by pos * base^(-2i/d)
    i, pos = 3, 7
    angle = pos * 10000 ** (-2 * i / 16)
    v = torch.zeros(16)
    v[i] = 1.0
    assert (rot(v, pos)[i].item(), rot(v, pos)[i + 8].item()) == pytest.approx(
        (math.cos(angle), math.sin(angle)), abs=1e-6
    )


def test_swiglu_matches_its_definition_and_the_seed_hidden_size():
    assert M.swiglu_hidden(512) == 1536 and M.swiglu_hidden(128) == 512
    mlp = M.SwiGLU(16)
    x = torch.randn(2, 16, dtype=torch.float64)
    mlp = mlp.double()
    # SwiGLU(x) = W_down (silu(W_gate x) ⊙ W_up x), silu(z) = z σ(z), in NumPy from the weight matrices
    gate, up, down = (m.weight.detach().numpy() for m in (mlp.gate, mlp.up, mlp.down))
    z = x.numpy() @ gate.T
    expected = (z / (1 + np.exp(-z)) * (x.numpy() @ up.T)) @ down.T
    np.testing.assert_allclose(mlp(x).detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    assert all(not hasattr(m, "bias") or m.bias is None for m in (mlp.gate, mlp.up, mlp.down))


def tiny_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return M.SotaTransformer(50, d_model=32, n_head=4, n_layer=2, seq_len=24, dropout=dropout).eval()


def test_model_is_causal():
    model = tiny_model()
    x = torch.randint(0, 50, (1, 20))
    changed = x.clone()
    changed[0, 12] = (changed[0, 12] + 1) % 50
    a, b = model(x), model(changed)
    torch.testing.assert_close(a[0, :12], b[0, :12])
    assert not torch.allclose(a[0, 12:], b[0, 12:])


def test_cached_generation_equals_uncached():
    model = tiny_model()
    prompt = torch.randint(0, 50, (2, 5))
    greedy = [model.generate(prompt, 15, temperature=0, use_cache=c) for c in (True, False)]
    assert torch.equal(*greedy) and greedy[0].shape == (2, 20)
    sampled = [
        model.generate(prompt, 15, generator=torch.Generator().manual_seed(3), use_cache=c) for c in (True, False)
    ]
    assert torch.equal(*sampled)
    caches = [{} for _ in model.blocks]
    full = model(greedy[0][:, :12])
    step_logits = [model(greedy[0][:, :5], caches)[:, -1]]
    step_logits += [model(greedy[0][:, i : i + 1], caches, start=i)[:, -1] for i in range(5, 12)]
    torch.testing.assert_close(torch.stack(step_logits, 1), full[:, 4:12], rtol=1e-4, atol=1e-5)
    assert model.generate(prompt, 100, temperature=0).shape[1] == 24  # stops at seq_len


def test_top_k_and_top_p_filter_but_keep_the_best_token():
    logits = torch.tensor([[4.0, 3.0, 0.0, -1.0, -2.0]])
    gen = torch.Generator().manual_seed(0)
    picks = {M.sample(logits, 1.0, 2, None, gen).item() for _ in range(200)}
    assert picks == {0, 1}
    picks = {M.sample(logits, 1.0, None, 0.01, gen).item() for _ in range(50)}
    assert picks == {0}  # the top token alone already exceeds p


def test_tokenizer_round_trip(tmp_path):
    corpus = tmp_path / "train.txt"
    corpus.write_text(
        "Once upon a time, a little model learned to count. 1 2 3!\n" * 50 + "Ünïcode ✓\n", encoding="utf-8"
    )
    tok = tokens.train_tokenizer(corpus, 300, tmp_path / "tokenizer.json")
    for text in ("Once upon a time, a little model", "Ünïcode ✓ and unseen bytes: 你好", ""):
        assert tok.decode(tok.encode(text).ids) == text
    assert tok.get_vocab_size() <= 300


@pytest.fixture(scope="module")
def token_dir(tmp_path_factory):
    from testbeds.data.corpus import slice_corpus

    root = tmp_path_factory.mktemp("sotalm")
    slice_corpus("embedded", None, None, 40_000, 0.1, 0.1, root)
    tokens.train_tokenizer(root / "train.txt", 300, root / "bpe" / "tokenizer.json")
    tokens.tokenize(root / "bpe" / "tokenizer.json", root, root / "bpe")
    return root / "bpe"


def sota_run(optimizer="adamw", **train_settings):
    config = cfg.load_config([cfg.DEFAULT_CONFIG, REPO / "config" / "test.yaml"])
    run = cfg.resolve_run(config, "sotalm", "base", optimizer, 0)
    run["train"].update(train_settings)
    return run


def test_training_lowers_the_loss_and_writes_the_contract(token_dir, tmp_path):
    run = sota_run("kbeta", steps=40, eval_every=10, lr=1e-2)
    summary = train(run, token_dir, tmp_path, log=lambda m: None)
    assert summary["status"] == "ok" and summary["steps"] == 40
    rows = list(csv.DictReader(open(tmp_path / "metrics.csv")))
    evals = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert evals[-1] < evals[0] - 0.3
    assert rows[-1]["beta2_mean"] and rows[0]["lr"]
    final = sota_eval.evaluate(tmp_path, token_dir)
    assert final["primary_metric"] == "test_loss" and math.isfinite(final["primary_value"])
    assert final["metrics"]["test_perplexity"] == pytest.approx(math.exp(final["primary_value"]))
    assert len(final["samples"]) == len(run["eval"]["prompts"]) and final["samples"][0]["continuation"]


def test_adamw_decays_matrices_only():
    from testbeds.optim import torch_optim

    model = tiny_model()
    groups = torch_optim.parameter_groups(model, {"algorithm": "adamw", "weight_decay": 0.1})
    decayed = {n for g in groups if g["weight_decay"] > 0 for n in g["param_names"]}
    assert decayed and all(dict(model.named_parameters())[n].ndim == 2 for n in decayed)
    assert "norm.weight" not in decayed and "blocks.0.attn_norm.weight" not in decayed


def test_epochs_set_the_number_of_steps(token_dir, tmp_path):
    run = sota_run("adamw", steps=None, epochs=0.5, eval_every=1000)
    summary = train(run, token_dir, tmp_path, log=lambda m: None)
    n_tokens = np.memmap(token_dir / "train.bin", dtype=np.uint16, mode="r").shape[0]
    per_epoch = (len(range(0, n_tokens - 32, 33))) // 4
    assert summary["steps"] == int(0.5 * per_epoch) == summary["steps_per_epoch"] // 2


def test_the_model_uses_torch_rmsnorm():
    model = M.SotaTransformer(vocab_size=50, d_model=16, n_head=2, n_layer=1, seq_len=8, dropout=0.0)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.RMSNorm)]
    assert len(norms) == 3 and all(n.eps == 1e-5 for n in norms)
