"""Figures of the grid (seaborn): learning curves and final-metric distributions per workload."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme(style="whitegrid", context="notebook")


def over_seeds(data: pd.DataFrame) -> dict:
    """seaborn ``lineplot`` arguments for the spread over seeds: a 95% t-interval band from 3 seeds; with
    fewer, one line per seed (a t-interval on 2 seeds is 12.7 standard errors wide and hides the curves; a
    bootstrap band would only span the two runs)."""
    if data["seed"].nunique() < 3:
        return {"units": "seed", "estimator": None}
    return {"errorbar": t_band}


def t_band(values) -> tuple[float, float]:
    """95% t-interval of the mean over seeds, for seaborn's ``errorbar``: with two seeds it is honestly wide
    (a bootstrap band would only span the two runs), with one there is none."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2 or np.all(values == values[0]):
        return float(values.mean()), float(values.mean())
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float(low), float(high)


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
            sns.lineplot(data=data, x="step", y=column, hue=hue.loc[data.index], **over_seeds(data), ax=ax)
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


def optimizer_diagnostics(diagnostics: pd.DataFrame, out: str) -> None:
    """Every optimizer's declared diagnostics (optimizer_diagnostics.csv: step, bucket, name, value, with the
    run's optimizer and name): per (optimizer, name) the median over buckets and runs at each logged step with
    the 10–90% range, and where there are several buckets a heat map of the value per bucket and step for the
    optimizer's first run."""
    panels = sorted(diagnostics.groupby(["optimizer", "name"]).groups)
    fig, axes = plt.subplots(len(panels), 2, figsize=(13, 3.8 * len(panels)), squeeze=False)
    for (left, right), (optimizer, name) in zip(axes, panels):
        data = diagnostics[(diagnostics["optimizer"] == optimizer) & (diagnostics["name"] == name)]
        by_step = data.groupby("step")["value"]
        median = by_step.median()
        left.plot(median.index, median.to_numpy(), color="#1f77b4")
        left.fill_between(median.index, by_step.quantile(0.1), by_step.quantile(0.9), color="#1f77b4", alpha=0.25)
        left.set(title=f"{optimizer}: {name} (median over buckets and seeds, 10–90%)", xlabel="step", ylabel=name)
        first = data[data["run"] == sorted(data["run"].unique())[0]]
        if first["bucket"].nunique() < 2:
            right.axis("off")
            continue
        heat = first.pivot_table(index="bucket", columns="step", values="value")
        sns.heatmap(heat, ax=right, cmap="viridis", cbar_kws={"label": name})
        right.set(title=f"{name} per bucket and step — {first['run'].iloc[0]}", xlabel="step", ylabel="bucket")
        right.tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


VERDICT_COLOURS = {"supported": "#2a9d45", "contradicted": "#c0392b"}  # anything else: undecided, grey


def claims_forest(claims: pd.DataFrame) -> bytes:
    """Every claim on one axis, relative to its comparator's mean: the measured difference with its 95%
    interval (coloured by verdict), the size its source states (x) and its smallest effect that counts (|),
    as a PNG."""
    import io

    rows = claims[claims["mean_against"].abs() > 0].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(11, 0.55 * len(rows) + 1.4))
    for i, c in rows.iterrows():
        base = abs(c["mean_against"])
        colour = VERDICT_COLOURS.get(str(c["verdict"]).split(":")[0], "#7f7f7f")
        ax.plot([c["ci_low"] / base, c["ci_high"] / base], [i, i], color=colour, lw=2.5)
        ax.plot(c["difference"] / base, i, "o", color=colour, ms=7)
        if np.isfinite(c["claimed_size"]):
            ax.plot(c["claimed_size"], i, "x", color="black", ms=8, mew=2)
        if c["min_effect"]:
            side = -1 if c["direction"] == "min" else 1
            ax.plot(side * c["min_effect"] / base, i, "|", color="black", ms=16, mew=1.5)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [f"{c.id}: {c.verdict}" for c in rows.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel(
        "arm − comparator, relative to the comparator's mean: measured (95% CI), x the source's size, "
        "| the smallest effect that counts",
        fontsize=8,
    )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    plt.close(fig)
    return out.getvalue()


def wallclock(curves: pd.DataFrame, runs: pd.DataFrame, out: str) -> None:
    """The eval metric against the training-only clock, one line per run, coloured by optimizer. (The file
    keeps its name, wallclock.png; the clock is the one that measures the optimizer.)"""
    groups = metric_groups(runs)
    fig, axes = plt.subplots(1, len(groups), figsize=(7 * len(groups), 4.5), squeeze=False)
    for ax, (metric, names) in zip(axes[0], groups):
        data = curves[curves["variant"].isin(names)].dropna(subset=[metric])
        sns.lineplot(
            data=data,
            x="train_seconds",
            y=metric,
            hue="optimizer",
            units="seed",
            estimator=None,
            style="variant" if data["variant"].nunique() > 1 else None,
            ax=ax,
            alpha=0.8,
        )
        ax.set(
            xlabel="training seconds (optimisation steps only: no compilation, evaluation or checkpoints)",
            ylabel=metric,
            title=f"{runs['workload'].iloc[0]}: {metric} against training time, one line per seed",
        )
        ax.title.set_fontsize(10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def performance_profiles(profile: pd.DataFrame, scores: pd.DataFrame, out: str) -> None:
    """ρ(τ) per optimizer across workloads, with each optimizer's benchmark score in the legend."""
    if profile.empty:
        empty_figure(out, "no optimizer ran every problem of the grid: no performance profile")
        return
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


def empty_figure(out: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    fig.savefig(out, dpi=80)
    plt.close(fig)


def runs_with_rows(runs: pd.DataFrame, name: str, columns: list[str], table: Path, out: Path, figures: tuple[str, ...]):
    """The per-run CSV ``name`` of the runs stacked (and saved as ``table``) with the runs that wrote rows;
    None, after drawing each of ``figures`` as an empty figure that says so, when no run has any."""
    from testbeds.analysis.tables import per_run_table

    stacked = per_run_table(runs, name, columns, table)
    if stacked.empty:
        for figure in figures:
            empty_figure(str(out / figure), f"no successful run with rows in {name}")
        return None
    return stacked, runs[runs["run_dir"].isin(stacked["run_dir"])]


def panels_per_variant(frame: pd.DataFrame):
    """A figure with one panel per variant: (figure, [(axes, variant, the variant's rows)])."""
    variants = sorted(frame["variant"].unique())
    fig, axes = plt.subplots(1, len(variants), figsize=(5.5 * len(variants), 4), squeeze=False)
    return fig, [(ax, v, frame[frame["variant"] == v]) for ax, v in zip(axes[0], variants)]


def save(fig, title: str, out: str) -> None:
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def tuning_budget(curve: pd.DataFrame, metric: str, out: str) -> None:
    """Expected best validation value after k trials per optimizer (one panel per variant), 95% band."""
    fig, panels = panels_per_variant(curve)
    for ax, variant, part in panels:
        for optimizer, cell in part.groupby("optimizer"):
            line = ax.plot(cell["trials"], cell["expected_best"], marker="o", label=optimizer)[0]
            ax.fill_between(cell["trials"], cell["low"], cell["high"], alpha=0.2, color=line.get_color())
        ax.set(xlabel="tuning trials k", ylabel=f"expected best validation {metric}", title=variant)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(title="optimizer")
    save(fig, f"{curve['workload'].iloc[0]}: expected validation performance against tuning budget", out)


def tuning_sensitivity(trials: pd.DataFrame, out: str) -> None:
    """Validation value of every trial against its learning rate (log x); diverged trials as crosses on the
    top edge, the chosen trial circled."""
    fig, panels = panels_per_variant(trials)
    palette = dict(zip(sorted(trials["optimizer"].unique()), sns.color_palette()))
    for ax, variant, part in panels:
        for optimizer, cell in part[part["status"] == "ok"].groupby("optimizer"):
            cell = cell.sort_values("hp.train.lr")
            ax.plot(cell["hp.train.lr"], cell["value"], marker="o", color=palette[optimizer], label=optimizer)
            chosen = cell[cell["chosen"]]
            ax.scatter(chosen["hp.train.lr"], chosen["value"], s=160, facecolors="none", edgecolors=palette[optimizer])
        failed = part[part["status"] != "ok"]
        if len(failed):
            top = ax.get_ylim()[1]
            for optimizer, cell in failed.groupby("optimizer"):
                ax.scatter(cell["hp.train.lr"], [top] * len(cell), marker="x", color=palette[optimizer], s=60)
            ax.annotate("× diverged", xy=(0.01, 0.97), xycoords="axes fraction", va="top", fontsize=8)
        ax.set_xscale("log")
        ax.set(xlabel="learning rate (train.lr)", ylabel=f"validation {part['metric'].iloc[0]}", title=variant)
        ax.legend(title="optimizer")
    save(fig, f"{trials['workload'].iloc[0]}: tuning trials (○ chosen)", out)


def critical_difference(ranks: pd.DataFrame, out: str) -> None:
    """Mean rank of each optimizer over the workloads on one axis; optimizers joined by a bar are not told
    apart by the Nemenyi post-hoc test at 5% (scikit-posthocs' critical-difference diagram)."""
    import scikit_posthocs as sp

    blocks = ranks.set_index("optimizer").filter(like="rank.").T
    if blocks.shape[1] < 3 or len(blocks) < 2:
        empty_figure(out, "a critical-difference diagram needs 3 optimizers and 2 workloads")
        return
    significance = sp.posthoc_nemenyi_friedman(blocks.to_numpy())
    significance.index = significance.columns = blocks.columns
    fig, ax = plt.subplots(figsize=(7, 2.5))
    sp.critical_difference_diagram(ranks.set_index("optimizer")["mean_rank"], significance, ax=ax)
    p = ranks["friedman_p"].iloc[0]
    ax.set_title(f"Mean rank over {len(blocks)} workloads (1 = best); Friedman p = {p:.3g}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
