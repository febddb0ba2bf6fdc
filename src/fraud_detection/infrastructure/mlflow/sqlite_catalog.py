"""The registered versions, read straight from the embedded registry's SQLite file.

A hand-written reader, where the project otherwise goes through `MlflowClient`, for one reason: listing
through the client imports MLflow and SQLAlchemy and opens (and migration-checks) the store, 3-5 s of
start-up for a query that takes milliseconds; `fraud model list` should answer at once. It reads MLflow's
own tables read-only (`mode=ro`), never writes, and when the file does not have the tables and columns it
expects (another MLflow schema) it hands the listing to the full registry instead, so an upgrade can make
it slower but never wrong. `tests/integration/test_sqlite_catalog.py` compares it with the client.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fraud_detection.domain.model import ModelVersion
from fraud_detection.domain.ports.registry import ModelCatalog
from fraud_detection.infrastructure.mlflow.version_tags import read_metadata

# MLflow marks deleted versions with this stage instead of removing the row at once.
DELETED_STAGE = "Deleted_Internal"
VERSIONS = """SELECT version, creation_time, run_id FROM model_versions
              WHERE name = ? AND current_stage != ? ORDER BY version DESC"""
TAGS = "SELECT version, key, value FROM model_version_tags WHERE name = ?"
ALIASES = "SELECT version, alias FROM registered_model_aliases WHERE name = ?"


class SqliteModelCatalog(ModelCatalog):
    def __init__(self, database: Path, model_name: str, fallback: Callable[[], ModelCatalog]) -> None:
        self._database = database
        self._name = model_name
        self._fallback = fallback

    @property
    def model_name(self) -> str:
        return self._name

    def list_versions(self) -> list[ModelVersion]:
        if not self._database.exists():
            return []  # nothing registered yet: no store has been created
        try:
            return self._read()
        except sqlite3.DatabaseError:  # not MLflow's schema as we know it, or not a database at all
            return self._fallback().list_versions()

    def _read(self) -> list[ModelVersion]:
        with sqlite3.connect(f"{self._database.resolve().as_uri()}?mode=ro", uri=True) as connection:
            rows = connection.execute(VERSIONS, (self._name, DELETED_STAGE)).fetchall()
            tags: dict[int, dict[str, str]] = {}
            for version, key, value in connection.execute(TAGS, (self._name,)):
                tags.setdefault(int(version), {})[str(key)] = str(value)
            aliases: dict[int, list[str]] = {}
            for version, alias in connection.execute(ALIASES, (self._name,)):
                aliases.setdefault(int(version), []).append(str(alias))
        versions = []
        for version, created, run_id in rows:
            version_tags = tags.get(int(version), {})
            metadata, problem = read_metadata(version_tags)
            versions.append(
                ModelVersion(
                    name=self._name,
                    version=int(version),
                    aliases=tuple(sorted(aliases.get(int(version), ()))),
                    run_id=run_id or None,
                    created_at=datetime.fromtimestamp(created / 1000, tz=UTC).isoformat(),
                    metadata=metadata,
                    tags=version_tags,
                    metadata_problem=problem,
                )
            )
        return versions
