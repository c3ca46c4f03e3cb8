import copy
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from testbeds import config as cfg  # noqa: E402
from testbeds.data.corpus import slice_corpus  # noqa: E402


def pytest_configure(config):
    # MLX in the test process: use the optimised BLAS when the caller preloaded it; one thread.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def default_config() -> dict:
    return cfg.load_config([cfg.DEFAULT_CONFIG])


@pytest.fixture
def config(default_config) -> dict:
    return copy.deepcopy(default_config)


def tiny_run(config: dict, optimizer: str = "kbeta", seed: int = 0, **train) -> dict:
    """A charlm run small enough for a unit test (a second or two)."""
    run = cfg.resolve_run(config, "charlm", "base", optimizer, seed)
    run["model"].update(d_model=32, n_layer=1, n_head=2, ctx=32)
    run["train"].update(
        steps=12, batch=4, lmin=8, lmax=32, len_bucket=8, eval_every=4, eval_bs=8, log_every=2, checkpoint_every=4
    )
    run["train"].update(train)
    run["eval"]["batch"] = 16
    return run


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """The embedded corpus, sliced small."""
    out = tmp_path_factory.mktemp("corpus")
    slice_corpus("embedded", None, None, 20_000, 0.1, 0.1, out)
    return out


def copy_repo(dest: Path) -> Path:
    """A working copy of the workflow (no results), for end-to-end Snakemake runs."""
    ignore = shutil.ignore_patterns(".venv", "results", ".snakemake", ".git", "__pycache__", ".pytest_cache")
    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


@pytest.fixture(scope="session")
def workflow_copy(tmp_path_factory) -> Path:
    """One workflow copy for the session: the end-to-end test's grid (test_pipeline) is the one the report
    test (test_report_browser) opens, so the tiny grid runs once."""
    return copy_repo(tmp_path_factory.mktemp("wf") / "testbeds")
