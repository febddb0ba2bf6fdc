"""`fraud data prune`: remove the stored datasets the pipeline no longer needs (domain/dataset_retention.py
says which), leaving a note in each one's place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fraud_detection.application.champion import actor, stored_history
from fraud_detection.domain.dataset_retention import RetentionPlan, RetentionPolicy, plan_retention
from fraud_detection.domain.model import CHAMPION
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.registry import ModelRegistry


class DatasetRetention:
    def __init__(
        self,
        datasets: DatasetStore,
        registry: ModelRegistry,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._datasets = datasets
        self._registry = registry
        self._clock = clock

    def plan(self, policy: RetentionPolicy) -> RetentionPlan:
        """Read only: what a prune with `policy` would keep (and why) and remove."""
        versions = self._registry.list_versions()
        history = stored_history(self._registry, self._registry.get_by_alias(CHAMPION))
        return plan_retention(self._datasets.list(), versions, history.versions, policy, self._clock())

    def prune(
        self,
        shown: RetentionPlan,
        policy: RetentionPolicy,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Remove what `shown` (the plan the operator saw) found removable and a fresh plan still does: a
        version registered or promoted since keeps its data. One dataset at a time, so a failure leaves
        the rest as they were; the number removed."""
        fresh = {item.dataset.id for item in self.plan(policy).removable}
        doomed = [item for item in shown.removable if item.dataset.id in fresh]
        when = self._clock().isoformat(timespec="seconds")
        for done, item in enumerate(doomed, start=1):
            trained = ", ".join(f"v{version}" for version in item.versions) or "no registered version"
            self._datasets.remove(item.dataset.id, f"pruned at {when} by {actor()}; trained {trained}")
            if progress is not None:
                progress(done, len(doomed))
        return len(doomed)
