"""S3 adapters (boto3): the object store, on AWS or an S3-compatible server such as SeaweedFS."""

from fraud_detection.infrastructure.s3.client import make_s3_client
from fraud_detection.infrastructure.s3.object_store import S3ObjectStore
from fraud_detection.infrastructure.s3.uri import S3Location

__all__ = ["S3Location", "S3ObjectStore", "make_s3_client"]
