"""Label feedback use cases: record labels from the chargeback process, measure realised model quality."""

from fraud_detection.application.feedback.measure import MeasureRealisedQuality, StoredQualityReport
from fraud_detection.application.feedback.record import RecordFeedback

__all__ = ["MeasureRealisedQuality", "RecordFeedback", "StoredQualityReport"]
