"""`training_pipeline`: ingest -> validate -> features -> train -> evaluate -> register -> promote.

Runs against Prefect's temporary local server when `PREFECT_API_URL` is unset and against a Prefect server
when it is set. Tasks receive the per-run pipeline objects, so results are not cached or persisted.
"""

from __future__ import annotations

from prefect import flow

from fraud_detection.application.pipeline import TrainingPipeline
from fraud_detection.application.pipeline_summary import PipelineSummary
from fraud_detection.composition import get_container
from fraud_detection.domain.dataset import DatasetRef
from fraud_detection.flows.finished import keeps_result
from fraud_detection.flows.tasks import io_task, run_stage_tasks


@io_task("ingest")
def ingest(pipeline: TrainingPipeline, source: str) -> DatasetRef:
    return pipeline.ingest(source)


@flow(name="training_pipeline", validate_parameters=True)
@keeps_result
def training_pipeline(source: str | None = None, force_promotion: bool = False) -> PipelineSummary:
    """Train a challenger on `source` (default: the configured dataset path) and run the promotion gate
    (`force_promotion`: promote even where the gate would keep the champion)."""
    container = get_container()
    container.interruption().stop_at_stages()  # a stop waits out Prefect's bookkeeping between tasks
    pipeline = container.training.pipeline()
    dataset = ingest(pipeline, str(container.settings().resolved_dataset_path) if source is None else source)
    with pipeline.session(dataset) as session:
        return run_stage_tasks(session, force_promotion)
