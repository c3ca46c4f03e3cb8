"""The 2-D heat equation T_t = α ∇²T on the unit square, by finite differences (FTCS), in NumPy.

Grid: ny x nx points including the boundary, row 0 at y = 0 (bottom), column 0 at x = 0 (left). Each side
holds a constant Dirichlet value; the corners belong to bottom and top (written last, as in source 000).
Every sample advances at once (the arrays carry a leading sample axis); the time step is the same for
all samples and stable for the largest α: α dt (1/dx² + 1/dy²) <= cfl <= 1/2.
"""

from __future__ import annotations

import math

import numpy as np

SIDES = ("left", "right", "bottom", "top")


def set_boundary(T: np.ndarray, boundary: np.ndarray) -> None:
    """Write (n, 4) side values (left, right, bottom, top) into fields T (n, ny, nx), in place."""
    T[:, :, 0] = boundary[:, 0, None]
    T[:, :, -1] = boundary[:, 1, None]
    T[:, 0, :] = boundary[:, 2, None]
    T[:, -1, :] = boundary[:, 3, None]


def time_step(frame_interval: float, alpha_max: float, nx: int, ny: int, cfl: float) -> tuple[float, int]:
    """(dt, solver steps per frame): the largest stable dt that divides the frame interval evenly."""
    if not 0 < cfl <= 0.5:
        raise ValueError(f"cfl must lie in (0, 0.5] for FTCS to be stable, not {cfl}")
    limit = cfl / (alpha_max * ((nx - 1) ** 2 + (ny - 1) ** 2))
    substeps = max(1, math.ceil(frame_interval / limit))
    return frame_interval / substeps, substeps


def solve(
    initial: np.ndarray, boundary: np.ndarray, alpha: np.ndarray, dt: float, substeps: int, frames: int
) -> np.ndarray:
    """Frames (n, frames, ny, nx) of T from ``initial`` (n, ny, nx), one frame every ``substeps`` steps of dt."""
    n, ny, nx = initial.shape
    T = initial.astype(np.float64).copy()
    set_boundary(T, boundary)
    ratio_x = (alpha * dt * (nx - 1) ** 2)[:, None, None]
    ratio_y = (alpha * dt * (ny - 1) ** 2)[:, None, None]
    out = np.empty((n, frames, ny, nx), dtype=np.float32)
    out[:, 0] = T
    for frame in range(1, frames):
        for _ in range(substeps):
            centre = T[:, 1:-1, 1:-1]
            T[:, 1:-1, 1:-1] = (
                centre
                + ratio_x * (T[:, 1:-1, 2:] - 2 * centre + T[:, 1:-1, :-2])
                + ratio_y * (T[:, 2:, 1:-1] - 2 * centre + T[:, :-2, 1:-1])
            )
        out[:, frame] = T
    return out


def sample_parameters(settings: dict) -> dict[str, np.ndarray]:
    """Source 000's design: each parameter an evenly spaced grid over its range, permuted independently."""
    rng = np.random.default_rng(settings["seed"])
    n = settings["samples"]

    def spread(low_high):
        return rng.permutation(np.linspace(*low_high, n))

    alpha = spread(settings["alpha"])
    boundary = np.stack([spread(settings[side]) for side in SIDES], axis=1)
    return {"alpha": alpha, "boundary": boundary, "initial": spread(settings["initial"])}
