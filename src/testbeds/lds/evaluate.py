"""Final evaluation of an lds run: teacher-forced score on fresh sequences and autoregressive rollouts.

lds: score = model MSE / Kalman MSE on the same sequences and steps (1.0 = Kalman-optimal); rollouts
of ``rollout_horizon`` steps after ``rollout_warmup`` observed ones, the model feeding back its own
predictions through its KV cache and the Kalman filter forecasting open-loop from x̂_{W|W}:
score_t+h = mean model error² at h / mean KF error² at h, written to rollout.csv, with a few
trajectories in trajectories.npz for the figure.
bigram: cross-entropy minus the entropy floor (primary), accuracy, perplexity; sampled rollouts from
one-token prompts give the KL between sampled and true transition rows (and the same statistic for
samples of the true chain, the floor that finite sampling sets).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np

from testbeds.evaluation import Description, Evaluation, Scores
from testbeds.jax_loop import load_params, use_device
from testbeds.lds import ROLLOUT_COLUMNS
from testbeds.lds import data as systems
from testbeds.lds.model import build_model, generate
from testbeds.lds.task import Evaluator, Task, load_item, params_shape, system_index
from testbeds.runio import read_json

FINAL_KEY = 7  # evaluation sequences differ from the training stream and the periodic evaluation batch
REPORTED_HORIZONS = (1, 2, 8, 16, 32, 64)


def rollout_lds(task: Task, params, key, e: dict) -> tuple[list[dict], dict[str, np.ndarray]]:
    d = task.run["data"]
    W, H, n = e["rollout_warmup"], e["rollout_horizon"], e["rollout_sequences"]
    ys = np.asarray(task.sample(key, n, W + H), dtype=np.float64)
    model = np.concatenate(
        [np.asarray(generate(task.model, params, ys[i : i + 256, :W].astype(np.float32), H)) for i in range(0, n, 256)]
    )
    Q, R = systems.noise_covariances(d["dim_x"], d["dim_y"], d["sigma"], d["obs_noise"])
    _, _, kf = systems.kalman_filter(task.item["A"], task.item["C"], Q, R, ys[:, :W], horizon=H)
    truth = ys[:, W:]
    model_mse, kf_mse = ((model - truth) ** 2).mean(axis=(0, 2)), ((kf - truth) ** 2).mean(axis=(0, 2))
    zero_mse = (truth**2).mean(axis=(0, 2))  # the trivial forecast 0, which long horizons approach
    rows = [
        {
            "h": h + 1,
            "model_mse": float(model_mse[h]),
            "kf_mse": float(kf_mse[h]),
            "zero_mse": float(zero_mse[h]),
            "score": float(model_mse[h] / kf_mse[h]),
            "model_skill": float(1 - model_mse[h] / zero_mse[h]),
            "kf_skill": float(1 - kf_mse[h] / zero_mse[h]),
        }
        for h in range(H)
    ]
    k = e["trajectories"]
    return rows, {"observed": ys[:k], "model": model[:k], "kalman": kf[:k], "warmup": np.array(W)}


def rollout_bigram(task: Task, params, key, e: dict) -> dict:
    P = task.item["P"]
    k_prompt, k_sample = jax.random.split(key)
    prompts = jax.random.randint(k_prompt, (e["rollout_sequences"], 1), 0, len(P))
    tokens = np.concatenate(
        [np.asarray(prompts), np.asarray(generate(task.model, params, prompts, e["rollout_horizon"], k_sample))], axis=1
    )
    true_chain = systems.sample_chain(np.random.default_rng(FINAL_KEY), P, *tokens.shape)
    mode = P.argmax(axis=1)
    return {
        "sampled_kl": systems.empirical_kl(P, tokens, e["min_count"]),
        "sampled_kl_true_chain": systems.empirical_kl(P, true_chain, e["min_count"]),
        "mode_accuracy": float(np.mean(tokens[:, 1:] == mode[tokens[:, :-1]])),
    }


def rollout_table(rows: list[dict]) -> str:
    lines = [",".join(ROLLOUT_COLUMNS)] + [",".join(repr(r[c]) for c in ROLLOUT_COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


class LdsEvaluation(Evaluation):
    """Teacher-forced metrics on fresh sequences and, for linear systems, open-loop rollouts (rollout.csv,
    trajectories.npz; no rows for bigram chains or a diverged run)."""

    def describe(self, run: dict, summary: dict, data_dir: Path) -> Description:
        primary = "score" if run["data"]["task"] == "lds" else "ce_excess"
        return Description(
            primary=primary,
            curve=primary,
            data_source=read_json(Path(data_dir) / "manifest.json")["label"],
            files={"rollout.csv": rollout_table([]), "trajectories.npz": {}},
            throughput="eval_tokens_per_second",
            units=run["eval"]["sequences"] * run["data"]["seq_len"],
        )

    def score(self, run: dict, checkpoint: Path, data_dir: Path) -> Scores:
        e = run["eval"]
        use_device(run)
        task = Task(run, load_item(data_dir, system_index(run)), build_model(run))
        params = load_params(params_shape(run, task), checkpoint)
        key = jax.random.PRNGKey(FINAL_KEY)
        metrics = Evaluator(task, key, e["sequences"])(params)
        if run["data"]["task"] != "lds":
            metrics["perplexity"] = math.exp(metrics["ce"])
            metrics.update(rollout_bigram(task, params, jax.random.fold_in(key, 1), e))
            return Scores(metrics=metrics)
        rows, trajectories = rollout_lds(task, params, jax.random.fold_in(key, 1), e)
        for h in (h for h in REPORTED_HORIZONS if h <= len(rows)):
            row = rows[h - 1]
            metrics.update({f"score_t+{h}": row["score"], f"skill_t+{h}": row["model_skill"]})
            metrics[f"kf_skill_t+{h}"] = row["kf_skill"]
        metrics["rollout_score_mean"] = float(np.mean([r["score"] for r in rows]))
        return Scores(metrics=metrics, files={"rollout.csv": rollout_table(rows), "trajectories.npz": trajectories})


evaluate = LdsEvaluation()
