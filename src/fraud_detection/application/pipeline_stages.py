"""The training pipeline's stages, in order: the one list the training flow, the retraining flow and the
tests iterate (each flow runs every stage as a Prefect task of the same name)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fraud_detection.application.pipeline import PipelineSession
from fraud_detection.application.pipeline_summary import PipelineSummary


@dataclass(frozen=True)
class Stage:
    """One stage of a run, in the order `STAGES` gives. `retried`: an orchestrator may retry it after an
    outage (it reads or writes remote state idempotently); `register` is not, a retry could register twice."""

    name: str
    run: Callable[[PipelineSession, bool], object]
    retried: bool = False


STAGES: tuple[Stage, ...] = (
    Stage("validate", lambda session, _: session.validate(), retried=True),
    Stage("features", lambda session, _: session.build_features()),
    Stage("train", lambda session, _: session.train()),
    Stage("evaluate", lambda session, _: session.evaluate()),
    Stage("register", lambda session, _: session.register()),
    Stage("promote", lambda session, force: session.promote(force), retried=True),
)


def run_stages(
    session: PipelineSession,
    force: bool = False,
    run: Callable[[Stage, PipelineSession, bool], object] = lambda stage, session, force: stage.run(
        session, force
    ),
) -> PipelineSummary:
    """Every stage in order (`run` lets an orchestrator wrap each one, e.g. as a Prefect task)."""
    for stage in STAGES:
        run(stage, session, force)
    return session.summary
