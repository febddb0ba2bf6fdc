"""The model registry: versions, the champion/challenger aliases, loading a version for scoring."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from fraud_detection.domain.model import ModelMetadata, ModelVersion

if TYPE_CHECKING:
    from fraud_detection.domain.ports.modelling import FraudModel


class ModelCatalog(ABC):
    """The registered versions, read only: what an operator's listing needs, without a registry client."""

    @property
    @abstractmethod
    def model_name(self) -> str: ...

    @abstractmethod
    def list_versions(self) -> list[ModelVersion]:
        """Newest first; empty when nothing is registered yet."""


class ModelRegistry(ModelCatalog):
    """One registered model name per registry instance (configured in the adapter)."""

    @abstractmethod
    def register(
        self, model_uri: str, run_id: str, metadata: ModelMetadata, tags: Mapping[str, str] | None = None
    ) -> ModelVersion:
        """A new version; `tags` are created with it (no moment exists where it lacks them)."""

    @abstractmethod
    def get(self, version: int) -> ModelVersion:
        """Raises `ModelNotFoundError`."""

    @abstractmethod
    def get_by_alias(self, alias: str) -> ModelVersion | None: ...

    @abstractmethod
    def set_alias(self, alias: str, version: int) -> None:
        """Point `alias` at `version` (moving it off any other version)."""

    @abstractmethod
    def remove_alias(self, alias: str) -> None: ...

    @abstractmethod
    def set_tag(self, version: int, key: str, value: str) -> None: ...

    @abstractmethod
    def get_model_tag(self, key: str) -> str | None:
        """A tag of the registered model itself (not of a version); None when unset or nothing registered."""

    @abstractmethod
    def set_model_tag(self, key: str, value: str) -> None: ...

    def champion_turn(self) -> AbstractContextManager[None]:
        """Held by whatever moves the champion alias or starts a rollout (which gates such moves), from
        its check to its last write, so that processes take turns where the registry allows it (a local
        store). Default: no turns (a server's registry has no lock to take)."""
        return nullcontext()

    @abstractmethod
    def load_model(self, version: ModelVersion) -> FraudModel:
        """The model of `version` as the caller read it: the adapter refuses (`UntrustedModelError`) an
        artifact that does not match the digest and the metadata in `version`'s tags, so the threshold the
        caller goes on to use is the one checked, even if the tags changed since."""
