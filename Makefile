# One entry point for humans and CI. `make test` is what .ci/run calls.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := stp_ext tests benchmarks labs_entrypoint.py labs_install.py
# mypy checks the shipped code and the tools beside it (tests are checked by running them).
TYPED := stp_ext benchmarks labs_entrypoint.py labs_install.py

.PHONY: dev fmt lint test test-oldest-sdk demo bench dist smoke clean

# pytest rewrites the asserts of every test module and caches the result. In a fresh checkout
# each xdist worker would rewrite every module itself (about 3 s of CPU each, measured); one
# collection, once per virtualenv, does it for all of them. pytest checks the cache against
# the sources, so a test edited later is simply rewritten again.
WARM := $(VENV)/.pytest-cache-warm

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)

# Only a head start: if collection fails, the test run that follows shows why.
$(WARM): $(STAMP)
	-PYTHONDONTWRITEBYTECODE= $(BIN)/pytest --collect-only -q -m "not packaging" > /dev/null && touch $@

fmt: $(STAMP)
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy $(TYPED)

# Four pytest-xdist workers on two cores, as many tests wait on sockets, subprocesses and timeouts.
# worksteal hands each worker a contiguous run of tests (mostly whole files, so a worker loads
# each module's imports and fixtures once) and rebalances at the end. Measured in benchmarks/BENCHMARKS.md.
# Tests marked `packaging` (a wheel build, pip installs into fresh virtualenvs) run in `make smoke`.
# Bytecode is compiled once up front (and PYTHONDONTWRITEBYTECODE cleared), not by every worker
# and CLI subprocess of a fresh clone.
test: lint $(WARM)
	$(BIN)/python -m compileall -q -j 0 stp_ext tests benchmarks
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 4 --dist worksteal -m "not packaging"

# The workspace tests (marker `sdk`, set in tests/conftest.py: every test that talks to the emulator
# through databricks-sdk) again on the OLDEST databricks-sdk the range in pyproject.toml allows, read
# from its `databricks-sdk>=X` line, in a virtualenv of their own; `make test` runs everything on the
# newest. The other tests (partner config, connect-test, the servers over raw HTTP) never import it.
OLDEST_VENV := build/oldest-sdk
OLDEST_SDK := $(shell sed -n 's/^ *"databricks-sdk>=\([0-9.]*\),.*/\1/p' pyproject.toml)

$(OLDEST_VENV)/.installed-$(OLDEST_SDK): pyproject.toml
	$(if $(OLDEST_SDK),,$(error no `"databricks-sdk>=X,...` line in pyproject.toml to read the oldest release from))
	rm -rf $(OLDEST_VENV)
	$(PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST_VENV)/bin/python -m pip install --quiet -e '.[dev]' 'databricks-sdk==$(OLDEST_SDK)'
	touch $@

test-oldest-sdk: $(OLDEST_VENV)/.installed-$(OLDEST_SDK)
	@$(OLDEST_VENV)/bin/python -c 'import databricks.sdk.version as v; print("databricks-sdk", v.__version__, "(the oldest allowed)")'
	PYTHONDONTWRITEBYTECODE= $(OLDEST_VENV)/bin/pytest -q -n 4 --dist worksteal -p no:cacheprovider -m "sdk and not packaging"

demo: $(STAMP)
	$(BIN)/databricks-stp demo

# Both scripts run and write their sections even when a target is missed; make fails if either did.
# load.py drives the servers with wrk, installed from the distribution when missing and run as root.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --write; client=$$?; \
	$(BIN)/python benchmarks/load.py --install-wrk --write; load=$$?; \
	test $$client = 0 && test $$load = 0

dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check dist/*

# The built wheel in a fresh virtualenv, run from outside the checkout (catches missing package data);
# then the packaging tests: README's `pip install .`, the GitHub Action's install step, the sdist and
# wheel contents (one file per worker, so a module's install fixture runs once).
smoke: $(STAMP)
	bash .ci/wheel-smoke.sh
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n 2 --dist loadfile -m packaging

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
