# testbeds: train the grid workload x variant x optimizer x seed, evaluate every run,
# aggregate the grid into tables, plots and one HTML report (`snakemake --report`).
import sys
from pathlib import Path

from snakemake.utils import min_version

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from testbeds import config as cfg
from testbeds.interpreter import put_first_on_path

put_first_on_path()  # jobs run the interpreter that runs Snakemake, activated or not

min_version("9.0")


configfile: "config/config.yaml"


try:  # one pass: the schemas and the cross-field rules, naming the dotted key of a problem
    cfg.validate(config)
    CLAIM_LIST = cfg.load_claims(config)
except cfg.ConfigError as err:
    raise WorkflowError(f"Error validating config: {err}")


# in pipeline order: data, tune and select, train (and evaluate), cells, a sequential design's looks, aggregate (quick jobs that read many
# files say `localrule: True`: they run where Snakemake runs, not as cluster jobs)
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/cells.smk"
include: "workflow/rules/looks.smk"
include: "workflow/rules/aggregate.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        final_outputs(),
    localrule: True
