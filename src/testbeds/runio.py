"""The run contract on disk (docs/design.md): metrics.csv, final.json, provenance.json, checkpoint/.

Everything here is framework-free. Files are written atomically (temporary file,
fsync, rename), so a killed job never leaves a half-written file that looks done.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from testbeds.settings import REPO, config_hash


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_npz(path: str | Path, **arrays) -> None:
    """A compressed NumPy archive, written atomically (NumPy is imported only by callers that need it)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _json_safe(value: Any) -> Any:
    """NaN and inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_json_safe(obj), indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path) as handle:
        return json.load(handle)


class MetricsLog:
    """Rows of ``{name}.csv`` (metrics.csv by default), kept in ``{name}.partial.csv`` until the run finishes.

    The partial file is not a declared pipeline output, so it survives Snakemake's
    clean-up of an interrupted job; on resume it is cut back to the checkpointed step.
    """

    def __init__(self, run_dir: Path, columns: list[str], name: str = "metrics"):
        self.columns = columns
        self.partial = run_dir / f"{name}.partial.csv"
        self.final = run_dir / f"{name}.csv"

    def rows(self) -> list[dict]:
        if not self.partial.exists():
            return []
        with open(self.partial, newline="") as handle:
            return list(csv.DictReader(handle))

    def restart(self, up_to_step: int) -> None:
        """Keep only rows with step <= up_to_step (0: start empty)."""
        kept = [r for r in self.rows() if int(r["step"]) <= up_to_step]
        self._write(kept)

    def append(self, row: dict) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"metrics row has columns not declared for this run: {sorted(unknown)}")
        with open(self.partial, "a", newline="") as handle:
            csv.DictWriter(handle, self.columns).writerow({k: _csv_value(row.get(k)) for k in self.columns})

    def finish(self) -> None:
        """Publish the rows as metrics.csv (atomically)."""
        self._write(self.rows(), self.final)
        self.partial.unlink()

    def _write(self, rows: list[dict], path: Path | None = None) -> None:
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns)
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in self.columns} for r in rows)
        atomic_write_text(path or self.partial, buffer.getvalue())


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


CHECKPOINT_FORMAT = 2  # bump when the checkpoint layout changes: older ones are then skipped, not misread


class Checkpoints:
    """Atomic checkpoint directories ``checkpoint/step-00000100/`` with checksums.

    ``save`` lets the caller write its files into a temporary directory, records each
    file's SHA-256 in ``meta.json``, then renames the directory into place. ``latest``
    returns the newest checkpoint whose files match their checksums, reporting (and
    skipping) corrupt ones.
    """

    def __init__(self, run_dir: Path, keep: int = 2, log: Callable[[str], None] = print):
        self.root = run_dir / "checkpoint"
        self.keep = keep
        self.log = log

    def save(self, step: int, write_files: Callable[[Path], None], meta: dict) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".tmp-"))
        try:
            write_files(tmp)
            files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
            record = {**meta, "step": step, "files": files, "format": CHECKPOINT_FORMAT}
            (tmp / "meta.json").write_text(json.dumps(_json_safe(record), indent=2))
            for p in tmp.iterdir():
                with open(p, "rb") as handle:
                    os.fsync(handle.fileno())
            final = self.root / f"step-{step:08d}"
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
            _fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for old in self._step_dirs()[self.keep :]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def latest(self, expected_hash: str | None = None) -> tuple[Path, dict] | None:
        for path in self._step_dirs():
            problem = self._problem(path, expected_hash)
            if problem is None:
                return path, read_json(path / "meta.json")
            self.log(f"checkpoint {path} is unusable ({problem}); trying an older one")
        return None

    def _problem(self, path: Path, expected_hash: str | None) -> str | None:
        try:
            meta = read_json(path / "meta.json")
        except (OSError, ValueError) as err:
            return f"meta.json unreadable: {err}"
        if meta.get("format") != CHECKPOINT_FORMAT:
            return f"checkpoint format {meta.get('format')}, this code reads format {CHECKPOINT_FORMAT}"
        if expected_hash is not None and meta.get("config_hash") != expected_hash:
            return f"written for config {meta.get('config_hash')}, this run is {expected_hash}"
        for name, digest in meta.get("files", {}).items():
            if not (path / name).exists():
                return f"{name} is missing"
            if sha256_file(path / name) != digest:
                return f"{name} fails its checksum"
        return None

    def _step_dirs(self) -> list[Path]:
        if not self.root.exists():
            return []
        return sorted((p for p in self.root.glob("step-*") if p.is_dir()), reverse=True)


def git_state() -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def package_versions(names: list[str]) -> dict:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(
    run: dict, device: str, packages: list[str], data_manifest: dict | None, extra: dict | None = None
) -> dict:
    return {
        "config": run,
        "config_hash": config_hash(run),
        "seed": run["seed"],
        "git": git_state(),
        "packages": package_versions(packages),
        "device": device,
        "host": {"name": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "data": data_manifest,
        "command": [sys.executable, *sys.argv],
        **(extra or {}),
    }


def final_checkpoint(run_dir: Path, prov: dict, summary: dict) -> Path:
    """The checkpoint directory of a finished run's last step (what evaluation loads)."""
    found = Checkpoints(run_dir).latest(prov["config_hash"])
    if found is None or found[1]["step"] != summary["steps"]:
        raise RuntimeError(f"{run_dir}: no valid checkpoint of the final step {summary['steps']}")
    return found[0]


def write_final(
    run_dir: Path,
    prov: dict,
    summary: dict,
    *,
    status: str,
    primary: str,
    curve: str,
    direction: str,
    metrics: dict,
    throughput: dict,
    data_source: str,
    split: str = "test",
    bound: float | None = None,
    trivial: dict | None = None,
    eval_seconds: float = 0.0,
    **extra,
) -> dict:
    """final.json: the run's identity, status, primary metric (from ``split``; ``bound`` is its best possible
    value where a run can reach it), all final metrics, the settings it ran with and cost (docs/design.md).
    ``trivial``: {metric: the score of the metric's trivial model (a uniform guess, persistence)}, so that a
    claim comparing two runs that both do worse can say so."""
    run = prov["config"]
    hyperparameters = {"train.lr": run.get("train", {}).get("lr"), **run.get("tuned", {})}
    final = {
        "status": status,
        "workload": run["workload"],
        "variant": run["variant"],
        "optimizer": run["optimizer"]["label"],
        "seed": run["seed"],
        "primary_metric": primary,
        "curve_metric": curve,
        "direction": direction,
        "split": split,
        "bound": bound,
        "trivial": trivial or {},
        "primary_value": metrics.get(primary, math.nan) if status == "ok" else math.nan,
        "metrics": metrics,
        "steps": summary["steps"],
        "stop_reason": summary["stop_reason"],
        "wall_seconds": summary["wall_seconds"],
        "train_seconds": summary["train_seconds"],
        "eval_seconds": eval_seconds,
        "hyperparameters": hyperparameters,
        "throughput": {"train_tokens_per_second": summary["tokens_per_second"], **throughput},
        "device": summary["device"],
        "data_source": data_source,
        "config_hash": prov["config_hash"],
        **extra,
    }
    atomic_write_json(Path(run_dir) / "final.json", final)
    return final
