from pathlib import Path

import pandas as pd
import pytest
from dependency_injector import providers

from fraud_detection.application.pipeline import TrainingPipeline
from fraud_detection.application.pipeline_stages import run_stages
from fraud_detection.application.progress import PipelineObserver
from fraud_detection.composition import Container
from fraud_detection.settings import Settings
from tests.builders import transactions
from tests.drift_fakes import FakeReferenceProfiles
from tests.fakes import (
    FakeDatasetStore,
    FakeObjectStore,
    FakePlotter,
    FakePublisher,
    FakeRegistry,
    FakeSource,
    FakeTracker,
    FakeTrainer,
    FakeValidator,
)
from tests.rollout_fakes import FakeRolloutStore


class RecordingObserver(PipelineObserver):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.details: dict[str, str] = {}  # each stage's one-line detail, the last run's

    def stage_started(self, stage: str) -> None:
        self.events.append(("start", stage))

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        self.events.append(("done", stage))
        self.details[stage] = detail

    def stage_failed(self, stage: str, seconds: float, error: BaseException) -> None:
        self.events.append(("failed", stage))


class World:
    """Every port faked, overriding the real container's adapters: use cases wired as in production."""

    def __init__(self) -> None:
        self.frame = transactions(4_000, fraud_rate=0.03)
        later = transactions(2_000, fraud_rate=0.03, seed=5)
        later["Time"] += self.frame["Time"].max() + 1.0
        # good.csv, then the same rows and 2,000 labelled since (what a retrain trains on)
        self.source = FakeSource({"good.csv": self.frame, "more.csv": pd.concat([self.frame, later])})
        self.datasets = FakeDatasetStore()
        self.store = FakeObjectStore()
        self.validator = FakeValidator()
        self.trainer = FakeTrainer()
        self.tracker = FakeTracker()
        self.registry = FakeRegistry()
        self.publisher = FakePublisher()
        self.profiles = FakeReferenceProfiles()
        self.rollouts = FakeRolloutStore()
        self.observer = RecordingObserver()
        self.container = Container(Settings(home=Path("/nonexistent/unit-tests"), review_cost=5.0, top_k=20))
        for provider, fake in (
            (self.container.adapters.transaction_source, self.source),
            (self.container.adapters.datasets, self.datasets),
            (self.container.adapters.object_store, self.store),
            (self.container.adapters.tracker, self.tracker),
            (self.container.adapters.registry, self.registry),
            (self.container.adapters.publisher, self.publisher),
            (self.container.adapters.reference_profiles, self.profiles),
            (self.container.rollout.store, self.rollouts),
            (self.container.training.validator, self.validator),
            (self.container.training.trainer, self.trainer),
            (self.container.training.plotter, FakePlotter()),
            (self.container.observer, self.observer),
        ):
            provider.override(providers.Object(fake))

    def pipeline(self) -> TrainingPipeline:
        return self.container.training.pipeline()

    def run_pipeline(self, source: str = "good.csv"):
        pipeline = self.pipeline()
        dataset = pipeline.ingest(source)
        with pipeline.session(dataset) as session:
            return run_stages(session)


@pytest.fixture
def world() -> World:
    return World()
