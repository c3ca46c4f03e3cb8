"""The workloads the grid can run, found as packages that export a ``WORKLOAD`` description.

A workload is a package ``NAME`` (under ``src/testbeds/``, or in a directory listed in the environment
variable ``TESTBEDS_WORKLOADS``) with ``data.py``, ``model.py``, ``train.py``, ``evaluate.py``, its
settings' schema ``config.schema.yaml`` and, if it draws figures of its own, ``plots.py``; its
``__init__.py`` sets ``WORKLOAD = Workload(...)``. The config checks, the Snakefile, the plots and the
report read this registry, so adding a workload touches no other file (docs/extending.md).

This module imports no framework: the Snakefile and every rule's environment load it.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BUILT_IN = Path(__file__).resolve().parent
DATA_KINDS = ("corpus", "tokenized", "generated", "in-job")


@dataclass(frozen=True)
class Figure:
    """A file the workload's ``plots.draw`` writes under results/figures/NAME/, shown in the report with the
    caption (reStructuredText) in its package's ``report/CAPTION``; ``table`` files go to results/tables/."""

    file: str
    caption: str
    table: bool = False


def no_check(settings: dict, where: str) -> None:
    """Cross-field rules of a workload's resolved settings; raise config.ConfigError naming the key."""


@dataclass(frozen=True)
class Workload:
    """What the pipeline needs to know about a workload.

    ``data``: how its data is prepared: ``corpus`` (a text corpus sliced by the slice_corpus rule),
    ``tokenized`` (that, then a BPE tokenizer trained and applied), ``generated`` (its ``data.py`` has
    ``write_dataset(settings, out) -> manifest``, run by the generate_data rule) or ``in-job`` (the training
    job makes it). ``data_inputs``: files a generated data set is made from (e.g. a user's array).
    ``run_files``: files its evaluation writes into a run directory besides final.json.
    ``figures``: what its ``plots.py`` draws; ``figure_directory``: a folder of further per-run figures.
    ``best_validation``: the best possible value of its validation metric, lower being better (a
    time-to-target ``target`` below it could never be reached and is refused; None: not known).
    """

    framework: str
    data: str
    check: Callable[[dict, str], None] = no_check
    devices: tuple[str, ...] = ("auto", "cpu", "cuda", "metal")
    data_inputs: Callable[[dict], list[str]] = lambda data: []
    run_files: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    figure_directory: str | None = None
    best_validation: float | None = 0.0
    name: str = ""  # the package's name, filled in when found
    module: str = ""  # its import name, filled in when found
    directory: Path = field(default=BUILT_IN)  # its folder, filled in when found


def search_path() -> list[tuple[Path, str]]:
    """(folder, module prefix) of every place workloads are looked for: the built-in ones first."""
    extra = [Path(p).resolve() for p in os.environ.get("TESTBEDS_WORKLOADS", "").split(os.pathsep) if p]
    return [(BUILT_IN, "testbeds."), *((folder, "") for folder in extra)]


@functools.cache
def registry() -> dict[str, Workload]:
    """Every workload found, by name."""
    found: dict[str, Workload] = {}
    for folder, prefix in search_path():
        if not prefix and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        for init in sorted(folder.glob("*/__init__.py")):
            module = importlib.import_module(prefix + init.parent.name)
            spec = getattr(module, "WORKLOAD", None)
            if not isinstance(spec, Workload):
                continue
            name = init.parent.name
            if name in found:
                raise ValueError(f"two workloads are named {name!r}: {found[name].directory} and {init.parent}")
            if spec.data not in DATA_KINDS:
                raise ValueError(f"{init}: WORKLOAD.data must be one of {DATA_KINDS}, not {spec.data!r}")
            found[name] = dataclasses.replace(spec, name=name, module=prefix + name, directory=init.parent)
    return found


def workload(name: str) -> Workload:
    known = registry()
    if name not in known:
        raise KeyError(f"unknown workload {name!r} (known: {', '.join(sorted(known))})")
    return known[name]


def step(name: str, part: str):
    """The module ``part`` (data, model, train, evaluate, plots) of workload ``name``."""
    return importlib.import_module(f"{workload(name).module}.{part}")
