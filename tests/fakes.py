"""In-memory fakes of every port, for unit tests of the domain and use cases (no vendor library)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from fraud_detection.domain.dataset import DatasetId, DatasetRef
from fraud_detection.domain.errors import (
    DatasetNotFoundError,
    DatasetRemovedError,
    DataSourceError,
    JobExistsError,
    JobNotFoundError,
    LocationNotAllowedError,
    ModelNotFoundError,
    ObjectNotFoundError,
    ServiceUnavailableError,
    UntrustedModelError,
)
from fraud_detection.domain.events import DomainEvent
from fraud_detection.domain.jobs import (
    OPERATOR,
    Chunk,
    FailureKind,
    JobMark,
    JobPlan,
    JobRequest,
    JobState,
    JobStatus,
)
from fraud_detection.domain.model import ModelMetadata, ModelVersion
from fraud_detection.domain.ports import (
    DatasetStore,
    DataValidator,
    EvaluationPlotter,
    EventPublisher,
    ExperimentTracker,
    FraudModel,
    ModelCache,
    ModelRegistry,
    ModelTrainer,
    ObjectStore,
    PredictionBatch,
    PredictionLog,
    ScoringTelemetry,
    TrackingRun,
    TransactionSource,
)
from fraud_detection.domain.ports.jobs import (
    BatchFiles,
    ChunkRows,
    InputDescription,
    JobQueue,
    JobStore,
    QueuedWork,
)
from fraud_detection.domain.ports.modelling import FoldFit, RoundCallback
from fraud_detection.domain.ports.tracking import RunRecord
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.domain.training import LabelledData, TrainingParams
from fraud_detection.domain.validation import ExpectationOutcome, ValidationReport


class FakeObjectStore(ObjectStore):
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    @contextmanager
    def _open(self, key: str) -> Iterator[BinaryIO]:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        yield io.BytesIO(self.objects[key])

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self._open(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)

    def create_bytes(self, key: str, data: bytes) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = bytes(data)
        return True

    def write_file(self, key: str, path: Path) -> None:
        self.objects[key] = path.read_bytes()

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def uri_for(self, key: str) -> str:
        return f"memory://{key}"


class FakeDatasetStore(DatasetStore):
    def __init__(self) -> None:
        self.frames: dict[str, pd.DataFrame] = {}
        self.refs: dict[str, DatasetRef] = {}
        self.removed: dict[str, str] = {}

    def save(self, frame: pd.DataFrame, source: str) -> DatasetRef:
        dataset_id = DatasetId.of(frame)
        self.removed.pop(dataset_id.value, None)
        if dataset_id.value not in self.refs:
            self.frames[dataset_id.value] = frame.copy()
            self.refs[dataset_id.value] = DatasetRef(
                dataset_id, f"memory://{dataset_id}", len(frame), int(frame["Class"].sum()), source,
                datetime.now(UTC).isoformat(),
            )  # fmt: skip
        return self.refs[dataset_id.value]

    def load(self, dataset_id: DatasetId) -> pd.DataFrame:
        return self.frames[self.get(dataset_id).id.value].copy()

    def get(self, dataset_id: DatasetId) -> DatasetRef:
        if dataset_id.value in self.removed:
            raise DatasetRemovedError(
                f"dataset {dataset_id.value} was removed ({self.removed[dataset_id.value]})"
            )
        if dataset_id.value not in self.refs:
            raise DatasetNotFoundError(dataset_id.value)
        return self.refs[dataset_id.value]

    def list(self) -> list[DatasetRef]:
        return sorted(self.refs.values(), key=lambda r: r.created_at, reverse=True)

    def remove(self, dataset_id: DatasetId, note: str) -> None:
        self.refs.pop(dataset_id.value, None)
        self.frames.pop(dataset_id.value, None)
        self.removed[dataset_id.value] = note


class FakeSource(TransactionSource):
    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self.frames = dict(frames)

    def read(self, source: str) -> pd.DataFrame:
        return self.frames[source].copy()


class FakeValidator(DataValidator):
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def validate(self, frame: pd.DataFrame, dataset_id: str) -> ValidationReport:
        outcomes = (
            ExpectationOutcome(
                "expect_table_row_count_to_be_between", None, True, {"min_value": 1}, len(frame)
            ),
            ExpectationOutcome(
                "expect_column_mean_to_be_between", "Class", not self.fail, {"max_value": 0.05}, 0.5
            ),
        )
        return ValidationReport(dataset_id, "fake", outcomes, "2026-01-01T00:00:00+00:00")


class FakeModel(FraudModel):
    """Scores with a fixed linear rule on V14 (frauds have very negative V14 in the test data)."""

    def __init__(self, weight: float = 1.0, rounds: int = 10) -> None:
        self.weight = weight
        self.rounds = rounds

    @property
    def feature_names(self) -> tuple[str, ...]:
        return (*V_COLUMNS, "log_amount")

    @property
    def best_iteration(self) -> int:
        return self.rounds

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(1 / (1 + np.exp(np.clip(self.weight * features["V14"].to_numpy(), -700, 700))))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        return np.zeros((len(features), len(self.feature_names) + 1))

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        logits = np.clip(self.weight * features[:, self.feature_names.index("V14")], -700, 700)
        return np.asarray(1 / (1 + np.exp(logits)))

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        """V14 carries the whole (negated, scaled) score; the bias column is zero."""
        out = np.zeros((len(features), len(self.feature_names) + 1))
        out[:, self.feature_names.index("V14")] = -self.weight * features[:, self.feature_names.index("V14")]
        return out

    def feature_importance(self) -> dict[str, float]:
        return {name: 1.0 if name == "V14" else 0.0 for name in self.feature_names}


class FakeFoldFit(FoldFit):
    def __init__(self, model: FakeModel, valid_loss: np.ndarray) -> None:
        self.model = model
        self._valid_loss = valid_loss
        self.rounds_asked: list[int] = []

    @property
    def valid_loss(self) -> np.ndarray:
        return self._valid_loss

    def scores(self, features: pd.DataFrame, rounds: int) -> np.ndarray:
        self.rounds_asked.append(rounds)
        return self.model.predict_proba(features)


class FakeTrainer(ModelTrainer):
    """Returns models whose quality depends on scale_pos_weight, so the strategy choice is observable; every
    fold's log-loss curve bottoms out at `best_round`."""

    def __init__(self, weight_by_spw: Mapping[float, float] | None = None, best_round: int = 10) -> None:
        self.calls: list[TrainingParams] = []  # one per fold fit
        self.folds: list[tuple[LabelledData, LabelledData]] = []
        self.fold_fits: list[FakeFoldFit] = []
        self.refits: list[tuple[LabelledData, TrainingParams, int]] = []
        self.weight_by_spw = dict(weight_by_spw or {})
        self.best_round = best_round

    def fit_fold(
        self,
        train: LabelledData,
        valid: LabelledData,
        params: TrainingParams,
        on_round: RoundCallback | None = None,
    ) -> FoldFit:
        self.calls.append(params)
        self.folds.append((train, valid))
        rounds = np.arange(1, self.best_round + 30, dtype=np.float64)
        fit = FakeFoldFit(FakeModel(self._weight(params)), 0.1 + (rounds - self.best_round) ** 2 / 1e4)
        self.fold_fits.append(fit)
        for done in range(1, len(rounds) + 1):
            if on_round is not None:
                on_round(done, params.max_rounds)
        return fit

    def fit(
        self,
        train: LabelledData,
        params: TrainingParams,
        rounds: int,
        on_round: RoundCallback | None = None,
    ) -> FraudModel:
        self.refits.append((train, params, rounds))
        for done in range(1, rounds + 1):
            if on_round is not None:
                on_round(done, rounds)
        return FakeModel(self._weight(params), rounds)

    def _weight(self, params: TrainingParams) -> float:
        return self.weight_by_spw.get(params.scale_pos_weight, 1.0)


class FakeRun(TrackingRun):
    def __init__(self, run_id: str) -> None:
        self._id = run_id
        self.params: dict[str, Any] = {}
        self.metrics: dict[str, float] = {}
        self.tags: dict[str, str] = {}
        self.artifacts: dict[str, Any] = {}
        self.models: list[tuple[FraudModel, ModelMetadata]] = []
        self.status = "RUNNING"

    @property
    def run_id(self) -> str:
        return self._id

    @property
    def location(self) -> str:
        return f"memory://runs/{self._id}"

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self.metrics.update(metrics)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.tags.update(tags)

    def log_dict(self, data: Mapping[str, Any], artifact_file: str) -> None:
        self.artifacts[artifact_file] = dict(data)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        self.artifacts[artifact_file] = data

    def log_model(self, model: FraudModel, metadata: ModelMetadata, input_example: pd.DataFrame) -> str:
        self.models.append((model, metadata))
        return f"models:/m-{self._id}-{len(self.models)}"


class FakeTracker(ExperimentTracker):
    def __init__(self) -> None:
        self.runs: list[FakeRun] = []

    @contextmanager
    def _run(self, run_name: str, tags: Mapping[str, str]) -> Iterator[TrackingRun]:
        run = FakeRun(f"run{len(self.runs) + 1}")
        run.tags.update(tags)
        self.runs.append(run)
        try:
            yield run
        except BaseException:
            run.status = "FAILED"
            raise
        run.status = "FINISHED"

    def start_run(self, run_name: str, tags: Mapping[str, str]) -> AbstractContextManager[TrackingRun]:
        return self._run(run_name, tags)

    def run_record(self, run_id: str) -> RunRecord | None:
        for run in self.runs:
            if run.run_id == run_id:
                params = {key: str(value) for key, value in run.params.items()}
                return RunRecord(run_id, run.status, "", "", f"memory://{run_id}", dict(run.tags), params)
        return None


class FakeRegistry(ModelRegistry):
    def __init__(self) -> None:
        self.versions: dict[int, ModelVersion] = {}
        self.models: dict[int, FraudModel] = {}
        self.aliases: dict[str, int] = {}
        self.uri_models: dict[str, FraudModel] = {}
        self.down = False  # every call raises ServiceUnavailableError, as an unreachable server would
        self.broken: set[int] = set()  # versions whose artifacts fail to load
        self.untrusted: set[int] = set()  # versions whose artifacts fail the adapter's checks (tags edited)
        self.model_tags: dict[str, str] = {}

    @property
    def model_name(self) -> str:
        return "fake-model"

    def register(
        self, model_uri: str, run_id: str, metadata: ModelMetadata, tags: Mapping[str, str] | None = None
    ) -> ModelVersion:
        number = len(self.versions) + 1
        self.versions[number] = ModelVersion(
            self.model_name,
            number,
            (),
            run_id,
            f"2026-01-01T00:00:{number:02d}+00:00",
            metadata,
            dict(tags or {}),
        )
        self.models[number] = self.uri_models.get(model_uri, FakeModel())
        return self.get(number)

    def get(self, version: int) -> ModelVersion:
        if version not in self.versions:
            raise ModelNotFoundError(f"{self.model_name} v{version}")
        stored = self.versions[version]
        aliases = tuple(sorted(a for a, v in self.aliases.items() if v == version))
        return ModelVersion(
            stored.name,
            version,
            aliases,
            stored.run_id,
            stored.created_at,
            stored.metadata,
            dict(stored.tags),
            stored.metadata_problem,
        )

    def get_by_alias(self, alias: str) -> ModelVersion | None:
        self._reachable()
        return self.get(self.aliases[alias]) if alias in self.aliases else None

    def set_alias(self, alias: str, version: int) -> None:
        self.get(version)
        self.aliases[alias] = version

    def remove_alias(self, alias: str) -> None:
        self.aliases.pop(alias, None)

    def set_tag(self, version: int, key: str, value: str) -> None:
        self.versions[version].tags[key] = value

    def get_model_tag(self, key: str) -> str | None:
        self._reachable()
        return self.model_tags.get(key)

    def set_model_tag(self, key: str, value: str) -> None:
        self._reachable()
        self.model_tags[key] = value

    def list_versions(self) -> list[ModelVersion]:
        return [self.get(v) for v in sorted(self.versions, reverse=True)]

    def load_model(self, found: ModelVersion) -> FraudModel:
        self._reachable()
        version = self.get(found.version).version
        if version in self.broken:
            raise RuntimeError(f"artifact of v{version} is corrupt")
        if version in self.untrusted:
            raise UntrustedModelError(f"v{version}: its registry tags differ from the artifact's metadata")
        return self.models[version]

    def _reachable(self) -> None:
        if self.down:
            raise ServiceUnavailableError("registry at fake:// is unreachable")


class FakePublisher(EventPublisher):
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.events.append(event)


class FakePlotter(EvaluationPlotter):
    def render(
        self,
        labels: np.ndarray,
        scores: np.ndarray,
        threshold: float,
        importance: dict[str, float],
        chance: np.ndarray | None = None,
    ) -> dict[str, bytes]:
        return {"pr_curve.png": b"\x89PNG fake"}


class FakePredictionLog(PredictionLog):
    def __init__(self) -> None:
        self.batches: list[PredictionBatch] = []
        self.closed = False

    def append(self, batch: PredictionBatch) -> None:
        self.batches.append(batch)

    def flush(self) -> int:
        return sum(len(b) for b in self.batches)

    def close(self) -> None:
        self.closed = True


class FakeModelCache(ModelCache):
    def __init__(self) -> None:
        self.saved: tuple[ModelVersion, FraudModel] | None = None

    def save(self, version: ModelVersion, model: FraudModel) -> None:
        self.saved = (version, model)

    def load(self) -> tuple[ModelVersion, FraudModel] | None:
        return self.saved


class RecordingTelemetry(ScoringTelemetry):
    def __init__(self) -> None:
        self.scored = 0
        self.loaded: list[tuple[int, str]] = []
        self.failures: list[str] = []

    def scores(self, probabilities: np.ndarray, decisions: np.ndarray) -> None:
        self.scored += len(probabilities)

    def model_loaded(self, version: ModelVersion, source: str) -> None:
        self.loaded.append((version.version, source))

    def model_load_failed(self, reason: str) -> None:
        self.failures.append(reason)


class FakeJobStore(JobStore):
    def __init__(self) -> None:
        self.requests: dict[str, JobRequest] = {}
        self.plans: dict[str, JobPlan] = {}
        self.done: dict[str, dict[int, int]] = {}
        self.outcomes: dict[str, tuple[JobState, str | None]] = {}
        self.kinds: dict[str, FailureKind | None] = {}
        self.marks: dict[str, set[JobMark]] = {}
        self.runs: dict[tuple[str, str], set[str]] = {}
        self.run_count = 0
        self.run_times: dict[str, datetime] = {}  # token -> when its run began or was last renewed
        self.renewals: list[tuple[str, str, str]] = []
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.resume_claims: set[tuple[str, str]] = set()
        self.owners: dict[str, str] = {}

    def create(self, request: JobRequest, owner: str = OPERATOR) -> None:
        if request.job_id in self.requests:
            raise JobExistsError(request.job_id)
        self.owners[request.job_id] = owner
        self.requests[request.job_id] = request
        self.done[request.job_id] = {}

    def request(self, job_id: str) -> JobRequest:
        if job_id not in self.requests:
            raise JobNotFoundError(f"no job '{job_id}'")  # as the real store says
        return self.requests[job_id]

    def owner(self, job_id: str) -> str | None:
        return self.owners.get(job_id)

    def save_plan(self, job_id: str, plan: JobPlan) -> None:
        self.plans[job_id] = plan

    def plan(self, job_id: str) -> JobPlan | None:
        return self.plans.get(job_id)

    def mark_chunk_done(self, job_id: str, index: int, rows: int) -> None:
        self.done[job_id][index] = rows

    def finish(
        self, job_id: str, state: JobState, error: str | None = None, kind: FailureKind | None = None
    ) -> None:
        if job_id not in self.outcomes:
            self.outcomes[job_id], self.kinds[job_id] = (state, error), kind

    def begin_run(self, job_id: str, step: str) -> tuple[str, int]:
        runs = self.runs.setdefault((job_id, step), set())
        token = f"run-{self.run_count}"
        self.run_count += 1
        unfinished = len(runs)
        runs.add(token)
        self.run_times[token] = self.now()
        return token, unfinished

    def renew_run(self, job_id: str, step: str, token: str) -> None:
        self.renewals.append((job_id, step, token))
        self.run_times[token] = self.now()

    def end_run(self, job_id: str, step: str, token: str) -> None:
        self.runs[(job_id, step)].discard(token)
        self.run_times.pop(token, None)

    def mark(self, job_id: str, mark: JobMark) -> None:
        self.marks.setdefault(job_id, set()).add(mark)

    def has_mark(self, job_id: str, mark: JobMark) -> bool:
        return mark in self.marks.get(job_id, set())

    def status(self, job_id: str) -> JobStatus:
        request = self.request(job_id)
        plan = self.plans.get(job_id)
        started = plan or self.runs.get((job_id, "prepare"))
        state, error = self.outcomes.get(job_id, (JobState.RUNNING if started else JobState.QUEUED, None))
        return JobStatus(
            job_id, state, request, plan.rows if plan else None, sum(self.done[job_id].values()),
            len(plan.chunks) if plan else None, len(self.done[job_id]),
            plan.model_version if plan else None, error, error_kind=self.kinds.get(job_id),
            threshold=plan.threshold if plan else None,
        )  # fmt: skip

    def delete(self, job_id: str) -> None:
        self.requests.pop(job_id, None)

    def done_chunks(self, job_id: str) -> frozenset[int]:
        return frozenset(self.done.get(job_id, {}))

    def open_jobs(self) -> Iterator[str]:
        return iter([job_id for job_id in self.requests if job_id not in self.outcomes])

    def progress(self, job_id: str) -> str:
        """Whatever a step records shows here: the plan, chunks done, runs under way, marks."""
        runs = sorted(token for (job, _), tokens in self.runs.items() if job == job_id for token in tokens)
        return repr((job_id in self.plans, sorted(self.done.get(job_id, {})), runs, self.marks.get(job_id)))

    def runs_under_way(self, job_id: str) -> dict[str, datetime]:
        return {
            step: max(self.run_times[token] for token in tokens)
            for (job, step), tokens in self.runs.items()
            if job == job_id and tokens
        }

    def claim_resume(self, job_id: str, progress: str) -> bool:
        if (job_id, progress) in self.resume_claims:
            return False
        self.resume_claims.add((job_id, progress))
        return True

    def release_resume(self, job_id: str, progress: str) -> None:
        self.resume_claims.discard((job_id, progress))


class FakeJobQueue(JobQueue):
    def __init__(self, down: bool = False) -> None:
        self.enqueued: list[str] = []
        self.cancelled: list[str] = []
        self.down = down
        # job -> steps of its tasks waiting ({"j": {"prepare"}}), and held by a worker; None: cannot tell
        self.work: dict[str, frozenset[str]] | None = {}
        self.held: dict[str, frozenset[str]] = {}

    def queued_work(self) -> QueuedWork | None:
        return None if self.work is None else QueuedWork(self.work, self.held)

    def enqueue(self, job_id: str) -> None:
        if self.down:
            raise ServiceUnavailableError("broker at fake:// is unreachable")
        self.enqueued.append(job_id)

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)


class FakeBatchFiles(BatchFiles):
    """Inputs are frames registered by URI; parts and outputs are kept in dictionaries."""

    def __init__(self) -> None:
        self.inputs: dict[str, pd.DataFrame] = {}
        self.staged: dict[str, pd.DataFrame] = {}
        self.parts: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self.outputs: dict[str, pd.DataFrame] = {}
        self.output_jobs: dict[str, str] = {}
        self.cleaned: list[str] = []

    def describe(self, input_uri: str) -> InputDescription:
        if input_uri not in self.inputs:
            raise DataSourceError(f"{input_uri}: no such file")
        frame = self.inputs[input_uri]
        return InputDescription("parquet", tuple(frame.columns), len(frame))

    def stage(self, job_id: str, input_uri: str, chunk_rows: int) -> Iterator[Chunk]:
        frame = self.inputs[input_uri]
        for index, start in enumerate(range(0, len(frame), chunk_rows)):
            key = f"jobs/{job_id}/input/{index}"
            self.staged[key] = frame.iloc[start : start + chunk_rows]
            yield Chunk(index, key, len(self.staged[key]), start)

    def read_chunk(self, chunk: Chunk) -> ChunkRows:
        frame = self.staged[chunk.key]
        ids = frame["transaction_id"].to_numpy(dtype=object) if "transaction_id" in frame else None
        return ChunkRows(frame[[*V_COLUMNS, "Amount"]].to_numpy(dtype=np.float64), ids)

    def write_part(self, job_id: str, chunk: Chunk, columns: dict[str, np.ndarray]) -> None:
        self.parts[(job_id, chunk.index)] = columns

    def check_output(self, job_id: str, output_uri: str) -> None:
        if output_uri in self.outputs and self.output_jobs.get(output_uri) != job_id:
            raise LocationNotAllowedError(f"output '{output_uri}' already exists")

    def commit(self, job_id: str, chunks: tuple[Chunk, ...], output_uri: str) -> int:
        """Like the real adapter, never replaces an output (except this job's own, on a rerun)."""
        if output_uri in self.outputs:
            if self.output_jobs.get(output_uri) != job_id:
                raise LocationNotAllowedError(f"output '{output_uri}' already exists")
            return len(self.outputs[output_uri])
        frames = [pd.DataFrame(self.parts[(job_id, chunk.index)]) for chunk in chunks]
        self.outputs[output_uri] = pd.concat(frames, ignore_index=True)
        self.output_jobs[output_uri] = job_id
        return len(self.outputs[output_uri])

    def clean(self, job_id: str) -> None:
        self.cleaned.append(job_id)
