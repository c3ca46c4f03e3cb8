rule download:
    output:
        "results/data/download/{dataset}-{urlkey}",
    log:
        "results/logs/download/{dataset}-{urlkey}.log",
    wildcard_constraints:
        dataset="enwik8|tinystories",
        urlkey=r"[0-9a-f]{12}",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/download.py"),
        url=lambda wc, output: DOWNLOADS[output[0]]["url"],
        sha256=lambda wc, output: option("--sha256", DOWNLOADS[output[0]]["sha256"]),
    shell:
        "python scripts/download.py --url {params.url:q} {params.sha256:q} --out {output:q} > {log:q} 2>&1"


rule slice_corpus:
    input:
        corpus_source,
    output:
        train="results/data/{workload}/{datakey}/train.txt",
        val="results/data/{workload}/{datakey}/val.txt",
        test="results/data/{workload}/{datakey}/test.txt",
        manifest="results/data/{workload}/{datakey}/manifest.json",
    log:
        "results/logs/slice_corpus/{workload}-{datakey}.log",
    wildcard_constraints:
        workload="|".join(CORPORA) or "no-corpus",
        datakey="|".join(DATA) or "no-corpus",
    conda:
        "../../envs/analysis.yaml"
    params:
        code=code_version("scripts/slice_corpus.py"),
        source=lambda wc: DATA[wc.datakey]["source"],
        sha256=lambda wc: option("--sha256", DATA[wc.datakey]["sha256"]),
        max_chars=lambda wc: DATA[wc.datakey]["max_chars"],
        val_frac=lambda wc: DATA[wc.datakey]["val_frac"],
        test_frac=lambda wc: DATA[wc.datakey]["test_frac"],
        path=lambda wc, input: option("--path", input[0] if input else None),
        unit=lambda wc: DATA[wc.datakey].get("unit", "auto"),
        out=out_folder("manifest"),
    shell:
        "python scripts/slice_corpus.py --source {params.source:q} {params.path:q} {params.sha256:q} "
        "--max-chars {params.max_chars:q} --unit {params.unit:q} --val-frac {params.val_frac:q} --test-frac {params.test_frac:q} --out {params.out:q} > {log:q} 2>&1"


rule train_tokenizer:
    input:
        "results/data/{workload}/{datakey}/train.txt",
    output:
        "results/data/{workload}/{datakey}/bpe{vocab}/tokenizer.json",
    log:
        "results/logs/train_tokenizer/{workload}-{datakey}-{vocab}.log",
    conda:
        "../../envs/torch.yaml"
    params:
        code=code_version("scripts/train_tokenizer.py"),
    shell:
        "python scripts/train_tokenizer.py --train {input:q} --vocab-size {wildcards.vocab:q} --out {output:q} > {log:q} 2>&1"


rule tokenize:
    input:
        tokenizer="results/data/{workload}/{datakey}/bpe{vocab}/tokenizer.json",
        corpus="results/data/{workload}/{datakey}/manifest.json",
    output:
        train="results/data/{workload}/{datakey}/bpe{vocab}/train.bin",
        val="results/data/{workload}/{datakey}/bpe{vocab}/val.bin",
        test="results/data/{workload}/{datakey}/bpe{vocab}/test.bin",
        meta="results/data/{workload}/{datakey}/bpe{vocab}/meta.json",
    log:
        "results/logs/tokenize/{workload}-{datakey}-{vocab}.log",
    conda:
        "../../envs/torch.yaml"
    params:
        code=code_version("scripts/tokenize_corpus.py"),
        data=in_folder("corpus"),
        out=out_folder("meta"),
    shell:
        "python scripts/tokenize_corpus.py --tokenizer {input.tokenizer:q} --data {params.data:q} "
        "--out {params.out:q} > {log:q} 2>&1"


rule generate_data:
    input:
        lambda wc: SPECS[wc.workload].data_inputs(GENERATED[wc.workload][wc.datakey]),
    output:
        manifest="results/data/{workload}/{datakey}/manifest.json",
    log:
        "results/logs/generate_data/{workload}-{datakey}.log",
    wildcard_constraints:
        workload="|".join(GENERATORS) or "nothing-generated",
        datakey="|".join(k for w in GENERATORS for k in GENERATED[w]) or "nothing-generated",
    conda:
        framework_env
    params:
        code=lambda wc: code_version("scripts/generate_data.py", f"{SPECS[wc.workload].module}.data"),
        settings=lambda wc: json.dumps(GENERATED[wc.workload][wc.datakey], sort_keys=True),
        out=out_folder("manifest"),
    shell:
        "python scripts/generate_data.py --workload {wildcards.workload:q} --settings {params.settings:q} "
        "--out {params.out:q} > {log:q} 2>&1"
