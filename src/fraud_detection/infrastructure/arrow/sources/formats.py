"""Which reader a transaction file needs, told by its first bytes rather than its name."""

from __future__ import annotations

import enum
import gzip
import io
from pathlib import Path
from typing import TextIO


class FileFormat(enum.Enum):
    CSV = "csv"
    GZIP_CSV = "gzip csv"
    PARQUET = "parquet"
    ZIP = "zip"


_MAGIC: tuple[tuple[bytes, FileFormat], ...] = (
    (b"\x1f\x8b", FileFormat.GZIP_CSV),
    (b"PAR1", FileFormat.PARQUET),
    (b"PK\x03\x04", FileFormat.ZIP),
)


def sniff_format(path: Path) -> FileFormat:
    """A `.csv` that is really gzip (or a `.gz` that is plain) still reads: content decides."""
    with path.open("rb") as stream:
        head = stream.read(4)
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), FileFormat.CSV)


def open_csv_text(path: Path, file_format: FileFormat, errors: str = "strict") -> TextIO:
    """The CSV as text with newlines kept for the `csv` module (which then handles CRLF and quotes)."""
    if file_format is FileFormat.GZIP_CSV:
        return gzip.open(path, "rt", encoding="utf-8-sig", errors=errors, newline="")
    return path.open("r", encoding="utf-8-sig", errors=errors, newline="")


def open_csv_bytes(path: Path, file_format: FileFormat) -> gzip.GzipFile | io.BufferedReader:
    """The CSV's bytes, decompressed when it is gzip."""
    if file_format is FileFormat.GZIP_CSV:
        return gzip.GzipFile(path, "rb")
    return path.open("rb")
