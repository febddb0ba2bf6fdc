"""CompactCaptures with in-memory fakes: every run, failed or not, leaves the latest compaction report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fraud_detection.application.compaction import CompactCaptures
from fraud_detection.domain.compaction import CompactionReport, CompactionSummary
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.ports.prediction_log import CaptureCompaction
from fraud_detection.domain.reports import COMPACTION
from tests.drift_fakes import FakeReports

NOW = datetime(2026, 12, 5, 10, 17, 3, tzinfo=UTC)
SUMMARY = CompactionSummary(hours=2, files_merged=240, rows=84_000, files_deleted=120, hours_left=1)


class FakeCompaction(CaptureCompaction):
    def __init__(self, failure: Exception | None = None) -> None:
        self.failure, self.calls = failure, list[tuple[float, float | None]]()

    def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        self.calls.append((lookback_hours, budget_seconds))
        if self.failure is not None:
            raise self.failure
        return SUMMARY


def test_a_run_returns_its_summary_and_reports_it_as_the_latest() -> None:
    compaction, reports = FakeCompaction(), FakeReports()
    summary = CompactCaptures(compaction, reports, clock=NOW.timestamp)(48.0, 120.0)
    assert summary == SUMMARY
    assert compaction.calls == [(48.0, 120.0)]
    assert [(kind, name) for kind, name, _, _ in reports.saved] == [("compaction", "20261205T101703000000Z")]
    assert reports.latest(COMPACTION) == CompactionReport("2026-12-05T10:17:03+00:00", SUMMARY, None)


def test_a_failed_run_is_reported_then_raised() -> None:
    reports = FakeReports()
    use_case = CompactCaptures(FakeCompaction(OSError("bucket gone")), reports, clock=NOW.timestamp)
    with pytest.raises(OSError, match="bucket gone"):
        use_case(48.0)
    assert reports.latest(COMPACTION) == CompactionReport(NOW.isoformat(), None, "OSError: bucket gone")


def test_an_outage_of_the_store_is_raised_without_a_report_to_that_store() -> None:
    """A hung S3: the report waited out the client's retries a second time (a Lambda past its limit)."""
    reports = FakeReports()
    down = ServiceUnavailableError("cannot list s3://fraud/predictions/: Read timeout")
    with pytest.raises(ServiceUnavailableError):
        CompactCaptures(FakeCompaction(down), reports, clock=NOW.timestamp)(48.0)
    assert reports.saved == []


def test_the_report_reads_back_as_written() -> None:
    for report in (CompactionReport(NOW.isoformat(), SUMMARY), CompactionReport(NOW.isoformat(), None, "x")):
        assert CompactionReport.from_dict(report.to_dict()) == report


def test_two_runs_in_one_second_keep_two_reports() -> None:
    """Before, the report's name had whole seconds: the second run's replaced the first's."""
    reports, moments = FakeReports(), iter([NOW.timestamp(), NOW.timestamp() + 0.25])
    use_case = CompactCaptures(FakeCompaction(), reports, clock=lambda: next(moments))
    use_case(48.0)
    use_case(48.0)
    assert [name for _, name, _, _ in reports.saved] == ["20261205T101703000000Z", "20261205T101703250000Z"]
