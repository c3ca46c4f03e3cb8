"""Command-line handling shared by the per-run scripts (train, evaluate).

A run is named either by the pipeline (``--run-json``: the resolved run, as the
Snakefile passes it) or by hand like the seeds' CLIs: ``--config config/config.yaml
--workload charlm --optimizer kbeta --seed 0 --set model.d_model=256``.
"""

from __future__ import annotations

import argparse
import json

import _bootstrap  # noqa: F401
from testbeds import config as cfg


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-json", help="resolved run settings (JSON), as written by the pipeline")
    parser.add_argument("--config", action="append", help="config file(s), later ones win (default config/config.yaml)")
    parser.add_argument("--workload", default="charlm")
    parser.add_argument("--variant", default="base")
    parser.add_argument("--optimizer", default=None, help="a name from the config's optimizers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="dotted override of the run's settings, e.g. model.d_model=256 or train.steps=100")


def resolve(args: argparse.Namespace) -> dict:
    if args.run_json:
        run = json.loads(args.run_json)
    else:
        config = cfg.load_config(args.config or [cfg.DEFAULT_CONFIG])
        cfg.validate(config)
        optimizer = args.optimizer or config["workloads"][args.workload]["optimizers"][0]
        run = cfg.resolve_run(config, args.workload, args.variant, optimizer, args.seed)
    for override in args.set:
        key, value = cfg.parse_override(override)
        cfg.set_dotted(run, key, value)
    return run
