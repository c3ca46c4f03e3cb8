"""The lot workload's own figures: the heads' phases on their lattice and the order parameter over training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from testbeds.analysis.plots import empty_figure, over_seeds, plt, sns


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
    sns.lineplot(data=data, x="step", y="sync_order", hue="optimizer", **over_seeds(data), ax=ax)
    ax.set(
        ylim=(0, 1.02),
        ylabel="order parameter r (1 = heads in phase)",
        title="lot: synchronisation of the lattice heads during training",
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def draw(runs: pd.DataFrame, tables: Path, out: Path, settings: dict) -> None:
    """Phases and order parameter of the successful lattice runs (the first one's phases)."""
    lattice = runs[(runs["status"] == "ok") & runs["variant"].str.contains("lattice")]
    finals = [json.loads(Path(d, "final.json").read_text()) for d in lattice["run_dir"]]
    curves = pd.read_csv(tables / "curves.csv", low_memory=False)
    curves = curves[(curves["workload"] == "lot") & curves["variant"].isin(lattice["variant"])]
    if finals:
        lattice_phases(finals, str(out / "phases.png"))
        order_parameter(curves, str(out / "order_parameter.png"))
    else:
        for name in ("phases.png", "order_parameter.png"):
            empty_figure(str(out / name), "no successful lattice run")
    print(f"{out}: oscillator figures")
