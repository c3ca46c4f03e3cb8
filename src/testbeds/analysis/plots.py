"""Figures of the grid (seaborn): learning curves and final-metric distributions per workload."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")


def _source_note(runs: pd.DataFrame) -> str:
    sources = sorted(set(runs["data_source"].dropna()))
    return "data: " + "; ".join(sources) if sources else ""


def metric_groups(runs: pd.DataFrame, column: str = "curve_metric") -> list[tuple[str, list[str]]]:
    """(metric, its variants): variants of one workload may have different metrics (lds: score | bigram)."""
    return [(metric, sorted(group["variant"].unique())) for metric, group in runs.groupby(column, sort=True)]


def learning_curves(curves: pd.DataFrame, runs: pd.DataFrame, out: str) -> None:
    """Train loss and the eval metric against step: mean over seeds with a 95% CI band per optimizer;
    one row per eval metric of the workload."""
    groups = metric_groups(runs)
    fig, axes = plt.subplots(len(groups), 2, figsize=(12, 4.5 * len(groups)), squeeze=False)
    variants = curves["variant"].nunique() > 1
    for row, (metric, names) in zip(axes, groups):
        part = curves[curves["variant"].isin(names)]
        hue = part["optimizer"] + (" / " + part["variant"] if variants else "")
        for ax, column, title in (
            (row[0], "train_loss", "train loss (mean of logged window)"),
            (row[1], metric, f"{metric} at each periodic evaluation"),
        ):
            data = part.dropna(subset=[column]) if column in part else part.iloc[:0]
            if data.empty:
                ax.set_visible(False)
                continue
            sns.lineplot(
                data=data, x="step", y=column, hue=hue.loc[data.index], errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax
            )
            if data["step"].max() >= 100 * max(data["step"].min(), 1):  # two decades of steps: log-x shows both
                ax.set_xscale("log")
            ax.set_title(title)
            ax.legend(title="optimizer")
    fig.suptitle(
        f"{curves['workload'].iloc[0]}: learning curves (n seeds = {curves['seed'].nunique()}) — {_source_note(runs)}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def final_metric(runs: pd.DataFrame, out: str) -> None:
    """Final primary metric per optimizer: box + one dot per seed; diverged runs marked and counted;
    one panel per primary metric of the workload."""
    groups = metric_groups(runs, "primary_metric")
    widths = [
        max(5, 1.6 * runs[runs["variant"].isin(names)].groupby(["optimizer", "variant"]).ngroups) for _, names in groups
    ]
    fig, axes = plt.subplots(
        1, len(groups), figsize=(sum(widths), 4.5), squeeze=False, gridspec_kw={"width_ratios": widths}
    )
    for ax, (metric, names) in zip(axes[0], groups):
        part = runs[runs["variant"].isin(names)]
        label = part["optimizer"] + (" / " + part["variant"] if runs["variant"].nunique() > 1 else "")
        data = part.assign(label=label)
        ok = data[data["status"] == "ok"]
        order = sorted(data["label"].unique())
        if not ok.empty:
            sns.boxplot(data=ok, x="label", y="primary_value", order=order, color="0.9", ax=ax, showfliers=False)
            sns.stripplot(data=ok, x="label", y="primary_value", order=order, hue="label", size=7, ax=ax, legend=False)
        diverged = data[data["status"] != "ok"].groupby("label").size()
        top = ok["primary_value"].max() if not ok.empty else 1.0
        for i, name in enumerate(order):
            if diverged.get(name, 0):
                ax.scatter([i], [top], marker="x", color="red", s=80, zorder=5)
                ax.annotate(
                    f"{diverged[name]} diverged",
                    (i, top),
                    textcoords="offset points",
                    xytext=(0, 8),
                    ha="center",
                    color="red",
                )
        better = "lower is better" if data["direction"].iloc[0] == "min" else "higher is better"
        ax.set(xlabel="optimizer", ylabel=f"{metric} ({better})", title=f"final {metric} per seed")
    fig.suptitle(f"{runs['workload'].iloc[0]}: final primary metric — {_source_note(runs)}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def kbeta_diagnostics(buckets: pd.DataFrame, out: str, max_steps: int = 8) -> None:
    """Kβ diagnostics as in the Kβ paper: violins of β₂ and sun-spike over layer buckets at a few logged
    steps (all Kβ runs pooled), and a heat map of β₂ per bucket and step for the first Kβ run."""
    steps = sorted(buckets["step"].unique())
    shown = steps[:: max(1, len(steps) // max_steps)][:max_steps]
    fig = plt.figure(figsize=(13, 8.5))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.2])
    for i, column in enumerate(("beta2", "sunspike")):
        ax = fig.add_subplot(grid[0, i])
        data = buckets[buckets["step"].isin(shown)]
        sns.violinplot(
            data=data, x="step", y=column, ax=ax, color="#8fb8de", cut=0, inner="quartile", density_norm="width"
        )
        ax.set(title=f"Kβ {column} over layer buckets (violin per logged step)", xlabel="step", ylabel=column)
    first = buckets[buckets["run"] == sorted(buckets["run"].unique())[0]]
    heat = first.pivot_table(index="bucket", columns="step", values="beta2")
    ax = fig.add_subplot(grid[1, :])
    sns.heatmap(heat, ax=ax, cmap="viridis", cbar_kws={"label": "β₂"})
    ax.set(title=f"β₂ per bucket and step — {first['run'].iloc[0]}", xlabel="step", ylabel="bucket")
    ax.tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def wallclock(curves: pd.DataFrame, runs: pd.DataFrame, out: str) -> None:
    """The eval metric against wall-clock seconds, one line per run, coloured by optimizer."""
    groups = metric_groups(runs)
    fig, axes = plt.subplots(1, len(groups), figsize=(7 * len(groups), 4.5), squeeze=False)
    for ax, (metric, names) in zip(axes[0], groups):
        data = curves[curves["variant"].isin(names)].dropna(subset=[metric])
        sns.lineplot(
            data=data,
            x="wall_seconds",
            y=metric,
            hue="optimizer",
            units="seed",
            estimator=None,
            style="variant" if data["variant"].nunique() > 1 else None,
            ax=ax,
            alpha=0.8,
        )
        ax.set(
            xlabel="wall-clock seconds (training and periodic evaluation)",
            ylabel=metric,
            title=f"{runs['workload'].iloc[0]}: {metric} against wall-clock time, one line per seed",
        )
        ax.title.set_fontsize(10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def performance_profiles(profile: pd.DataFrame, scores: pd.DataFrame, out: str) -> None:
    """ρ(τ) per optimizer across workloads, with each optimizer's benchmark score in the legend."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    score_of = dict(zip(scores["optimizer"], scores["score"]))
    for optimizer, curve in profile.groupby("optimizer"):
        ax.step(curve["tau"], curve["rho"], where="post", label=f"{optimizer} (score {score_of[optimizer]:.3f})")
    ax.set(
        xlabel="τ (time-to-target / best time-to-target)",
        ylabel="ρ(τ): fraction of problems solved",
        ylim=(-0.02, 1.02),
        xlim=(1, profile["tau"].max()),
        title="Performance profiles across workloads (AlgoPerf style)",
    )
    ax.legend(title="optimizer")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def lattice_phases(finals: list[dict], out: str) -> None:
    """Final head phases on the head lattice, one panel per layer, for the first lattice run."""
    final = finals[0]
    rows, cols = final["lattice_shape"]
    layers = final["head_phases"]
    fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3.2), squeeze=False)
    for layer, (ax, phases) in enumerate(zip(axes[0], layers)):
        grid = np.array(phases).reshape(rows, cols)
        image = ax.imshow(grid, cmap="twilight", vmin=0, vmax=2 * np.pi)
        for (r, c), value in np.ndenumerate(grid):
            ax.text(c, r, f"{value:.2f}", ha="center", va="center", color="white", fontsize=8)
        ax.set(title=f"layer {layer}", xticks=[], yticks=[])
    fig.colorbar(image, ax=axes[0].tolist(), label="phase θ (rad)")
    fig.suptitle(f"head phases on the {rows}x{cols} lattice — {final['optimizer']} seed {final['seed']}", fontsize=10)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def order_parameter(curves: pd.DataFrame, out: str) -> None:
    """Kuramoto order parameter r (mean over layers) against step, per optimizer (lattice runs)."""
    data = curves.dropna(subset=["sync_order"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sns.lineplot(data=data, x="step", y="sync_order", hue="optimizer", errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax)
    ax.set(
        ylim=(0, 1.02),
        ylabel="order parameter r (1 = heads in phase)",
        title="lot: synchronisation of the lattice heads during training",
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def rollout_scores(table: pd.DataFrame, out: str) -> None:
    """score_t+h (model error / Kalman error at horizon h) per optimizer: mean over seeds, 95% CI band;
    one panel per variant. 1.0 is the Kalman filter's open-loop forecast."""
    variants = sorted(table["variant"].unique())
    fig, axes = plt.subplots(1, len(variants), figsize=(6 * len(variants), 4.5), squeeze=False, sharey=True)
    for ax, variant in zip(axes[0], variants):
        sns.lineplot(
            data=table[table["variant"] == variant],
            x="h",
            y="score",
            hue="optimizer",
            errorbar=("ci", 95),
            n_boot=1000,
            seed=0,
            ax=ax,
        )
        ax.axhline(1.0, color="black", lw=0.8, ls="--", label="Kalman filter")
        ax.set(
            xlabel="horizon h (steps after the observed warm-up)",
            ylabel="score_t+h = MSE / KF-MSE",
            title=f"{variant}: rollout error relative to the Kalman filter",
        )
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
            sns.lineplot(
                data=data, x="frame", y=column, hue="optimizer", errorbar=("ci", 95), n_boot=1000, seed=0, ax=ax
            )
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
    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.4 * len(columns), 2.2 * len(rows)), squeeze=False)
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


def empty_figure(out: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(out, dpi=80)
    plt.close(fig)
