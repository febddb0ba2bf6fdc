"""Raw transactions from a local path, a `file://` or `s3://` URI, or `kaggle://owner/dataset[/file]`.

Remote files are first copied to a temporary local file (streamed, and in parallel parts for S3), so every
source is parsed the same way: by pyarrow from disk, never held whole as a Python bytes object.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pandas as pd

from fraud_detection.domain.errors import DataSourceError, InvalidDataError, ObjectNotFoundError
from fraud_detection.domain.ports.sources import TransactionSource
from fraud_detection.infrastructure.arrow.frames import release_unused_arrow_memory
from fraud_detection.infrastructure.arrow.sources.csv_source import read_csv_transactions
from fraud_detection.infrastructure.arrow.sources.formats import FileFormat, sniff_format
from fraud_detection.infrastructure.arrow.sources.kaggle import download_kaggle_file
from fraud_detection.infrastructure.arrow.sources.parquet_source import read_parquet_transactions
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder
from fraud_detection.infrastructure.s3.client import make_s3_client
from fraud_detection.infrastructure.s3.errors import s3_errors
from fraud_detection.infrastructure.s3.uri import S3Location

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SUPPORTED = "a file path, or a file://, s3:// or kaggle:// URI"


class FileTransactionSource(TransactionSource):
    """`s3_client_factory` wins over `endpoint_url`/`region`; the client is built only for s3:// sources."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        s3_client_factory: Callable[[], S3Client] | None = None,
    ) -> None:
        self._s3_client_factory = s3_client_factory or partial(
            make_s3_client, endpoint_url=endpoint_url, region=region
        )

    def read(self, source: str) -> pd.DataFrame:
        scheme = urlsplit(source).scheme
        if scheme == "s3":
            with scratch_folder("fraud-source-") as folder:
                return read_transaction_file(self._download_s3(source, Path(folder)), source)
        if scheme == "kaggle":
            return read_transaction_file(download_kaggle_file(source), source)
        if scheme == "file":
            return read_transaction_file(_file_uri_path(source), source)
        if scheme:
            raise DataSourceError(f"unsupported source '{source}': use {SUPPORTED}")
        return read_transaction_file(Path(source).expanduser(), source)

    def located(self, source: str) -> str:
        """A local path made absolute: `fraud data ingest small.csv` recorded `small.csv`, which said
        nothing in `data list` or `model show` run from another folder. URIs are kept as given."""
        if urlsplit(source).scheme or not source.strip():
            return source
        return str(Path(source).expanduser().resolve())

    def _download_s3(self, source: str, folder: Path) -> Path:
        location = S3Location.parse(source)
        if not location.key or location.key.endswith("/"):
            raise DataSourceError(f"invalid S3 source '{source}': expected s3://bucket/path/to/file.csv")
        target = folder / "object"
        try:
            client = self._s3_client_factory()
        except ValueError as error:  # botocore's answer to a malformed endpoint URL or region
            raise DataSourceError(f"{source}: invalid S3 settings ({error})") from error
        try:
            with s3_errors("download", source), target.open("wb") as out:
                client.download_fileobj(location.bucket, location.key, out)
        except ObjectNotFoundError as error:
            raise DataSourceError(f"{source}: no such S3 object") from error
        return target


def read_transaction_file(path: Path, source: str) -> pd.DataFrame:
    """`source` is what the user named (path or URI): every error message quotes it."""
    try:
        if path.is_dir():
            raise DataSourceError(f"{source}: is a directory, expected a CSV or Parquet file")
        size = path.stat().st_size
        file_format = sniff_format(path) if size else None
    except FileNotFoundError as error:
        raise DataSourceError(f"{source}: file not found") from error
    except OSError as error:
        raise DataSourceError(f"{source}: cannot open ({error.strerror or error})") from error
    if file_format is None:
        raise InvalidDataError(source, "empty file (0 bytes)")
    if file_format is FileFormat.ZIP:
        raise InvalidDataError(source, "is a zip archive; extract the CSV from it first")
    if file_format is FileFormat.PARQUET:
        frame = read_parquet_transactions(path, source)
    else:
        frame = read_csv_transactions(path, source, file_format)
    release_unused_arrow_memory()
    return frame


def _file_uri_path(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise DataSourceError(f"unsupported source '{uri}': file:// URIs must name a local file")
    return Path(url2pathname(parts.path))
