import functools
import hashlib
import importlib.util
import json

from testbeds import tuning
from testbeds.analysis import aggregate, claims, sequential
from testbeds.codeversion import code_version
from testbeds.workloads import workload as workload_spec

# ---------------------------------------------------------------- paths, the grid and wildcards
ENVS = {"mlx": "../../envs/mlx.yaml", "jax": "../../envs/jax.yaml", "torch": "../../envs/torch.yaml"}
CELL = "results/tuning/{workload}/{variant}/{optimizer}"  # one (workload, variant, optimizer): its trials
TRIAL = "results/tuning/{workload}/{variant}/{optimizer}/trial{trial}"
RUN = "results/runs/{workload}/{variant}/{optimizer}/seed{seed}"  # a final run at the chosen settings
ROUND = "results/tuning/{workload}/{variant}/{optimizer}/study{study}/round{round}.json"  # before extension round
LOOK = "results/looks/look{look}.json"  # a sequential design's look: which claims stopped, which stay open
WORKLOADS = config["grid"]["workloads"]
SEEDS = config["grid"]["seeds"]
CELLS = cfg.grid_cells(config)
CLAIMS = str(cfg.claims_file(config))  # the claims the report measures (workflow/schemas/claims.schema.yaml)


wildcard_constraints:
    workload="|".join(WORKLOADS),
    variant=cfg.NAME_PATTERN,
    optimizer=cfg.NAME_PATTERN,
    seed=r"\d+",
    trial=r"\d+",
    study=r"\d+",
    round=r"\d+",
    look=r"\d+",
    datakey=r"[0-9a-f]{12}",
    vocab=r"\d+",


# ---------------------------------------------------------------- parameters of a rule
def option(flag, value):
    """A command-line option as a list for ``{params.x:q}``, or none for an unset value (Snakemake renders a
    quoted empty string as nothing, which would leave the flag without its value)."""
    return [flag, str(value)] if value not in (None, "") else []


def out_folder(key):
    """The folder of a rule's output ``key``, as a parameter (a script's --out)."""
    return lambda wildcards, output: str(Path(output[key]).parent)


def in_folder(key):
    """The folder of a rule's input ``key``, as a parameter (a script's --data or --tables)."""
    return lambda wildcards, input: str(Path(input[key]).parent)


def workload(wildcards):
    return config["workloads"][wildcards.workload]


def resource(key):
    """A job's resource from its workload's ``resources`` section (threads, mem_mb, runtime_min, gpu)."""
    return lambda wildcards: workload(wildcards)["resources"][key]


# ---------------------------------------------------------------- a run's settings and code
def run_settings(wildcards):
    return cfg.resolve_run(config, wildcards.workload, wildcards.variant, wildcards.optimizer, int(wildcards.seed))


def with_code(run, code):
    """The run's settings and the version of the code it runs (with an imported optimiser's source), one
    parameter (a job's parameters are evaluated per job: one function is cheaper than two on a large grid)."""
    if "import" in run["optimizer"]:
        code = f"{code}, {imported_code(run['optimizer']['import'].partition(':')[0])}"
    return json.dumps({**run, "code": code}, sort_keys=True)


@functools.cache
def imported_code(module):
    """A hash of an imported optimiser's module file: editing it re-runs the runs that use it."""
    return hashlib.sha256(Path(importlib.util.find_spec(module).origin).read_bytes()).hexdigest()[:16]


def run_json(wildcards):
    """A final run: the configured settings, or a tuned cell's chosen ones; its job trains and evaluates."""
    run = run_settings(wildcards)
    if budget(wildcards.workload):
        chosen = read_selection(wildcards)["settings"]
        run = {**tuning.apply(run, chosen), "tuned": chosen}
    return with_code(run, train_code(wildcards.workload, evaluates=True))


# ---------------------------------------------------------------- tuning: trials, extension rounds, choices
def tuning_of(name):
    return cfg.tuning_settings(config, name)


def budget(name):
    return tuning_of(name)["budget"]


def search_space(wildcards):
    return cfg.search_space(config, wildcards.workload, wildcards.optimizer)


@functools.cache
def trial_points(name, study):
    """optimizer -> each trial's settings in one study: one quasi-random sequence per workload and study
    (testbeds.tuning), long enough for the extension rounds' fallback points; made when a trial is first
    planned (not on every parse of the Snakefile, e.g. by a cluster job)."""
    optimizers = [o for o in config["workloads"][name]["optimizers"] if cfg.runs_on(config, name, o)]
    searched = {o: cfg.search_space(config, name, o) for o in optimizers}
    settings = tuning_of(name)
    return tuning.trial_points(searched, settings["budget"] + settings["extend"], settings["seed"], study)


def selection_file(wildcards):
    """A tuned cell's selected.json, once its select checkpoint has run (Snakemake re-evaluates after it)."""
    return checkpoints.select.get(**cell_of(wildcards)).output[0]


def read_selection(wildcards):
    with open(selection_file(wildcards)) as handle:
        return json.load(handle)


def trial_slot(wildcards):
    settings = tuning_of(wildcards.workload)
    return tuning.trial_slot(int(wildcards.trial), settings["budget"], settings["extend"])


def trial_group(wildcards):
    """The job group of a trial placed before any extension round ("tuning"; the SLURM profile bundles up to
    4 of them into one cluster job); an extension trial, which waits on a selection over earlier trials of the
    group, is in none (a group may not depend on itself)."""
    return "tuning" if trial_slot(wildcards)[1] < budget(wildcards.workload) else None


def round_file(wildcards):
    """An extension trial's input: the selection over its study's trials before it (a checkpoint)."""
    study, index = trial_slot(wildcards)
    extension_round = index - budget(wildcards.workload)
    if extension_round < 0:
        return []
    return checkpoints.select_round.get(**cell_of(wildcards), study=study, round=extension_round).output[0]


def trial_settings(wildcards):
    """Trial k's searched settings: its study's point k, or, in an extension round, a move of one key around
    the choice so far: past the edge it sits at, else towards its better neighbour (testbeds.tuning)."""
    study, index = trial_slot(wildcards)
    point = trial_points(wildcards.workload, study)[wildcards.optimizer][index]
    selection_path = round_file(wildcards)
    if not selection_path:
        return point
    with open(selection_path) as handle:
        selection = json.load(handle)
    valid = functools.partial(cfg.valid_settings, config, wildcards.workload, wildcards.optimizer)
    size, extension_round = budget(wildcards.workload), index - budget(wildcards.workload)
    return tuning.extension_point(selection, search_space(wildcards), size, extension_round, point, valid)


def trial_json(wildcards):
    """Trial k of a cell: the tuning seed, with its settings applied."""
    w = wildcards.workload
    run = cfg.resolve_run(config, w, wildcards.variant, wildcards.optimizer, tuning_of(w)["seed"])
    chosen = trial_settings(wildcards)
    return with_code(
        {**tuning.apply(run, chosen), "tuned": chosen, "trial": int(wildcards.trial)}, train_code(wildcards.workload)
    )


def trial_data(wildcards):
    """A trial's data; an extension trial also waits for the selection it extends."""
    round_file(wildcards)
    return data_manifest(wildcards)


def final_run_data(wildcards):
    """A final run's data; in a tuned cell it waits for the selection (its settings are a parameter)."""
    if budget(wildcards.workload):
        selection_file(wildcards)
    return data_manifest(wildcards)


def trial_summaries(wildcards):
    """Every trial of a cell: each study's budget and extension rounds."""
    settings, cell = tuning_of(wildcards.workload), cell_of(wildcards)
    trials = (settings["budget"] + settings["extend"]) * settings["studies"]
    return [f"{TRIAL}/train.json".format(**cell, trial=k) for k in range(trials)]


def round_summaries(wildcards):
    """The trials of one study run before extension round ``round``."""
    settings, cell = tuning_of(wildcards.workload), cell_of(wildcards)
    first = int(wildcards.study) * (settings["budget"] + settings["extend"])
    trials = range(first, first + settings["budget"] + int(wildcards.round))
    return [f"{TRIAL}/train.json".format(**cell, trial=k) for k in trials]


# ---------------------------------------------------------------- cells: the runs that stand for a cell
def cell_of(wildcards):
    """A cell's (workload, variant, optimizer) from a job's wildcards or a dict."""
    return {k: wildcards[k] for k in ("workload", "variant", "optimizer")}


def finals_of(cell, seeds):
    """The final.json of each of ``seeds`` in a cell: fresh runs at the chosen settings (the tuning seed is
    none of them). A cell whose trials all diverged has none."""
    if budget(cell["workload"]) and read_selection(cell)["status"] != "ok":
        return []
    return [f"{RUN}/final.json".format(**cell, seed=s) for s in seeds]


def cell_finals(wildcards):
    cell = cell_of(wildcards)
    return finals_of(cell, cell_seeds(cell))


def cell_seeds(cell):
    """grid.seeds; in a sequential design, a claim's cell runs the seeds of the last look any claim of it ran
    to (known once that look's checkpoint has run)."""
    own = [c["id"] for c in GRID_CLAIMS if tuple(cell.values()) in claim_cells(c)] if LOOKS else []
    if not own:
        return SEEDS
    ran = last_look()["claims"]
    return max([SEEDS, *(ran[i]["seeds"] for i in own if i in ran)], key=len)


def cell_selection(wildcards):
    return selection_file(wildcards) if budget(wildcards.workload) else []


# ---------------------------------------------------------------- claims and a sequential design's looks
def claim_cells(claim):
    """The (workload, variant, optimizer) of a claim's arm and of the cell it is compared with."""
    return [tuple(cell.values()) for cell in claims.arms(claim) if cell is not None]


# the claims whose cells the grid runs: they share the family-wise level
GRID_CLAIMS = [c for c in CLAIM_LIST if set(claim_cells(c)) <= {tuple(cell.values()) for cell in CELLS}]
LOOKS = cfg.sequential_looks(config) if GRID_CLAIMS else None  # None: every cell runs grid.seeds


def look_result(index):
    """The results of look ``index`` once its checkpoint has run (Snakemake re-evaluates after it)."""
    with open(checkpoints.look.get(look=index).output[0]) as handle:
        return json.load(handle)


def last_look():
    return look_result(len(LOOKS) - 1)


def previous_look(wildcards):
    index = int(wildcards.look)
    return LOOK.format(look=index - 1) if index else []


def look_finals(wildcards):
    """A look's runs: this look's seeds in the cells of the claims the previous look left open."""
    index = int(wildcards.look)
    still_open = sequential.open_claims(look_result(index - 1) if index else None, GRID_CLAIMS)
    cells = sorted({cell for claim in still_open for cell in claim_cells(claim)})
    seeds = cfg.look_seeds(config, LOOKS[index])
    return [path for cell in cells for path in finals_of(dict(zip(claims.ARM, cell)), seeds)]


def look_settings(wildcards):
    seeds = cfg.look_seeds(config, LOOKS[int(wildcards.look)])
    return json.dumps({"ids": [c["id"] for c in GRID_CLAIMS], "looks": LOOKS, "seeds": seeds})


def last_look_file():
    """The aggregate's input in a sequential design: the last look's results (a plain path: a job whose input
    function waits on a checkpoint is not re-run for its other inputs while its own outputs exist)."""
    return LOOK.format(look=len(LOOKS) - 1) if LOOKS else []


# ---------------------------------------------------------------- data
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


@functools.cache
def train_code(name, evaluates=False):
    """The version of the code a training job runs (its workload package, the shared modules it imports and
    its framework's optimisers; a final run's job also scores it: its evaluation too): part of the run JSON
    parameter, so that editing it re-runs exactly its runs."""
    spec = SPECS[name]
    roots = ["scripts/train.py", f"{spec.module}.train", f"testbeds.optim.{spec.framework}_optim"]
    return code_version(*roots, *([f"{spec.module}.evaluate"] if evaluates else []))


def framework_env(wildcards):
    return ENVS[workload(wildcards)["framework"]]


# ---------------------------------------------------------------- tables, figures, the report
TABLES = "results/tables"
FIGURES = "results/figures/{workload}"
SUMMARY_FIGURES = "results/figures/summary"


def table_outputs():
    """The aggregate rule's outputs, named as in testbeds.analysis.aggregate.TABLES (runs for runs.csv), a table
    with a caption shown in the report under Tables, and the front page (headline)."""
    outputs = {}
    for t in aggregate.TABLES:
        path = f"{TABLES}/{t.file}"
        outputs[t.name] = report(path, caption=f"../report/{t.caption}", category="Tables") if t.caption else path
    return {**outputs, "headline": f"{TABLES}/{aggregate.FRONT_PAGE}"}


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
        "unavailable": cfg.unavailable(config),
        "schedule_free": cfg.schedule_free(config),
    }


# ---------------------------------------------------------------- downloads
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
