# a final run: every seed of grid.seeds at the cell's chosen settings (or the configured ones, untuned),
# trained and then scored on the test split in the same process (one framework import, one job on a
# cluster); one rule per workload, so that the files its evaluation adds to a run directory are declared
for name in WORKLOADS:

    rule:
        name:
            f"train_{name}"
        input:
            data=final_run_data,
        output:
            **{Path(f).stem: f"{RUN}/{f}" for f in SPECS[name].run_files},
            metrics=f"{RUN}/metrics.csv",
            summary=f"{RUN}/train.json",
            provenance=f"{RUN}/provenance.json",
            diagnostics=f"{RUN}/optimizer_diagnostics.csv",
            final=f"{RUN}/final.json",
        log:
            "results/logs/train/{workload}/{variant}/{optimizer}/seed{seed}.log",
        benchmark:
            "results/benchmarks/jobs/train/{workload}/{variant}/{optimizer}/seed{seed}.tsv"
        wildcard_constraints:
            workload=name,
        conda:
            framework_env
        threads: resource("threads")
        resources:
            mem_mb=resource("mem_mb"),
            runtime=resource("runtime_min"),
            gpu=resource("gpu"),
        params:
            run=run_json,  # with the version of the code (training and evaluation) the job runs
            data=data_option,
            out=out_folder("summary"),
        shell:
            "python scripts/train.py --run-json {params.run:q} {params.data:q} "
            "--out {params.out:q} --evaluate > {log:q} 2>&1"
