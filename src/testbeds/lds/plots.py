"""The lds workload's own figures: rollout scores against the horizon and example trajectories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from testbeds.analysis.plots import over_seeds, plt, runs_with_rows, sns
from testbeds.lds import ROLLOUT_COLUMNS


def rollout_scores(table: pd.DataFrame, out: str) -> None:
    """Per variant, against the horizon h, per optimizer (mean over seeds, 95% CI band): top, score_t+h =
    model error / Kalman error (1.0 is the Kalman filter's open-loop forecast); bottom, the skill against
    the zero forecast, 1 - MSE / MSE(0) (1 = perfect, 0 = no better than forecasting 0), with the Kalman
    filter's skill dashed: at long horizons both approach 0, and the score alone says little."""
    variants = sorted(table["variant"].unique())
    fig, axes = plt.subplots(2, len(variants), figsize=(6 * len(variants), 8), squeeze=False, sharex=True)
    for column, variant in enumerate(variants):
        part = table[table["variant"] == variant]
        for ax, y in zip(axes[:, column], ("score", "model_skill")):
            sns.lineplot(data=part, x="h", y=y, hue="optimizer", **over_seeds(part), ax=ax)
        top, bottom = axes[:, column]
        top.axhline(1.0, color="black", lw=0.8, ls="--", label="Kalman filter")
        top.set(ylabel="score_t+h = MSE / KF-MSE", title=f"{variant}: rollout error relative to the Kalman filter")
        kalman = part.groupby("h")["kf_skill"].mean()
        bottom.plot(kalman.index, kalman.values, color="black", lw=0.8, ls="--", label="Kalman filter")
        bottom.axhline(0.0, color="grey", lw=0.6)
        bottom.set(
            xlabel="horizon h (steps after the observed warm-up)",
            ylabel="skill = 1 - MSE / MSE(zero forecast)",
            title=f"{variant}: what is left of the predictable part",
        )
        for ax in (top, bottom):
            ax.legend(title="optimizer")
    fig.suptitle(f"{table['workload'].iloc[0]}: open-loop rollouts (n seeds = {table['seed'].nunique()})", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def trajectories(examples: list[tuple[str, dict[str, dict]]], out: str, shown: int = 3) -> None:
    """Rollout trajectories, first observed dimension: the truth, the Kalman forecast and each optimizer's
    model. ``examples``: (variant, {optimizer: arrays of trajectories.npz}) for one seed."""
    columns = min(shown, min(len(next(iter(arrays.values()))["observed"]) for _, arrays in examples))
    fig, axes = plt.subplots(len(examples), columns, figsize=(5 * columns, 3.2 * len(examples)), squeeze=False)
    for row, (variant, arrays) in zip(axes, examples):
        first = next(iter(arrays.values()))
        W = int(first["warmup"])
        for i, ax in enumerate(row[:columns]):
            t = np.arange(len(first["observed"][i]))
            ax.plot(t, first["observed"][i, :, 0], color="black", lw=1, label="observed")
            ax.plot(t[W:], first["kalman"][i, :, 0], color="0.5", lw=1.5, ls="--", label="Kalman forecast")
            for optimizer, a in sorted(arrays.items()):
                ax.plot(t[W:], a["model"][i, :, 0], lw=1.2, label=f"model ({optimizer})")
            ax.axvline(W - 0.5, color="0.7", lw=0.8)
            ax.set(title=f"{variant}: sequence {i}", xlabel="step", ylabel="y[0]")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def draw(runs: pd.DataFrame, tables: Path, out: Path, settings: dict) -> None:
    """score_t+h over seeds (and its table) and a few trajectories of the lowest seed, per variant."""
    found = runs_with_rows(
        runs,
        "rollout.csv",
        ROLLOUT_COLUMNS,
        tables / "rollouts_lds.csv",
        out,
        ("rollout_scores.png", "trajectories.png"),
    )
    if found is None:
        return
    table, runs = found
    rollout_scores(table, str(out / "rollout_scores.png"))
    seed = runs["seed"].min()
    examples = []
    for variant, group in runs[runs["seed"] == seed].groupby("variant", sort=True):
        examples.append(
            (variant, {r.optimizer: dict(np.load(Path(r.run_dir, "trajectories.npz"))) for r in group.itertuples()})
        )
    trajectories(examples, str(out / "trajectories.png"))
    print(f"{out}: rollout figures")
