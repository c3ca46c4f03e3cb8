"""Text corpora for the language-model workloads: enwik8, TinyStories, a local file, or the embedded corpus.

All sources go through the same slicing (first ``max_chars`` characters, then a
contiguous train/validation/test split) and end as ``train.txt``, ``val.txt``, ``test.txt``
and a ``manifest.json`` that records the source, its checksum, the slice and each split's checksum.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import urllib.request
import zipfile
from pathlib import Path

from testbeds.runio import atomic_write_json, atomic_write_text, sha256_file

ENWIK8_BYTES = 100_000_000
EMBEDDED_LABEL = "embedded: Python {version} documentation topics (pydoc_data), offline stand-in for enwik8/TinyStories"


class DataError(RuntimeError):
    """Missing or corrupt input data; the message names the file."""


def embedded_text() -> tuple[str, str]:
    """The offline corpus: Python's own help-topic documentation, in a fixed order."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[name].strip() for name in sorted(topics))
    return text, EMBEDDED_LABEL.format(version=platform.python_version())


def check_sha256(path: Path, expected: str | None) -> str:
    actual = sha256_file(path)
    if expected is not None and actual != expected:
        raise DataError(f"{path}: SHA-256 is {actual}, but the config expects {expected} (corrupt or wrong file)")
    return actual


def read_enwik8(path: Path) -> bytes:
    """enwik8 from the zip archive or the extracted file; it must be exactly 10^8 bytes."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "enwik8" not in archive.namelist():
                raise DataError(f"{path}: zip archive has no member 'enwik8' (members: {archive.namelist()[:5]})")
            data = archive.read("enwik8")
    else:
        data = Path(path).read_bytes()
    if len(data) != ENWIK8_BYTES:
        raise DataError(f"{path}: enwik8 must be {ENWIK8_BYTES:,} bytes, found {len(data):,} (truncated or not enwik8)")
    return data


def load_source(source: str, path: str | Path | None, sha256: str | None, unit: str = "char") -> tuple[str, dict]:
    """Read a corpus source into text; returns (text, description for the manifest).

    ``unit``: ``char`` decodes UTF-8 (Unicode characters); ``byte`` keeps the raw bytes, as Latin-1 text so
    that each character of the result is one byte (0-255) and the same text files serve both units."""
    if source == "embedded":
        text, label = embedded_text()
        digest = hashlib.sha256(text.encode()).hexdigest()
        described = {"source": "embedded", "label": label, "source_path": None, "source_sha256": digest}
        return (text.encode().decode("latin-1") if unit == "byte" else text), described
    if path is None:
        raise DataError(f"data source '{source}' needs a path")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file (data source '{source}')")
    digest = check_sha256(path, sha256)
    if source == "enwik8":
        raw, label = read_enwik8(path), "enwik8 (first 10^8 bytes of English Wikipedia, Hutter prize)"
    elif source == "tinystories":
        raw, label = path.read_bytes(), f"TinyStories ({path.name})"
    elif source == "file":
        raw, label = path.read_bytes(), f"file: {path.name}"
    else:
        raise DataError(f"unknown data source '{source}'")
    try:
        if unit == "byte":
            text = raw.decode("latin-1")
        else:
            text = raw.decode("utf-8", errors="replace") if source == "enwik8" else raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err})") from None
    return text, {"source": source, "label": label, "source_path": str(path), "source_sha256": digest}


def split_text(text: str, max_chars: int, val_frac: float, test_frac: float) -> tuple[str, str, str]:
    """First ``max_chars`` characters, split contiguously: training, then validation, then the test tail."""
    sliced = text[:max_chars]
    n_val, n_test = int(round(len(sliced) * val_frac)), int(round(len(sliced) * test_frac))
    if n_val < 2 or n_test < 2 or len(sliced) - n_val - n_test < 2:
        raise DataError(
            f"corpus of {len(sliced)} characters is too small to split with val_frac={val_frac}, test_frac={test_frac}"
        )
    n_train = len(sliced) - n_val - n_test
    return sliced[:n_train], sliced[n_train : n_train + n_val], sliced[n_train + n_val :]


def slice_corpus(
    source: str, path, sha256, max_chars: int, val_frac: float, test_frac: float, out_dir: Path, unit: str = "char"
) -> dict:
    """Write train.txt, val.txt, test.txt and manifest.json (last, so its presence means done). ``max_chars`` counts
    ``unit``s: characters, or bytes (each character of the files then stands for one byte); ``auto`` is
    bytes for enwik8 (as published results count), characters otherwise."""
    if unit == "auto":
        unit = "byte" if source == "enwik8" else "char"
    text, described = load_source(source, path, sha256, unit)
    splits = dict(zip(("train", "val", "test"), split_text(text, max_chars, val_frac, test_frac)))
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, part in splits.items():
        atomic_write_text(out_dir / f"{split}.txt", part)
    manifest = {
        **described,
        "unit": unit,
        "max_chars": max_chars,
        "val_frac": val_frac,
        "test_frac": test_frac,
        **{f"n_{split}_chars": len(part) for split, part in splits.items()},
        "vocab_size": len(set("".join(splits.values()))),
        **{f"{split}_sha256": sha256_file(out_dir / f"{split}.txt") for split in splits},
    }
    atomic_write_json(out_dir / "manifest.json", manifest)
    return manifest


def download(url: str, dest: Path, sha256: str | None, timeout: float = 60.0) -> str:
    """Fetch ``url`` to ``dest`` (via a temporary file) and verify its checksum."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as handle:
            shutil.copyfileobj(response, handle)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"{dest}: download from {url} failed ({err}); set data.path to a local copy to work offline"
        ) from None
    try:
        digest = check_sha256(tmp, sha256)
    except DataError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dest)
    return digest
