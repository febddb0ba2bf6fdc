"""Expected failures become one line on stderr and exit code 2; bugs keep their traceback."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from fraud_detection.domain.errors import FraudDetectionError, ServiceUnavailableError, StorageFullError
from fraud_detection.entrypoints.cli.terminated import stop_exit_code, stop_verb

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
        # a full disk, a file that is not a database: their own advice; "a service is down" would mislead
        own = isinstance(error, StorageFullError) or error.advice_included
        suffix = "" if own else " (a service is down or unreachable; try again)"
        raise fail(f"{error}{suffix}", UNAVAILABLE) from None
    except FraudDetectionError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt as error:  # Ctrl-C, or SIGTERM (entrypoints/cli/terminated.py)
        typer.echo(stop_verb(error), err=True)
        sys.exit(stop_exit_code(error))
    except MemoryError as error:  # the machine's or the task's limit, not a bug: ~150 lines of traceback
        detail = f": {error}" if str(error) else ""
        advice = "give the process more memory (a bigger task or machine) or use fewer rows"
        raise fail(f"out of memory{detail}; {advice}", UNAVAILABLE) from None
    except OSError as error:
        if error.filename is None and error.errno not in FILE_SYSTEM_FAILURES:
            raise  # not about a file (a socket, a pipe): keep the traceback
        raise fail(*file_problem(error)) from None
    except Exception as error:
        # Looked up, not imported: pydantic costs ~0.2 s of every command's start, and its errors can only
        # come from a process that has imported it already.
        pydantic = sys.modules.get("pydantic")
        if pydantic is None or not isinstance(error, pydantic.ValidationError):
            raise
        # a setting from the environment has the wrong form. Imported here: the `settings` package loads
        # pydantic-settings (~0.4 s), which `fraud --help` and the commands that read no setting skip.
        from fraud_detection.settings.problems import configuration_problems

        raise fail(configuration_problems(error.errors())) from None


# The file system, not the path, is at fault: free space or fix the disk, then run the same command again.
FILE_SYSTEM_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO})


def file_problem(error: OSError) -> tuple[str, int]:
    """The operating system refused a named file (missing folder, no permission, name too long, disk full):
    the user's path or machine, not a bug, so one line naming the path rather than a traceback."""
    reason = error.strerror or type(error).__name__
    code = UNAVAILABLE if error.errno in FILE_SYSTEM_FAILURES else BAD_INPUT
    if error.filename is None:
        return reason, code
    return f"cannot use {shortened(str(error.filename))}: {reason}", code


def shortened(text: str, limit: int = 240) -> str:
    """A 5,000-character path in full would bury the reason at the end of the line."""
    return text if len(text) <= limit else f"{text[: limit // 2]}...{text[-limit // 2 :]}"


def handles_user_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Expected errors as one line; and every setting checked before the command does anything, so a bad
    one stops it at once, naming its variable, rather than a stage minutes into a run."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with user_errors():
            check_settings()
            return command(*args, **kwargs)

    return wrapper


def check_settings() -> None:
    """Read every setting from the environment (pydantic-settings: paid by commands that run, not by
    `--help`). Not through the container: `fraud clients` and `fraud config` do not import it (~0.1 s);
    the commands that do read the settings again there, ~3 ms."""
    from fraud_detection.settings import Settings
    from fraud_detection.settings.unknown import setting_variables, unknown_setting_problems

    Settings()
    problems = unknown_setting_problems(os.environ, setting_variables())
    if problems:
        raise fail(f"invalid configuration: {'; '.join(problems)}")
