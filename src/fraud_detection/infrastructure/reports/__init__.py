"""Reports as JSON documents in the object store (`documents.ObjectStoreReports`)."""

from fraud_detection.infrastructure.reports.documents import ObjectStoreReports

__all__ = ["ObjectStoreReports"]
