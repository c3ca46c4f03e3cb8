#!/usr/bin/env python
"""Reproduce a run from its provenance.json and check that the numbers match.

    python scripts/rerun.py results/runs/charlm/base/kbeta/seed0 [--out /tmp/rerun]

Re-prepares the data from the recorded source (reusing results/data/... when its checksums match),
trains and evaluates with the recorded settings into --out, then compares metrics.csv (all columns but
wall-clock ones) and final.json's metrics. Exit status 0 when they match, 1 when they do not.
"""

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import _bootstrap  # noqa: F401

from testbeds import config as cfg
from testbeds.data.corpus import slice_corpus
from testbeds.runio import git_state, read_json
from testbeds.workloads import workload

SCRIPTS = Path(__file__).resolve().parent
TIME_COLUMNS = {"wall_seconds", "train_seconds"}


def same_data(a: dict, b: dict) -> bool:
    return (a["train_sha256"], a["val_sha256"]) == (b["train_sha256"], b["val_sha256"])


def prepared_data(run: dict, recorded: dict, results: Path, scratch: Path) -> Path | None:
    """The run's data directory: the pipeline's own if its checksums match the record, else rebuilt."""
    if workload(run["workload"]).data == "generated":
        return generated_data(run, recorded, results, scratch)
    if "source" not in run["data"]:
        return None  # generated inside the training job
    tokenizer = run.get("tokenizer")
    corpus_dir = cfg.data_dir(results, run["workload"], run["data"])
    target, marker = (
        (corpus_dir / f"bpe{tokenizer['vocab_size']}", "meta.json") if tokenizer else (corpus_dir, "manifest.json")
    )
    if (target / marker).exists() and same_data(read_json(target / marker), recorded):
        return target
    data, corpus = run["data"], recorded.get("corpus", recorded)
    target = scratch / "data"
    slice_corpus(
        data["source"],
        corpus.get("source_path"),
        data["sha256"],
        data["max_chars"],
        data["val_frac"],
        data["test_frac"],
        target,
    )
    if tokenizer:
        from testbeds.data.tokens import tokenize, train_tokenizer

        train_tokenizer(target / "train.txt", tokenizer["vocab_size"], target / "bpe" / "tokenizer.json")
        tokenize(target / "bpe" / "tokenizer.json", target, target / "bpe")
        target = target / "bpe"
    rebuilt = read_json(target / marker)
    if not same_data(rebuilt, recorded):
        raise SystemExit(
            f"error: the data rebuilt from {corpus['label']} differs from the recorded one "
            f"(train sha256 {rebuilt['train_sha256']} != {recorded['train_sha256']})"
        )
    return target


def generated_data(run: dict, recorded: dict, results: Path, scratch: Path) -> Path:
    """A generated data set (lds, heat2d): the pipeline's own if its checksum matches the record, else
    regenerated."""
    target = cfg.data_dir(results, run["workload"], run["data"])
    if (target / "manifest.json").exists() and read_json(target / "manifest.json")["sha256"] == recorded["sha256"]:
        return target
    rebuilt = cfg.write_generated_data(run["workload"], run["data"], scratch / "data")
    if rebuilt["sha256"] != recorded["sha256"]:
        raise SystemExit(
            f"error: the regenerated data set differs from the recorded one "
            f"(sha256 {rebuilt['sha256']} != {recorded['sha256']})"
        )
    return scratch / "data"


def numbers(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k not in TIME_COLUMNS} for row in csv.DictReader(handle)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="where to write the reproduction (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results root holding prepared data")
    args = parser.parse_args()
    prov = read_json(args.run_dir / "provenance.json")
    now = git_state()
    if prov["git"]["commit"] != now["commit"] or prov["git"]["dirty"] or now["dirty"]:
        print(
            f"note: recorded at commit {prov['git']['commit']} (dirty={prov['git']['dirty']}), "
            f"reproducing at {now['commit']} (dirty={now['dirty']}): code differences may change numbers"
        )
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "run"
        data = prepared_data(prov["config"], prov["data"], args.results, Path(scratch))
        run_json = json.dumps(prov["config"])
        data = str(data) if data else ""
        for command in (
            ["train.py", "--run-json", run_json, "--data", data, "--out", str(out)],
            ["evaluate.py", "--run-dir", str(out), "--data", data],
        ):
            subprocess.run([sys.executable, str(SCRIPTS / command[0]), *command[1:]], check=True)
        same_curve = numbers(out) == numbers(args.run_dir)
        original, again = read_json(args.run_dir / "final.json"), read_json(out / "final.json")
        same_final = (original["metrics"], original["status"]) == (again["metrics"], again["status"])
    print(
        f"metrics.csv {'identical' if same_curve else 'DIFFERENT'}; final metrics "
        f"{'identical' if same_final else 'DIFFERENT'} ({original['primary_metric']}: "
        f"{original['primary_value']} vs {again['primary_value']})"
    )
    return 0 if same_curve and same_final else 1


if __name__ == "__main__":
    sys.exit(main())
