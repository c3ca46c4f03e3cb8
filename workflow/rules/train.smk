rule train:
    input:
        data=data_manifest,
    output:
        metrics=f"{RUN}/metrics.csv",
        summary=f"{RUN}/train.json",
        provenance=f"{RUN}/provenance.json",
        diagnostics=f"{RUN}/kbeta_buckets.csv",
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


# one evaluation rule per workload, so that the files each adds to a run directory are declared outputs
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
