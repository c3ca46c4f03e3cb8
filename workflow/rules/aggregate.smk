rule aggregate:
    input:
        cells=cell_files(),
        claims=CLAIMS,
        looks=last_look_file(),
    output:
        **table_outputs(),
    log:
        "results/logs/aggregate.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/aggregate.py"),
        settings=json.dumps(aggregate_settings(), sort_keys=True),
        out=out_folder("runs"),
        looks=lambda wc, input: option("--looks", input.looks or None),
    shell:
        "python scripts/aggregate.py --cells {input.cells:q} --claims {input.claims:q} {params.looks:q} "
        "--settings {params.settings:q} --out {params.out:q} > {log:q} 2>&1"


rule plot_workload:
    input:
        runs=rules.aggregate.output.runs,
        curves=rules.aggregate.output.curves,
        tuning=rules.aggregate.output.tuning,
    output:
        curves=report(f"{FIGURES}/learning_curves.png", caption="../report/learning_curves.rst", category="{workload}"),
        final=report(f"{FIGURES}/final_metric.png", caption="../report/final_metric.rst", category="{workload}"),
        wallclock=report(f"{FIGURES}/wallclock.png", caption="../report/wallclock.rst", category="{workload}"),
        diagnostics=report(
            f"{FIGURES}/optimizer_diagnostics.png",
            caption="../report/optimizer_diagnostics.rst",
            category="{workload}",
        ),
        budget=report(f"{FIGURES}/tuning_budget.png", caption="../report/tuning_budget.rst", category="{workload}"),
        sensitivity=report(
            f"{FIGURES}/tuning_sensitivity.png", caption="../report/tuning_sensitivity.rst", category="{workload}"
        ),
    log:
        "results/logs/plot/{workload}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
        tables=in_folder("runs"),
        out=out_folder("curves"),
    shell:
        "python scripts/plot.py --workload {wildcards.workload:q} --tables {params.tables:q} "
        "--out {params.out:q} > {log:q} 2>&1"


rule plot_summary:
    input:
        profile=rules.aggregate.output.performance_profile,
        scores=rules.aggregate.output.scores,
        ranks=rules.aggregate.output.ranks,
    output:
        profiles=report(
            f"{SUMMARY_FIGURES}/performance_profiles.png",
            caption="../report/performance_profiles.rst",
            category="Summary",
        ),
        ranks=report(
            f"{SUMMARY_FIGURES}/critical_difference.png",
            caption="../report/critical_difference.rst",
            category="Summary",
        ),
    log:
        "results/logs/plot/summary.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
        tables=in_folder("profile"),
        out=out_folder("profiles"),
    shell:
        "python scripts/plot.py --summary --tables {params.tables:q} --out {params.out:q} > {log:q} 2>&1"


# one rule per workload that draws figures of its own (its plots.py), declared in its WORKLOAD description
for name in [w for w in WORKLOADS if SPECS[w].figures]:

    rule:
        name:
            f"plot_{name}"
        input:
            runs=rules.aggregate.output.runs,
            curves=rules.aggregate.output.curves,
        output:
            **{
                Path(f.file).stem: report(
                    own_figures(name)[f.file],
                    caption=str(SPECS[name].directory / "report" / f.caption),
                    category="Tables" if f.table else name,
                )
                for f in SPECS[name].figures
            },
            **(
                {"more": directory(f"results/figures/{name}/{SPECS[name].figure_directory}")}
                if SPECS[name].figure_directory
                else {}
            ),
        log:
            f"results/logs/plot/{name}-own.log",
        localrule: True
        conda:
            "../../envs/analysis.yaml"
        params:
            code=code_version("scripts/plot.py", f"{SPECS[name].module}.plots"),
            workload=name,
            settings=json.dumps(config["workloads"][name], sort_keys=True),
            tables=in_folder("runs"),
        shell:
            "python scripts/plot.py --own --workload {params.workload:q} --settings {params.settings:q} "
            "--tables {params.tables:q} --out results/figures/{params.workload:q} > {log:q} 2>&1"
