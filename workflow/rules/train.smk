rule train:
    input:
        data=data_manifest,
    output:
        metrics=f"{RUN}/metrics.csv",
        summary=f"{RUN}/train.json",
        provenance=f"{RUN}/provenance.json",
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
        run=run_json,
        data=data_option,
        code=train_code,
    shell:
        "python scripts/train.py --run-json {params.run:q} {params.data:q} "
        "--out $(dirname {output.summary:q}) > {log:q} 2>&1"


rule evaluate:
    input:
        summary=f"{RUN}/train.json",
        data=data_manifest,
    output:
        f"{RUN}/final.json",
    log:
        "results/logs/evaluate/{workload}/{variant}/{optimizer}/seed{seed}.log",
    benchmark:
        "results/benchmarks/jobs/evaluate/{workload}/{variant}/{optimizer}/seed{seed}.tsv"
    conda:
        framework_env
    threads: lambda wc: workload(wc)["resources"]["threads"]
    resources:
        mem_mb=lambda wc: workload(wc)["resources"]["mem_mb"],
        gpu=lambda wc: workload(wc)["resources"]["gpu"],
    params:
        data=data_option,
        code=evaluate_code,
    shell:
        "python scripts/evaluate.py --run-dir $(dirname {output:q}) {params.data:q} > {log:q} 2>&1"
