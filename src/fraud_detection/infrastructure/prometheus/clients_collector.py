"""Whether the API serves its clients' current document, for /metrics, read at scrape time.

A clients file the API refuses (writable by others, malformed, unreadable) or a secret it cannot fetch leaves
the previous clients in force, so a key that edit revoked keeps working; before, one log line said so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from fraud_detection.domain.ports.clients import ClientSource
from fraud_detection.infrastructure.prometheus.report_collector import gauge


class ClientsCollector(Collector):
    def __init__(self, source: Callable[[], ClientSource]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        yield gauge(
            "fraud_api_clients_refused",
            "1 while the API refuses its clients file or secret and serves the clients it loaded before "
            "(a key the refused change revoked still works).",
            self._source().refusal() is not None,
        )
