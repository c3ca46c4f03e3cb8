# a final run: every seed of grid.seeds at the cell's chosen settings (or the configured ones, untuned)
use rule tune as train with:
    input:
        data=final_run_data,
    output:
        metrics=f"{RUN}/metrics.csv",
        summary=f"{RUN}/train.json",
        provenance=f"{RUN}/provenance.json",
        diagnostics=f"{RUN}/optimizer_diagnostics.csv",
    log:
        "results/logs/train/{workload}/{variant}/{optimizer}/seed{seed}.log",
    benchmark:
        "results/benchmarks/jobs/train/{workload}/{variant}/{optimizer}/seed{seed}.tsv"
    params:
        run=run_json,
        data=data_option,
