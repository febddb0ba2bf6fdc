"""Label feedback use cases: record labels from the chargeback process, measure realised model quality."""

from fraud_detection.application.feedback.measure import (
    QUALITY_LATEST_KEY,
    QUALITY_REPORTS_PREFIX,
    MeasureRealisedQuality,
    StoredQualityReport,
)
from fraud_detection.application.feedback.record import RecordFeedback

__all__ = [
    "QUALITY_LATEST_KEY",
    "QUALITY_REPORTS_PREFIX",
    "MeasureRealisedQuality",
    "RecordFeedback",
    "StoredQualityReport",
]
