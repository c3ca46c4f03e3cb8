rule aggregate:
    input:
        run_finals(),
    output:
        runs=report(f"{TABLES}/runs.csv", caption="../report/runs.rst", category="Tables"),
        curves=f"{TABLES}/curves.csv",
        sources=report(f"{TABLES}/data_sources.csv", caption="../report/data_sources.rst", category="Tables"),
    log:
        "results/logs/aggregate.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python scripts/aggregate.py {input} --out $(dirname {output.runs}) > {log} 2>&1"


rule plot_workload:
    input:
        runs=rules.aggregate.output.runs,
        curves=rules.aggregate.output.curves,
    output:
        curves=report(f"{FIGURES}/learning_curves.png", caption="../report/learning_curves.rst", category="{workload}"),
        final=report(f"{FIGURES}/final_metric.png", caption="../report/final_metric.rst", category="{workload}"),
        kbeta=report(f"{FIGURES}/kbeta_diagnostics.png", caption="../report/kbeta_diagnostics.rst", category="{workload}"),
    log:
        "results/logs/plot/{workload}.log",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "python scripts/plot.py --workload {wildcards.workload} --tables $(dirname {input.runs}) "
        "--out $(dirname {output.curves}) > {log} 2>&1"
