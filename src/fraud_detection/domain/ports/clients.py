"""Where the API's clients and their hashed keys come from (a file, AWS Secrets Manager)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from fraud_detection.domain.clients import ClientDirectory


class ClientSource(ABC):
    @abstractmethod
    def directory(self) -> ClientDirectory:
        """The clients in effect now. Called per request, so it must be cheap; a source picks up rotated
        keys on its own (no restart), and keeps its last good directory when a reload fails."""
