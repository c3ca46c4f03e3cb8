"""The report's front-page table: per workload and optimizer, the final metric with its interval and
the comparison against the baseline, as reStructuredText."""

from __future__ import annotations

import math

import pandas as pd


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def protocol(tuning: dict, runs: pd.DataFrame) -> str:
    """How each workload's optimizers were set up and on which split they are compared."""
    splits = runs.dropna(subset=["split"]).groupby("workload")["split"].first() if "split" in runs else {}
    parts = []
    for workload in sorted(set(runs["workload"])):
        budget = tuning.get(workload, {}).get("budget", 0)
        setup = f"tuned, budget {budget} per optimizer" if budget else "untuned (configured settings)"
        parts.append(f"{workload}: {setup}, on the {splits.get(workload, 'test')} split")
    return "; ".join(parts)


def saturated_cells(runs: pd.DataFrame) -> list[str]:
    """(workload / variant) where every run ended at its metric's best possible value: no ranking there."""
    if "bound" not in runs:
        return []
    flagged = []
    for (workload, variant), group in runs.groupby(["workload", "variant"], sort=True):
        bound = group["bound"].dropna()
        ok = group[group["status"] == "ok"]
        if len(bound) and len(ok) == len(group) and (ok["primary_value"] == float(bound.iloc[0])).all():
            flagged.append(f"{workload} / {variant}")
    return flagged


def render(
    summary: pd.DataFrame, comparisons: pd.DataFrame, scores: pd.DataFrame, runs: pd.DataFrame, tuning: dict
) -> str:
    header = [
        "workload / variant",
        "optimizer",
        "metric",
        "mean [95% CI]",
        "n ok / diverged",
        "Δ vs baseline [95% CI]",
        "Welch p",
        "win rate",
        "profile score",
    ]
    by_cell = {(r.workload, r.variant, r.optimizer): r for r in comparisons.itertuples()} if len(comparisons) else {}
    score_of = dict(zip(scores["optimizer"], scores["score"])) if len(scores) else {}
    rows = []
    for r in summary.itertuples():
        c = by_cell.get((r.workload, r.variant, r.optimizer))
        ci = f" [{_num(r.ci_low)}, {_num(r.ci_high)}]" if math.isfinite(r.ci_low) else f" ({r.ci_method})"
        better = "lower" if r.direction == "min" else "higher"
        rows.append(
            [
                f"{r.workload} / {r.variant}",
                r.optimizer,
                f"{r.primary_metric} ({better} is better)",
                _num(r.mean) + ci,
                f"{r.n_ok} / {r.n_diverged}",
                "baseline" if c is None else f"{_num(c.diff, 3)} [{_num(c.diff_ci_low, 3)}, {_num(c.diff_ci_high, 3)}]",
                "" if c is None else _num(c.welch_p, 2),
                "" if c is None else _num(c.win_rate, 2),
                _num(score_of.get(r.optimizer), 3),
            ]
        )
    used = runs.groupby(["workload", "device"]).size()
    devices = "; ".join(f"{workload}: {device} ({n} runs)" for (workload, device), n in used.items())
    data = runs.groupby("workload")["data_source"].first()
    sources = "; ".join(f"{workload}: {source}" for workload, source in data.items())
    saturated = saturated_cells(runs)
    lines = [
        f"**Protocol:** {protocol(tuning, runs)}.",
        "",
        f"**Devices used:** {devices}.",
        "",
        f"**Data:** {sources}.",
        "",
    ]
    if saturated:
        lines += [
            f"**Saturated:** every run of {', '.join(saturated)} ended at the metric's best possible value, "
            "so these cells cannot tell the optimizers apart.",
            "",
        ]
    lines += [
        ".. list-table:: Final primary metric per optimizer, and each optimizer against the workload's baseline",
        "   :header-rows: 1",
        "",
    ]
    for row in [header] + rows:
        lines.append("   * - " + str(row[0]))
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"
