"""The SQLite catalog reads what MLflow's client reads, from the same file, without MLflow."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import pandas as pd
import pytest
from mlflow import MlflowClient

from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker, MlflowModelRegistry
from fraud_detection.infrastructure.mlflow.sqlite_catalog import SqliteModelCatalog

pytestmark = pytest.mark.integration
NAME = "fraud-lgbm"


def metadata(auprc: float) -> ModelMetadata:
    return ModelMetadata("fe-1", 0.123456789012345, "ab" * 32, {"auprc": auprc, "roc_auc": 0.975})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame):
    """Four versions: champion, challenger, one tagged by hand, one deleted; and a second model name."""
    root = tmp_path_factory.mktemp("catalog")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    tracker = MlflowExperimentTracker(uri, "catalog", (root / "artifacts").as_uri())
    registry = MlflowModelRegistry(uri, NAME)
    other = MlflowModelRegistry(uri, "other-model")
    model = LightGBMFraudModel(tiny_booster)
    for number, target in enumerate((registry, registry, registry, registry, other), start=1):
        with tracker.start_run(f"train-{number}", {}) as run:
            target.register(run.log_model(model, metadata(0.8 + number / 100), feature_rows), run.run_id,
                            metadata(0.8 + number / 100))  # fmt: skip
    registry.set_alias(CHAMPION, 2)
    registry.set_alias(CHALLENGER, 3)
    registry.set_tag(3, "promotion_decision", "keep")
    MlflowClient(uri).delete_model_version(NAME, "4")
    return root / "mlflow.db", registry


def unused_fallback() -> MlflowModelRegistry:
    raise AssertionError("the catalog fell back to the client on a store it should read")


def test_the_catalog_lists_exactly_what_the_registry_client_lists(store) -> None:
    database, registry = store
    listed = SqliteModelCatalog(database, NAME, unused_fallback).list_versions()
    assert listed == registry.list_versions()
    assert [(v.version, v.aliases) for v in listed] == [(3, (CHALLENGER,)), (2, (CHAMPION,)), (1, ())]
    assert listed[0].tags["promotion_decision"] == "keep"
    assert listed[1].metadata == metadata(0.8 + 2 / 100)


def test_a_name_with_no_versions_and_a_missing_file_list_nothing(store, tmp_path: Path) -> None:
    database, _ = store
    assert SqliteModelCatalog(database, "never-registered", unused_fallback).list_versions() == []
    assert SqliteModelCatalog(tmp_path / "absent.db", NAME, unused_fallback).list_versions() == []


def test_a_file_without_mlflows_tables_hands_the_listing_to_the_client(store, tmp_path: Path) -> None:
    _, registry = store
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE model_versions (name TEXT)")  # another schema: columns missing
    asked = []

    def fallback() -> MlflowModelRegistry:
        asked.append(True)
        return registry

    assert SqliteModelCatalog(foreign, NAME, fallback).list_versions() == registry.list_versions()
    assert asked == [True]


def imported_by(*code_and_args: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """Top-level packages a fresh interpreter imports (from `-X importtime`), and its stdout."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", *code_and_args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return modules, done.stdout


HEAVY = {"prefect", "great_expectations", "lightgbm", "mlflow"}


# What `fraud --help` and every command pay before they run, unless they need it: numpy and pydantic-settings
# (through a port's type hints and the settings error's wording) took `fraud --help` from 0.37 s to 1.7 s.
STARTUP_FREE = HEAVY | {"pandas", "fastapi", "numpy", "pyarrow", "pydantic", "pydantic_settings"}


def test_the_cli_module_imports_no_framework_it_does_not_need() -> None:
    modules, _ = imported_by("import fraud_detection.entrypoints.cli.app")
    assert not modules & STARTUP_FREE


def test_fraud_help_imports_no_framework_it_does_not_need() -> None:
    modules, out = imported_by(
        "import sys; sys.argv[1:] = ['--help']; from fraud_detection.entrypoints.cli.app import main; main()"
    )
    assert "Usage" in out
    assert not modules & STARTUP_FREE


def test_fraud_model_list_reads_the_catalog_without_mlflow_or_training_libraries(store) -> None:
    database, _ = store
    modules, out = imported_by(
        "from fraud_detection.entrypoints.cli.app import main; main()",
        "model",
        "list",
        "--json",
        env={"FRAUD_HOME": str(database.parent), "FRAUD_MODEL_NAME": NAME},
    )
    assert [version["version"] for version in json.loads(out)] == [3, 2, 1]
    assert "fraud_detection" in modules
    assert not modules & (HEAVY | {"pandas", "numpy", "pyarrow"})  # 2.4 s with them, 1.1-1.5 s without


def test_the_table_piped_keeps_every_cell_whole(store) -> None:
    """Not a terminal: tab-separated lines, so `fraud model list | grep champion` finds the champion."""
    database, _ = store
    _, out = imported_by(
        "from fraud_detection.entrypoints.cli.app import main; main()",
        "model",
        "list",
        env={"FRAUD_HOME": str(database.parent), "FRAUD_MODEL_NAME": NAME, "COLUMNS": "40"},
    )
    lines = out.splitlines()
    assert lines[0].split("\t")[:2] == ["version", "aliases"]
    assert [line.split("\t")[:2] for line in lines[1:]] == [["3", CHALLENGER], ["2", CHAMPION], ["1", ""]]
