"""One source of truth for versions: every pin in envs/*.yaml equals requirements.txt (.venv)."""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
NOT_PYPI = {"python", "pip", "libopenblas"}  # conda-only packages, no counterpart in the venv


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def venv_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = version.split("+")[0]
    return pins


def env_pins(path: Path) -> dict[str, str]:
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                name, version = pip_dep.split("==")
                pins[normalise(name)] = version
        else:
            name, _, version = dep.partition("=")
            pins[normalise(name)] = version
    return pins


@pytest.mark.parametrize("env", sorted((REPO / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_match_the_venv(env):
    venv = venv_pins()
    for name, version in env_pins(env).items():
        if name in NOT_PYPI:
            assert version, f"{env.name}: {name} must be pinned"
            continue
        assert name in venv, f"{env.name}: {name} is not in requirements.txt"
        assert version == venv[name], f"{env.name}: {name}={version} but requirements.txt has {venv[name]}"


def test_every_rule_env_exists():
    text = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    for env in set(re.findall(r'"\.\./\.\./(envs/[\w.]+)"', text)):
        assert (REPO / env).exists(), env
