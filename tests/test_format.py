"""Formatting is a habit: ruff format, ruff's lint and snakefmt leave the repository as it is."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "format", "--check", "."],
        ["ruff", "check", "."],
        ["snakefmt", "--check", "Snakefile", "workflow/rules"],
    ],
    ids=["ruff-format", "ruff-check", "snakefmt"],
)
def test_repository_is_formatted(command):
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


def test_the_readme_pipeline_picture_is_the_workflows_rule_graph():
    """README.md's Mermaid picture is regenerated from `snakemake --rulegraph` and must match (renaming a rule
    or adding one without `make rulegraph` fails this)."""
    result = subprocess.run(
        [sys.executable, "scripts/rulegraph.py", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "tune --> select" in (REPO / "README.md").read_text()
