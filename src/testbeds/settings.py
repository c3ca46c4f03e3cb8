"""The few pieces every part of testbeds shares about settings: the repository's root, the error a bad setting
raises, merging and dotted overrides, and a resolved run's hash.

A leaf: it imports nothing of the project, so a training job (which reads a resolved run) does not import the
grid planner (testbeds.config, testbeds.tuning), and the planner's modules import this one, never each other
in a circle.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """A configuration problem, with the offending key in the message."""


def deep_merge(base: dict, update: dict) -> dict:
    """Merge ``update`` into a copy of ``base``: dicts merge, everything else replaces.

    These are Snakemake's semantics for ``--configfile`` on top of ``configfile:``.
    """
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def set_dotted(tree: dict, dotted_key: str, value: Any) -> None:
    """Set ``tree['a']['b'] = value`` for ``dotted_key='a.b'``; the parent must exist."""
    *parents, leaf = dotted_key.split(".")
    node = tree
    for i, part in enumerate(parents):
        if not isinstance(node.get(part), dict):
            raise ConfigError(f"unknown setting '{'.'.join(parents[: i + 1])}' in override '{dotted_key}'")
        node = node[part]
    if leaf not in node:
        raise ConfigError(f"unknown setting '{dotted_key}'")
    node[leaf] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key.sub=value``; the value is read as YAML (numbers, lists, null)."""
    import yaml  # only where an override is given: a job run from its resolved settings needs no YAML

    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like key.sub=value")
    key, raw = text.split("=", 1)
    value = yaml.safe_load(raw)
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string; a number is meant
        try:
            value = float(raw)
        except ValueError:
            pass
    return key.strip(), value


def config_hash(run: dict) -> str:
    """A short, stable hash of a resolved run (key order does not matter)."""
    text = json.dumps(run, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
