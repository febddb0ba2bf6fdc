"""Drift adapters: captured rows from the prediction log, JSON documents in the object store, scipy tests,
the matplotlib chart."""

from fraud_detection.infrastructure.drift.captured import PredictionLogWindow
from fraud_detection.infrastructure.drift.chart import MatplotlibDriftChart
from fraud_detection.infrastructure.drift.documents import (
    ObjectStoreDriftReports,
    ObjectStoreReferenceProfiles,
)
from fraud_detection.infrastructure.drift.scipy_tests import ScipyDistributionTests

__all__ = [
    "MatplotlibDriftChart",
    "ObjectStoreDriftReports",
    "ObjectStoreReferenceProfiles",
    "PredictionLogWindow",
    "ScipyDistributionTests",
]
