# a sequential design (claims.sequential.looks): one checkpoint per look tests the claims still open on that
# look's seeds; the next look's runs are planned only from its result, and only in the open claims' cells
checkpoint look:
    input:
        finals=look_finals,
        previous=previous_look,
        claims=CLAIMS,
    output:
        LOOK,
    log:
        "results/logs/looks/look{look}.log",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/look.py"),
        settings=look_settings,
        previous=lambda wc, input: option("--previous", input.previous or None),
    shell:
        "python scripts/look.py --claims {input.claims:q} --finals {input.finals:q} {params.previous:q} "
        "--look {wildcards.look} --settings {params.settings:q} --out {output:q} > {log:q} 2>&1"
