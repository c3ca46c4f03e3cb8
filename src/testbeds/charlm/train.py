"""Training loop of the charlm workload (Testbed D, seed 001) in MLX.

Writes the run contract (DESIGN.md) into ``run_dir``: metrics.csv, provenance.json,
checkpoint/ and train.json (the training summary that ``evaluate`` turns into
final.json). A killed run resumes from its newest valid checkpoint and ends with
the same numbers as one that was never interrupted.
"""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
from mlx.utils import tree_flatten, tree_map, tree_unflatten

from testbeds.charlm.data import BatchSampler, CharCorpus, fixed_eval_batch
from testbeds.charlm.model import CharTransformer, count_parameters, cross_entropy
from testbeds.config import config_hash
from testbeds.devices import resolve_mlx
from testbeds.early_stop import EarlyStopping
from testbeds.optim import mlx_optim
from testbeds.optim.registry import summarise_buckets
from testbeds.runio import Checkpoints, MetricsLog, atomic_write_json, provenance
from testbeds.schedule import lr_at, parse_lr_schedule

PACKAGES = ["mlx", "kbeta", "numpy"]
LN2 = math.log(2.0)
BASE_COLUMNS = ["step", "wall_seconds", "train_loss", "lr", "tokens", "seq_len", "val_loss", "val_bpc"]
KBETA_COLUMNS = list(summarise_buckets({"": (0.0, 0.0)}))


def say(message: str) -> None:
    print(message, flush=True)


def build_model(run: dict, vocab_size: int) -> CharTransformer:
    mx.random.seed(run["seed"])
    return CharTransformer(vocab_size, **run["model"])


def decays(path: str, train: dict) -> bool:
    """Testbed D's decoupled weight decay skips biases, LayerNorms and embeddings unless asked."""
    if path.endswith("bias"):
        return train["wd_bias"]
    if ".ln" in path or path.startswith("ln"):
        return train["wd_norm"]
    if path.startswith(("tok.", "pos.")):
        return train["wd_embed"]
    return True


def mean_ce(model: nn.Module, x: np.ndarray, y: np.ndarray, chunk: int = 32) -> float:
    """Mean cross-entropy (nats per character) of ``model`` on ``x -> y``, in chunks."""
    total = 0.0
    for i in range(0, len(x), chunk):
        logits = model(mx.array(x[i : i + chunk]))
        total += cross_entropy(logits, mx.array(y[i : i + chunk])).item() * len(x[i : i + chunk])
    return total / len(x)


def save_weights(model: nn.Module, path: Path) -> None:
    mx.save_safetensors(str(path), dict(tree_flatten(model.parameters())))


def load_weights(model: nn.Module, path: Path) -> None:
    model.update(tree_unflatten(list(mx.load(str(path)).items())))


class Trainer:
    """One charlm run: model, optimiser, data stream, logs and checkpoints."""

    def __init__(self, run: dict, data_dir: Path, run_dir: Path, log=say):
        self.run, self.run_dir, self.log = run, Path(run_dir), log
        self.settings = run["train"]
        self.hash = config_hash(run)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.device = resolve_mlx(run["device"])
        self.corpus = CharCorpus(data_dir)
        self.model = build_model(run, self.corpus.vocab_size)
        self.opt = mlx_optim.make_optimizer(run["optimizer"], self.settings["lr"])
        mlx_optim.init_state(self.opt, self.model.trainable_parameters())
        t = self.settings
        self.sampler = BatchSampler(self.corpus.train, t["batch"], t["lmin"], t["lmax"], t["len_bucket"],
                                    run["model"]["ctx"], t["deterministic"], run["seed"])
        self.eval_x, self.eval_y = fixed_eval_batch(self.corpus.val, t["eval_bs"], min(256, run["model"]["ctx"]),
                                                    t["fixed_eval_seed"])
        self.early = EarlyStopping(**t["early_stop"])
        self.lr_points = parse_lr_schedule(t["lr_schedule"])
        self.kbeta_diag = bool(mlx_optim.bucket_diagnostics(self.opt))
        self.metrics = MetricsLog(self.run_dir, BASE_COLUMNS + (KBETA_COLUMNS if self.kbeta_diag else []))
        self.buckets = MetricsLog(self.run_dir, ["step", "bucket", "sunspike", "beta2"], name="kbeta_buckets")
        self.checkpoints = Checkpoints(self.run_dir, log=log)
        self.step, self.tokens, self.wall_before, self.train_seconds = 0, 0, 0.0, 0.0
        self.window = [0.0, 0]  # sum and count of train losses since the last logged row
        self.terminate = False

    # ----------------------------------------------------------------- state
    def save_checkpoint(self) -> None:
        def write(tmp: Path) -> None:
            save_weights(self.model, tmp / "model.safetensors")
            mx.save_safetensors(str(tmp / "optimizer.safetensors"), mlx_optim.state_arrays(self.opt))

        meta = {"config_hash": self.hash, "tokens": self.tokens, "wall_seconds": self.wall(),
                "train_seconds": self.train_seconds, "window": self.window, "sampler": self.sampler.state(),
                "early_stop": self.early.state()}
        self.checkpoints.save(self.step, write, meta)

    def resume(self) -> None:
        found = self.checkpoints.latest(self.hash)
        if found is None:
            self.metrics.restart(0)
            self.buckets.restart(0)
            return
        path, meta = found
        load_weights(self.model, path / "model.safetensors")
        mlx_optim.load_state(self.opt, mx.load(str(path / "optimizer.safetensors")))
        self.sampler.restore(meta["sampler"])
        self.early = EarlyStopping.from_state(meta["early_stop"])
        self.step, self.tokens = meta["step"], meta["tokens"]
        self.wall_before, self.train_seconds, self.window = meta["wall_seconds"], meta["train_seconds"], meta["window"]
        self.metrics.restart(self.step)
        self.buckets.restart(self.step)
        self.log(f"resumed from {path} at step {self.step}")

    def wall(self) -> float:
        return self.wall_before + time.perf_counter() - self.session_start

    # ------------------------------------------------------------------ step
    def make_step(self):
        model, opt, wd = self.model, self.opt, self.settings["wd"]
        decay = {path: decays(path, self.settings) for path, _ in tree_flatten(model.trainable_parameters())}
        decay_tree = tree_unflatten(list(decay.items()))
        loss_and_grad = nn.value_and_grad(model, lambda m, x, y: cross_entropy(m(x), y))

        def step(x: mx.array, y: mx.array, lr: mx.array) -> mx.array:
            loss, grads = loss_and_grad(model, x, y)
            if wd > 0:  # decoupled: p <- p (1 - lr wd) before the update
                model.update(tree_map(lambda p, d: p * (1 - lr * wd) if d else p,
                                      model.trainable_parameters(), decay_tree))
            opt.state["learning_rate"] = lr
            mlx_optim.apply_update(opt, model, grads)
            return loss

        if not self.settings["compile"]:
            return step
        state = [model.state, opt.state]
        return mx.compile(step, inputs=state, outputs=state)

    def evaluate_fixed(self) -> dict:
        loss = mean_ce(self.model, self.eval_x, self.eval_y)
        return {"val_loss": loss, "val_bpc": loss / LN2}

    def log_row(self, lr: float, seq_len: int, evaluate: bool) -> tuple[dict, bool]:
        loss_sum, count = self.window
        row = {"step": self.step, "wall_seconds": self.wall(), "train_loss": loss_sum / max(count, 1),
               "lr": lr, "tokens": self.tokens, "seq_len": seq_len}
        self.window = [0.0, 0]
        stop = False
        if evaluate:
            row.update(self.evaluate_fixed())
            stop = self.early.update(row["val_loss"])
        buckets = mlx_optim.bucket_diagnostics(self.opt)
        row.update(summarise_buckets(buckets))
        if buckets:
            for key, (spike, beta2) in buckets.items():
                self.buckets.append({"step": self.step, "bucket": key, "sunspike": spike, "beta2": beta2})
        self.metrics.append(row)
        return row, stop

    # ------------------------------------------------------------------- run
    def train(self) -> dict:
        t = self.settings
        self.session_start = time.perf_counter()
        self.resume()
        atomic_write_json(self.run_dir / "provenance.json", provenance(
            self.run, self.device, PACKAGES, self.corpus.manifest,
            {"parameters": count_parameters(self.model), "blas": _blas()}))
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        step_fn = self.make_step()
        status, stop_reason = "ok", "steps"
        try:
            while self.step < t["steps"]:
                x, y = self.sampler.next()
                lr = lr_at(self.step + 1, t["lr"], self.lr_points)
                started = time.perf_counter()
                loss = step_fn(mx.array(x), mx.array(y), mx.array(lr, dtype=mx.float32))
                mx.eval(loss, self.model.parameters(), self.opt.state)
                loss = loss.item()
                self.train_seconds += time.perf_counter() - started
                self.step += 1
                self.tokens += x.size
                self.window = [self.window[0] + loss, self.window[1] + 1]
                if not math.isfinite(loss):
                    status, stop_reason = "diverged", f"train loss {loss} at step {self.step}"
                    self.log_row(lr, x.shape[1], evaluate=False)
                    break
                last = self.step == t["steps"]
                evaluate = self.step == 1 or self.step % t["eval_every"] == 0 or last
                if evaluate or self.step % t["log_every"] == 0:
                    row, stop_early = self.log_row(lr, x.shape[1], evaluate)
                    self._progress(row)
                    if stop_early:
                        stop_reason = f"early stop at step {self.step} (no val improvement in {t['early_stop']['patience']} checks)"
                        break
                if self.step % t["checkpoint_every"] == 0 or self.terminate:
                    self.save_checkpoint()
                if self.terminate:
                    raise SystemExit(f"SIGTERM: checkpoint saved at step {self.step}; re-run to resume")
            self.save_checkpoint()
        finally:
            signal.signal(signal.SIGTERM, previous)
        best_val_bpc = min((float(r["val_bpc"]) for r in self.metrics.rows() if r["val_bpc"]), default=None)
        self.metrics.finish()
        self.buckets.finish()
        summary = {
            "status": status, "stop_reason": stop_reason, "steps": self.step, "wall_seconds": self.wall(),
            "train_seconds": self.train_seconds, "tokens": self.tokens,
            "tokens_per_second": self.tokens / self.train_seconds if self.train_seconds else None,
            "best_val_bpc": best_val_bpc,
            "parameters": count_parameters(self.model), "device": self.device, "config_hash": self.hash,
        }
        atomic_write_json(self.run_dir / "train.json", summary)
        return summary

    def _on_sigterm(self, signum, frame) -> None:
        self.terminate = True

    def _progress(self, row: dict) -> None:
        val = f" val_bpc {row['val_bpc']:.4f}" if "val_bpc" in row else ""
        self.log(f"step {row['step']:>6}/{self.settings['steps']} loss {row['train_loss']:.4f}{val} "
                 f"lr {row['lr']:.2e} {self.tokens / max(self.train_seconds, 1e-9):,.0f} tok/s")


def _blas() -> str:
    import os

    from testbeds.blas import MARKER

    return os.environ.get(MARKER, "not set")


def train(run: dict, data_dir: Path, run_dir: Path, log=say) -> dict:
    return Trainer(run, data_dir, run_dir, log).train()
