"""The version of the code a pipeline job runs: a hash of the files it imports from this repository.

The Snakefile passes it to each job as a parameter, so editing a workload's model re-runs that workload's
runs and nothing else, and editing the analysis re-runs only the aggregation. The imports are read from
the source (``ast``), every ``import`` statement of a file, function-level ones included, following only
modules that live in ``scripts/`` or ``src/``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

from testbeds.settings import REPO

SEARCH = (REPO / "scripts", REPO / "src")


@functools.cache
def module_file(name: str) -> Path | None:
    """The repository file of module ``name`` (``a.b`` -> src/a/b.py or src/a/b/__init__.py), if any."""
    parts = name.split(".")
    for root in SEARCH:
        for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


@functools.cache
def imported_modules(path: Path, package: str) -> frozenset[str]:
    """Module names a file imports (``from x import y`` also offers ``x.y``, which may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def parents(name: str) -> list[str]:
    """The packages Python imports before ``name`` (``a.b.c`` -> ``a``, ``a.b``)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def closure(roots: tuple[str, ...]) -> tuple[Path, ...]:
    """Every repository file that importing ``roots`` (module names, or script paths relative to the
    repository) may execute."""
    pending = [root for root in roots]
    seen: dict[Path, None] = {}
    while pending:
        name = pending.pop()
        path = REPO / name if name.endswith(".py") else module_file(name)
        if path is None or path in seen:
            continue
        path = path.resolve()
        seen[path] = None
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = imported_modules(path, package)
        pending.extend(found | {p for f in found | {name} if not f.endswith(".py") for p in parents(f)})
    return tuple(sorted(seen))


@functools.cache
def code_version(*roots: str) -> str:
    """A short hash of the contents (and repository paths) of every file in the import closure of ``roots``."""
    digest = hashlib.sha256()
    for path in closure(tuple(roots)):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
