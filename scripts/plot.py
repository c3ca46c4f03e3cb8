#!/usr/bin/env python
"""Draw the grid's figures from its tables: one workload's (--workload), or the cross-workload ones (--summary)."""

import argparse
import json
from pathlib import Path

import _bootstrap  # noqa: F401
import numpy as np
import pandas as pd
from testbeds.analysis import plots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", help="draw this workload's figures")
    parser.add_argument("--summary", action="store_true", help="draw the cross-workload figures")
    parser.add_argument("--oscillators", action="store_true", help="draw the lattice-oscillator figures (lot)")
    parser.add_argument("--rollouts", action="store_true", help="draw the rollout figures (lds)")
    parser.add_argument("--frames", action="store_true", help="draw the predicted-frame figures (heat2d)")
    parser.add_argument("--gif", action="store_true", help="with --frames: also an animated GIF per run")
    parser.add_argument("--tables", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="figure directory")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.summary:
        profile = pd.read_csv(args.tables / "performance_profile.csv")
        scores = pd.read_csv(args.tables / "scores.csv")
        plots.performance_profiles(profile, scores, str(args.out / "performance_profiles.png"))
        print(f"{args.out}: cross-workload figures")
        return
    runs = pd.read_csv(args.tables / "runs.csv")
    runs = runs[runs["workload"] == args.workload]
    if args.oscillators:
        lattice = runs[(runs["status"] == "ok") & runs["variant"].str.contains("lattice")]
        finals = [json.loads(Path(d, "final.json").read_text()) for d in lattice["run_dir"]]
        curves = pd.read_csv(args.tables / "curves.csv", low_memory=False)
        curves = curves[(curves["workload"] == args.workload) & curves["variant"].isin(lattice["variant"])]
        if finals:
            plots.lattice_phases(finals, str(args.out / "phases.png"))
            plots.order_parameter(curves, str(args.out / "order_parameter.png"))
        else:
            for name in ("phases.png", "order_parameter.png"):
                plots.empty_figure(str(args.out / name), "no successful lattice run")
        print(f"{args.out}: oscillator figures for {args.workload}")
        return
    if args.frames:
        draw_frames(runs, args.workload, args.tables, args.out, args.gif)
        return
    if args.rollouts:
        draw_rollouts(runs, args.workload, args.tables, args.out)
        return
    curves = pd.read_csv(args.tables / "curves.csv", low_memory=False)
    curves = curves[curves["workload"] == args.workload]
    plots.learning_curves(curves, runs, str(args.out / "learning_curves.png"))
    plots.final_metric(runs, str(args.out / "final_metric.png"))
    plots.wallclock(curves, runs, str(args.out / "wallclock.png"))
    buckets = [
        pd.read_csv(p).assign(run="/".join(p.parts[-4:-1]))
        for p in map(Path, runs["run_dir"] + "/kbeta_buckets.csv")
        if p.exists()
    ]
    buckets = [b for b in buckets if not b.empty]
    buckets = pd.concat(buckets, ignore_index=True) if buckets else pd.DataFrame()
    if buckets.empty:
        plots.empty_figure(str(args.out / "kbeta_diagnostics.png"), "no Kβ run with diagnostics in this workload")
    else:
        plots.kbeta_diagnostics(buckets, str(args.out / "kbeta_diagnostics.png"))
    print(f"{args.out}: figures for {args.workload}")


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


def draw_rollouts(runs: pd.DataFrame, workload: str, tables: Path, out: Path) -> None:
    """score_t+h over seeds (and its table) and a few trajectories of the lowest seed, per variant."""
    table = per_run_table(
        runs, "rollout.csv", ["h", "model_mse", "kf_mse", "score"], tables / f"rollouts_{workload}.csv"
    )
    if table.empty:
        for name in ("rollout_scores.png", "trajectories.png"):
            plots.empty_figure(str(out / name), "no successful run with rollouts")
        return
    plots.rollout_scores(table, str(out / "rollout_scores.png"))
    runs = runs[runs["run_dir"].isin(table["run_dir"])]
    seed = runs["seed"].min()
    examples = []
    for variant, group in runs[runs["seed"] == seed].groupby("variant", sort=True):
        examples.append(
            (variant, {r.optimizer: dict(np.load(Path(r.run_dir, "trajectories.npz"))) for r in group.itertuples()})
        )
    plots.trajectories(examples, str(out / "trajectories.png"))
    print(f"{out}: rollout figures")


def draw_frames(runs: pd.DataFrame, workload: str, tables: Path, out: Path, gif: bool) -> None:
    """Per-frame test errors over seeds (and their table), the predicted frames of the lowest seed's runs side
    by side, and one predicted-frames figure (and optionally a GIF) per run under runs/."""
    (out / "runs").mkdir(parents=True, exist_ok=True)
    table = per_run_table(
        runs, "frame_errors.csv", ["frame", "one_shot_mse", "rollout_mse"], tables / f"frame_errors_{workload}.csv"
    )
    if table.empty:
        for name in ("frame_errors.png", "frames.png"):
            plots.empty_figure(str(out / name), "no successful run with frame errors")
        return
    plots.frame_errors(table, str(out / "frame_errors.png"))
    runs = runs[runs["run_dir"].isin(table["run_dir"])]
    frames = {
        (r.variant, r.optimizer, r.seed): dict(np.load(Path(r.run_dir, "frames.npz")))
        for r in runs.sort_values(["variant", "optimizer", "seed"]).itertuples()
    }
    lowest = min(seed for _, _, seed in frames)
    plots.predicted_frames([(f"{v}/{o}", a) for (v, o, s), a in frames.items() if s == lowest], str(out / "frames.png"))
    for (variant, optimizer, seed), arrays in frames.items():  # one figure (and GIF) per run
        name = f"{variant}-{optimizer}-seed{seed}"
        plots.predicted_frames([(f"{variant}/{optimizer} seed {seed}", arrays)], str(out / "runs" / f"{name}.png"))
        if gif:
            plots.rollout_gif(arrays, str(out / "runs" / f"{name}.gif"))
    print(f"{out}: frame figures")


if __name__ == "__main__":
    main()
