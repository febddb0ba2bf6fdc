"""`ModelMetadata` stored as model-version tags, and read back.

Tags rather than only the MLmodel file's metadata, so the registry alone (UI, search, `fraud model list`)
shows what each version was trained on and how it scored, without downloading artifacts. No MLflow import
here: the SQLite catalog reads the same tags without the client.
"""

from __future__ import annotations

from fraud_detection.domain.model import ModelMetadata

FEATURE_VERSION_TAG = "feature_version"
THRESHOLD_TAG = "threshold"
DATASET_ID_TAG = "dataset_id"
METRIC_TAG_PREFIX = "metric."


def metadata_tags(metadata: ModelMetadata) -> dict[str, str]:
    # str(float) is the shortest text that parses back to the same float, so values round-trip exactly.
    return {
        FEATURE_VERSION_TAG: metadata.feature_version,
        THRESHOLD_TAG: str(float(metadata.threshold)),
        DATASET_ID_TAG: metadata.dataset_id,
    } | {f"{METRIC_TAG_PREFIX}{name}": str(float(value)) for name, value in metadata.metrics.items()}


def read_metadata(tags: dict[str, str]) -> tuple[ModelMetadata | None, str | None]:
    """The metadata, and why there is none although every tag is there (a threshold or a metric edited
    into something that is not a number). No metadata and no problem: a version registered without our
    tags (e.g. by hand in the UI). A listing shows a version without metadata and serving refuses it,
    rather than one bad tag failing every read of the registry."""
    if any(key not in tags for key in (FEATURE_VERSION_TAG, THRESHOLD_TAG, DATASET_ID_TAG)):
        return None, None
    numbers: dict[str, float] = {}
    unreadable: list[str] = []
    for key, value in tags.items():
        if key == THRESHOLD_TAG or key.startswith(METRIC_TAG_PREFIX):
            try:
                numbers[key] = float(value)
            except ValueError:
                unreadable.append(key)
    if unreadable:
        key = min(unreadable)
        return None, f"its tag '{key}' is {tags[key]!r}, not a number (edited after registration?)"
    metadata = ModelMetadata(
        feature_version=tags[FEATURE_VERSION_TAG],
        threshold=numbers[THRESHOLD_TAG],
        dataset_id=tags[DATASET_ID_TAG],
        metrics={
            key.removeprefix(METRIC_TAG_PREFIX): value
            for key, value in numbers.items()
            if key.startswith(METRIC_TAG_PREFIX)
        },
    )
    return metadata, None
