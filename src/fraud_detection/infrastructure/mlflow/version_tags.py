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


def metadata_problem(tags: dict[str, str]) -> str | None:
    """What makes tags that are all there unreadable as metadata (`metadata_from_tags` gives None), or
    None when they read, or when some are missing (a version registered by hand: nothing to read)."""
    if any(key not in tags for key in (FEATURE_VERSION_TAG, THRESHOLD_TAG, DATASET_ID_TAG)):
        return None
    for key in sorted(tags):
        if key == THRESHOLD_TAG or key.startswith(METRIC_TAG_PREFIX):
            try:
                float(tags[key])
            except ValueError:
                return f"its tag '{key}' is {tags[key]!r}, not a number (edited after registration?)"
    return None


def metadata_from_tags(tags: dict[str, str]) -> ModelMetadata | None:
    """None for a version registered without our tags (e.g. by hand in the UI), or one whose threshold or a
    metric was edited into something that is not a number: a listing shows it without metadata, and
    serving refuses it, rather than one bad tag failing every read of the registry."""
    required = (FEATURE_VERSION_TAG, THRESHOLD_TAG, DATASET_ID_TAG)
    if any(key not in tags for key in required):
        return None
    try:
        metrics = {
            key.removeprefix(METRIC_TAG_PREFIX): float(value)
            for key, value in tags.items()
            if key.startswith(METRIC_TAG_PREFIX)
        }
        threshold = float(tags[THRESHOLD_TAG])
    except ValueError:
        return None
    return ModelMetadata(
        feature_version=tags[FEATURE_VERSION_TAG],
        threshold=threshold,
        dataset_id=tags[DATASET_ID_TAG],
        metrics=metrics,
    )
