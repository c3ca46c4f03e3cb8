import copy
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

from testbeds import config as cfg  # noqa: E402
from testbeds.data.corpus import slice_corpus  # noqa: E402

from helpers import copy_repo  # noqa: E402


def pytest_configure(config):
    # MLX in the test process: use the optimised BLAS when the caller preloaded it; one thread.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def default_config() -> dict:
    return cfg.load_config([cfg.DEFAULT_CONFIG])


@pytest.fixture
def config(default_config) -> dict:
    return copy.deepcopy(default_config)


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """The embedded corpus, sliced small."""
    out = tmp_path_factory.mktemp("corpus")
    slice_corpus("embedded", None, None, 20_000, 0.1, 0.1, out)
    return out


@pytest.fixture(scope="session")
def workflow_copy(tmp_path_factory) -> Path:
    """One workflow copy for the session: the end-to-end test's grid (test_pipeline) is the one the report
    test (test_report_browser) opens, so the tiny grid runs once."""
    return copy_repo(tmp_path_factory.mktemp("wf") / "testbeds")
