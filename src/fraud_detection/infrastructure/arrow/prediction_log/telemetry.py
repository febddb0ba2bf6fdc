"""What the prediction log reports for metrics; infrastructure/prometheus/metrics.py implements it."""

from __future__ import annotations

from typing import Protocol


class CaptureTelemetry(Protocol):
    def rows_written(self, rows: int) -> None:
        """Rows the object store took (first try, or resent from the spill)."""

    def write_failed(self) -> None:
        """One object-store write failed."""

    def rows_spilled(self, rows: int) -> None:
        """Rows kept on local disk because the store refused them."""

    def rows_dropped(self, rows: int) -> None:
        """Rows given up for good (queue over its bound with the spill full, unwritable, close)."""

    def journal_failed(self) -> None:
        """A journal chunk was not written: a killed process would lose more than the journal interval."""

    def state(
        self,
        pending_rows: int,
        pending_bytes: int,
        max_pending_bytes: float,
        spill_files: int,
        spill_bytes: int,
    ) -> None:
        """The queue and the spill now."""


class NoTelemetry:
    def rows_written(self, rows: int) -> None:
        pass

    def write_failed(self) -> None:
        pass

    def rows_spilled(self, rows: int) -> None:
        pass

    def rows_dropped(self, rows: int) -> None:
        pass

    def journal_failed(self) -> None:
        pass

    def state(
        self,
        pending_rows: int,
        pending_bytes: int,
        max_pending_bytes: float,
        spill_files: int,
        spill_bytes: int,
    ) -> None:
        pass


class CaptureCounters:
    """Counters for metrics, read as attributes of the log; each part of the log counts what it does."""

    rows_written: int = 0
    files_written: int = 0
    write_failures: int = 0
    rows_spilled: int = 0
    rows_resent: int = 0
    rows_recovered: int = 0
    journal_failures: int = 0
