rule train:
    input:
        data=data_manifest,
    output:
        metrics=RUN + "/metrics.csv",
        summary=RUN + "/train.json",
        provenance=RUN + "/provenance.json",
    params:
        run=run_json,
    threads: lambda wc: workload(wc)["resources"]["threads"]
    resources:
        mem_mb=lambda wc: workload(wc)["resources"]["mem_mb"],
        runtime=lambda wc: workload(wc)["resources"]["runtime_min"],
        gpu=lambda wc: workload(wc)["resources"]["gpu"],
    log:
        "results/logs/train/{workload}/{variant}/{optimizer}/seed{seed}.log",
    conda:
        framework_env
    shell:
        "python {SCRIPTS}/train.py --run-json {params.run:q} --data $(dirname {input.data}) "
        "--out $(dirname {output.summary}) > {log} 2>&1"


rule evaluate:
    input:
        summary=RUN + "/train.json",
        data=data_manifest,
    output:
        RUN + "/final.json",
    threads: lambda wc: workload(wc)["resources"]["threads"]
    resources:
        mem_mb=lambda wc: workload(wc)["resources"]["mem_mb"],
        gpu=lambda wc: workload(wc)["resources"]["gpu"],
    log:
        "results/logs/evaluate/{workload}/{variant}/{optimizer}/seed{seed}.log",
    conda:
        framework_env
    shell:
        "python {SCRIPTS}/evaluate.py --run-dir $(dirname {output}) --data $(dirname {input.data}) > {log} 2>&1"
