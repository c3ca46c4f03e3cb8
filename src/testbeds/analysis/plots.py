"""Figures of the grid (seaborn): learning curves and final-metric distributions per workload."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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
                              (axes[1], metric, f"{metric} on the fixed held-out batch")):
        data = curves.dropna(subset=[column])
        if data.empty:
            ax.set_visible(False)
            continue
        sns.lineplot(data=data, x="step", y=column, hue=hue.loc[data.index], errorbar=("ci", 95),
                     n_boot=1000, seed=0, ax=ax)
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


def kbeta_diagnostics(buckets: pd.DataFrame, out: str) -> None:
    """Kβ per-bucket β₂ and sun-spike: distribution over buckets per logged step (one seed each)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, column in zip(axes, ("beta2", "sunspike")):
        summary = buckets.groupby("step")[column].agg(["median", lambda s: s.quantile(0.1), lambda s: s.quantile(0.9)])
        summary.columns = ["median", "q10", "q90"]
        ax.plot(summary.index, summary["median"], label="median over buckets")
        ax.fill_between(summary.index, summary["q10"], summary["q90"], alpha=0.3, label="10-90% of buckets")
        ax.set(xlabel="step", ylabel=column, title=f"Kβ {column} per layer bucket")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def empty_figure(out: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(out, dpi=80)
    plt.close(fig)


