"""One way to build an S3 client, shared by the object store and the file source."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# "standard" mode retries throttling, 5xx and connection errors with backoff (legacy mode retries fewer).
MAX_ATTEMPTS = 5  # the first try included
# Connections a client keeps (botocore's default is 10): enough for the object store's read-ahead and a
# multipart upload's parts at once, without "connection pool is full" discards.
MAX_POOL_CONNECTIONS = 32


def make_s3_client(endpoint_url: str | None = None, region: str | None = None) -> S3Client:
    """Credentials come from the usual chain (env, profile, instance role). An endpoint URL means an
    S3-compatible server (SeaweedFS, MinIO), which wants path-style addressing."""
    config = Config(
        retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=MAX_POOL_CONNECTIONS,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    session = boto3.session.Session()  # a session per client: the default one is not thread-safe
    return session.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
