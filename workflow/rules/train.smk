rule train:
    input:
        data=final_run_data,
    output:
        metrics=f"{RUN}/metrics.csv",
        summary=f"{RUN}/train.json",
        provenance=f"{RUN}/provenance.json",
        diagnostics=f"{RUN}/optimizer_diagnostics.csv",
    log:
        "results/logs/train/{workload}/{variant}/{optimizer}/seed{seed}.log",
    benchmark:
        "results/benchmarks/jobs/train/{workload}/{variant}/{optimizer}/seed{seed}.tsv"
    conda:
        framework_env
    threads: lambda wc: workload(wc)["resources"]["threads"]
    resources:
        mem_mb=lambda wc: workload(wc)["resources"]["mem_mb"],
        runtime=lambda wc: workload(wc)["resources"]["runtime_min"],
        gpu=lambda wc: workload(wc)["resources"]["gpu"],
    params:
        run=run_json,  # with the version of the code the job runs: editing it re-runs exactly its runs
        data=data_option,
    shell:
        "python scripts/train.py --run-json {params.run:q} {params.data:q} "
        "--out $(dirname {output.summary:q}) > {log:q} 2>&1"


# a tuning trial: the same job at the tuning seed, with one point of the search space (testbeds.tuning)
use rule train as train_trial with:
    input:
        data=trial_data,
    output:
        metrics=f"{TRIAL}/metrics.csv",
        summary=f"{TRIAL}/train.json",
        provenance=f"{TRIAL}/provenance.json",
        diagnostics=f"{TRIAL}/optimizer_diagnostics.csv",
    log:
        "results/logs/tuning/{workload}/{variant}/{optimizer}/trial{trial}.log",
    benchmark:
        "results/benchmarks/jobs/tuning/{workload}/{variant}/{optimizer}/trial{trial}.tsv"
    params:
        run=trial_json,
        data=data_option,


# the best trial of a cell on the validation split; a checkpoint, because the final runs' settings are read
# from it (so a raised budget re-runs a final run only when the choice changed)
checkpoint select:
    input:
        trial_summaries,
    output:
        f"{CELL}/selected.json",
    log:
        "results/logs/tuning/{workload}/{variant}/{optimizer}/select.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/select_trial.py"),
        space=lambda wc: json.dumps(search_space(wc), sort_keys=True),
        budget=lambda wc: budget(wc.workload),
        rounds=lambda wc: tuning_of(wc.workload)["extend"],
    shell:
        "python scripts/select_trial.py {input:q} --space {params.space:q} --budget {params.budget} "
        "--extend {params.rounds} --out {output:q} > {log:q} 2>&1"


# the choice of one study's trials before extension round {round}: where the round's trial goes
checkpoint select_round:
    input:
        round_summaries,
    output:
        ROUND,
    log:
        "results/logs/tuning/{workload}/{variant}/{optimizer}/study{study}-round{round}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/select_trial.py"),
        space=lambda wc: json.dumps(search_space(wc), sort_keys=True),
        budget=lambda wc: budget(wc.workload),
        rounds=lambda wc: tuning_of(wc.workload)["extend"],
    shell:
        "python scripts/select_trial.py {input:q} --space {params.space:q} --budget {params.budget} "
        "--extend {params.rounds} --out {output:q} > {log:q} 2>&1"


# one evaluation rule per workload, so that the files each adds to a run directory are declared outputs;
# it evaluates a final run on the test split
for name in WORKLOADS:

    rule:
        name:
            f"evaluate_{name}"
        input:
            summary=f"{RUN}/train.json",
            data=data_manifest,
        output:
            **{Path(f).stem: f"{RUN}/{f}" for f in SPECS[name].run_files},
            final=f"{RUN}/final.json",
        log:
            "results/logs/evaluate/{workload}/{variant}/{optimizer}/seed{seed}.log",
        benchmark:
            "results/benchmarks/jobs/evaluate/{workload}/{variant}/{optimizer}/seed{seed}.tsv"
        wildcard_constraints:
            workload=name,
        conda:
            framework_env
        threads: lambda wc: workload(wc)["resources"]["threads"]
        resources:
            mem_mb=lambda wc: workload(wc)["resources"]["mem_mb"],
            gpu=lambda wc: workload(wc)["resources"]["gpu"],
        params:
            data=data_option,
            code=code_version("scripts/evaluate.py", f"{SPECS[name].module}.evaluate"),
        shell:
            "python scripts/evaluate.py --run-dir $(dirname {output.final:q}) {params.data:q} > {log:q} 2>&1"


# the runs that stand for one (workload, variant, optimizer) in the statistics: a list, made once its
# selection is known, so that the aggregate's inputs are a fixed list of files
rule collect_cell:
    input:
        finals=cell_finals,
        selection=cell_selection,
    output:
        "results/cells/{workload}/{variant}/{optimizer}.json",
    log:
        "results/logs/cells/{workload}/{variant}/{optimizer}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        selection=lambda wc, input: option("--selection", input.selection or None),
    shell:
        "python scripts/collect_cell.py --cell {wildcards.workload:q} {wildcards.variant:q} {wildcards.optimizer:q} "
        "--finals {input.finals:q} {params.selection:q} --out {output:q} > {log:q} 2>&1"
