"""Make ``src/`` importable when a script runs from a checkout (venv or per-rule conda env)."""

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
