"""Which stored datasets a prune may remove, and why each other one stays.

Every retrain with new labels stores its whole training set (the champion's rows plus the labelled ones),
content-addressed, and nothing removed any: a daily retrain of the default 284,807 rows added a copy a day
for good. What the pipeline still needs stays: the data of a version holding an alias (the champion is the
next retrain's base and the gate's "rows it was fit on"; a challenger or a rollout's may become champion),
of the versions a rollback can put back (the newest entries of the champion history: once back, a version
is the retrain base again), and of the newest registered versions (to compare or re-run recent work). A
dataset younger than the minimum age stays too: a run that has just stored it has not registered its model
yet; its age counts from its latest save, since saving rows stored before keeps their first record. Everything
else, including ingests never trained on, may go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.domain.errors import RetentionRefusedError
from fraud_detection.domain.model import CHAMPION, ModelVersion


@dataclass(frozen=True)
class RetentionPolicy:
    """`keep_versions`: the newest registered versions, and the newest rollback targets, whose data stays."""

    keep_versions: int = 3
    min_age: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.keep_versions < 0:
            raise ValueError(f"keep_versions must be 0 or more, got {self.keep_versions}")
        if self.min_age < timedelta(0):
            raise ValueError(f"min_age must not be negative, got {self.min_age}")


@dataclass(frozen=True)
class Kept:
    dataset: DatasetRef
    reason: str


@dataclass(frozen=True)
class Removable:
    dataset: DatasetRef
    versions: tuple[int, ...]  # registered versions trained on it (their lineage keeps the id)


@dataclass(frozen=True)
class RetentionPlan:
    kept: tuple[Kept, ...]
    removable: tuple[Removable, ...]

    @property
    def removable_rows(self) -> int:
        return sum(item.dataset.rows for item in self.removable)


def plan_retention(
    datasets: Iterable[DatasetRef],
    versions: Sequence[ModelVersion],
    champion_history: Sequence[int],
    policy: RetentionPolicy,
    now: datetime,
) -> RetentionPlan:
    """`versions`: every registered version, newest first; `champion_history`: oldest first, the current
    champion last (the entries before it are what `fraud model rollback` puts back, newest first).

    Refuses (RetentionRefusedError) rather than guess: with no champion, a wrong model name or tracking
    store would make every dataset look unused; a version to keep whose metadata cannot be read names no
    dataset."""
    champion = next((version for version in versions if CHAMPION in version.aliases), None)
    if champion is None:
        raise RetentionRefusedError(
            f"no champion among the {len(versions)} registered versions: with a wrong model name or "
            "tracking store every dataset would look unused, so nothing is removed"
        )
    trained_on: dict[str, list[int]] = {}
    for version in versions:
        if version.metadata is not None:
            trained_on.setdefault(version.metadata.dataset_id, []).append(version.version)
    needed: dict[str, str] = {}

    def need(version: ModelVersion, why: str) -> None:
        if version.metadata is None:
            raise RetentionRefusedError(
                f"v{version.version} {why}, but its metadata cannot be read: its dataset is unknown, so "
                "nothing is removed"
            )
        needed.setdefault(version.metadata.dataset_id, f"v{version.version} {why}")

    for version in sorted(versions, key=lambda v: CHAMPION not in v.aliases):  # the champion's reason first
        if version.aliases:
            need(version, f"holds {', '.join(version.aliases)}")
    by_number = {version.version: version for version in versions}
    earlier = [number for number in dict.fromkeys(reversed(champion_history)) if number != champion.version]
    for number in earlier[: policy.keep_versions]:
        if number in by_number:
            need(by_number[number], f"is among the {policy.keep_versions} newest rollback targets")
    for version in sorted(versions, key=lambda v: v.version, reverse=True)[: policy.keep_versions]:
        need(version, f"is among the {policy.keep_versions} newest versions")
    kept: list[Kept] = []
    removable: list[Removable] = []
    for dataset in datasets:
        reason = needed.get(dataset.id.value)
        stored = _last_stored(dataset)
        if reason is None and stored is None:
            reason = f"its creation time is unreadable ({dataset.created_at!r})"
        elif reason is None and stored is not None and now - stored < policy.min_age:
            reason = f"stored less than {_hours(policy.min_age)} ago (a run may be training on it)"
        if reason is None:
            removable.append(Removable(dataset, tuple(sorted(trained_on.get(dataset.id.value, ())))))
        else:
            kept.append(Kept(dataset, reason))
    return RetentionPlan(tuple(kept), tuple(removable))


def _last_stored(dataset: DatasetRef) -> datetime | None:
    """The latest save: rows saved again (a run on a file stored before) count from then."""
    times = [_created(dataset.created_at), _created(dataset.saved_at) if dataset.saved_at else None]
    return max((time for time in times if time is not None), default=None)


def _created(text: str) -> datetime | None:
    try:
        created = datetime.fromisoformat(text)
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _hours(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:g} h"
