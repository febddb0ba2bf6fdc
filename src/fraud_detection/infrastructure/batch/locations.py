"""Where a batch input or output lives: a local file (plain path or `file://`) or an `s3://` object."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from fraud_detection.domain.errors import DataSourceError
from fraud_detection.infrastructure.s3.uri import S3Location

SUPPORTED = "a file path, or a file:// or s3:// URI"


def parse_location(uri: str) -> Path | S3Location:
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        location = S3Location.parse(uri)
        if not location.key or location.key.endswith("/"):
            raise DataSourceError(f"invalid S3 URI '{uri}': expected s3://bucket/path/to/file")
        return location
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise DataSourceError(f"unsupported URI '{uri}': file:// URIs must name a local file")
        return Path(url2pathname(parts.path))
    if parts.scheme:
        raise DataSourceError(f"unsupported URI '{uri}': use {SUPPORTED}")
    if not uri.strip():
        raise DataSourceError(f"empty URI: use {SUPPORTED}")
    return Path(uri).expanduser()
