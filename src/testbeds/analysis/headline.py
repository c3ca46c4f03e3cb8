"""The report's front-page table: per workload and optimizer, the final metric with its interval and
the comparison against the baseline, as reStructuredText."""

from __future__ import annotations

import math

import pandas as pd


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def render(summary: pd.DataFrame, comparisons: pd.DataFrame, scores: pd.DataFrame, runs: pd.DataFrame) -> str:
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
    lines = [
        f"**Devices used:** {devices}.",
        "",
        f"**Data:** {sources}.",
        "",
        ".. list-table:: Final primary metric per optimizer, and each optimizer against the workload's baseline",
        "   :header-rows: 1",
        "",
    ]
    for row in [header] + rows:
        lines.append("   * - " + str(row[0]))
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"
