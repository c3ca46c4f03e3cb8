# testbeds: train the grid workload x variant x optimizer x seed, evaluate every run,
# aggregate the grid into tables, plots and one HTML report (`snakemake --report`).
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
# jobs run `python`: the interpreter running Snakemake (e.g. .venv/bin/snakemake, not activated) comes first;
# a job's conda env, where used, is activated in front of it
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
from testbeds import config as cfg

min_version("9.0")


configfile: "config/config.yaml"


try:
    cfg.validate(config)  # the schema and the cross-field rules, naming the dotted key of a problem
except cfg.ConfigError as err:
    raise WorkflowError(f"Error validating config: {err}")
validate(config, "workflow/schemas/config.schema.yaml")
validate(cfg.load_config(["config/claims.yaml"]), "workflow/schemas/claims.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"


report: "workflow/report/workflow.rst"


# quick jobs that read the whole grid's results: run where Snakemake runs, not as cluster jobs
localrules:
    all,
    download,
    aggregate,
    plot_workload,
    plot_summary,  # and each workload's own plot rule (localrule: True there)


rule all:
    default_target: True
    input:
        final_outputs(),
