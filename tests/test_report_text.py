"""The report's front page and every caption are valid reStructuredText for every shipped config."""

import io
import types
from pathlib import Path

import docutils.core
import jinja2
import pytest
from conftest import REPO
from testbeds import config as cfg

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
