"""Transformer filters of source 002: linear dynamical systems against the Kalman filter, and bigram chains, in JAX."""

from testbeds.settings import ConfigError
from testbeds.workloads import Figure, Workload

# rollout.csv: per horizon h, the model's, the Kalman filter's and the zero forecast's MSE, score and skills
ROLLOUT_COLUMNS = ["h", "model_mse", "kf_mse", "zero_mse", "score", "model_skill", "kf_skill"]


def check(settings: dict, where: str) -> None:
    data, model, e = settings["data"], settings["model"], settings["eval"]
    P = model["patch_size"]
    if model["d_model"] % model["n_head"] or (model["d_model"] // model["n_head"]) % 2:
        raise ConfigError(f"{where}.model.n_head: d_model ({model['d_model']}) / n_head must be an even integer (RoPE)")
    if data["task"] == "bigram" and P != 1:
        raise ConfigError(f"{where}.model.patch_size: the bigram task takes tokens one by one (patch_size 1), not {P}")
    for section, key, value in (
        ("data", "seq_len", data["seq_len"]),
        ("eval", "rollout_warmup", e["rollout_warmup"]),
        ("eval", "rollout_horizon", e["rollout_horizon"]),
    ):
        if value % P:
            raise ConfigError(f"{where}.{section}.{key} ({value}) is not a multiple of model.patch_size ({P})")
    tokens = max(data["seq_len"], e["rollout_warmup"] + e["rollout_horizon"]) // P + 1
    if model["positional"] == "learned" and model["max_positions"] < tokens:
        raise ConfigError(
            f"{where}.model.max_positions ({model['max_positions']}) is smaller than the {tokens} "
            "token positions that training and rollouts use"
        )
    train = settings["train"]
    if train["warmup_steps"] >= train["steps"]:
        raise ConfigError(
            f"{where}.train.warmup_steps ({train['warmup_steps']}) must be smaller than train.steps "
            f"({train['steps']}): the cosine decay follows the warm-up"
        )
    if data["kf_burn_in"] >= data["kf_length"]:
        raise ConfigError(
            f"{where}.data.kf_burn_in ({data['kf_burn_in']}) leaves no step of kf_length "
            f"({data['kf_length']}) to measure the Kalman MSE on"
        )


WORKLOAD = Workload(
    framework="jax",
    data="generated",
    check=check,
    devices=("auto", "cpu", "cuda"),
    run_files=("rollout.csv", "trajectories.npz"),
    figures=(
        Figure("rollout_scores.png", "rollout_scores.rst"),
        Figure("trajectories.png", "trajectories.rst"),
        Figure("rollouts_lds.csv", "rollouts.rst", table=True),
    ),
)
