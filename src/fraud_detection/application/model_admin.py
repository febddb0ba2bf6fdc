"""Operator actions on the registry: list versions, promote by hand, roll back."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from fraud_detection.application.champion import (
    ChampionMove,
    RolloutState,
    champion_moves,
    ensure_no_active_rollout,
    landed_move,
    put_champion_back,
    set_champion,
    stored_history,
)
from fraud_detection.application.serving.compatibility import loadable
from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.model import CHAMPION, ModelVersion
from fraud_detection.domain.ports.events import EventPublisher
from fraud_detection.domain.ports.registry import ModelCatalog, ModelRegistry


class ModelAdministration:
    """`registry` is built on first use: listing reads the catalog alone, and a registry client costs
    seconds of start-up (MLflow's import) that `fraud model list` should not pay."""

    def __init__(
        self,
        catalog: ModelCatalog,
        registry: Callable[[], ModelRegistry],
        publisher: EventPublisher,
        rollout_state: RolloutState | None = None,
    ) -> None:
        """`rollout_state`: the stored rollout; while one is active, promote and rollback are refused."""
        self._catalog = catalog
        self._registry_of = registry
        self._publisher = publisher
        self._rollout_state = rollout_state

    @cached_property
    def _registry(self) -> ModelRegistry:
        return self._registry_of()

    def list_versions(self) -> list[ModelVersion]:
        return self._catalog.list_versions()

    def history(self) -> list[ChampionMove]:
        """Who made which version champion, when and why (`champion.*` version tags), oldest first."""
        return champion_moves(self._catalog.list_versions(), landed_move(self._registry))

    def promote(self, version: int, reason: str = "promoted by an operator") -> ModelVersion:
        action = f"promoting v{version}"
        loadable(self._registry, version, action)  # ModelNotFoundError for an unknown version
        with self._registry.champion_turn():  # no rollout may start between the check and the move
            ensure_no_active_rollout(self._rollout_state, action)
            set_champion(self._registry, self._publisher, version, reason)
        return self._registry.get(version)

    def rollback(self, to_version: int | None = None) -> ModelVersion:
        """Champion back to `to_version`, or to the champion the current one replaced. Repeated rollbacks
        undo promotions in the order they were made (domain/champion_history.py) and stop at the first."""
        with self._registry.champion_turn():  # from the history's read to its write
            return self._rollback(to_version)

    def _rollback(self, to_version: int | None) -> ModelVersion:
        current = self._registry.get_by_alias(CHAMPION)
        history = stored_history(self._registry, current)
        if current is not None and current.version == to_version:
            raise ModelNotFoundError(f"version {to_version} is already the champion")
        if current is None:
            target, after = to_version, history.promoted(to_version) if to_version is not None else history
        else:
            target, after = history.rollback(current.version, to_version)
        if target is None:
            # The rollout's refusal first: it is what the operator must act on, history or not.
            ensure_no_active_rollout(self._rollout_state, "rolling back")
            raise ModelNotFoundError("no previous champion recorded to roll back to; name one with --to")
        action = f"rolling back to v{target}"
        loadable(self._registry, target, action)
        ensure_no_active_rollout(self._rollout_state, action)
        replaced = current.version if current else None
        put_champion_back(self._registry, self._publisher, target, after, replaced, "rollback")
        if replaced is not None:
            self._registry.set_tag(target, "rolled_back_from", str(replaced))
        return self._registry.get(target)
