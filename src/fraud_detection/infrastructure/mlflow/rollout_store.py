"""The rollout state as a registered-model tag, and the challenger alias on the rollout's challenger.

Why a tag: every API replica already polls the registry, so the state travels with the model name and needs
no other store. MLflow checks a registered-model tag value against 100,000 characters, but its SQL stores
keep it in a VARCHAR(5000) column (PostgreSQL and MySQL enforce it, SQLite does not): the document is kept
within `TAG_VALUE_LIMIT` by compacting the evidence of old transitions, then dropping the oldest ones. Every
transition is also published (`RolloutTransitioned`) with its full evidence.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cached_property
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.model import CHALLENGER
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.rollout import Rollout, Transition, ensure_unchanged
from fraud_detection.infrastructure.mlflow.connection import (
    NOT_FOUND,
    apply_env_defaults,
    client_for,
    error_code,
    reaching,
    registered_model_tags,
)

ROLLOUT_TAG = "rollout"
TAG_VALUE_LIMIT = 5_000  # registered_model_tags.value is String(5000) in MLflow's SQL schema
REASON_LIMIT = 240  # characters of a transition's reason kept in the tag once it must shrink


class MlflowRolloutStore(RolloutStore):
    def __init__(self, tracking: str | MlflowClient, model_name: str) -> None:
        """`tracking`: a tracking URI, or a client already bound to one (the registry's, in tests)."""
        if isinstance(tracking, str):
            apply_env_defaults(tracking)
            self._uri, self._given = tracking, None
        else:
            self._uri, self._given = str(tracking.tracking_uri), tracking
        self._name = model_name

    @cached_property
    def _client(self) -> MlflowClient:
        with reaching(self._uri):
            return self._given or client_for(self._uri)

    def load(self) -> Rollout | None:
        with reaching(self._uri):
            tags = registered_model_tags(self._client, self._name)
        raw = None if tags is None else tags.get(ROLLOUT_TAG)
        return None if raw is None else Rollout.from_dict(json.loads(raw))

    def save(self, rollout: Rollout, *, replacing: Rollout | None) -> None:
        """The tag first, then the alias: a replica that reads the state between the two finds the alias
        it needs on the version the state names (set before the rollout starts, removed after it ends).

        The stored state is read again just before writing and must still be `replacing`. MLflow has no
        conditional write, so this is check-then-write: it closes the window of a whole evaluation (seconds
        of reading captures and labels) down to one registry round trip, not to zero."""
        value = fitted(rollout)
        ensure_unchanged(self.load(), replacing)
        with reaching(self._uri):
            try:
                if rollout.active:
                    self._client.set_registered_model_alias(self._name, CHALLENGER, str(rollout.challenger))
                self._client.set_registered_model_tag(self._name, ROLLOUT_TAG, value)
                if not rollout.active:
                    self._remove_challenger_alias(rollout.challenger)
            except MlflowException as error:
                if error_code(error) == NOT_FOUND:
                    raise ModelNotFoundError(
                        f"registered model '{self._name}' or its version {rollout.challenger} does not exist"
                    ) from error
                raise

    def _remove_challenger_alias(self, challenger: int) -> None:
        """Only while it still names this rollout's challenger: a later training may have moved it."""
        aliases = self._client.get_registered_model(self._name).aliases or {}
        if str(aliases.get(CHALLENGER)) == str(challenger):
            self._client.delete_registered_model_alias(self._name, CHALLENGER)


def fitted(rollout: Rollout, limit: int = TAG_VALUE_LIMIT) -> str:
    """The state as compact JSON within `limit` characters: as is when it fits; else older transitions lose
    their evidence and long reasons, oldest first; then the oldest transitions go (the latest is kept)."""
    value = _dumps(rollout)
    history = list(rollout.history)
    for position in range(len(history) - 1):
        if len(value) <= limit:
            return value
        history[position] = _compact(history[position])
        value = _dumps(replace(rollout, history=tuple(history)))
    while len(value) > limit and len(history) > 1:
        history.pop(0)
        value = _dumps(replace(rollout, history=tuple(history)))
    if len(value) > limit:  # one transition with enormous evidence: keep its figures out of the tag
        history = [_compact(step) for step in history]
        value = _dumps(replace(rollout, history=tuple(history)))
    return value


def _compact(step: Transition) -> Transition:
    reason = step.reason if len(step.reason) <= REASON_LIMIT else step.reason[: REASON_LIMIT - 3] + "..."
    return replace(step, reason=reason, evidence={})


def _dumps(rollout: Rollout) -> str:
    data: dict[str, Any] = rollout.to_dict()
    return json.dumps(data, separators=(",", ":"))
