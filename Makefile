# testbeds — two commands for a fresh machine:
#   make run    set up .venv (+ Debian BLAS), run the default grid offline, build results/report.html
#   make test   set up the same way and run the test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV)/bin)
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)
SNAKEMAKE := $(BIN)/snakemake

.PHONY: setup run report test test-fast format lint rulegraph bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/setup_system.sh
	bash scripts/setup_system.sh
	$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else f"testbeds needs Python 3.11, found {sys.version.split()[0]} (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: setup
	$(SNAKEMAKE) --cores all
	$(MAKE) report

report: setup
	$(SNAKEMAKE) --report results/report.html
	@echo "report: $(abspath results/report.html)"

test: setup
	bash scripts/setup_system.sh --test
	$(BIN)/python -m pytest

test-fast: setup  # the edit-test loop: no end-to-end, browser or SLURM tests (about a minute)
	$(BIN)/python -m pytest -m "not slow"

format: setup
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile workflow/rules

lint: setup
	$(SNAKEMAKE) --lint

rulegraph: setup  # the pipeline picture in README.md, from the workflow's rule graph
	$(BIN)/python scripts/rulegraph.py

bench: setup
	$(BIN)/python benchmarks/matmul.py
	$(BIN)/python benchmarks/optimizers.py
	$(BIN)/python benchmarks/workloads.py
	$(BIN)/python benchmarks/tuning_regret.py

clean:
	rm -rf results .snakemake
