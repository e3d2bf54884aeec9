# One entry point for humans and CI. `make test` is what .ci/run calls.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev fmt lint test demo bench dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)

fmt: $(STAMP)
	$(BIN)/ruff format stp_ext tests benchmarks
	$(BIN)/ruff check --fix stp_ext tests benchmarks

lint: $(STAMP)
	$(BIN)/ruff check stp_ext tests benchmarks
	$(BIN)/ruff format --check stp_ext tests benchmarks

test: lint
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/databricks-stp demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check dist/*

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
