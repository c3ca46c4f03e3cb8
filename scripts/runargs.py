"""Command-line handling shared by the per-run scripts (train, evaluate).

A run is named either by the pipeline (``--run-json``: the resolved run, as the
Snakefile passes it) or by hand like the source projects' CLIs: ``--config config/config.yaml
--workload charlm --optimizer kbeta --seed 0 --set model.d_model=256``.
"""

from __future__ import annotations

import argparse
import json

import _bootstrap  # noqa: F401

from testbeds.settings import ConfigError, parse_override, set_dotted


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-json", help="resolved run settings (JSON), as written by the pipeline")
    parser.add_argument("--config", action="append", help="config file(s), later ones win (default config/config.yaml)")
    parser.add_argument("--workload", default="charlm")
    parser.add_argument("--variant", default="base")
    parser.add_argument("--optimizer", default=None, help="a name from the config's optimizers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dotted override of the run's settings, e.g. model.d_model=256, train.lr=1e-3 or "
        "optimizer.beta2_min=0.9 (checked against the schema)",
    )


def resolve(args: argparse.Namespace) -> dict:
    if args.run_json:
        run = json.loads(args.run_json)
        for override in args.set:
            set_dotted(run, *parse_override(override))
        return run
    return resolve_from_config(args)


def resolve_from_config(args: argparse.Namespace) -> dict:
    """The run named on the command line, planned from the config files like the pipeline plans it."""
    from testbeds import config as cfg  # the planner, only where a run is planned here rather than passed in

    config = cfg.load_config(args.config or [cfg.DEFAULT_CONFIG])
    if args.workload not in config["workloads"]:
        raise SystemExit(f"error: no workload '{args.workload}' in the config (have: {', '.join(config['workloads'])})")
    optimizer = args.optimizer or config["workloads"][args.workload]["optimizers"][0]
    for override in args.set:
        key, value = parse_override(override)
        section, _, rest = key.partition(".")
        if section == "optimizer":
            set_dotted(config["optimizers"][optimizer], rest, value)
        else:
            set_dotted(config["workloads"][args.workload], key, value)
    try:
        cfg.validate(config)
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from None
    return cfg.resolve_run(config, args.workload, args.variant, optimizer, args.seed)
