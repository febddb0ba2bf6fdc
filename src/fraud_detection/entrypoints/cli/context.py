"""The container for a CLI command, built once per process from the environment."""

from __future__ import annotations

from functools import cache

from rich.console import Console

from fraud_detection.container import Container, bootstrap

console = Console(stderr=True)
stdout = Console()


@cache
def container() -> Container:
    return bootstrap()
