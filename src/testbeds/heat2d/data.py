"""heat2d data sets: generated heat meshes or a user's own array, split 70/20/10, stored in chunks.

Layout of a prepared data directory::

    manifest.json            settings, shapes, parameter ranges, frame interval, SHA-256 per chunk
    train/0000.npz ...       fields (n, frames, ny, nx) float32, alpha (n,), boundary (n, 4), initial (n,)
    val/...  test/...

Generation goes chunk by chunk (``chunk`` samples at a time), so the paper's ~3 GB set never has to fit
in memory; a user's array is read memory-mapped and copied through in the same chunks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from testbeds.heat2d import solver
from testbeds.runio import atomic_write_json, atomic_write_npz, read_json, sha256_file

SPLITS = ("train", "val", "test")


class HeatDataError(ValueError):
    """A data source that cannot be used, with the reason."""


def split_sizes(samples: int, fractions: list[float]) -> dict[str, int]:
    train = int(round(samples * fractions[0]))
    val = int(round(samples * fractions[1]))
    sizes = {"train": train, "val": val, "test": samples - train - val}
    if min(sizes.values()) < 1:
        raise HeatDataError(f"{samples} samples split {fractions} leave an empty split: {sizes}")
    return sizes


def split_ranges(samples: int, fractions: list[float]):
    start = 0
    for split, size in split_sizes(samples, fractions).items():
        yield split, start, start + size
        start += size


def write_chunk(path: Path, arrays: dict[str, np.ndarray]) -> str:
    atomic_write_npz(path, **arrays)
    return sha256_file(path)


def frame_interval(settings: dict) -> float:
    return settings["duration"] / (settings["frames"] - 1)


def generate(settings: dict, out: Path, log=print) -> dict:
    """Solve the heat equation for every sample of ``settings`` and write the chunked splits."""
    s = settings
    params = solver.sample_parameters(s)
    dt, substeps = solver.time_step(frame_interval(s), s["alpha"][1], s["nx"], s["ny"], s["cfl"])

    def chunk_arrays(lo: int, hi: int) -> dict[str, np.ndarray]:
        initial = np.broadcast_to(params["initial"][lo:hi, None, None], (hi - lo, s["ny"], s["nx"])).copy()
        fields = solver.solve(initial, params["boundary"][lo:hi], params["alpha"][lo:hi], dt, substeps, s["frames"])
        return {"fields": fields, **{k: v[lo:hi] for k, v in params.items()}}

    extra = {
        "dt": dt,
        "solver_steps_per_frame": substeps,
        "ranges": {k: s[k] for k in ("alpha", *solver.SIDES, "initial")},
    }
    return write_splits(s, out, chunk_arrays, s["samples"], (s["frames"], s["ny"], s["nx"]), extra, log)


def import_array(settings: dict, out: Path, log=print) -> dict:
    """A user's own data: ``path`` to a .npy of fields [samples, t, ny, nx], or a .npz with ``fields`` and
    optionally ``alpha`` [samples]; checked for shape and finiteness, split like generated data."""
    path = Path(settings["path"] or "")
    if not path.is_file():
        raise HeatDataError(f"data.path '{settings['path']}' is not a file (source: file needs a .npy or .npz)")
    if path.suffix == ".npz":
        archive = np.load(path, mmap_mode="r")
        if "fields" not in archive.files:
            raise HeatDataError(f"{path}: a .npz needs an array named 'fields' (has {archive.files})")
        fields, alpha = archive["fields"], archive["alpha"] if "alpha" in archive.files else None
    else:
        fields, alpha = np.load(path, mmap_mode="r"), None
    if fields.ndim != 4 or min(fields.shape) < 1 or fields.shape[1] < 2 or min(fields.shape[2:]) < 3:
        raise HeatDataError(f"{path}: fields must have shape [samples, t >= 2, ny >= 3, nx >= 3], got {fields.shape}")
    if alpha is not None and alpha.shape != (fields.shape[0],):
        raise HeatDataError(f"{path}: alpha must have shape [samples] = ({fields.shape[0]},), got {alpha.shape}")
    n = fields.shape[0]

    def chunk_arrays(lo: int, hi: int) -> dict[str, np.ndarray]:
        block = np.asarray(fields[lo:hi], dtype=np.float32)
        if not np.isfinite(block).all():
            bad = lo + int(np.argwhere(~np.isfinite(block))[0][0])
            raise HeatDataError(f"{path}: sample {bad} holds NaN or infinite values")
        a = np.zeros(hi - lo) if alpha is None else np.asarray(alpha[lo:hi], dtype=np.float64)
        return {"fields": block, "alpha": a}

    extra = {"source_path": str(path), "source_sha256": sha256_file(path), "alpha_known": alpha is not None}
    return write_splits(settings, out, chunk_arrays, n, fields.shape[1:], extra, log)


def write_splits(settings: dict, out: Path, chunk_arrays, samples: int, shape: tuple, extra: dict, log) -> dict:
    out = Path(out)
    chunks: dict[str, list[dict]] = {}
    for split, lo, hi in split_ranges(samples, settings["split"]):
        chunks[split] = []
        for start in range(lo, hi, settings["chunk"]):
            stop = min(start + settings["chunk"], hi)
            name = f"{split}/{len(chunks[split]):04d}.npz"
            chunks[split].append(
                {"file": name, "samples": stop - start, "sha256": write_chunk(out / name, chunk_arrays(start, stop))}
            )
            log(f"{name}: samples {start}-{stop - 1}")
    digest = hashlib.sha256("".join(c["sha256"] for part in chunks.values() for c in part).encode()).hexdigest()
    frames, ny, nx = (int(v) for v in shape)
    manifest = {
        "label": label(settings, samples, shape),
        "settings": settings,
        "frames": frames,
        "ny": ny,
        "nx": nx,
        "frame_interval": frame_interval(settings) if settings["source"] == "generated" else None,
        "splits": {k: sum(c["samples"] for c in v) for k, v in chunks.items()},
        "chunks": chunks,
        "sha256": digest,
        "alpha_known": True,
        **extra,
    }
    atomic_write_json(out / "manifest.json", manifest)
    return manifest


def label(settings: dict, samples: int, shape: tuple) -> str:
    size = f"{samples} x {shape[0]} frames x {shape[1]}x{shape[2]}"
    if settings["source"] == "generated":
        return f"generated: heat equation (FTCS), {size} (offline)"
    return f"file: {Path(settings['path']).name}, {size}"


def write_dataset(settings: dict, out: Path, log=print) -> dict:
    if settings["source"] == "generated":
        return generate(settings, out, log)
    return import_array(settings, out, log)


class HeatSplit:
    """One split in memory: fields (n, frames, ny, nx) float32 and alpha (n,)."""

    def __init__(self, data_dir: Path, split: str):
        self.manifest = read_json(Path(data_dir) / "manifest.json")
        fields, alpha = [], []
        for chunk in self.manifest["chunks"][split]:
            with np.load(Path(data_dir) / chunk["file"]) as arrays:
                fields.append(arrays["fields"])
                alpha.append(arrays["alpha"])
        self.fields = np.concatenate(fields).astype(np.float32)
        self.alpha = np.concatenate(alpha).astype(np.float32)

    def __len__(self) -> int:
        return len(self.fields)
