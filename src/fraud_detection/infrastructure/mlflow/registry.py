"""The MLflow model registry behind the `ModelRegistry` port: one registered model name per instance."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow.artifacts
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion as MlflowModelVersion
from mlflow.exceptions import MlflowException

from fraud_detection.domain.errors import ModelNotFoundError, UntrustedModelError
from fraud_detection.domain.model import MODEL_DIGEST_TAG, ModelMetadata, ModelVersion
from fraud_detection.domain.ports.registry import ModelRegistry
from fraud_detection.infrastructure.local.file_turns import FileTurns
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder
from fraud_detection.infrastructure.mlflow.connection import (
    NOT_FOUND,
    apply_env_defaults,
    client_for,
    error_code,
    reaching,
    registered_model_tags,
    sqlite_database,
)
from fraud_detection.infrastructure.mlflow.fluent_scope import global_tracking_uri
from fraud_detection.infrastructure.mlflow.trusted_model import (
    MLMODEL_FILE,
    booster_data_file,
    booster_from_text,
    check_sealed_metadata,
    read_mlmodel,
    verified_text,
)
from fraud_detection.infrastructure.mlflow.version_mapping import to_model_version
from fraud_detection.infrastructure.mlflow.version_tags import metadata_tags

READY_TIMEOUT_SECONDS = 120
LOGGED_MODEL_URI_PREFIX = "models:/m-"
if TYPE_CHECKING:
    from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class MlflowModelRegistry(ModelRegistry):
    def __init__(self, tracking_uri: str, model_name: str) -> None:
        if not model_name or "'" in model_name:
            raise ValueError(f"invalid registered model name {model_name!r} (empty or contains a quote)")
        self._tracking_uri = tracking_uri
        apply_env_defaults(tracking_uri)
        self._name = model_name

    def champion_turn(self) -> AbstractContextManager[None]:
        """On a SQLite store, an `flock` beside it: two `fraud model promote` at once each read the history
        before the other wrote it, and one promotion was lost from it (the next rollback went to the wrong
        version); a `fraud rollout start` racing a promotion started against the champion being replaced. A
        tracking server has no such lock (README, "Known limits")."""
        database = sqlite_database(self._tracking_uri)
        if database is None:
            return nullcontext()
        return FileTurns.at(database.with_name(f"{database.name}.champion-lock")).held()

    @cached_property
    def _client(self) -> MlflowClient:
        """Made on first use: MLflow opens (and migrates) a SQLite store as soon as a client exists."""
        with reaching(self._tracking_uri):
            return client_for(self._tracking_uri)

    @property
    def model_name(self) -> str:
        return self._name

    def register(
        self, model_uri: str, run_id: str, metadata: ModelMetadata, tags: Mapping[str, str] | None = None
    ) -> ModelVersion:
        """A new version from a `log_model` URI, tagged with `metadata` and the model file's SHA-256;
        returns once it is READY.

        The digest is the one the training process recorded on the LoggedModel; the uploaded artifact must
        be a native Booster whose file still matches it, and `metadata` what that process wrote into its
        MLmodel file, or nothing is registered (`UntrustedModelError`).
        """
        if not model_uri.startswith(LOGGED_MODEL_URI_PREFIX):
            raise UntrustedModelError(
                f"only models logged by a training run (models:/m-<id>) can be registered, got {model_uri!r}"
            )
        model_id = model_uri.removeprefix("models:/")
        with reaching(self._tracking_uri):
            logged = self._client.get_logged_model(model_id)
            label = f"logged model {model_id}"
            digest = _checked_digest(logged.tags.get(MODEL_DIGEST_TAG), label)
            self._verified_text(str(logged.artifact_location), digest, metadata_tags(metadata), label)
            self._ensure_registered_model()
            # The SQL registry store looks up a `models:/m-<id>` source with a client on the global
            # tracking URI (an MLflow TODO), so the call runs in the scoped, locked global URI.
            with global_tracking_uri(self._tracking_uri):
                created = self._client.create_model_version(
                    self._name,
                    source=model_uri,
                    run_id=run_id,
                    tags={**(tags or {}), **metadata_tags(metadata), MODEL_DIGEST_TAG: digest},
                    await_creation_for=READY_TIMEOUT_SECONDS,  # raises unless READY within the bound
                    model_id=model_id,
                )
            return to_model_version(self._client.get_model_version(self._name, created.version))

    def get(self, version: int) -> ModelVersion:
        with self._version_lookup(version):
            return to_model_version(self._client.get_model_version(self._name, str(version)))

    def get_by_alias(self, alias: str) -> ModelVersion | None:
        """None when the alias (or the registered model itself) does not exist.

        Read from the registered model's alias map: a missing alias in `get_model_version_by_alias` is
        INVALID_PARAMETER_VALUE on the server, the same code as a malformed request."""
        with reaching(self._tracking_uri):
            try:
                version = self._client.get_registered_model(self._name).aliases.get(alias)
                if version is None:
                    return None
                return to_model_version(self._client.get_model_version(self._name, str(version)))
            except MlflowException as error:
                if error_code(error) == NOT_FOUND:
                    return None
                raise

    def set_alias(self, alias: str, version: int) -> None:
        with self._version_lookup(version):
            self._client.get_model_version(self._name, str(version))  # name the version if it is missing
            self._client.set_registered_model_alias(self._name, alias, str(version))

    def remove_alias(self, alias: str) -> None:
        """Removing an alias that is not set is not an error."""
        with reaching(self._tracking_uri):
            try:
                self._client.delete_registered_model_alias(self._name, alias)
            except MlflowException as error:
                if error_code(error) != NOT_FOUND:
                    raise

    def set_tag(self, version: int, key: str, value: str) -> None:
        with self._version_lookup(version):
            self._client.set_model_version_tag(self._name, str(version), key, value)

    def get_model_tag(self, key: str) -> str | None:
        with reaching(self._tracking_uri):
            tags = registered_model_tags(self._client, self._name)
        return None if tags is None else tags.get(key)

    def set_model_tag(self, key: str, value: str) -> None:
        with reaching(self._tracking_uri):
            self._client.set_registered_model_tag(self._name, key, value)

    def list_versions(self) -> list[ModelVersion]:
        """Aliases come from the registered model: `search_model_versions` leaves them empty."""
        with reaching(self._tracking_uri):
            aliases_of: dict[int, list[str]] = {}
            try:
                for alias, number in self._client.get_registered_model(self._name).aliases.items():
                    aliases_of.setdefault(int(number), []).append(alias)
            except MlflowException as error:
                if error_code(error) != NOT_FOUND:
                    raise
            found: list[MlflowModelVersion] = []
            page_token = None
            while True:
                page = self._client.search_model_versions(f"name = '{self._name}'", page_token=page_token)
                found.extend(page)
                page_token = page.token
                if not page_token:
                    break
        versions = [
            replace(to_model_version(v), aliases=tuple(sorted(aliases_of.get(int(v.version), ()))))
            for v in found
        ]
        return sorted(versions, key=lambda version: version.version, reverse=True)

    def load_model(self, version: ModelVersion) -> LightGBMFraudModel:
        """The version's Booster, once its artifact passed `trusted_model`'s checks and the tags of
        `version`, as the caller read them, agree with the metadata sealed in that artifact
        (`UntrustedModelError`).

        Artifacts are resolved through this registry's client, not `mlflow.lightgbm.load_model("models:/..")`:
        MLflow resolves `models:/` URIs with the process-wide registry URI, and its loader unpickles any
        scikit-learn model class an MLmodel file names."""
        label = f"{self._name} v{version.version}"
        digest = _checked_digest(version.tags.get(MODEL_DIGEST_TAG), label)
        with self._version_lookup(version.version):
            source = self._client.get_model_version_download_uri(self._name, str(version.version))
        with reaching(self._tracking_uri):
            text = self._verified_text(source, digest, version.tags, label)
        from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel

        return LightGBMFraudModel(booster_from_text(text, label))

    def _verified_text(self, location: str, digest: str, tags: dict[str, str], label: str) -> str:
        """Download the MLmodel file, then only the Booster file it names; check that file's digest, then
        that `tags` (the metadata tags the version has, or is to be given) agree with the MLmodel's."""
        base = location.rstrip("/")
        with scratch_folder("fraud-model-") as scratch:
            mlmodel = self._download(f"{base}/{MLMODEL_FILE}", Path(scratch) / "meta", label)
            document = read_mlmodel(mlmodel, label)
            data_file = booster_data_file(document, label)
            model_file = self._download(f"{base}/{data_file}", Path(scratch) / "data", label)
            text = verified_text(model_file, digest, label)
        check_sealed_metadata(tags, document, label)
        return text

    def _download(self, artifact_uri: str, folder: Path, label: str) -> Path:
        """A missing file is the artifact's fault, not the version's (which exists): refused naming it."""
        folder.mkdir()
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=artifact_uri, dst_path=str(folder), tracking_uri=self._tracking_uri
            )
        except MlflowException as error:
            if error_code(error) != NOT_FOUND:
                raise
            raise UntrustedModelError(f"{label}: its artifact {artifact_uri} is missing") from error
        except FileNotFoundError as error:  # a local (file://) artifact store
            raise UntrustedModelError(f"{label}: its artifact {artifact_uri} is missing") from error
        return Path(local)

    def _ensure_registered_model(self) -> None:
        try:
            self._client.get_registered_model(self._name)
        except MlflowException as error:
            if error_code(error) != NOT_FOUND:
                raise
            try:
                self._client.create_registered_model(self._name)
            except MlflowException as race:  # another process registered the name first
                if error_code(race) != "RESOURCE_ALREADY_EXISTS":
                    raise

    @contextmanager
    def _version_lookup(self, version: int) -> Iterator[None]:
        """Missing model or version -> `ModelNotFoundError` naming both; a down store -> unavailable."""
        with reaching(self._tracking_uri):
            try:
                yield
            except MlflowException as error:
                if error_code(error) == NOT_FOUND:
                    raise ModelNotFoundError(
                        f"registered model '{self._name}' has no version {version}"
                    ) from error
                raise


def _checked_digest(value: object, label: str) -> str:
    """The recorded SHA-256, or `UntrustedModelError` when it is missing or malformed."""
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise UntrustedModelError(
            f"{label} has no valid '{MODEL_DIGEST_TAG}' digest recorded at registration, so its artifact "
            "cannot be verified and is not loaded (retrain to register a verifiable version)"
        )
    return value
