"""The report's front page (reStructuredText): how the grid was run, one compact table per workload (test
split mean and interval, success rate, the paired difference against the baseline with its adjusted p), and
the optimizers ranked across workloads."""

from __future__ import annotations

import math

import pandas as pd

from testbeds.analysis.stats import ALPHA


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


def list_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header] + rows:
        lines.append("   * - " + str(row[0]))
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines + [""]


def workload_table(workload: str, summary: pd.DataFrame, comparisons: pd.DataFrame, tuning: dict) -> list[str]:
    """One workload: per variant and optimizer the test-split mean [CI], success rate, and the paired
    difference against the baseline with its BH-adjusted paired-t p-value and wins."""
    cells = summary[summary["workload"] == workload]
    by_cell = {(c.variant, c.optimizer): c for c in comparisons.itertuples()} if len(comparisons) else {}
    first = cells.iloc[0]
    better = "lower" if first["direction"] == "min" else "higher"
    budget = tuning.get(workload, {}).get("budget", 0)
    setup = f"tuned, budget {budget} per optimizer" if budget else "untuned"
    baseline = next(iter({c.baseline for c in by_cell.values()}), None)
    rows = []
    for r in cells.itertuples():
        c = by_cell.get((r.variant, r.optimizer))
        ci = f" [{_num(r.ci_low)}, {_num(r.ci_high)}]" if math.isfinite(r.ci_low) else ""
        rows.append(
            [
                r.variant,
                r.optimizer + (" (baseline)" if r.optimizer == baseline else ""),
                _num(r.mean) + ci,
                f"{r.n_ok}/{r.n_runs}",
                "" if c is None else f"{_num(c.diff, 3)} [{_num(c.diff_ci_low, 3)}, {_num(c.diff_ci_high, 3)}]",
                "" if c is None else f"{_num(c.paired_t_p_adjusted, 2)} ({_num(c.paired_t_p, 2)})",
                "" if c is None else _num(c.win_rate, 2),
            ]
        )
    title = f"{workload}: {first['primary_metric']} on the test split ({better} is better); {setup}"
    header = [
        "variant",
        "optimizer",
        "mean [95% CI]",
        "ok/runs",
        "Δ vs baseline, paired [95% CI]",
        "p adj. (raw)",
        "wins",
    ]
    lines = list_table(title, header, rows)
    seeds = int(cells["n_runs"].max())
    if len(by_cell) and all(c.underpowered for c in by_cell.values()):
        lines += [
            f"With {seeds} seed{'s' * (seeds != 1)} no sign or signed-rank test can reach p < {ALPHA} (the "
            f"smallest possible p is {min(c.smallest_rank_p for c in by_cell.values()):.2g}), and the paired "
            f"t-test has {max(seeds - 1, 0)} degree{'s' * (seeds != 2)} of freedom: these differences are "
            "descriptive, not evidence.",
            "",
        ]
    return lines


def claim_lines(claims: pd.DataFrame) -> list[str]:
    """The seeds' claims: what each says, what the grid measured (mean difference over matched seeds with
    its 95% interval, the relative change beside the claimed one) and the verdict, with seeds and scale."""
    rows = []
    for c in claims.itertuples():
        size = f" (claimed {c.claimed_size:+.0%})" if math.isfinite(c.claimed_size) else ""
        relative = f"{c.relative_change:+.1%}" if math.isfinite(c.relative_change) else "–"
        rows.append(
            [
                f"**{c.verdict}**",
                f"{c.statement} — seed {c.seed}",
                f"{c.metric}: {c.arm} − {c.against}",
                f"{_num(c.difference, 3)} [{_num(c.ci_low, 3)}, {_num(c.ci_high, 3)}]; {relative}{size}",
                f"{c.n_pairs} seed{'s' * (c.n_pairs != 1)}, budget {c.tuning_budget}, {c.steps} steps",
            ]
        )
    header = ["verdict", "claim", "measured as", "difference [95% CI]; relative", "scale"]
    return list_table("The seeds' claims, measured on this grid", header, rows)


def ranking_lines(ranks: pd.DataFrame, scores: pd.DataFrame) -> list[str]:
    score_of = dict(zip(scores["optimizer"], scores["score"])) if len(scores) else {}
    rows = [[r.optimizer, _num(r.mean_rank, 3), _num(score_of.get(r.optimizer), 3)] for r in ranks.itertuples()]
    p = ranks["friedman_p"].iloc[0] if len(ranks) else math.nan
    title = f"Across workloads: mean rank (1 = best) and performance-profile score; Friedman p = {_num(p, 2)}"
    return list_table(title, ["optimizer", "mean rank", "profile score"], rows)


def render(
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    scores: pd.DataFrame,
    runs: pd.DataFrame,
    tuning: dict,
    ranks: pd.DataFrame,
    claims: pd.DataFrame | None = None,
) -> str:
    used = runs.groupby(["workload", "device"]).size()
    devices = "; ".join(f"{workload}: {device} ({n} runs)" for (workload, device), n in used.items())
    data = runs.groupby("workload")["data_source"].first()
    sources = "; ".join(f"{workload}: {source}" for workload, source in data.items())
    lines = claim_lines(claims) if claims is not None and len(claims) else []
    lines += [
        f"**Protocol:** {protocol(tuning, runs)}.",
        "",
        f"**Devices used:** {devices}.",
        "",
        f"**Data:** {sources}.",
        "",
    ]
    saturated = saturated_cells(runs)
    if saturated:
        lines += [
            f"**Saturated:** every run of {', '.join(saturated)} ended at the metric's best possible value, "
            "so these cells cannot tell the optimizers apart.",
            "",
        ]
    for workload in sorted(summary["workload"].unique()):
        lines += workload_table(workload, summary, comparisons, tuning)
    lines += ranking_lines(ranks, scores)
    return "\n".join(lines)
