"""FeedbackStore adapters (SQLite by default, Redis for several replicas) and the prediction-log wrapper that
records scored transaction ids for them."""

from fraud_detection.infrastructure.feedback.indexing_log import IndexingPredictionLog
from fraud_detection.infrastructure.feedback.redis_store import RedisFeedbackStore
from fraud_detection.infrastructure.feedback.sqlite_store import SqliteFeedbackStore

__all__ = ["IndexingPredictionLog", "RedisFeedbackStore", "SqliteFeedbackStore"]
