# a tuning trial: one point of the search space (testbeds.tuning) trained at the tuning seed; never scored on
# the test split
rule tune:
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
    group:
        trial_group  # on a cluster, group-components bundles a round's trials (profiles/slurm)
    conda:
        framework_env
    threads: resource("threads")
    resources:
        mem_mb=resource("mem_mb"),
        runtime=resource("runtime_min"),
        gpu=resource("gpu"),
    params:
        run=trial_json,  # with the version of the code the job runs: editing it re-runs exactly its runs
        data=data_option,
        out=out_folder("summary"),
    shell:
        "python scripts/train.py --run-json {params.run:q} {params.data:q} --out {params.out:q} > {log:q} 2>&1"


# the best trial on the validation split, as a checkpoint: of a cell's trials (select: the final runs'
# settings are read from it, so a raised budget re-runs a final run only when the choice changed) and of one
# study's trials before extension round {round} (select_round: where that round's trial goes). One definition
# for both: `use rule select as select_round` would not be a checkpoint (Snakemake 9 does not carry it over).
for name, trials, choice, log_name in (
    ("select", trial_summaries, f"{CELL}/selected.json", "select"),
    ("select_round", round_summaries, ROUND, "study{study}-round{round}"),
):

    checkpoint:
        name:
            name
        input:
            trials,
        output:
            choice,
        log:
            f"results/logs/tuning/{{workload}}/{{variant}}/{{optimizer}}/{log_name}.log",
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
