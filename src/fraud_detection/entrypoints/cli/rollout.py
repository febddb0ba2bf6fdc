"""`fraud rollout status|start|advance|abort|evaluate`: staged promotion, by hand or by the policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fraud_detection.domain.errors import NoActiveRolloutError
from fraud_detection.domain.model import VERSION_MAX
from fraud_detection.entrypoints.cli.context import console, container, print_table, stdout
from fraud_detection.entrypoints.cli.errors import handles_user_errors
from fraud_detection.entrypoints.cli.reasons import checked_reason

if TYPE_CHECKING:
    from fraud_detection.application.rollout import RolloutDecision
    from fraud_detection.domain.rollout import RoleEvidence, Rollout

app = typer.Typer(
    help="Staged promotion: a challenger in shadow, then a canary share, then champion (or rolled back).",
    no_args_is_help=True,
)
JSON_OPTION = typer.Option("--json", help="Print JSON for scripts.")
# On a terminal only (stderr): the evidence reads every capture file since the rollout began.
GATHERING = "gathering the rollout's evidence from the captured predictions..."


@app.command()
@handles_user_errors
def status(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """The rollout's state, the evidence of its stage, and what the policy would do now (nothing moves)."""
    with console.status(GATHERING):
        decision = container().rollout.evaluate()(apply=False)
    _show(decision, as_json)


@app.command()
@handles_user_errors
def evaluate(
    if_active: Annotated[
        bool,
        typer.Option(
            "--if-active", help="Without an active rollout say so and exit 0 (for schedules: a no-op run)."
        ),
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Apply the policy once: advance, roll back on harm, or hold (what the schedule runs)."""
    try:
        with console.status(GATHERING):
            decision = container().rollout.evaluate()(apply=True)
    except NoActiveRolloutError as error:
        if not if_active:
            raise
        if as_json:  # what the rollout_evaluation flow returns for the same case: JSON for scripts, always
            print(json.dumps({"rollout": None, "applied": False, "detail": f"nothing to evaluate: {error}"}))
        else:
            _say(f"nothing to evaluate: {error}")
        return
    if if_active and not decision.judged and not as_json:  # over already: the flow logs the same line
        rollout = decision.rollout
        _say(f"nothing to evaluate: the rollout of v{rollout.challenger} is over ({rollout.stage})")
        return
    _show(decision, as_json)


@app.command()
@handles_user_errors
def start(
    version: Annotated[int, typer.Argument(min=1, max=VERSION_MAX, help="Registered version to roll out.")],
    shadow_only: Annotated[
        bool, typer.Option("--shadow-only", help="Stay in shadow until `fraud rollout advance`.")
    ] = False,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Start VERSION in shadow against the current champion."""
    _moved(container().rollout.start()(version, shadow_only=shadow_only), as_json)


@app.command()
@handles_user_errors
def advance(
    reason: Annotated[
        str, typer.Option(help="Why (recorded with the transition).")
    ] = "advanced by an operator",
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Move to the next step now (shadow -> first canary share -> ... -> champion), whatever the evidence."""
    _moved(container().rollout.advance()(checked_reason(reason)), as_json)


@app.command()
@handles_user_errors
def abort(
    reason: Annotated[
        str, typer.Option(help="Why (recorded with the transition).")
    ] = "aborted by an operator",
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            min=1,
            max=VERSION_MAX,
            help="Only if the active rollout is of this challenger (exit 2 otherwise).",
        ),
    ] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Roll back now: the champion serves every transaction again."""
    _moved(container().rollout.abort()(checked_reason(reason), version=version), as_json)


def _moved(rollout: Rollout, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rollout.to_dict(), indent=2))
        return
    _say(_state(rollout))
    if rollout.history:
        _say(f"reason: {rollout.history[-1].reason}")


def _state(rollout: Rollout) -> str:
    from fraud_detection.domain.rollout import Stage

    where = f"canary {rollout.canary_percent:g}%" if rollout.canary_percent else str(rollout.stage)
    before = f"v{rollout.champion}" if rollout.champion is not None else "none"
    # The champion the rollout started against: once it completed, "(champion v3)" named the one replaced.
    champion = {
        Stage.CHAMPION: f"replaced champion {before}",
        Stage.ROLLED_BACK: f"champion {before} kept",
    }.get(rollout.stage, f"champion {before}")
    since = datetime.fromtimestamp(rollout.stage_since, tz=UTC).isoformat(timespec="seconds")
    mode = ", shadow only" if rollout.shadow_only else ""
    return f"{rollout.model_name} v{rollout.challenger}: {where} since {since} ({champion}{mode})"


def _show(decision: RolloutDecision, as_json: bool) -> None:
    if as_json:
        print(json.dumps(decision.to_dict(), indent=2))
        return
    _say(_state(decision.rollout))
    evidence = decision.evidence
    if decision.rollout.active or decision.applied:
        mine, theirs, labels = evidence.challenger, evidence.champion, evidence.labels
        _say(
            f"scored: challenger {mine.rows:,} ({mine.errors:,} errors), champion {theirs.rows:,}, "
            f"both {evidence.paired_rows:,}, canary {evidence.canary_rows:,}; "
            f"agreement {_share(evidence.agreement)}, rank correlation {_figure(evidence.score_correlation)}"
        )
        _say(f"labels: {labels.labelled:,} on transactions both scored, {labels.frauds:,} frauds")
        _say(f"model time p99 (served alone): challenger {_latency(mine)}, champion {_latency(theirs)}")
    verdict = decision.verdict
    _say(f"{'applied' if decision.applied else 'verdict'}: {_verdict_line(decision)}")
    if verdict.checks:
        table = Table("check", "passed", "detail", title="checks")
        for check in verdict.checks:
            passed = "harm" if check.harmful else "yes" if check.passed else "not yet"
            table.add_row(check.name, passed, check.detail)
        print_table(table)
    if decision.report:
        _say(f"report: {decision.report}")


def _verdict_line(decision: RolloutDecision) -> str:
    """The whole reason when there is no table to read it from; else what happens, the table says why."""
    from fraud_detection.domain.rollout import Action

    verdict = decision.verdict
    if not verdict.checks:
        return decision.detail
    if verdict.action is Action.HOLD:
        waiting = sum(not check.passed for check in verdict.checks)
        return f"hold ({waiting} of {len(verdict.checks)} checks not yet met)" if waiting else verdict.reason
    target = f"canary {verdict.percent:g}%" if verdict.percent else str(verdict.to)
    return f"{verdict.action} to {target}"


def _latency(role: RoleEvidence) -> str:
    """Served one-row scorings only: in shadow the challenger serves none, so it has no figure yet."""
    if role.latency_p99_ms is None:
        return "-"
    return f"{role.latency_p99_ms:.3f} ms ({role.latency_rows:,} scorings)"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _say(text: str) -> None:
    """Plain text: model names and reasons are not rich markup."""
    stdout.print(text, markup=False, highlight=False)
