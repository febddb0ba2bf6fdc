"""`fraud retrain`: the retrain flow by hand (events start it too; see flows/retraining.py).

Ctrl-C and SIGTERM (an ECS task stopped, the API's local launcher shut down) stop it as they stop
`fraud pipeline run` (entrypoints/cli/interrupts.py), and the retrain lock is released on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from fraud_detection.entrypoints.cli.context import console, container
from fraud_detection.entrypoints.cli.errors import UNAVAILABLE, fail, handles_user_errors
from fraud_detection.entrypoints.cli.interrupts import run_flow_until_stopped, warn_unrecorded
from fraud_detection.entrypoints.cli.prefect_hang import exit_within_later, hang_ending
from fraud_detection.entrypoints.cli.progress import ConsoleProgress
from fraud_detection.entrypoints.cli.reasons import checked_reason
from fraud_detection.infrastructure.local.retrain_lock import RetrainRunningError, holding, lock_path

if TYPE_CHECKING:
    from fraud_detection.flows.retraining import RetrainOutcome


@handles_user_errors
def retrain(
    reason: Annotated[str, typer.Option(help="Why (logged with the run).")] = "requested by an operator",
    force_promotion: Annotated[
        bool, typer.Option(help="Promote the new model even where the gate would keep the champion.")
    ] = False,
) -> None:
    """Train a challenger on the champion's data plus labelled captured transactions; the gate decides."""
    reason = checked_reason(reason)
    c = container()
    from fraud_detection.flows.tasks import stage_retry_delay

    progress = ConsoleProgress(console, stage_retry_delay)
    c.observer.override(progress)

    def report(outcome: RetrainOutcome) -> None:
        from fraud_detection.entrypoints.cli.summary import print_summary

        console.print(f"retraining set: {outcome.retraining_set.detail}")
        if outcome.summary is not None:
            print_summary(console, outcome.summary, c.settings())

    try:
        with holding(lock_path(c.settings().home)):  # released however the block ends, a stop included
            console.print(f"retrain ({reason}): starting the Prefect flow...")
            outcome = run_flow_until_stopped(
                "retrain", progress, c.interruption(), lambda: _run_flow(reason, force_promotion, report)
            )
    except RetrainRunningError as error:
        raise fail(str(error), UNAVAILABLE) from None
    report(outcome)


def _run_flow(reason: str, force_promotion: bool, report: Callable[[RetrainOutcome], None]) -> RetrainOutcome:
    from fraud_detection.flows.finished import run_keeping_result
    from fraud_detection.flows.retraining import retrain as retrain_flow  # Prefect's import is slow

    outcome, lost = run_keeping_result(
        retrain_flow.fn.__name__,
        lambda: retrain_flow(reason=reason, force_promotion=force_promotion),
        on_hang=hang_ending("retrain", report),  # the lock is an flock: the kernel releases it
    )
    warn_unrecorded("retrain", lost)
    exit_within_later("retrain", end_lost=lost is not None)  # armed once the command returns
    return outcome
