#!/usr/bin/env python
"""Export a trained lot run to ONNX and verify it with onnxruntime.

python scripts/export_onnx.py results/runs/lot/lattice/adamw/seed0 --out model.onnx
"""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds.lot.export import export_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="default: RUN_DIR/model.onnx")
    args = parser.parse_args()
    out = args.out or args.run_dir / "model.onnx"
    error = export_run(args.run_dir, out)
    print(f"{out}: exported; onnxruntime matches PyTorch to {error:.2e} (max |Δ logit|)")
    if error > 1e-4:
        raise SystemExit("error: the ONNX model's outputs differ from PyTorch's")


if __name__ == "__main__":
    main()
