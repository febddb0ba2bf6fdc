"""`s3://bucket/key` URIs, parsed once so every adapter names buckets and keys the same way."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fraud_detection.domain.errors import DataSourceError


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise DataSourceError(f"invalid S3 URI '{uri}': expected s3://bucket/key")
        return cls(parts.netloc, parts.path.lstrip("/"))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"
