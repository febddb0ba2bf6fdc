"""Request dependencies: the use cases of the container the app holds (`app.state.container`).

Typed attribute paths into the container, so mypy checks each one. Resolved per request from the app's
own container, so tests swap adapters with `container.<capability>.<provider>.override(...)`. They are
`async def`: FastAPI runs a plain `def` dependency in its thread pool, a thread hop that halved
/v1/score's throughput in the serving benchmark.
"""

from __future__ import annotations

from fastapi import Request

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.application.feedback import RecordFeedback
from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.rollout import AbortRollout, EvaluateRollout
from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.composition import Container


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def scorer(request: Request) -> ScoreTransactions:
    return _container(request).serving.score_transactions()


async def holder(request: Request) -> ModelHolder:
    return _container(request).serving.model_holder()


async def loader(request: Request) -> ChampionLoader:
    return _container(request).serving.champion_loader()


async def retrain(request: Request) -> RequestRetrain:
    return _container(request).serving.request_retrain()


async def model_admin(request: Request) -> ModelAdministration:
    return _container(request).models.admin()


async def submit_job(request: Request) -> SubmitScoringJob:
    return _container(request).batch.submit_job()


async def job_control(request: Request) -> JobControl:
    return _container(request).batch.job_control()


async def record_feedback(request: Request) -> RecordFeedback:
    return _container(request).feedback.record()


async def rollout_evaluate(request: Request) -> EvaluateRollout:
    return _container(request).rollout.evaluate()


async def rollout_abort(request: Request) -> AbortRollout:
    return _container(request).rollout.abort()
