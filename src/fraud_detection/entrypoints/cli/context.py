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


@cache
def unwired_container() -> Container:
    """For commands that run no flow: nothing is wired, because wiring imports every module of the wired
    packages, Prefect among them (about 2.5 s of a `fraud drift check` that needs well under 1 s)."""
    return bootstrap(packages=())
