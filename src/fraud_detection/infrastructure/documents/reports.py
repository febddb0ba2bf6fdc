"""Every report as a JSON document in the object store, in the layout operators and dashboards know:

    reports/validation/<dataset id>.json (+ .html)   one per validated dataset; no latest copy
    quality/reports/<measured at>Z.json              every `fraud quality measure`
    quality/latest.json                              a copy of the newest, exported on /metrics
    drift/reports/<report id>.json (+ .png)          every drift check
    drift/latest.json                                a copy of the newest live check, for dashboards and
                                                     alerts (a historical check never replaces it)
    rollout/reports/<evaluated at>Z-v<version>.json  every applied rollout evaluation
    rollout/latest.json                              a copy of the newest
    drift/compaction/<ran at>Z.json                  every compaction of captured predictions (under drift/:
    drift/compaction-latest.json                     the drift Lambda runs it and may write only there)

Each object is one atomic write, so a reader sees a whole document or the previous one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from fraud_detection.domain.errors import InvalidDataError, ObjectNotFoundError
from fraud_detection.domain.ports.reports import Attachments, Document, Reports, SavedReport
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.reports import COMPACTION, DRIFT, QUALITY, ROLLOUT, VALIDATION, ReportKind

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    folder: str
    latest: str | None


LAYOUTS: dict[str, Layout] = {
    VALIDATION.name: Layout("reports/validation", None),
    QUALITY.name: Layout("quality/reports", "quality/latest.json"),
    DRIFT.name: Layout("drift/reports", "drift/latest.json"),
    ROLLOUT.name: Layout("rollout/reports", "rollout/latest.json"),
    COMPACTION.name: Layout("drift/compaction", "drift/compaction-latest.json"),
}


class ObjectStoreReports(Reports):
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def save(
        self,
        kind: ReportKind[Any],
        name: str,
        document: Document,
        attachments: Attachments = None,
        *,
        as_latest: bool = True,
    ) -> SavedReport:
        layout = LAYOUTS[kind.name]
        attached: dict[str, str] = {}
        for suffix, content in (attachments or {}).items():
            attached[suffix] = self._write(f"{layout.folder}/{name}{suffix}", content)
        body = json.dumps(document, indent=2).encode()
        uri = self._write(f"{layout.folder}/{name}.json", body)
        latest = None if layout.latest is None or not as_latest else self._write(layout.latest, body)
        return SavedReport(uri, latest, attached)

    def latest(self, kind: ReportKind[T]) -> T | None:
        key = LAYOUTS[kind.name].latest
        if key is None:
            raise ValueError(f"{kind.name} reports keep no latest copy")
        try:
            raw = self._store.read_bytes(key)
        except ObjectNotFoundError:
            return None
        return _parse(kind, key, raw)

    def recent(self, kind: ReportKind[T], limit: int) -> list[tuple[str, T]]:
        """The newest `limit` readable reports; one that is not (hand-edited, a stray file) is skipped with
        a warning naming it: it made `fraud drift list` fail for every report."""
        folder = LAYOUTS[kind.name].folder + "/"
        keys = sorted((k for k in self._store.list_keys(folder) if k.endswith(".json")), reverse=True)
        found: list[tuple[str, T]] = []
        for key in keys:
            if len(found) >= limit:
                break
            try:
                report = _parse(kind, key, self._store.read_bytes(key))
            except InvalidDataError as error:
                logger.warning("skipped %s", error)
                continue
            found.append((key[len(folder) : -len(".json")], report))
        return found

    def _write(self, key: str, content: bytes) -> str:
        self._store.write_bytes(key, content)
        return self._store.uri_for(key)


def _parse(kind: ReportKind[T], key: str, raw: bytes) -> T:
    try:
        return kind.parse(json.loads(raw))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidDataError(key, f"not a {kind.name} report ({error!r})") from error
