"""The log levels `fraud serve` (uvicorn) and `fraud worker` (Celery) accept: as text, an unknown level
reached the server and ended in its KeyError or BadParameter traceback."""

from __future__ import annotations

from enum import StrEnum


class LogLevel(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
