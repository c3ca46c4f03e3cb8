rule aggregate:
    input:
        cells=cell_files(),
        claims=CLAIMS,
    output:
        runs=report(f"{TABLES}/runs.csv", caption="../report/runs.rst", category="Tables"),
        curves=f"{TABLES}/curves.csv",
        sources=report(f"{TABLES}/data_sources.csv", caption="../report/data_sources.rst", category="Tables"),
        summary=report(f"{TABLES}/summary.csv", caption="../report/summary.rst", category="Tables"),
        comparisons=report(f"{TABLES}/comparisons.csv", caption="../report/comparisons.rst", category="Tables"),
        profiles=report(f"{TABLES}/profiles.csv", caption="../report/profiles.rst", category="Tables"),
        profile=f"{TABLES}/performance_profile.csv",
        scores=f"{TABLES}/scores.csv",
        ranks=report(f"{TABLES}/ranks.csv", caption="../report/ranks.rst", category="Tables"),
        coverage=report(f"{TABLES}/coverage.csv", caption="../report/coverage.rst", category="Tables"),
        head_to_head=report(f"{TABLES}/head_to_head.csv", caption="../report/head_to_head.rst", category="Tables"),
        claims=report(f"{TABLES}/claims.csv", caption="../report/claims.rst", category="Tables"),
        samples=report(f"{TABLES}/samples.csv", caption="../report/samples.rst", category="Tables"),
        provenance=report(f"{TABLES}/provenance.csv", caption="../report/provenance.rst", category="Tables"),
        headline=f"{TABLES}/headline.rst",
        tuning=report(f"{TABLES}/tuning.csv", caption="../report/tuning.rst", category="Tables"),
        selected=report(f"{TABLES}/selected.csv", caption="../report/selected.rst", category="Tables"),
    log:
        "results/logs/aggregate.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/aggregate.py"),
        settings=json.dumps(aggregate_settings(), sort_keys=True),
        out=out_folder("runs"),
    shell:
        "python scripts/aggregate.py --cells {input.cells:q} --claims {input.claims:q} --settings {params.settings:q} --out {params.out:q} > {log:q} 2>&1"


rule plot_workload:
    input:
        runs=rules.aggregate.output.runs,
        curves=rules.aggregate.output.curves,
        tuning=rules.aggregate.output.tuning,
    output:
        curves=report(f"{FIGURES}/learning_curves.png", caption="../report/learning_curves.rst", category="{workload}"),
        final=report(f"{FIGURES}/final_metric.png", caption="../report/final_metric.rst", category="{workload}"),
        wallclock=report(f"{FIGURES}/wallclock.png", caption="../report/wallclock.rst", category="{workload}"),
        kbeta=report(
            f"{FIGURES}/kbeta_diagnostics.png", caption="../report/kbeta_diagnostics.rst", category="{workload}"
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
        profile=rules.aggregate.output.profile,
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
