import pandas as pd
import pytest

from fraud_detection.application.drift.reference import StoreReferenceProfile
from fraud_detection.application.evaluate import EvaluateModel, RenderEvaluationPlots
from fraud_detection.application.ingest import IngestDataset
from fraud_detection.application.pipeline import PipelineSteps, TrainingPipeline
from fraud_detection.application.progress import PipelineObserver, StageClock
from fraud_detection.application.promote import PromoteChallenger
from fraud_detection.application.train import TrainModel
from fraud_detection.application.validate import ValidateDataset
from fraud_detection.domain.folds import FoldPolicy
from fraud_detection.domain.promotion import PromotionPolicy
from fraud_detection.domain.training import TrainingParams
from fraud_detection.infrastructure.reports import ObjectStoreReports
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


class RecordingObserver(PipelineObserver):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def stage_started(self, stage: str) -> None:
        self.events.append(("start", stage))

    def stage_finished(self, stage: str, seconds: float, detail: str) -> None:
        self.events.append(("done", stage))

    def stage_failed(self, stage: str, seconds: float, error: BaseException) -> None:
        self.events.append(("failed", stage))


class World:
    """Every port faked, and the use cases wired over them as the container would."""

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
        self.observer = RecordingObserver()
        self.evaluate = EvaluateModel(review_cost=5.0, top_k=20)
        self.promote = PromoteChallenger(
            self.registry, PromotionPolicy(), self.evaluate, self.publisher, self.datasets
        )

    def pipeline(self) -> TrainingPipeline:
        steps = PipelineSteps(
            ingest=IngestDataset(self.source, self.datasets),
            datasets=self.datasets,
            validate=ValidateDataset(self.validator, ObjectStoreReports(self.store)),
            train=TrainModel(self.trainer, TrainingParams(), review_cost=5.0),
            evaluate=self.evaluate,
            plots=RenderEvaluationPlots(FakePlotter()),
            tracker=self.tracker,
            registry=self.registry,
            promote=self.promote,
            publisher=self.publisher,
            fold_policy=FoldPolicy(),
            reference_profile=StoreReferenceProfile(self.profiles),
        )
        return TrainingPipeline(steps, StageClock(self.observer))

    def run_pipeline(self, source: str = "good.csv"):
        pipeline = self.pipeline()
        dataset = pipeline.ingest(source)
        with pipeline.session(dataset) as session:
            session.validate()
            session.build_features()
            session.train()
            session.evaluate()
            session.register()
            session.promote()
        return session.summary


@pytest.fixture
def world() -> World:
    return World()
