"""Jobs run ``python``: make it the interpreter that runs Snakemake, so that ``.venv/bin/snakemake`` works
without activating the venv (a job's conda env, where used, is activated in front of it)."""

import os
import sys
from pathlib import Path


def put_first_on_path() -> None:
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
