# testbeds: train the grid workload x variant x optimizer x seed, evaluate every run,
# aggregate the grid into tables, plots and one HTML report (`snakemake --report`).
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        final_outputs(),
    default_target: True
