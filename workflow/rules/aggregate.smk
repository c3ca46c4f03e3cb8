rule aggregate:
    input:
        run_finals(),
    output:
        runs=report(f"{TABLES}/runs.csv", caption="../report/runs.rst", category="Tables"),
        curves=f"{TABLES}/curves.csv",
        sources=report(f"{TABLES}/data_sources.csv", caption="../report/data_sources.rst", category="Tables"),
        summary=report(f"{TABLES}/summary.csv", caption="../report/summary.rst", category="Tables"),
        comparisons=report(f"{TABLES}/comparisons.csv", caption="../report/comparisons.rst", category="Tables"),
        profiles=report(f"{TABLES}/profiles.csv", caption="../report/profiles.rst", category="Tables"),
        profile=f"{TABLES}/performance_profile.csv",
        scores=f"{TABLES}/scores.csv",
        samples=report(f"{TABLES}/samples.csv", caption="../report/samples.rst", category="Tables"),
        provenance=report(f"{TABLES}/provenance.csv", caption="../report/provenance.rst", category="Tables"),
        headline=f"{TABLES}/headline.rst",
    log:
        "results/logs/aggregate.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/aggregate.py"),
        settings=json.dumps(aggregate_settings(), sort_keys=True),
    shell:
        "python scripts/aggregate.py {input:q} --settings {params.settings:q} --out $(dirname {output.runs:q}) > {log:q} 2>&1"


rule plot_workload:
    input:
        runs=rules.aggregate.output.runs,
        curves=rules.aggregate.output.curves,
    output:
        curves=report(f"{FIGURES}/learning_curves.png", caption="../report/learning_curves.rst", category="{workload}"),
        final=report(f"{FIGURES}/final_metric.png", caption="../report/final_metric.rst", category="{workload}"),
        wallclock=report(f"{FIGURES}/wallclock.png", caption="../report/wallclock.rst", category="{workload}"),
        kbeta=report(
            f"{FIGURES}/kbeta_diagnostics.png", caption="../report/kbeta_diagnostics.rst", category="{workload}"
        ),
    log:
        "results/logs/plot/{workload}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
    shell:
        "python scripts/plot.py --workload {wildcards.workload:q} --tables $(dirname {input.runs:q}) "
        "--out $(dirname {output.curves:q}) > {log:q} 2>&1"


rule plot_summary:
    input:
        profile=rules.aggregate.output.profile,
        scores=rules.aggregate.output.scores,
    output:
        report(
            f"{SUMMARY_FIGURES}/performance_profiles.png",
            caption="../report/performance_profiles.rst",
            category="Summary",
        ),
    log:
        "results/logs/plot/summary.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
    shell:
        "python scripts/plot.py --summary --tables $(dirname {input.profile:q}) --out $(dirname {output:q}) > {log:q} 2>&1"


rule plot_oscillators:
    input:
        runs=rules.aggregate.output.runs,
        curves=rules.aggregate.output.curves,
    output:
        phases=report(f"{FIGURES}/phases.png", caption="../report/phases.rst", category="{workload}"),
        order=report(f"{FIGURES}/order_parameter.png", caption="../report/order_parameter.rst", category="{workload}"),
    log:
        "results/logs/plot/{workload}-oscillators.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
    shell:
        "python scripts/plot.py --oscillators --workload {wildcards.workload:q} --tables $(dirname {input.runs:q}) "
        "--out $(dirname {output.phases:q}) > {log:q} 2>&1"


rule plot_rollouts:
    input:
        runs=rules.aggregate.output.runs,
    output:
        scores=report(f"{FIGURES}/rollout_scores.png", caption="../report/rollout_scores.rst", category="{workload}"),
        trajectories=report(f"{FIGURES}/trajectories.png", caption="../report/trajectories.rst", category="{workload}"),
        table=report(f"{TABLES}/rollouts_{{workload}}.csv", caption="../report/rollouts.rst", category="Tables"),
    log:
        "results/logs/plot/{workload}-rollouts.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
    shell:
        "python scripts/plot.py --rollouts --workload {wildcards.workload:q} --tables $(dirname {input.runs:q}) "
        "--out $(dirname {output.scores:q}) > {log:q} 2>&1"


rule plot_frames:
    input:
        runs=rules.aggregate.output.runs,
    output:
        errors=report(f"{FIGURES}/frame_errors.png", caption="../report/frame_errors.rst", category="{workload}"),
        frames=report(f"{FIGURES}/frames.png", caption="../report/frames.rst", category="{workload}"),
        table=report(
            f"{TABLES}/frame_errors_{{workload}}.csv", caption="../report/frame_errors_table.rst", category="Tables"
        ),
        runs=directory(f"{FIGURES}/runs"),
    log:
        "results/logs/plot/{workload}-frames.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/plot.py"),
        gif=lambda wc: "--gif" if workload(wc)["eval"]["gif"] else "",
    shell:
        "python scripts/plot.py --frames {params.gif} --workload {wildcards.workload:q} --tables $(dirname {input.runs:q}) "
        "--out $(dirname {output.errors:q}) > {log:q} 2>&1"
