# `make run` and `make test` work on a fresh clone: each creates .venv when missing and installs the
# project with its dev extras (pinned by constraints.txt), then runs the main job or the whole test suite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: run test test-fast lint format bench clean distclean constraints

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## run: generate the default synthetic dataset if absent, then run the training pipeline
run: $(STAMP)
	$(BIN)/fraud data generate --if-absent
	$(BIN)/fraud pipeline run

## test: the whole suite (unit, integration against real libraries and servers, e2e through the CLI)
test: $(STAMP)
	$(BIN)/pytest

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

## bench: pipeline benchmark on the 284,807-row default dataset (prints figures; not part of the tests)
bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline.py

## constraints: re-pin every transitive dependency from the current venv
constraints:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fraud-detection' > constraints.txt

clean:
	rm -rf .fraud .pytest_cache .mypy_cache .ruff_cache .import_linter_cache benchmarks/out

distclean: clean
	rm -rf $(VENV)
