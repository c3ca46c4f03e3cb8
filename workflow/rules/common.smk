import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from testbeds import config as cfg

try:
    cfg.check_consistency(config)
except cfg.ConfigError as err:
    raise WorkflowError(f"Error validating config: {err}")

ENVS = {"mlx": "../../envs/mlx.yaml", "jax": "../../envs/jax.yaml", "torch": "../../envs/torch.yaml"}
RUN = "results/runs/{workload}/{variant}/{optimizer}/seed{seed}"
RUNS = cfg.grid_runs(config)
WORKLOADS = config["grid"]["workloads"]


wildcard_constraints:
    workload="|".join(WORKLOADS),
    seed=r"\d+",
    datakey=r"[0-9a-f]{12}",
    vocab=r"\d+",


def workload(wildcards):
    return config["workloads"][wildcards.workload]


def run_settings(wildcards):
    return cfg.resolve_run(config, wildcards.workload, wildcards.variant, wildcards.optimizer, int(wildcards.seed))


def run_json(wildcards):
    return json.dumps(run_settings(wildcards), sort_keys=True)


GENERATORS = {"lds", "heat2d"}  # workloads whose data a generator rule writes (others read a corpus or make it in-job)


def data_sections(select):
    """Every distinct data section of the grid (variants may change it) that ``select(workload, data)``
    accepts, by directory key."""
    sections = {}
    for r in RUNS:
        data = cfg.resolve_run(config, r["workload"], r["variant"], r["optimizer"], r["seed"])["data"]
        if select(r["workload"], data):
            sections[cfg.data_key(data)] = data
    return sections


DATA = data_sections(lambda w, data: "source" in data and w not in GENERATORS)  # text corpora
GENERATED = {name: data_sections(lambda w, data: w == name) for name in GENERATORS}


def data_manifest(wildcards):
    """The file that marks a run's prepared data as done; its directory is the data directory."""
    run = run_settings(wildcards)
    if "source" not in run["data"] and wildcards.workload not in GENERATORS:  # made inside the training job (lot)
        return []
    corpus = cfg.data_dir("results", wildcards.workload, run["data"])
    if "tokenizer" in run:
        return str(corpus / f"bpe{run['tokenizer']['vocab_size']}" / "meta.json")
    return str(corpus / "manifest.json")


def data_dir_of(wildcards, input):
    return str(Path(input.data).parent) if input.data else ""


def framework_env(wildcards):
    return ENVS[workload(wildcards)["framework"]]


TABLES = "results/tables"
FIGURES = "results/figures/{workload}"
SUMMARY_FIGURES = "results/figures/summary"
OSCILLATOR_WORKLOADS = {"lot"}  # workloads with lattice-oscillator figures
ROLLOUT_WORKLOADS = {"lds"}  # workloads with rollout-score and trajectory figures
FRAME_WORKLOADS = {"heat2d"}  # workloads with per-frame error and predicted-frame figures


def run_finals():
    return [f"{RUN.format(**r)}/final.json" for r in RUNS]


def final_outputs():
    figures = expand(f"{FIGURES}/learning_curves.png", workload=WORKLOADS)
    figures += [f"results/figures/{w}/phases.png" for w in WORKLOADS if w in OSCILLATOR_WORKLOADS]
    figures += [f"results/figures/{w}/rollout_scores.png" for w in WORKLOADS if w in ROLLOUT_WORKLOADS]
    figures += [f"results/figures/{w}/frame_errors.png" for w in WORKLOADS if w in FRAME_WORKLOADS]
    return run_finals() + [f"{TABLES}/runs.csv", f"{SUMMARY_FIGURES}/performance_profiles.png"] + figures


def aggregate_settings():
    return {
        "baselines": {w: config["workloads"][w].get("baseline") for w in WORKLOADS},
        "targets": {w: config["workloads"][w].get("target") for w in WORKLOADS},
    }


# The report's front page shows the headline table of the last aggregation (workflow/report/workflow.rst).
_headline = Path(TABLES) / "headline.rst"
config["_report_headline"] = _headline.read_text() if _headline.exists() else "*(no results aggregated yet)*"


def corpus_source(wildcards):
    data = DATA[wildcards.datakey]
    if data["source"] == "embedded":
        return []
    if data["path"] is not None:
        return data["path"]
    return f"results/data/download/{Path(data['url']).name}"


