"""Request dependencies, resolved from the container through dependency-injector's wiring.

Each public dependency is an `async def` without parameters over a wired resolver: FastAPI runs a plain
`def` dependency (such as `Depends(Provide[...])` itself) in its thread pool, a thread hop that halved
/v1/score's throughput in the serving benchmark, and it would read a wired function's `Provide` defaults as
request parameters.
"""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject

from fraud_detection.application.batch.control import JobControl
from fraud_detection.application.batch.submit import SubmitScoringJob
from fraud_detection.application.model_admin import ModelAdministration
from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder
from fraud_detection.application.serving.retrain import RequestRetrain
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.container import Container
from fraud_detection.settings import Settings


@inject
def _scorer(use_case: ScoreTransactions = Provide[Container.score_transactions]) -> ScoreTransactions:
    return use_case


@inject
def _holder(model_holder: ModelHolder = Provide[Container.model_holder]) -> ModelHolder:
    return model_holder


@inject
def _loader(champion_loader: ChampionLoader = Provide[Container.champion_loader]) -> ChampionLoader:
    return champion_loader


@inject
def _settings(current: Settings = Provide[Container.settings]) -> Settings:
    return current


@inject
def _retrain(use_case: RequestRetrain = Provide[Container.request_retrain]) -> RequestRetrain:
    return use_case


@inject
def _model_admin(use_case: ModelAdministration = Provide[Container.model_admin]) -> ModelAdministration:
    return use_case


@inject
def _submit_job(use_case: SubmitScoringJob = Provide[Container.submit_job]) -> SubmitScoringJob:
    return use_case


@inject
def _job_control(use_case: JobControl = Provide[Container.job_control]) -> JobControl:
    return use_case


async def submit_job() -> SubmitScoringJob:
    return _submit_job()


async def job_control() -> JobControl:
    return _job_control()


async def scorer() -> ScoreTransactions:
    return _scorer()


async def holder() -> ModelHolder:
    return _holder()


async def loader() -> ChampionLoader:
    return _loader()


async def settings() -> Settings:
    return _settings()


async def retrain() -> RequestRetrain:
    return _retrain()


async def model_admin() -> ModelAdministration:
    return _model_admin()
