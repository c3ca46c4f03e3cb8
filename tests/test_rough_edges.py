"""What a new user runs into, each answered with one clear line (and no traceback)."""

import os
import subprocess
import sys

import pytest

from testbeds import config as cfg

from helpers import copy_repo, tiny_run


def test_a_target_below_the_metrics_best_possible_value_is_refused_naming_the_key(config):
    config["workloads"]["charlm"]["target"] = -5
    with pytest.raises(cfg.ConfigError, match=r"workloads\.charlm\.target: -5 is below .* best possible value 0"):
        cfg.validate(config)
    config["workloads"]["charlm"]["target"] = 2.5
    cfg.validate(config)


def test_a_data_path_that_is_a_directory_is_refused_naming_the_key(config, tmp_path):
    config["workloads"]["charlm"]["data"].update(source="file", path=str(tmp_path))
    with pytest.raises(cfg.ConfigError, match=r"workloads\.charlm\.data\.path: .* is a directory"):
        cfg.validate(config)


def test_a_budget_too_large_to_plan_is_refused_at_once(config):
    config["workloads"]["lds"]["tuning"]["budget"] = 1_000_000_000
    with pytest.raises(cfg.ConfigError, match=r"workloads\.lds\.tuning: budget 1000000000 .* more than 10,000"):
        cfg.validate(config)


def test_a_full_disk_while_training_is_one_line_naming_the_run_and_the_disk(monkeypatch, tmp_path, capsys):
    """MLX reports a full disk as ``RuntimeError: [write] Unable to write``: the script says what happened
    and what to do in one line (a mutation that re-raises it gives a traceback and fails this)."""
    import train as train_script

    from testbeds import workloads

    class FullDisk:
        @staticmethod
        def train(run, data, out):
            raise RuntimeError("[write] Unable to write 4096 bytes to file.")

    monkeypatch.setattr(workloads, "step", lambda name, part: FullDisk)
    monkeypatch.setattr(train_script, "prepare_process", lambda run: None)
    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", ["train.py", "--workload", "lds", "--optimizer", "adamw", "--out", str(out)])
    with pytest.raises(SystemExit) as stop:
        train_script.main()
    message = str(stop.value.code)
    assert message.startswith(f"{out}: the disk is full (") and "MiB free" in message and "\n" not in message
    monkeypatch.setattr(
        FullDisk, "train", staticmethod(lambda run, data, out: (_ for _ in ()).throw(RuntimeError("x")))
    )
    with pytest.raises(RuntimeError, match="x"):  # any other error is not disguised as a full disk
        train_script.main()


def test_the_first_progress_line_shows_no_rate_over_a_zero_clock(config, small_corpus, tmp_path):
    from testbeds.charlm.train import train

    messages = []
    train(tiny_run(config, "adamw", steps=2, log_every=1), small_corpus, tmp_path / "run", log=messages.append)
    first = next(m for m in messages if m.startswith("step      1/"))
    assert first.endswith("compiling") and "tok/s" in next(m for m in messages if m.startswith("step      2/"))


@pytest.mark.slow
def test_snakemake_from_the_venv_without_activating_it_runs_the_projects_interpreter(tmp_path):
    """``.venv/bin/snakemake`` with a PATH that has no venv: the jobs still find the project's packages (a
    mutation that drops the PATH line in the Snakefile makes slice_corpus fail: no numpy on the system)."""
    work = copy_repo(tmp_path / "wf")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", "config/test.yaml"]
    result = subprocess.run(command + ["--until", "slice_corpus"], cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert list((work / "results" / "data" / "charlm").glob("*/manifest.json"))
