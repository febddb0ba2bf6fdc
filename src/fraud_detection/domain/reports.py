"""The kinds of stored report: validation (per dataset), realised quality, drift (each check), rollout
(each applied rollout evaluation) and compaction of captured predictions (each run).

One port (`ports.reports.Reports`) stores them all, so writing, locating and reading a report back is one
piece of code; a kind says only its name (where the adapter files it) and how its document reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fraud_detection.domain.compaction import CompactionReport
from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.domain.feedback import QualityReport
from fraud_detection.domain.validation import ValidationReport

T = TypeVar("T")


@dataclass(frozen=True)
class ReportKind(Generic[T]):
    name: str
    parse: Callable[[dict[str, Any]], T]


VALIDATION: ReportKind[ValidationReport] = ReportKind("validation", ValidationReport.from_dict)
QUALITY: ReportKind[QualityReport] = ReportKind("quality", QualityReport.from_dict)
DRIFT: ReportKind[DriftReport] = ReportKind("drift", DriftReport.from_dict)
# A rollout evaluation as `RolloutDecision.to_dict()` left it: read back as the document itself.
ROLLOUT: ReportKind[dict[str, Any]] = ReportKind("rollout", dict)
COMPACTION: ReportKind[CompactionReport] = ReportKind("compaction", CompactionReport.from_dict)
