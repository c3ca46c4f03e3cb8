import functools
import json

from testbeds import tuning
from testbeds.codeversion import code_version
from testbeds.workloads import workload as workload_spec

ENVS = {"mlx": "../../envs/mlx.yaml", "jax": "../../envs/jax.yaml", "torch": "../../envs/torch.yaml"}
CELL = "results/tuning/{workload}/{variant}/{optimizer}"  # one (workload, variant, optimizer): its trials
TRIAL = "results/tuning/{workload}/{variant}/{optimizer}/trial{trial}"
RUN = "results/runs/{workload}/{variant}/{optimizer}/seed{seed}"  # a final run at the chosen settings
RUN_DIR = "results/{stage}/{workload}/{variant}/{optimizer}/{member}"  # either of the two
WORKLOADS = config["grid"]["workloads"]
SEEDS = config["grid"]["seeds"]
CELLS = cfg.grid_cells(config)
CLAIMS = "config/claims.yaml"  # the seeds' claims the report measures (workflow/schemas/claims.schema.yaml)


wildcard_constraints:
    workload="|".join(WORKLOADS),
    variant=cfg.NAME_PATTERN,
    optimizer=cfg.NAME_PATTERN,
    seed=r"\d+",
    trial=r"\d+",
    stage="runs|tuning",
    member=r"(seed|trial)\d+",
    datakey=r"[0-9a-f]{12}",
    vocab=r"\d+",


def option(flag, value):
    """A command-line option as a list for ``{params.x:q}``, or none for an unset value (Snakemake renders a
    quoted empty string as nothing, which would leave the flag without its value)."""
    return [flag, str(value)] if value not in (None, "") else []


def workload(wildcards):
    return config["workloads"][wildcards.workload]


def run_settings(wildcards):
    return cfg.resolve_run(config, wildcards.workload, wildcards.variant, wildcards.optimizer, int(wildcards.seed))


def budget(name):
    return cfg.tuning_settings(config, name)["budget"]


@functools.cache
def trial_points(name):
    """optimizer -> each trial's settings: one quasi-random sequence per workload (testbeds.tuning), made
    when a trial is first planned (not on every parse of the Snakefile, e.g. by a cluster job)."""
    searched = {o: cfg.search_space(config, name, o) for o in config["workloads"][name]["optimizers"]}
    return tuning.trial_points(searched, budget(name), cfg.tuning_settings(config, name)["seed"])


def selection_file(wildcards):
    """A tuned cell's selected.json, once its select checkpoint has run (Snakemake re-evaluates after it)."""
    return checkpoints.select.get(**cell_of(wildcards)).output[0]


def read_selection(wildcards):
    with open(selection_file(wildcards)) as handle:
        return json.load(handle)


def with_code(run, wildcards):
    """The run's settings and the version of the code it runs, one parameter (a job's parameters are
    evaluated per job: one function is cheaper than two on a large grid)."""
    return json.dumps({**run, "code": train_code(wildcards)}, sort_keys=True)


def run_json(wildcards):
    """A final run: the configured settings, or a tuned cell's chosen ones."""
    run = run_settings(wildcards)
    if budget(wildcards.workload):
        chosen = read_selection(wildcards)["settings"]
        run = {**tuning.apply(run, chosen), "tuned": chosen}
    return with_code(run, wildcards)


def trial_json(wildcards):
    """Trial k of a cell: the tuning seed, with point k of the workload's sequence applied."""
    w = wildcards.workload
    run = cfg.resolve_run(config, w, wildcards.variant, wildcards.optimizer, cfg.tuning_settings(config, w)["seed"])
    chosen = trial_points(w)[wildcards.optimizer][int(wildcards.trial)]
    return with_code({**tuning.apply(run, chosen), "tuned": chosen, "trial": int(wildcards.trial)}, wildcards)


def final_run_data(wildcards):
    """A final run's data; in a tuned cell it waits for the selection (its settings are a parameter)."""
    if budget(wildcards.workload):
        selection_file(wildcards)
    return data_manifest(wildcards)


def trial_summaries(wildcards):
    cell = cell_of(wildcards)
    return [f"{TRIAL}/train.json".format(**cell, trial=k) for k in range(budget(wildcards.workload))]


def cell_of(wildcards):
    return {k: getattr(wildcards, k) for k in ("workload", "variant", "optimizer")}


def cell_finals(wildcards):
    """The final.json of each seed of a cell: its final runs and, for the tuning seed, the chosen trial
    (trained on the same split at the same settings). A cell whose trials all diverged has none."""
    cell = cell_of(wildcards)
    if not budget(wildcards.workload):
        return [f"{RUN}/final.json".format(**cell, seed=s) for s in SEEDS]
    selection = read_selection(wildcards)
    if selection["status"] != "ok":
        return []
    tuning_seed = cfg.tuning_settings(config, wildcards.workload)["seed"]
    chosen = TRIAL.format(**cell, trial=selection["trial"])
    return [f"{chosen if s == tuning_seed else RUN.format(**cell, seed=s)}/final.json" for s in SEEDS]


def cell_selection(wildcards):
    return selection_file(wildcards) if budget(wildcards.workload) else []


SPECS = {w: workload_spec(w) for w in WORKLOADS}  # each workload's description (testbeds.workloads)
CORPORA = [w for w in WORKLOADS if SPECS[w].data in ("corpus", "tokenized")]  # text corpora
GENERATORS = [w for w in WORKLOADS if SPECS[w].data == "generated"]  # data sets a generator writes


def data_sections():
    """workload -> {directory key: data section} for every distinct data section of the grid. Only the
    variant changes a data section, so one resolution per (workload, variant) suffices."""
    sections = {}
    for w in WORKLOADS:
        entry = config["workloads"][w]
        for variant in entry["variants"]:
            data = cfg.resolve_run(config, w, variant, entry["optimizers"][0], 0)["data"]
            sections.setdefault(w, {})[cfg.data_key(data)] = data
    return sections


SECTIONS = data_sections()
DATA = {key: data for w in CORPORA for key, data in SECTIONS[w].items()}
GENERATED = {w: SECTIONS[w] for w in GENERATORS}


def data_manifest(wildcards):
    """The file that marks a run's prepared data as done; its directory is the data directory."""
    return variant_data_manifest(wildcards.workload, wildcards.variant)


@functools.cache
def variant_data_manifest(name, variant):
    """Only the variant changes a run's data, so this is resolved once per (workload, variant)."""
    run = cfg.resolve_run(config, name, variant, config["workloads"][name]["optimizers"][0], 0)
    kind = SPECS[name].data
    if kind == "in-job":
        return []
    folder = cfg.data_dir("results", name, run["data"])
    if kind == "tokenized":
        return str(folder / f"bpe{run['tokenizer']['vocab_size']}" / "meta.json")
    return str(folder / "manifest.json")


def data_option(wildcards, input):
    """``--data DIR`` for a run whose data a rule prepares, nothing for one whose job makes its own (lot)."""
    return option("--data", Path(input.data).parent if input.data else None)


def train_code(wildcards):
    """The version of the code a training job runs (its workload package, the shared modules it imports and
    its framework's optimisers): part of the run JSON parameter, so that editing it re-runs exactly its runs."""
    spec = SPECS[wildcards.workload]
    return code_version("scripts/train.py", f"{spec.module}.train", f"testbeds.optim.{spec.framework}_optim")


def framework_env(wildcards):
    return ENVS[workload(wildcards)["framework"]]


TABLES = "results/tables"
FIGURES = "results/figures/{workload}"
SUMMARY_FIGURES = "results/figures/summary"


def own_figures(name):
    """Where a workload's own figures (its plots.py) go: results/figures/NAME/ or, tables, results/tables/."""
    return {
        f.file: f"{TABLES}/{f.file}" if f.table else f"results/figures/{name}/{f.file}" for f in SPECS[name].figures
    }


def cell_files():
    return [f"results/cells/{c['workload']}/{c['variant']}/{c['optimizer']}.json" for c in CELLS]


def final_outputs():
    figures = expand(f"{FIGURES}/learning_curves.png", workload=WORKLOADS)
    figures += [path for w in WORKLOADS for path in own_figures(w).values()]
    return [f"{TABLES}/runs.csv", f"{SUMMARY_FIGURES}/performance_profiles.png"] + figures


def aggregate_settings():
    return {
        "baselines": {w: config["workloads"][w].get("baseline") for w in WORKLOADS},
        "targets": {w: config["workloads"][w].get("target") for w in WORKLOADS},
        "tuning": {w: cfg.tuning_settings(config, w) for w in WORKLOADS},
        "seeds": SEEDS,
        "clock": config.get("analysis", {}).get("clock", "steps"),
    }


def download_path(data):
    """A downloaded data set's file: a fixed name per source and URL, never one taken from the URL."""
    return f"results/data/download/{data['source']}-{cfg.data_key({'url': data['url']})}"


# output file -> data section, for every data set the grid downloads
DOWNLOADS = {download_path(d): d for d in DATA.values() if d["source"] != "embedded" and d["path"] is None}


def corpus_source(wildcards):
    data = DATA[wildcards.datakey]
    if data["source"] == "embedded":
        return []
    return data["path"] if data["path"] is not None else download_path(data)
