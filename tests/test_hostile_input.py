"""Hostile and malformed input: config strings never reach a shell unquoted, and every option's range is
enforced before any job, the message naming the key."""

import json
import re
import subprocess

import pytest
import yaml

from testbeds import config as cfg

from helpers import copy_repo, snakemake

MARK = "PWNED"
# Each would run `touch PWNED...` if a shell saw it unquoted; none contains '/' so each can be a file name.
PAYLOADS = [
    f'it\'s "here" ü 日本; touch {MARK}1 #',
    f"$(touch {MARK}2)",
    f"`touch {MARK}3`",
    f"a | touch {MARK}4 & b",
]


def unquoted_text(command: str) -> str:
    """What a POSIX shell reads outside single quotes (shlex.quote, and so Snakemake's :q, quotes that way,
    with ' written as '"'"'). Double-quoted text is kept: the shell expands $(...) and backticks there."""
    outside, state = [], None  # None, "'" or '"'
    for char in command:
        if state == "'":
            state = None if char == "'" else state
            continue
        if state is None and char in "'\"":
            state = char
        elif state == '"' and char == '"':
            state = None
        outside.append(char)
    assert state is None, f"unbalanced quotes in: {command!r}"
    return "".join(outside)


def test_unquoted_text_sees_through_quotes_only():
    assert MARK not in unquoted_text(f"python x.py --path '{PAYLOADS[1]}'")
    assert MARK in unquoted_text(f"python x.py --path {PAYLOADS[1]}")
    assert MARK in unquoted_text(f'python x.py --path "{PAYLOADS[1]}"')  # $(...) runs inside double quotes


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda c: c["grid"].update(seeds=[0, 99999999999999999999]), "grid.seeds.1"),  # was a wildcard error
        (lambda c: c["workloads"]["charlm"]["tuning"].update(seed=2**31), "workloads.charlm.tuning.seed"),
        (lambda c: c["optimizers"]["adam95"].update(beta1=1.0), "optimizers.adam95.beta1"),
        (lambda c: c["optimizers"]["adam95"].update(beta2=-0.1), "optimizers.adam95.beta2"),
        (lambda c: c["optimizers"]["adam95"].update(eps=0), "optimizers.adam95.eps"),
        (lambda c: c["optimizers"]["adamw"].update(weight_decay=-0.01), "optimizers.adamw.weight_decay"),
        (lambda c: c["optimizers"]["kbeta"].update(beta2_min=0.999, beta2_max=0.9), "optimizers.kbeta.beta2_min"),
        (lambda c: c["optimizers"]["kbeta"].update(beta2_max=1.0), "optimizers.kbeta.beta2_max"),
        (lambda c: c["optimizers"]["kbeta"].update(alpha=0), "optimizers.kbeta.alpha"),
        (lambda c: c["optimizers"]["kbeta"].update(alpha=1.5), "optimizers.kbeta.alpha"),
        (lambda c: c["optimizers"]["kbeta"].update(warmup_steps=-1), "optimizers.kbeta.warmup_steps"),
        (lambda c: c["optimizers"]["kbeta"].update(eps=-1e-8), "optimizers.kbeta.eps"),
        (
            lambda c: c["workloads"]["heat2d"]["optimizer_overrides"].update(kbeta={"beta2_min": 0.9999}),
            "workloads.heat2d.optimizer_overrides.kbeta.beta2_min",
        ),
        (
            lambda c: c["workloads"]["charlm"]["data"].update(url="http://x/enwik8.zip; touch /tmp/p #"),
            "workloads.charlm.data.url",
        ),
        (lambda c: c["workloads"]["charlm"]["data"].update(url="http://x/$(id)"), "workloads.charlm.data.url"),
        (lambda c: c["workloads"]["charlm"]["data"].update(url="file:///etc/passwd"), "workloads.charlm.data.url"),
        (lambda c: c["workloads"]["sotalm"]["data"].update(url="https://x/a b.txt"), "workloads.sotalm.data.url"),
        (lambda c: c["workloads"]["charlm"]["data"].update(path="a\nb.txt"), "workloads.charlm.data.path"),
        (lambda c: c["workloads"]["heat2d"]["data"].update(path=""), "workloads.heat2d.data.path"),
        (lambda c: c["workloads"]["lot"]["variants"].update({"a;b": {}}), "workloads.lot.variants"),
        (
            lambda c: c["optimizers"].update(
                {"$(id)": {"algorithm": "adam", "beta1": 0.9, "beta2": 0.99, "eps": 1e-8}}
            ),
            "optimizers",
        ),
    ],
)
def test_out_of_range_or_hostile_value_rejected_naming_the_key(config, mutate, key):
    config["workloads"]["heat2d"].setdefault("optimizer_overrides", {})
    mutate(config)
    with pytest.raises(cfg.ConfigError, match=key.replace(".", r"\.")):
        cfg.validate(config)


def test_hostile_url_stops_the_workflow_before_any_job(tmp_path):
    workdir = copy_repo(tmp_path / "wf")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {"workloads": {"charlm": {"data": {"source": "enwik8", "url": f"http://x/enwik8.zip; touch {MARK} #"}}}}
        )
    )
    result = snakemake(workdir, "-n", "-p", "--configfile", "config/test.yaml", str(bad), check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "workloads.charlm.data.url" in out and "python scripts" not in out
    assert not (workdir / "results").exists()


def hostile_grid(tmp_path) -> dict:
    """The tiny grid with every free-text field holding shell metacharacters, and data files named that way."""
    folder = tmp_path / "data ü 'q' \"dq\""
    folder.mkdir()
    text = "The quick brown fox jumps over the lazy dog.\n" * 200
    paths = []
    for i, payload in enumerate(PAYLOADS):
        path = folder / f"{payload} {i}.txt"
        path.write_text(text)
        paths.append(str(path))
    heat = folder / f"{PAYLOADS[1]} heat.npy"
    heat.write_bytes(b"")  # a dry run only needs it to exist
    return {
        "grid": {"workloads": ["charlm", "sotalm", "heat2d"]},
        "workloads": {
            "charlm": {"data": {"source": "file", "path": paths[0], "max_chars": 5000}},
            "sotalm": {
                "data": {"source": "file", "path": paths[2], "max_chars": 5000},
                "eval": {"prompts": [p + "\nsecond line" for p in PAYLOADS]},
            },
            "heat2d": {"data": {"source": "file", "path": str(heat)}, "loss": {"pde": 0.0}},
        },
    }


@pytest.mark.slow
def test_every_shell_command_quotes_hostile_strings(tmp_path):
    workdir = copy_repo(tmp_path / "wf")
    (tmp_path / "hostile.yaml").write_text(yaml.safe_dump(hostile_grid(tmp_path), allow_unicode=True))
    out = snakemake(
        workdir, "-n", "-p", "--forceall", "--configfile", "config/test.yaml", str(tmp_path / "hostile.yaml")
    ).stdout
    # every command starts "python scripts/" and ends "2>&1"; one spans lines where a quoted value holds a newline
    starts = [m.start() for m in re.finditer("python scripts/", out)]
    commands = [out[start : out.index("2>&1", start) + 4] for start in starts]
    rules = {c.split()[1] for c in commands}
    assert {
        "scripts/slice_corpus.py",
        "scripts/train.py",
        "scripts/generate_data.py",
        "scripts/aggregate.py",
    } <= rules
    hostile = [c for c in commands if MARK in c]
    assert len(hostile) >= 6  # the corpora's slicing, heat2d's preparation, and every sotalm train job's run JSON
    for command in commands:
        assert MARK not in unquoted_text(command), command
        syntax = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{command}\n{syntax.stderr}"
    assert not list(workdir.glob(f"{MARK}*")) and not list(tmp_path.glob(f"**/{MARK}*"))


@pytest.mark.slow
def test_corpus_path_with_spaces_quotes_and_non_ascii_slices_through_the_pipeline(tmp_path):
    workdir = copy_repo(tmp_path / "wf")
    grid = hostile_grid(tmp_path)
    grid["grid"]["workloads"] = ["charlm"]
    (tmp_path / "hostile.yaml").write_text(yaml.safe_dump(grid, allow_unicode=True))
    snakemake(
        workdir,
        "--cores",
        "1",
        "--until",
        "slice_corpus",
        "--configfile",
        "config/test.yaml",
        str(tmp_path / "hostile.yaml"),
    )
    [manifest] = (workdir / "results" / "data" / "charlm").glob("*/manifest.json")
    described = json.loads(manifest.read_text())
    assert described["source_path"] == grid["workloads"]["charlm"]["data"]["path"]
    assert described["n_train_chars"] + described["n_val_chars"] + described["n_test_chars"] == 5000
    assert (manifest.parent / "train.txt").read_text().startswith("The quick brown fox")
    assert not list(workdir.glob(f"{MARK}*")) and not list(tmp_path.glob(f"**/{MARK}*"))


@pytest.mark.slow
def test_download_has_a_fixed_name_per_data_set(tmp_path):
    workdir = copy_repo(tmp_path / "wf")
    url = "https://example.org/dumps/latest.zip?version=2&x=1".replace("&", "%26")
    (tmp_path / "online.yaml").write_text(
        yaml.safe_dump(
            {"grid": {"workloads": ["charlm"]}, "workloads": {"charlm": {"data": {"source": "enwik8", "url": url}}}}
        )
    )
    out = snakemake(workdir, "-n", "-p", "--configfile", "config/test.yaml", str(tmp_path / "online.yaml")).stdout
    [command] = [line for line in out.split("\n") if "scripts/download.py" in line]
    assert f"--url '{url}'" in command
    assert re.search(r"--out results/data/download/enwik8-[0-9a-f]{12} ", command), command
