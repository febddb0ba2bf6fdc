"""What a chunk task asks of the object store holding the job records: each request is a round trip on S3
(~10-30 ms), paid by every chunk of every job. Counted on the real record adapter over a local store."""

from __future__ import annotations

from collections import Counter

import pytest

from fraud_detection.application.batch.models import JobModels
from fraud_detection.application.batch.steps import JobSteps
from fraud_detection.domain.jobs import JobRequest
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.validation import ValidationRules
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local import LocalObjectStore
from tests.builders import transactions
from tests.fakes import FakeBatchFiles, FakeModel, FakeRegistry

pytestmark = pytest.mark.integration


class CountingStore(LocalObjectStore):
    """Counts the requests S3 would get: reads (GET, HEAD), listings, writes and deletes."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.calls: Counter[str] = Counter()

    def read_or_none(self, key: str):
        self.calls["read"] += 1
        return super().read_or_none(key)

    def read_bytes(self, key: str) -> bytes:
        self.calls["read"] += 1
        return super().read_bytes(key)

    def exists(self, key: str) -> bool:
        self.calls["read"] += 1
        return super().exists(key)

    def list_keys(self, prefix: str = ""):
        self.calls["list"] += 1
        return super().list_keys(prefix)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.calls["write"] += 1
        super().write_bytes(key, data)

    def delete(self, key: str) -> None:
        self.calls["delete"] += 1
        super().delete(key)


def test_a_chunk_task_reads_each_record_once(tmp_path):
    store = CountingStore(tmp_path)
    files, registry = FakeBatchFiles(), FakeRegistry()
    registry.uri_models["models:/1"] = FakeModel()
    registry.register("models:/1", "run", ModelMetadata("fe-1", 0.5, "d"))
    registry.set_alias(CHAMPION, 1)
    files.inputs["/in/in.parquet"] = transactions(600).drop(columns=["Class"])
    jobs = ObjectStoreJobStore(store)
    models = JobModels(registry, ModelAccelerator())
    steps = JobSteps(jobs, files, models, ScoringInput.of(ValidationRules()), chunk_rows=300)
    jobs.create(JobRequest("j1", "/in/in.parquet", "/out/o.parquet", "champion", "2026-12-06T00:00:00+00:00"))
    assert steps.prepare("j1") is not None
    store.calls.clear()

    assert steps.score_chunk("j1", 0) == 300

    # request, plan and outcome read once each; done/ listed once (and runs/ for the step's mark)
    assert store.calls == {"read": 3, "list": 2, "write": 2, "delete": 1}, store.calls
    store.calls.clear()
    assert steps.score_chunk("j1", 0) == 0  # delivered again: skipped on the same reads, nothing written
    assert store.calls == {"read": 3, "list": 1}, store.calls
