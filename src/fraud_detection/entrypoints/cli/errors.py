"""Expected failures become one line on stderr and exit code 2; bugs keep their traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from fraud_detection.domain.errors import FraudDetectionError, ServiceUnavailableError

BAD_INPUT = 2
UNAVAILABLE = 1

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = BAD_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except ServiceUnavailableError as error:
        raise fail(f"{error} (a service is down or unreachable; try again)", UNAVAILABLE) from None
    except FraudDetectionError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:
        # Looked up, not imported: pydantic costs ~0.2 s of every command's start, and its errors can only
        # come from a process that has imported it already.
        pydantic = sys.modules.get("pydantic")
        if pydantic is None or not isinstance(error, pydantic.ValidationError):
            raise
        # a setting from the environment has the wrong form
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid configuration: {problems}") from None


def _variable(location: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings field (`top_k` -> `FRAUD_TOP_K`)."""
    name = str(location[0]) if location else "settings"
    return name if name.isupper() else f"FRAUD_{name.upper()}"


def handles_user_errors(command: Callable[P, R]) -> Callable[P, R]:
    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with user_errors():
            return command(*args, **kwargs)

    return wrapper
