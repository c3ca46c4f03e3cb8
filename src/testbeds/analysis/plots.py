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


def learning_curves(curves: pd.DataFrame, runs: pd.DataFrame, metric: str, out: str) -> None:
    """Train loss and the eval metric against step: mean over seeds with a 95% CI band per optimizer."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    variants = curves["variant"].nunique() > 1
    hue = curves["optimizer"] + (" / " + curves["variant"] if variants else "")
    for ax, column, title in ((axes[0], "train_loss", "train loss (nats, mean of logged window)"),
                              (axes[1], metric, f"{metric} at each periodic evaluation")):
        data = curves.dropna(subset=[column])
        if data.empty:
            ax.set_visible(False)
            continue
        sns.lineplot(data=data, x="step", y=column, hue=hue.loc[data.index], errorbar=("ci", 95),
                     n_boot=1000, seed=0, ax=ax)
        if data["step"].max() >= 100 * max(data["step"].min(), 1):  # two decades of steps: log-x shows both ends
            ax.set_xscale("log")
        ax.set_title(title)
        ax.legend(title="optimizer")
    fig.suptitle(f"{curves['workload'].iloc[0]}: learning curves (n seeds = {curves['seed'].nunique()}) — "
                 f"{_source_note(runs)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def final_metric(runs: pd.DataFrame, out: str) -> None:
    """Final primary metric per optimizer: box + one dot per seed; diverged runs marked and counted."""
    metric, direction = runs["primary_metric"].iloc[0], runs["direction"].iloc[0]
    label = runs["optimizer"] + (" / " + runs["variant"] if runs["variant"].nunique() > 1 else "")
    data = runs.assign(label=label)
    ok = data[data["status"] == "ok"]
    order = sorted(data["label"].unique())
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(order)), 4.5))
    if not ok.empty:
        sns.boxplot(data=ok, x="label", y="primary_value", order=order, color="0.9", ax=ax, showfliers=False)
        sns.stripplot(data=ok, x="label", y="primary_value", order=order, hue="label", size=7, ax=ax, legend=False)
    diverged = data[data["status"] != "ok"].groupby("label").size()
    top = ok["primary_value"].max() if not ok.empty else 1.0
    for i, name in enumerate(order):
        if diverged.get(name, 0):
            ax.scatter([i], [top], marker="x", color="red", s=80, zorder=5)
            ax.annotate(f"{diverged[name]} diverged", (i, top), textcoords="offset points", xytext=(0, 8),
                        ha="center", color="red")
    better = "lower is better" if direction == "min" else "higher is better"
    ax.set(xlabel="optimizer", ylabel=f"{metric} ({better})",
           title=f"{runs['workload'].iloc[0]}: final {metric} per seed — {_source_note(runs)}")
    ax.title.set_fontsize(9)
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
        sns.violinplot(data=data, x="step", y=column, ax=ax, color="#8fb8de", cut=0, inner="quartile",
                       density_norm="width")
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


def wallclock(curves: pd.DataFrame, runs: pd.DataFrame, metric: str, out: str) -> None:
    """The eval metric against wall-clock seconds, one line per run, coloured by optimizer."""
    data = curves.dropna(subset=[metric])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    sns.lineplot(data=data, x="wall_seconds", y=metric, hue="optimizer", units="seed", estimator=None,
                 style="variant" if data["variant"].nunique() > 1 else None, ax=ax, alpha=0.8)
    ax.set(xlabel="wall-clock seconds (training and periodic evaluation)", ylabel=metric,
           title=f"{runs['workload'].iloc[0]}: {metric} against wall-clock time, one line per seed")
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
    ax.set(xlabel="τ (time-to-target / best time-to-target)", ylabel="ρ(τ): fraction of problems solved",
           ylim=(-0.02, 1.02), xlim=(1, profile["tau"].max()),
           title="Performance profiles across workloads (AlgoPerf style)")
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
    ax.set(ylim=(0, 1.02), ylabel="order parameter r (1 = heads in phase)",
           title="lot: synchronisation of the lattice heads during training")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def empty_figure(out: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(out, dpi=80)
    plt.close(fig)


