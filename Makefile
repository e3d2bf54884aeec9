# One entry point for humans and CI. `make test` is what .ci/run calls.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := stp_ext tests benchmarks labs_entrypoint.py labs_install.py
# mypy checks the shipped code and the tools beside it (tests are checked by running them).
TYPED := stp_ext benchmarks labs_entrypoint.py labs_install.py

.PHONY: dev fmt lint test demo bench dist smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)

fmt: $(STAMP)
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy $(TYPED)

# -n 2: both cores (pytest-xdist); every test owns its ports, files and environment.
test: lint
	$(BIN)/pytest -q -n 2

demo: $(STAMP)
	$(BIN)/databricks-stp demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --write
	$(BIN)/python benchmarks/load.py --baseline --requests 100000 --write

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check dist/*

# The built wheel in a fresh virtualenv, run from outside the checkout (catches missing package data).
smoke: $(STAMP)
	bash .ci/wheel-smoke.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
