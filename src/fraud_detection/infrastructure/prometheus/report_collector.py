"""What the collectors of stored reports share: read the latest report at scrape time (cached), export
nothing before the first one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Generic, TypeVar

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fraud_detection.infrastructure.prometheus.cached_read import CachedRead

T = TypeVar("T")


class LatestReportCollector(Collector, ABC, Generic[T]):
    def __init__(self, latest: CachedRead[T]) -> None:
        self._latest = latest

    def collect(self) -> Iterator[Metric]:
        report = self._latest.get()
        if report is not None:
            yield from self.gauges(report)

    @abstractmethod
    def gauges(self, report: T) -> Iterator[Metric]:
        """The families `report` gives."""


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
