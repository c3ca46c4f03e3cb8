"""The report's front page and every caption are valid reStructuredText for every shipped config."""

import io
import re
import types
from pathlib import Path

import docutils.core
import jinja2
import pytest

from testbeds import config as cfg

from helpers import REPO

CAPTIONS = sorted((REPO / "workflow" / "report").glob("*.rst")) + sorted(REPO.glob("src/testbeds/*/report/*.rst"))
CONFIGS = {"default": [], "paper": ["paper.yaml"], "test": ["test.yaml"]}


@pytest.mark.parametrize("config_name", CONFIGS)
@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_warnings(caption: Path, config_name: str, tmp_path, monkeypatch):
    config = cfg.load_config([cfg.DEFAULT_CONFIG] + [REPO / "config" / f for f in CONFIGS[config_name]])
    headline = tmp_path / "results" / "tables" / "headline.rst"  # the front page includes the aggregated one
    headline.parent.mkdir(parents=True)
    headline.write_text("*(the headline table)*\n")
    monkeypatch.chdir(tmp_path)
    snakemake = types.SimpleNamespace(config=config, wildcards=types.SimpleNamespace(workload="charlm"))
    text = (
        jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
        .from_string(caption.read_text())
        .render(snakemake=snakemake)
    )
    warnings = io.StringIO()
    docutils.core.publish_string(
        text, writer_name="html", settings_overrides={"report_level": 2, "warning_stream": warnings}
    )
    assert warnings.getvalue() == "", warnings.getvalue()


# statistical methods a caption or a doc might name; only those the code computes (stats.METHODS) may appear
VOCABULARY = (
    "Welch",
    "Mann-Whitney",
    "Kruskal",
    "Bonferroni",
    "ANOVA",
    "Student",
    "z-test",
    "Holm",
    "Benjamini-Hochberg",
    "Friedman",
    "Nemenyi",
    "Wilcoxon",
    "Wilson",
    "BCa",
    "Hedges",
    "wall-clock",
)
TEXTS = CAPTIONS + [REPO / "docs" / "statistics.md", REPO / "docs" / "tuning.md", REPO / "README.md"]


@pytest.mark.parametrize("text", TEXTS, ids=lambda p: p.name)
def test_captions_and_docs_name_only_what_the_code_computes(text: Path):
    """A caption that names Welch's test or a wall-clock target (neither is computed) fails, and so does one
    that states the t-interval/bootstrap switch at another number of seeds than the code's."""
    from testbeds.analysis import stats

    words = text.read_text()
    computed = " ".join(stats.METHODS).lower()
    for term in VOCABULARY:
        if term.lower() in words.lower():
            assert term.lower() in computed, f"{text.name} names {term!r}, which the statistics do not compute"
    for number in re.findall(r"t-interval below (\d+) seeds", words.replace("\n", " ")):
        assert int(number) == stats.BOOTSTRAP_MIN_N, f"{text.name}: the switch is at {stats.BOOTSTRAP_MIN_N}"
    for high in re.findall(r"τ in \[1, (\d+)\]", words):
        assert float(high) == stats.TAU_MAX
