"""Tidy tables of the grid, read only from the run contract files (final.json, metrics.csv)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

ID_COLUMNS = ["workload", "variant", "optimizer", "seed"]


def load_final(path: str | Path) -> dict:
    with open(path) as handle:
        return json.load(handle)


def runs_table(final_paths: list[str | Path]) -> pd.DataFrame:
    """One row per run: identity, status, primary metric, every final metric, cost, provenance."""
    rows = []
    for path in final_paths:
        final = load_final(path)
        row = {key: final[key] for key in ID_COLUMNS}
        row.update(
            status=final["status"],
            primary_metric=final["primary_metric"],
            curve_metric=final.get("curve_metric", final["primary_metric"]),
            primary_value=final["primary_value"],
            direction=final["direction"],
            steps=final["steps"],
            stop_reason=final.get("stop_reason"),
            wall_seconds=final["wall_seconds"],
            train_seconds=final.get("train_seconds"),
            split=final.get("split"),
            bound=final.get("bound"),
            **{f"hp.{k}": v for k, v in final.get("hyperparameters", {}).items()},
            device=final["device"],
            data_source=final.get("data_source"),
            config_hash=final["config_hash"],
            run_dir=str(Path(path).parent),
        )
        row.update({f"metric.{k}": v for k, v in final["metrics"].items()})
        row.update({f"trivial.{k}": v for k, v in final.get("trivial", {}).items()})
        row.update({f"throughput.{k}": v for k, v in final["throughput"].items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=ID_COLUMNS + ["status", "primary_value"])
    frame["primary_value"] = pd.to_numeric(frame["primary_value"], errors="coerce")
    return frame.sort_values(ID_COLUMNS, kind="stable").reset_index(drop=True)


def curves_table(final_paths: list[str | Path]) -> pd.DataFrame:
    """One row per (run, logged step) with every logged metric."""
    frames = []
    for path in final_paths:
        final = load_final(path)
        curve = pd.read_csv(Path(path).parent / "metrics.csv")
        for key in reversed(ID_COLUMNS):
            curve.insert(0, key, final[key])
        curve.insert(len(ID_COLUMNS), "status", final["status"])
        frames.append(curve)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ID_COLUMNS)


def data_sources(runs: pd.DataFrame) -> pd.DataFrame:
    """Which data each workload was trained on (embedded corpus or the real data set)."""
    return runs.groupby(["workload", "data_source"], dropna=False).size().rename("runs").reset_index()


def samples_table(final_paths: list[str | Path]) -> pd.DataFrame:
    """Sampled continuations of fixed prompts, for the runs that record them (language models)."""
    rows = []
    for path in final_paths:
        final = load_final(path)
        for sample in final.get("samples", []):
            rows.append({**{key: final[key] for key in ID_COLUMNS}, **sample})
    return pd.DataFrame(rows, columns=ID_COLUMNS + ["prompt", "continuation"])


def provenance_table(final_paths: list[str | Path]) -> pd.DataFrame:
    """One row per run from its provenance.json: what it takes to re-run it exactly."""
    rows = []
    for path in final_paths:
        final = load_final(path)
        with open(Path(path).parent / "provenance.json") as handle:
            prov = json.load(handle)
        data = prov.get("data") or {}
        rows.append(
            {
                **{key: final[key] for key in ID_COLUMNS},
                "config_hash": prov["config_hash"],
                "git_commit": prov["git"]["commit"],
                "git_dirty": prov["git"]["dirty"],
                "device": prov["device"],
                "host": prov["host"]["name"],
                "platform": prov["host"]["platform"],
                "packages": "; ".join(f"{k} {v}" for k, v in prov["packages"].items()),
                "blas": prov.get("blas"),
                "data": data.get("label"),
                "data_sha256": data.get("train_sha256") or data.get("source_sha256"),
                "run_dir": str(Path(path).parent),
            }
        )
    return pd.DataFrame(rows)


RUN_KEYS = ["workload", "variant", "optimizer", "seed"]


def per_run_table(runs: pd.DataFrame, name: str, columns: list[str], out: Path) -> pd.DataFrame:
    """The CSV ``name`` of every successful run that wrote one, stacked with the run's keys; saved to ``out``."""
    runs = runs[(runs["status"] == "ok") & runs["run_dir"].map(lambda d: Path(d, name).exists())]
    parts = [
        pd.read_csv(Path(r.run_dir, name)).assign(**{k: getattr(r, k) for k in RUN_KEYS}, run_dir=r.run_dir)
        for r in runs.itertuples()
    ]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=RUN_KEYS + columns + ["run_dir"])
    table[RUN_KEYS + columns].to_csv(out, index=False)
    return table


CELL_KEYS = ID_COLUMNS[:3]  # a cell: (workload, variant, optimizer)


def load_cells(paths: list[str | Path]) -> list[dict]:
    """The cell files of the grid (results/cells/): each cell's final runs and its selection file."""
    cells = []
    for path in paths:
        cell = load_final(path)
        cell["selected"] = load_final(cell["selection"]) if cell.get("selection") else None
        cells.append(cell)
    return cells


def failed_cell_runs(cells: list[dict], seeds: list[int], runs: pd.DataFrame) -> pd.DataFrame:
    """A row per seed of each cell whose tuning trials all diverged: it counts as diverged, never dropped."""
    rows = []
    for cell in cells:
        if cell["selected"] is None or cell["selected"]["status"] == "ok":
            continue
        same = runs[runs["workload"] == cell["workload"]] if len(runs) else runs
        known = same.iloc[0] if len(same) else {}
        for seed in seeds:
            rows.append(
                {
                    **{key: cell[key] for key in CELL_KEYS},
                    "seed": seed,
                    "status": "diverged",
                    "stop_reason": f"every one of {len(cell['selected']['trials'])} tuning trials diverged",
                    "primary_metric": known.get("primary_metric", cell["selected"]["metric"]),
                    "curve_metric": known.get("curve_metric", cell["selected"]["metric"]),
                    "direction": known.get("direction", "min"),
                    "primary_value": math.nan,
                }
            )
    return pd.DataFrame(rows)


def tuning_table(cells: list[dict]) -> pd.DataFrame:
    """Every tuning trial: its cell, index, searched settings (``hp.KEY``), validation value, status, cost."""
    rows = []
    for cell in cells:
        if cell["selected"] is None:
            continue
        for trial in cell["selected"]["trials"]:
            rows.append(
                {
                    **{key: cell[key] for key in CELL_KEYS},
                    "trial": trial["trial"],
                    "status": trial["status"],
                    "metric": trial["metric"],
                    "direction": trial["direction"],
                    "value": trial["value"],
                    "chosen": trial["trial"] == cell["selected"]["trial"],
                    "steps": trial["steps"],
                    "train_seconds": trial["train_seconds"],
                    **{f"hp.{k}": v for k, v in trial["settings"].items()},
                }
            )
    return pd.DataFrame(rows, columns=None if rows else CELL_KEYS + ["trial", "status", "metric", "value"])


def selected_table(cells: list[dict]) -> pd.DataFrame:
    """Per tuned cell: the budget, the chosen trial and settings, its validation value (or failed), the range
    each numeric key was tried over (``tried.KEY``: lowest..highest) and the keys the choice sits at the edge
    of (``edge``; ``provisional`` then: the optimum may lie outside what was tried); ``outside_declared``: the
    keys whose chosen value an extension round took past the declared search range."""
    rows = []
    for cell in cells:
        chosen = cell["selected"]
        if chosen is None:
            continue
        rows.append(
            {
                **{key: cell[key] for key in CELL_KEYS},
                "budget": chosen["budget"],
                "extend": chosen.get("extend", 0),
                "studies": len(chosen.get("studies", [None])),
                "study": chosen.get("study", 0),
                "status": chosen["status"],
                "trial": chosen["trial"],
                "metric": chosen["metric"],
                "value": chosen["value"],
                "provisional": bool(chosen.get("provisional")),
                "edge": edge_text(chosen.get("edges") or {}),
                "outside_declared": "; ".join(
                    f"{key} {side} its declared range"
                    for key, side in sorted(chosen.get("outside_declared", {}).items())
                ),
                **{f"hp.{k}": v for k, v in (chosen["settings"] or {}).items()},
                **{f"tried.{k}": f"{lo:.3g}..{hi:.3g}" for k, (lo, hi) in (chosen.get("tried") or {}).items()},
            }
        )
    columns = CELL_KEYS + ["budget", "status", "trial", "metric", "value", "provisional", "edge", "outside_declared"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def edge_text(edges: dict) -> str:
    """{key: side} -> "train.lr at the low end" (empty: no edge)."""
    return "; ".join(f"{key} at the {side} end" for key, side in sorted(edges.items()))


def provisional_cells(selected: pd.DataFrame) -> dict[tuple, str]:
    """(workload, variant, optimizer) -> its edges in words, for every cell of ``selected_table`` tuned at the
    edge of its range."""
    if not len(selected):
        return {}
    edged = selected[selected["provisional"]]
    return {tuple(row[k] for k in CELL_KEYS): row["edge"] for _, row in edged.iterrows()}


def chosen_trial_curves(cells: list[dict]) -> pd.DataFrame:
    """The validation curve (metrics.csv) of each tuned cell's chosen trial, with the cell's keys: what a
    time-to-target target is set from."""
    frames = []
    for cell in cells:
        chosen = cell["selected"]
        if not chosen or chosen["status"] != "ok":
            continue
        trial = next(t for t in chosen["trials"] if t["trial"] == chosen["trial"])
        curve = pd.read_csv(Path(trial["run_dir"]) / "metrics.csv")
        frames.append(curve.assign(**{key: cell[key] for key in CELL_KEYS}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CELL_KEYS)
