"""What a compaction run of captured predictions did, and the report each run leaves for /metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# What every scheduled run merges (the drift Lambda, the drift flow; `fraud capture compact` by default):
# two days of closed hours, so a day-long outage of the schedule heals by itself; and at most 120 s of the
# Lambda's 300 s, leaving the rest to the drift check. Here, not beside the use case: the CLI reads the
# default for its option without importing the drift report's numpy.
LOOKBACK_HOURS = 48.0
BUDGET_SECONDS = 120.0


@dataclass(frozen=True)
class CompactionSummary:
    hours: int  # hours whose files were merged into one in this run
    files_merged: int
    rows: int  # rows of the files written
    files_deleted: int  # merged files removed after the grace period
    hours_left: int  # hours the time budget left for the next run

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompactionSummary:
        return cls(**{name: int(data[name]) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CompactionReport:
    """One run: its summary, or why it failed. Stored as the latest so the API exports it on /metrics: a
    compaction that keeps failing or falling behind is an alert, not a slow drift check weeks later."""

    ran_at: str  # ISO 8601, UTC
    summary: CompactionSummary | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        summary = None if self.summary is None else self.summary.to_dict()
        return {"ran_at": self.ran_at, "summary": summary, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompactionReport:
        summary = data["summary"]
        error = data.get("error")
        return cls(
            str(data["ran_at"]),
            None if summary is None else CompactionSummary.from_dict(summary),
            None if error is None else str(error),
        )
