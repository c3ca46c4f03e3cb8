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
        threads: resource("threads")
        resources:
            mem_mb=resource("mem_mb"),
            gpu=resource("gpu"),
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
