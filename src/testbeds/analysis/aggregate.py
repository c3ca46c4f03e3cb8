"""Every table of results/tables/, built from the grid's cell files and the aggregation settings, by name.

``TABLES`` is the one list of them: scripts/aggregate.py writes what ``build_tables`` returns, the aggregate
rule declares its outputs from it (with each table's report caption), and the front page
(``headline.render``) reads the mapping. A new statistic is one entry here, its function, its caption and
its renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from testbeds.analysis import claims, stats, tables


@dataclass(frozen=True)
class Table:
    """A file of results/tables/; ``caption``: its caption in workflow/report/ (the report shows it under
    "Tables"), or None for a table only the figures read."""

    file: str
    caption: str | None = None

    @property
    def name(self) -> str:
        """The aggregate rule's name for the output (``runs`` for runs.csv)."""
        return self.file.removesuffix(".csv")


TABLES = (
    Table("runs.csv", "runs.rst"),
    Table("curves.csv"),
    Table("data_sources.csv", "data_sources.rst"),
    Table("summary.csv", "summary.rst"),
    Table("comparisons.csv", "comparisons.rst"),
    Table("profiles.csv", "profiles.rst"),
    Table("performance_profile.csv"),
    Table("scores.csv"),
    Table("ranks.csv", "ranks.rst"),
    Table("coverage.csv", "coverage.rst"),
    Table("head_to_head.csv", "head_to_head.rst"),
    Table("claims.csv", "claims.rst"),
    Table("samples.csv", "samples.rst"),
    Table("provenance.csv", "provenance.rst"),
    Table("tuning.csv", "tuning.rst"),
    Table("selected.csv", "selected.rst"),
)
FRONT_PAGE = "headline.rst"  # the report's front page, rendered from the tables


def build_tables(
    cells: list[dict], claim_list: list[dict], settings: dict, sequential: dict | None = None
) -> dict[str, pd.DataFrame]:
    """Every table of ``TABLES``, by file name, from the cells (``tables.load_cells``), the claims to measure,
    the settings (baselines, targets, tuning, seeds, clock, unavailable: scripts/aggregate.py's --settings) and,
    in a sequential design, the last look's results (analysis.sequential.look)."""
    finals = [Path(path) for cell in cells for path in cell["finals"]]
    runs = tables.runs_table(finals)
    failed = tables.failed_cell_runs(cells, settings.get("seeds", []), runs)
    if len(failed):
        runs = pd.concat([runs, failed], ignore_index=True).sort_values(tables.ID_COLUMNS, kind="stable")
    recorded = {
        "runs.csv": runs,
        "curves.csv": tables.curves_table(finals),
        "data_sources.csv": tables.data_sources(runs),
        "samples.csv": tables.samples_table(finals),
        "provenance.csv": tables.provenance_table(finals),
        "tuning.csv": tables.tuning_table(cells),
        "selected.csv": tables.selected_table(cells),
    }
    built = {**recorded, **statistics(recorded, claim_list, settings, tables.chosen_trial_curves(cells), sequential)}
    return {table.file: built[table.file] for table in TABLES}


def statistics(
    recorded: dict[str, pd.DataFrame],
    claim_list: list[dict],
    settings: dict,
    trial_curves: pd.DataFrame | None = None,
    sequential: dict | None = None,
) -> dict[str, pd.DataFrame]:
    """The statistics' tables from the recorded ones (runs, curves, selected) and the tuning trials' curves."""
    runs, curves = recorded["runs.csv"], recorded["curves.csv"]
    baselines = settings.get("baselines", {})
    provisional = tables.provisional_cells(recorded["selected.csv"])
    summary = stats.summary_table(runs)
    comparisons = stats.comparisons_table(runs, baselines)
    if len(comparisons):
        comparisons["provisional"] = [
            (c.workload, c.variant, c.optimizer) in provisional or (c.workload, c.variant, c.baseline) in provisional
            for c in comparisons.itertuples()
        ]
    profiles = stats.profiles_table(
        runs, curves, settings.get("targets", {}), settings.get("clock", "steps"), tuning_curves=trial_curves
    )
    profile = stats.performance_profile(profiles, optimizers=stats.complete_optimizers(summary))
    return {
        "summary.csv": summary,
        "comparisons.csv": comparisons,
        "profiles.csv": profiles,
        "performance_profile.csv": profile,
        "scores.csv": stats.benchmark_scores(profile),
        "ranks.csv": stats.ranking_table(stats.rank_blocks(runs)),
        "coverage.csv": stats.coverage_table(summary, settings.get("unavailable")),
        "head_to_head.csv": stats.head_to_head(runs),
        "claims.csv": claims.claims_table(claim_list, runs, settings.get("tuning", {}), provisional, sequential),
    }
