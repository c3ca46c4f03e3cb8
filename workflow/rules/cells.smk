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
