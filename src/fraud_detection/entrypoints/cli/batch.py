"""`fraud batch submit|status|cancel|resume|sweep`: score whole files as jobs (Celery workers, or this
process)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from fraud_detection.domain.text import control_character_problem
from fraud_detection.domain.windows import MAX_INTERVAL_SECONDS
from fraud_detection.entrypoints.cli.context import console, container, stdout
from fraud_detection.entrypoints.cli.errors import BAD_INPUT, UNAVAILABLE, fail, handles_user_errors
from fraud_detection.entrypoints.cli.numbers import number_in
from fraud_detection.entrypoints.cli.terminated import stop_exit_code, stop_verb

if TYPE_CHECKING:
    from fraud_detection.composition import Container
    from fraud_detection.domain.jobs import JobStatus
    from fraud_detection.infrastructure.local.in_process_jobs import InProcessJobQueue

app = typer.Typer(help="Batch scoring jobs.", no_args_is_help=True)
POLL_SECONDS = 0.5
# Piped (a CI log, a scheduler's task), where the bar is off: a line this often while rows are being scored.
# Before, a 3M-row job printed nothing for minutes between its id and its end.
PIPED_LINE_SECONDS = 15.0


@app.command()
@handles_user_errors
def submit(
    input_uri: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="CSV, CSV.gz or Parquet under FRAUD_BATCH_INPUT_ROOTS: path or s3://."
        ),
    ],
    output_uri: Annotated[
        str,
        typer.Argument(
            metavar="OUTPUT", help="New Parquet file under FRAUD_BATCH_OUTPUT_ROOTS: path or s3://."
        ),
    ],
    model: Annotated[str, typer.Option(help="Alias or version number.")] = "champion",
    job_id: Annotated[str | None, typer.Option(help="Your id for the job (default: generated).")] = None,
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until it ends.")] = False,
) -> None:
    """Queue a scoring job. Without FRAUD_BROKER_URL the job runs in this process, so the command waits.
    Paths are resolved here (against this folder, symlinks followed) and must then sit under the roots;
    the output must not exist yet."""
    from fraud_detection.domain.jobs import JOB_ID, JOB_ID_RULE, new_job_id

    if job_id is not None and not JOB_ID.fullmatch(job_id):
        raise fail(f"--job-id: '{job_id}' is not a job id: use {JOB_ID_RULE}")
    if not model.strip():  # a job was recorded, then failed on "no model version has the alias ''"
        raise fail("--model: empty; give an alias (champion) or a version number")
    problem = control_character_problem(model)
    if problem is not None:
        raise fail(f"--model: {problem}")
    c = container()
    embedded = not c.settings().broker_url
    job_id = job_id or new_job_id()  # known before its record: a Ctrl-C while it is written can cancel it
    with _failure_reported_here() if embedded else nullcontext():  # the job runs on a thread of ours
        try:
            status = c.batch.submit_job()(_resolved(input_uri), _resolved(output_uri), model, job_id)
        except KeyboardInterrupt as stop:
            if embedded:  # the record may be written and the run started: neither outlives this process
                _cancel_on_interrupt(c, job_id, stop)
            raise
        stdout.print(status.job_id)
        if embedded:
            console.print("no FRAUD_BROKER_URL: the job runs in this process")
            _run_here(c, status.job_id)
        elif wait:
            _follow(status.job_id)


@app.command()
@handles_user_errors
def resume(
    job_id: Annotated[str, typer.Argument(metavar="JOB")],
    wait: Annotated[bool, typer.Option(help="Follow the job with a progress bar until it ends.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Queue it again even while a step of it runs or its tasks wait in the queue (its work is "
            "then done twice): for a worker you know is gone, before its run mark expires."
        ),
    ] = False,
) -> None:
    """Queue an unfinished job again, when its progress stopped because its queued tasks were lost (a
    Redis restarted without persistence, a failover) or the process running it in embedded mode died.
    Refused (exit 2) while it is being worked on: a step's run mark renewed within
    FRAUD_BATCH_RUN_LOST_SECONDS, or tasks of it waiting in the queue. Every step is safe to run twice; a
    finished job is left as it ended (exit 0, saying so)."""
    c = container()
    embedded = not c.settings().broker_url
    with _failure_reported_here() if embedded else nullcontext():
        current = c.batch.job_control().resume(job_id, force=force)
        if current.state.finished:
            _describe(current)
            console.print(f"nothing to resume: job {job_id} had already {current.state.value}")
            return
        console.print(
            f"job {job_id} queued again from where its records stand ({current.chunks_done} chunks done)"
        )
        if embedded:
            _run_here(c, job_id)
        elif wait:
            _follow(job_id)


@app.command()
@handles_user_errors
def sweep(
    seconds: Annotated[
        float,
        typer.Option(
            "--seconds",
            parser=number_in(1.0, MAX_INTERVAL_SECONDS),
            help="Time between the two looks at the open jobs (1 to 604,800).",
        ),
    ] = 60.0,
) -> None:
    """Queue again every job whose tasks the broker lost: open, with nothing queued or held by a worker,
    and no progress between two looks SECONDS apart. What each worker does by itself every
    FRAUD_BATCH_SWEEP_SECONDS; for workers run with it off, or to act at once. Prints the jobs queued."""
    c = container()
    if not c.settings().broker_url:
        raise fail("no FRAUD_BROKER_URL: jobs run in the process that submitted them (`fraud batch resume`)")
    stalled = c.batch.stalled_jobs()
    first = stalled.look()
    if not first.seen:
        from fraud_detection.domain.redaction import masked_url

        broker = masked_url(c.settings().broker_url or "")
        raise fail(
            f"message broker {broker} could not be asked which jobs it holds (unreachable, or not Redis, "
            "whose queues a sweep reads): nothing done",
            UNAVAILABLE,
        )
    console.print(f"{len(first.idle)} open job(s) with nothing queued; looking again in {seconds:g} s")
    time.sleep(seconds)
    result = stalled.sweep(first)
    for job_id in result.resumed:
        stdout.print(job_id)
    for job_id in result.stuck:
        console.print(f"job {job_id} was queued again from this point before and stalled again")
    console.print(f"{len(result.resumed)} job(s) queued again")


@contextmanager
def _failure_reported_here() -> Iterator[None]:
    """A job run in this process fails into the status `_follow` reports (once, with the exit code): its
    worker-side log line would print the same error to stderr first."""
    from fraud_detection.application.batch import steps

    def keep(record: logging.LogRecord) -> bool:
        return record.msg != steps.JOB_FAILED

    steps.logger.addFilter(keep)
    try:
        yield
    finally:
        steps.logger.removeFilter(keep)


@app.command()
@handles_user_errors
def status(
    job_id: Annotated[str, typer.Argument(metavar="JOB")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """State, progress, model version, output and error of a job."""
    current = container().batch.job_control().status(job_id)
    if as_json:
        print(json.dumps(asdict(current), default=str, indent=2))
        return
    _describe(current)


@app.command()
@handles_user_errors
def cancel(job_id: Annotated[str, typer.Argument(metavar="JOB")]) -> None:
    """Cancel a job: no output is written; chunks already running finish and are discarded. A job that has
    already ended is left as it is, and so is one already writing its output (exit 0, saying so)."""
    control = container().batch.job_control()
    before = control.status(job_id)
    current = before if before.state.finished else control.cancel(job_id)
    _describe(current)
    if before.state.finished:
        console.print(f"nothing to cancel: job {job_id} had already {before.state.value}")
    elif not current.state.finished:
        console.print(
            f"too late to cancel: job {job_id} is writing its output; it ends succeeded, or cancelled if the "
            f"commit saw the request first (`fraud batch status {job_id}`)"
        )


def _resolved(uri: str) -> str:
    """A local path as the submitter means it: absolute, resolved against this process's folder (realpath);
    URIs (s3://, file://) are left to the roots' rule."""
    if "://" in uri or uri.startswith("file:") or not uri.strip():
        return uri
    return os.path.realpath(os.path.expanduser(uri))


# How long a run may take to end after its job's status did (it logs and drops its staged data).
RUN_END_SECONDS = 30.0


def _run_here(c: Container, job_id: str) -> None:
    """Follow a job that this process runs (embedded mode) to its end. Ctrl-C cancels it: the run cannot
    outlive the process, and exiting under it used to fail the job as `internal` ("cannot schedule new
    futures after interpreter shutdown") once the interpreter began to shut down around its thread."""
    from fraud_detection.infrastructure.local.in_process_jobs import InProcessJobQueue

    queue = c.batch.job_queue()
    if not isinstance(queue, InProcessJobQueue):  # a test's queue: nothing runs here to stop
        _follow(job_id)
        return
    try:
        _follow(job_id, queue.holds)
    except KeyboardInterrupt as stop:
        _cancel_on_interrupt(c, job_id, stop)
    except BaseException:  # the job's failure (exit 2), or it ended without recording its end
        _run_ended(queue, job_id)
        raise
    _run_ended(queue, job_id)


def _run_ended(queue: InProcessJobQueue, job_id: str) -> None:
    """The run ends a moment after its job's status does (its log line, its clean-up): waited for inside
    `_failure_reported_here`; before, the failure's log line could print after the command's own error,
    once the filter was gone (seen in the e2e suite)."""
    with suppress(Exception):
        queue.wait(job_id, RUN_END_SECONDS)


def _cancel_on_interrupt(c: Container, job_id: str, stop: KeyboardInterrupt) -> NoReturn:
    """Cancel the job and wait for its run to stop (its current chunk ends first, a second or two), then
    exit 130 (143 for SIGTERM) with its status. A second Ctrl-C, or a cancel the store refuses, exits at
    once with the job left open: a graceful exit would wait for the run's thread anyway."""
    from fraud_detection.domain.errors import FraudDetectionError, JobNotFoundError
    from fraud_detection.infrastructure.local.in_process_jobs import InProcessJobQueue

    typer.echo(
        f"{stop_verb(stop)}: cancelling job {job_id}; its current chunk ends first (Ctrl-C or SIGTERM again: "
        "exit now, leaving the job open)",
        err=True,
    )
    control, queue = c.batch.job_control(), c.batch.job_queue()
    try:
        control.cancel(job_id)
        with suppress(Exception):  # the run logged its own end; its status tells the rest
            if isinstance(queue, InProcessJobQueue):
                queue.wait(job_id)
        _describe(control.status(job_id))
    except JobNotFoundError:
        typer.echo(f"job {job_id} was not recorded: nothing to cancel", err=True)
    except (KeyboardInterrupt, FraudDetectionError) as error:
        reason = "" if isinstance(error, KeyboardInterrupt) else f" ({error})"
        typer.echo(
            f"job {job_id} left open{reason}: `fraud batch resume {job_id}` goes on from its last chunk, "
            f"`fraud batch cancel {job_id}` ends it",
            err=True,
        )
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(stop_exit_code(stop))  # the run's thread would otherwise hold the exit until it ends
    raise typer.Exit(stop_exit_code(stop))


def _follow(job_id: str, held_here: Callable[[str], bool] | None = None) -> None:
    """Until the job ends; in embedded mode (`held_here`), also until this process's run of it ends: a run
    that could not record its end (the store down as it failed) would otherwise leave it `running` for
    ever, and this loop with it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from fraud_detection.domain.jobs import FailureKind, JobState
    from fraud_detection.entrypoints.cli.status_reads import PatientStatusReads

    read_status = PatientStatusReads(
        container().batch.job_control().status, lambda line: console.print(line, markup=False)
    )
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"))
    quiet = not console.is_terminal  # piped: no bar, and no blank line where it was
    lines = _PipedLines(job_id) if quiet else None
    with Progress(
        *columns, TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True, disable=quiet
    ) as progress:
        task = progress.add_task(f"job {job_id}", total=None)
        current = read_status(job_id)
        while not current.state.finished:
            progress.update(task, completed=current.rows_scored, total=current.rows_total)
            if lines is not None:
                lines.show(current)
            time.sleep(POLL_SECONDS)
            ended_here = held_here is not None and not held_here(job_id)
            current = read_status(job_id)  # read after the look, so an end recorded meanwhile is seen
            if ended_here and not current.state.finished:
                raise fail(
                    f"job {job_id}: its run in this process ended without recording an end (was the store "
                    f"unreachable?); its records stand at {current.chunks_done} of "
                    f"{current.chunks_total or '?'} chunks: `fraud batch resume {job_id}`",
                    UNAVAILABLE,
                )
    failed = current.state is JobState.FAILED
    _describe(current, error=not failed)  # a failure's error goes once, to stderr, with the exit code
    if failed:  # bad input (or a job recorded before failures had kinds) is 2; a retry may help otherwise
        retry_may_help = current.error_kind in (FailureKind.SERVICE, FailureKind.INTERNAL)
        raise fail(f"job {job_id} failed: {current.error}", UNAVAILABLE if retry_may_help else BAD_INPUT)
    if current.state is JobState.CANCELLED:
        raise typer.Exit(1)


class _PipedLines:
    """A job's progress as a line every PIPED_LINE_SECONDS while its rows are being scored, with the time
    left at the rate so far (rows scored since this command's first look, as chunks land)."""

    def __init__(self, job_id: str) -> None:
        self._job_id, self._started = job_id, time.monotonic()
        self._last_time, self._first_rows, self._last_rows = self._started, -1, 0

    def show(self, current: JobStatus) -> None:
        now = time.monotonic()
        if self._first_rows < 0:
            self._first_rows = current.rows_scored  # rows done before this command followed the job
        if current.rows_scored == self._last_rows or now - self._last_time < PIPED_LINE_SECONDS:
            return
        self._last_time, self._last_rows = now, current.rows_scored
        line = f"job {self._job_id}: {current.rows_scored:,}"
        if current.rows_total:
            line += f"/{current.rows_total:,} rows ({current.progress:.0%})"
            rate = (current.rows_scored - self._first_rows) / max(now - self._started, 1e-9)
            if rate > 0:
                line += f", about {_duration((current.rows_total - current.rows_scored) / rate)} left"
        else:
            line += " rows"
        console.print(f"{line}, {_duration(now - self._started)} in", highlight=False, markup=False)


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s" if whole >= 60 else f"{whole} s"


def _describe(current: JobStatus, error: bool = True) -> None:
    from fraud_detection.domain.jobs import JobState

    total = f"{current.rows_total:,}" if current.rows_total is not None else "?"
    model = f"v{current.model_version}" if current.model_version else current.request.model
    if current.threshold is not None:
        model = f"{model} (threshold {current.threshold:.4f})"
    stdout.print(
        f"{current.job_id}: {current.state.value}, {current.rows_scored:,}/{total} rows, "
        f"{current.chunks_done}/{current.chunks_total or '?'} chunks, model {model}"
    )
    if current.state is JobState.SUCCEEDED:
        stdout.print(f"output: {current.request.output_uri}")
    if error and current.error:  # a cancelled job's "error" is why it ended: no error to a reader
        stdout.print(f"{'reason' if current.state is JobState.CANCELLED else 'error'}: {current.error}")
