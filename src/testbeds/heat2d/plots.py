"""The heat2d workload's own figures: per-frame errors, predicted frames, and one figure (or GIF) per run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from testbeds.analysis.plots import over_seeds, plt, runs_with_rows, sns
from testbeds.heat2d import FRAME_ERROR_COLUMNS


def frame_errors(table: pd.DataFrame, out: str) -> None:
    """Test MSE per predicted frame, one-shot (teacher-forced) and autoregressive rollout, per optimizer:
    mean over seeds with a 95% CI band; one column per variant."""
    variants = sorted(table["variant"].unique())
    fig, axes = plt.subplots(2, len(variants), figsize=(6 * len(variants), 8), squeeze=False, sharex=True)
    for col, variant in enumerate(variants):
        data = table[table["variant"] == variant]
        for row, (column, title) in enumerate(
            (("one_shot_mse", "one-shot (teacher-forced)"), ("rollout_mse", "autoregressive rollout"))
        ):
            ax = axes[row, col]
            sns.lineplot(data=data, x="frame", y=column, hue="optimizer", **over_seeds(data), ax=ax)
            ax.set(yscale="log", ylabel="test MSE", title=f"{variant}: {title}")
    fig.suptitle(
        f"{table['workload'].iloc[0]}: error per predicted frame (n seeds = {table['seed'].nunique()})", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _frame_columns(frames: np.ndarray, context: int, shown: int) -> list[int]:
    return sorted(set(np.linspace(context, len(frames) - 1, shown).round().astype(int)))


def predicted_frames(examples: list[tuple[str, dict]], out: str, shown: int = 4) -> None:
    """The first test sample: true frames, then each run's rollout and its error, at a few frames after the
    context. ``examples``: (label, arrays of frames.npz)."""
    first = examples[0][1]
    context = int(first["context"])
    columns = _frame_columns(first["truth"], context, shown)
    rows = [("truth", first["truth"], "inferno")]
    for label, arrays in examples:
        rows += [
            (f"{label}: rollout", arrays["rollout"], "inferno"),
            (f"{label}: error", arrays["rollout"] - arrays["truth"], "coolwarm"),
        ]
    fig, axes = plt.subplots(
        len(rows), len(columns), figsize=(2.4 * len(columns), 2.2 * len(rows)), squeeze=False, layout="constrained"
    )  # constrained: the title sits on the grid, with no band above it however many rows
    low, high = float(first["truth"].min()), float(first["truth"].max())
    for (name, frames, cmap), row in zip(rows, axes):
        for frame, ax in zip(columns, row):
            limit = max(float(np.abs(frames).max()), 1e-6)
            bounds = (-limit, limit) if cmap == "coolwarm" else (low, high)
            image = ax.imshow(frames[frame], origin="lower", cmap=cmap, vmin=bounds[0], vmax=bounds[1])
            ax.set(xticks=[], yticks=[], title=f"frame {frame}")
        row[0].set_ylabel(name, fontsize=7)
        fig.colorbar(image, ax=row.tolist(), shrink=0.8)
    fig.suptitle(f"predicted vs true frames (first test sample; frames < {context} are the given context)", fontsize=10)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)


def rollout_gif(arrays: dict, out: str) -> None:
    """Animated truth | rollout | error over every frame of one test sample."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    truth, rolled = arrays["truth"], arrays["rollout"]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    low, high = float(truth.min()), float(truth.max())
    limit = max(float(np.abs(rolled - truth).max()), 1e-6)
    images = [
        axes[0].imshow(truth[0], origin="lower", cmap="inferno", vmin=low, vmax=high),
        axes[1].imshow(rolled[0], origin="lower", cmap="inferno", vmin=low, vmax=high),
        axes[2].imshow(rolled[0] - truth[0], origin="lower", cmap="coolwarm", vmin=-limit, vmax=limit),
    ]
    for ax, title in zip(axes, ("truth", "rollout", "error")):
        ax.set(xticks=[], yticks=[], title=title)

    def draw(t):
        for image, frames in zip(images, (truth, rolled, rolled - truth)):
            image.set_data(frames[t])
        fig.suptitle(f"frame {t}")
        return images

    FuncAnimation(fig, draw, frames=len(truth)).save(out, writer=PillowWriter(fps=8))
    plt.close(fig)


def draw(runs: pd.DataFrame, tables: Path, out: Path, settings: dict) -> None:
    """Per-frame test errors over seeds (and their table), the predicted frames of the lowest seed's runs side
    by side, and one predicted-frames figure (and optionally a GIF) per run under runs/."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    found = runs_with_rows(
        runs,
        "frame_errors.csv",
        FRAME_ERROR_COLUMNS,
        tables / "frame_errors_heat2d.csv",
        out,
        ("frame_errors.png", "frames.png"),
    )
    if found is None:
        return
    table, runs = found
    frame_errors(table, str(out / "frame_errors.png"))
    frames = {
        (r.variant, r.optimizer, r.seed): dict(np.load(Path(r.run_dir, "frames.npz")))
        for r in runs.sort_values(["variant", "optimizer", "seed"]).itertuples()
    }
    lowest = min(seed for _, _, seed in frames)
    predicted_frames([(f"{v}/{o}", a) for (v, o, s), a in frames.items() if s == lowest], str(out / "frames.png"))
    for (variant, optimizer, seed), arrays in frames.items():  # one figure (and GIF) per run
        name = f"{variant}-{optimizer}-seed{seed}"
        predicted_frames([(f"{variant}/{optimizer} seed {seed}", arrays)], str(out / "runs" / f"{name}.png"))
        if settings["eval"]["gif"]:
            rollout_gif(arrays, str(out / "runs" / f"{name}.gif"))
    print(f"{out}: frame figures")
