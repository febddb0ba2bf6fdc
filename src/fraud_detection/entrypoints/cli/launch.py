"""The `fraud` console script: a stop that lands while Python imports the CLI ends as a stop at any other
moment does, in one line with exit 130 (Ctrl-C) or 143 (SIGTERM), not in a KeyboardInterrupt traceback.

Kept apart from `app`: importing `app` builds the command tree (typer, rich and every command's module,
~0.3 s), and a handler there would only be in place after that. This module imports only `terminated`,
whose handler is set before the rest loads.
"""

from __future__ import annotations

import sys

from fraud_detection.entrypoints.cli.terminated import stop_exit_code, stop_on_sigterm, stop_verb


def main() -> None:
    stop_on_sigterm()  # a container stop cleans up as Ctrl-C does, from the first import on
    try:
        from fraud_detection.entrypoints.cli.app import main as run
    except KeyboardInterrupt as error:
        print(stop_verb(error), file=sys.stderr)
        sys.exit(stop_exit_code(error))
    run()
