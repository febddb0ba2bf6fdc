"""`kaggle://owner/dataset[/file]` sources, downloaded with the optional `kagglehub` package.

kagglehub is imported only when such a source is read, so the base install does not need it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fraud_detection.domain.errors import DataSourceError

# The extra from this checkout (`.[kaggle]`): PyPI's `fraud-detection` is another project.
INSTALL_HINT = "pip install '.[kaggle]' from this project's checkout (or pip install kagglehub)"
DATA_SUFFIXES = (".csv", ".csv.gz", ".parquet")
PREFERRED_FILE = "creditcard.csv"
_SHOWN_CHARS = 160


@dataclass(frozen=True)
class KaggleHandle:
    owner: str
    dataset: str
    file: str | None = None

    @classmethod
    def parse(cls, uri: str) -> KaggleHandle:
        parts = urlsplit(uri)
        path = [segment for segment in parts.path.split("/") if segment]
        if parts.scheme != "kaggle" or not parts.netloc or not path:
            raise DataSourceError(
                f"invalid Kaggle source '{uri}': expected kaggle://owner/dataset[/file.csv]"
            )
        return cls(parts.netloc, path[0], "/".join(path[1:]) or None)

    @property
    def dataset_handle(self) -> str:
        return f"{self.owner}/{self.dataset}"


def download_kaggle_file(uri: str) -> Path:
    """Download (or reuse kagglehub's cache) and return the local path of the one data file."""
    handle = KaggleHandle.parse(uri)
    try:
        kagglehub = importlib.import_module("kagglehub")
    except ImportError as error:
        raise DataSourceError(
            f"{uri}: reading from Kaggle needs the kagglehub package: {INSTALL_HINT}"
        ) from error
    try:
        local = Path(kagglehub.dataset_download(handle.dataset_handle, path=handle.file))
    except Exception as error:  # kagglehub raises requests, HTTP and auth errors of its own kinds
        detail = " ".join(f"{type(error).__name__}: {error}".split())
        detail = detail if len(detail) <= _SHOWN_CHARS else detail[: _SHOWN_CHARS - 3] + "..."
        raise DataSourceError(
            f"{uri}: Kaggle download of '{handle.dataset_handle}' failed ({detail}); check network access to "
            "kaggle.com and Kaggle credentials (KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json), "
            "or download the CSV yourself and pass its path"
        ) from error
    return _data_file(local, uri)


def _data_file(local: Path, uri: str) -> Path:
    if local.is_file():
        return local
    candidates = sorted(p for p in local.rglob("*") if p.is_file() and p.name.endswith(DATA_SUFFIXES))
    preferred = [p for p in candidates if p.name == PREFERRED_FILE]
    if len(candidates) == 1 or len(preferred) == 1:
        return (preferred or candidates)[0]
    names = [p.relative_to(local).as_posix() for p in candidates]
    problem = f"holds several data files {names}" if names else "holds no CSV or Parquet file"
    raise DataSourceError(f"{uri}: the Kaggle dataset {problem}; name one: kaggle://owner/dataset/<file>")
