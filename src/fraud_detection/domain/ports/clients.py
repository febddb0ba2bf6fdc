"""Where the API's clients and their hashed keys come from (a file, AWS Secrets Manager)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fraud_detection.domain.clients import ClientDirectory


class ClientSource(ABC):
    @abstractmethod
    def directory(self) -> ClientDirectory:
        """The clients in effect now. Called per request, so it must be cheap; a source picks up rotated
        keys on its own (no restart), and keeps its last good directory when a reload fails."""

    def refusal(self) -> str | None:
        """Why the source's current content is refused, or None when what is served is current. While a
        refusal lasts, the previous clients are served: a key the refused edit revoked still works, so the
        API exports it (`fraud_api_clients_refused`) for an alert rather than leaving it to one log line."""
        return None
