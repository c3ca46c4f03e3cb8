"""The report's front page (reStructuredText): the source projects' claims, how the grid was run, one
compact table per workload (test split mean and interval, success rate, the paired difference against the
workload's baseline with its adjusted p), the optimizers that ran every problem ranked across workloads, and
every pair head to head."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping

import pandas as pd

from testbeds.analysis import power
from testbeds.analysis.stats import ALPHA
from testbeds.analysis.tables import provisional_cells


def _num(value, digits: int = 3) -> str:
    """Three significant digits (a cell stays short enough not to wrap)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def protocol(tuning: dict, runs: pd.DataFrame, schedule_free: list[str] = ()) -> str:
    """How each workload's optimizers were set up and on which split they are compared, and which optimizers
    run on another schedule."""
    splits = runs.dropna(subset=["split"]).groupby("workload")["split"].first() if "split" in runs else {}
    parts = []
    for workload in sorted(set(runs["workload"])):
        settings = tuning.get(workload, {})
        budget = settings.get("budget", 0)
        setup = "untuned (configured settings)"
        if budget:
            setup = f"tuned, budget {budget} per optimizer"
            if settings.get("extend"):
                setup += f" + {settings['extend']} extension round{'s' * (settings['extend'] != 1)}"
            if settings.get("studies", 1) > 1:
                setup += f", median of {settings['studies']} studies"
            setup += f" at tuning seed {settings.get('seed')} (no evaluated run uses it)"
        parts.append(f"{workload}: {setup}, on the {splits.get(workload, 'test')} split")
    text = "; ".join(parts)
    ran = [o for o in schedule_free if o in set(runs["optimizer"])]
    if ran:
        text += (
            f". Schedule-Free ({', '.join(ran)}): the workload's warm-up without its learning-rate decay, "
            "validated, checkpointed and tested at its averaged parameters"
        )
    return text


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


def list_table(title: str, header: list[str], rows: list[list[str]], css: str = "testbeds-numbers") -> list[str]:
    """A reStructuredText list-table; ``css``: its class in workflow/report/stylesheet.css (numbers do not wrap)."""
    lines = [f".. list-table:: {title}", "   :header-rows: 1", f"   :class: {css}", ""]
    for row in [header] + rows:
        lines.append("   * - " + str(row[0]))
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines + [""]


def workload_table(
    workload: str,
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    tuning: dict,
    baseline: str | None = None,
    provisional: dict | None = None,
) -> list[str]:
    """One workload: per variant and optimizer the test-split mean [CI], success rate, and the paired
    difference against the workload's baseline (over the seeds where both runs succeeded, with the pairs
    divergence removed), the BH-adjusted p of the verdict's test and wins. Every number is looked up by
    (workload, variant, optimizer)."""
    cells = summary[summary["workload"] == workload]
    own = comparisons[comparisons["workload"] == workload] if len(comparisons) else comparisons
    by_cell = {(c.variant, c.optimizer): c for c in own.itertuples()} if len(own) else {}
    provisional = provisional or {}
    first = cells.iloc[0]
    better = "lower" if first["direction"] == "min" else "higher"
    budget = tuning.get(workload, {}).get("budget", 0)
    setup = f"tuned, budget {budget} per optimizer" if budget else "untuned"
    rows = []
    for r in cells.itertuples():
        c = by_cell.get((r.variant, r.optimizer))
        ci = f" [{_num(r.ci_low)}, {_num(r.ci_high)}]" if math.isfinite(r.ci_low) else ""
        edge = " (edge: provisional)" if (workload, r.variant, r.optimizer) in provisional else ""
        rows.append(
            [
                r.variant,
                r.optimizer + (" (baseline)" if r.optimizer == baseline else "") + edge,
                _num(r.mean) + ci,
                f"{r.n_ok}/{r.n_runs}",
                "" if c is None else f"{_num(c.diff, 3)} [{_num(c.diff_ci_low, 3)}, {_num(c.diff_ci_high, 3)}]",
                ""
                if c is None
                else f"{c.n_pairs}"
                + (f" ({c.n_pairs_removed_diverged} removed: diverged)" if c.n_pairs_removed_diverged else ""),
                "" if c is None else f"{_num(c.p_adjusted, 2)} ({_num(c.p, 2)}; {c.verdict_test})",
                "" if c is None else _num(c.win_rate, 2),
                "" if c is None else power.seeds_text(c.seeds_for_diff).removeprefix("about "),
            ]
        )
    title = f"{workload}: {first['primary_metric']} on the test split ({better} is better); {setup}"
    header = [
        "variant",
        "optimizer",
        "mean [95% CI]",
        "ok/runs",
        f"Δ vs baseline {baseline or '(none)'}, paired [95% CI]",
        "pairs",
        "p adj. (raw; test)",
        "wins",
        "seeds for Δ (80% power)",
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
    edges = [f"{o} ({v}): {provisional[(workload, v, o)]}" for (w, v, o) in sorted(provisional) if w == workload]
    if edges:
        lines += [
            "**Tuned at the edge of the range tried** (the optimum may lie past it; comparisons with these "
            "cells are provisional): " + "; ".join(edges) + ".",
            "",
        ]
    return lines


def claim_lines(claims: pd.DataFrame) -> list[str]:
    """The source projects' claims: what each says, what the grid measured (mean difference over matched
    seeds with its 95% interval, the relative change beside the claimed one), the Holm-adjusted and raw p of
    its test (in a sequential design: its statistic, boundary and the look it stopped at), the verdict and what
    qualifies it, with seeds and scale."""
    rows, sequential = [], "look" in claims
    for c in claims.itertuples():
        size = f" (claimed {c.claimed_size:+.0%})" if math.isfinite(c.claimed_size) else ""
        relative = f"{c.relative_change:+.1%}" if math.isfinite(c.relative_change) else "–"
        attribution = f"attribution: {c.attribution}" if c.attribution else ""
        notes = "; ".join(n for n in (c.min_effect_note, c.provisional, c.trivial, attribution) if n)
        removed = f", {c.n_pairs_removed_diverged} removed: diverged" if c.n_pairs_removed_diverged else ""
        if c.verdict.startswith("inconclusive"):
            notes = "; ".join(n for n in (seeds_note(c), notes) if n)
        test, stopped = f"{_num(c.p_holm, 2)} ({_num(c.p, 2)}; {c.test})", ""
        if sequential and math.isfinite(c.look):
            test = f"z {_num(c.z, 3)}, boundary ±{_num(c.bound, 3)}"
            stopped = f"; stopped at look {int(c.look)} of {c.looks}"
        rows.append(
            [
                f"**{c.verdict}**" + (f" — {notes}" if notes else ""),
                f"{c.statement} — {c.source}",
                f"{c.metric}: {c.arm} − {c.against}",
                f"{_num(c.difference, 3)} [{_num(c.ci_low, 3)}, {_num(c.ci_high, 3)}]; {relative}{size}",
                test,
                f"{c.n_pairs} of {c.n_runs} seeds{removed}{stopped}; budget {c.tuning_budget}, {_num(c.steps, 6)} steps",
            ]
        )
    header = ["verdict", "claim", "measured as", "difference [95% CI]; relative", "p Holm (raw; test)", "scale"]
    title = f"The source projects' claims, measured on this grid (verdicts at Holm-adjusted p < {ALPHA})"
    if sequential:
        header[4] = "paired t on the z scale (group-sequential)"
        title = (
            f"The source projects' claims, measured on this grid: seeds added in {int(claims['looks'].iloc[0])} "
            f"looks, each claim stopped once its statistic crossed its O'Brien-Fleming-type boundary (level "
            f"{_num(claims['sequential_alpha'].iloc[0], 2)} per claim, Bonferroni over the claims)"
        )
    return list_table(title, header, rows, css="testbeds-claims")


def claims_section(claims: pd.DataFrame, figure: bytes | None = None) -> list[str]:
    """The claims' table, with the picture of every claim (a PNG, embedded in the page) above it."""
    if not len(claims):
        return []
    if not figure:
        return claim_lines(claims)
    # the URI over several indented lines (docutils joins them): one line would pass docutils' line-length limit
    uri = f"data:image/png;base64,{base64.b64encode(figure).decode()}"
    chunks = [uri[i : i + 2000] for i in range(0, len(uri), 2000)]
    picture = [f".. image:: {chunks[0]}", *(f"   {chunk}" for chunk in chunks[1:]), "   :alt: every claim on one axis"]
    return [*picture, "", *claim_lines(claims)]


def seeds_note(c) -> str:
    """What an undecided claim's seeds could detect and the seeds that would decide it (80% power at the level
    its verdict passes first, from the spread of its paired differences: analysis.power)."""
    if c.n_pairs < power.MIN_PAIRS:
        return f"with {c.n_pairs} pairs the spread of the differences cannot be estimated: no seed count"
    base = abs(c.mean_against)

    def amount(value: float) -> str:
        relative = f" ({value / base:+.1%})" if base else ""
        return f"{_num(value, 3)}{relative}"

    wanted = [
        (c.seeds_for_difference, f"the measured {amount(c.difference)}"),
        (c.seeds_for_claimed_size, f"the source's {c.claimed_size:+.0%}" if math.isfinite(c.claimed_size) else ""),
        (c.seeds_for_min_effect, f"the smallest effect that counts, {_num(c.min_effect, 3)}" if c.min_effect else ""),
    ]
    parts = [f"{power.seeds_text(seeds)} for {what}" for seeds, what in wanted if what and power.seeds_text(seeds)]
    detectable = f"these {c.n_pairs} pairs detect ±{amount(c.detectable_difference)}"
    return "; ".join([*parts, detectable]) + f" (80% power at {c.power_alpha:.2g})"


def ranking_lines(
    ranks: pd.DataFrame, scores: pd.DataFrame, coverage: pd.DataFrame, head_to_head: pd.DataFrame
) -> list[str]:
    """The ranking over the optimizers that ran every problem, what kept the others out, and every pair's
    head-to-head record on the problems it shares."""
    score_of = dict(zip(scores["optimizer"], scores["score"])) if len(scores) else {}
    lines = []
    if len(ranks):
        rows = [[r.optimizer, _num(r.mean_rank, 3), _num(score_of.get(r.optimizer), 3)] for r in ranks.itertuples()]
        p, least = ranks["friedman_p"].iloc[0], ranks["friedman_min_p"].iloc[0]
        title = (
            f"Across workloads, the {len(ranks)} optimizers that ran every problem: mean rank (1 = best) and "
            f"performance-profile score; Friedman p = {_num(p, 2)}"
        )
        lines += list_table(title, ["optimizer", "mean rank", "profile score"], rows)
        blocks = int(ranks["n_workloads"].iloc[0])
        if len(ranks) < 3 or blocks < 2:
            lines += [
                f"The Friedman test needs 3 optimizers that ran every problem and 2 workloads; this grid has "
                f"{len(ranks)} and {blocks}: the ranks are descriptive.",
                "",
            ]
        elif least >= ALPHA:
            lines += [
                f"With {blocks} workload{'s' * (blocks != 1)} and {len(ranks)} optimizers the Friedman test cannot "
                f"reach p < {ALPHA} (its smallest possible p is {least:.2g}): the ranks are descriptive.",
                "",
            ]
    else:
        lines += ["**Ranking:** no optimizer ran every problem of the grid, so none is ranked.", ""]
    outside = coverage[~coverage["ranked"]] if len(coverage) else coverage
    if len(outside):
        lines += [
            "Not ranked (they did not run every problem): "
            + "; ".join(
                f"{r.optimizer} ({r.problems} of {r.of_problems} problems"
                + (f"; not available on {r.not_available_on}" if r.not_available_on else "")
                + ")"
                for r in outside.itertuples()
            )
            + ". They appear in the head-to-head table below.",
            "",
        ]
    if len(head_to_head):
        rows = [
            [
                f"{r.optimizer} vs {r.against}",
                str(r.problems),
                f"{r.wins} / {r.losses} / {r.ties}",
                f"{r.significant_wins} / {r.significant_losses}",
                _num(r.sign_test_p, 2),
            ]
            for r in head_to_head.itertuples()
        ]
        header = [
            "pair",
            "shared problems",
            "wins / losses / ties",
            f"significant (BH-adjusted p < {ALPHA})",
            "sign test p",
        ]
        lines += list_table("Head to head, on the problems each pair shares (paired by seed)", header, rows)
    return lines


def render(tables: Mapping[str, pd.DataFrame], settings: dict, claims_figure: bytes | None = None) -> str:
    """The report's front page from the tables (by file name, as ``analysis.aggregate.build_tables`` returns
    them; a table left out counts as empty) and the aggregation settings (tuning, baselines, schedule_free);
    ``claims_figure`` (a PNG: ``plots.claims_forest``) is shown above the claims' table, in the page itself."""

    def table(name: str) -> pd.DataFrame:
        return tables.get(name, pd.DataFrame())

    runs, summary, comparisons, claims = (
        table("runs.csv"),
        table("summary.csv"),
        table("comparisons.csv"),
        table("claims.csv"),
    )
    tuning, baselines = settings.get("tuning", {}), settings.get("baselines", {})
    provisional = provisional_cells(table("selected.csv"))
    used = runs.groupby(["workload", "device"]).size()
    devices = "; ".join(f"{workload}: {device} ({n} runs)" for (workload, device), n in used.items())
    data = runs.groupby("workload")["data_source"].first()
    sources = "; ".join(f"{workload}: {source}" for workload, source in data.items())
    lines = claims_section(claims, claims_figure)
    lines += [
        f"**Protocol:** {protocol(tuning, runs, settings.get('schedule_free', []))}.",
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
        lines += workload_table(workload, summary, comparisons, tuning, baselines.get(workload), provisional)
    lines += ranking_lines(table("ranks.csv"), table("scores.csv"), table("coverage.csv"), table("head_to_head.csv"))
    return "\n".join(lines)
