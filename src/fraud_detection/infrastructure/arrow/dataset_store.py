"""Datasets as Parquet files in any object store, keyed by their content hash.

Layout: `raw/<id>/data.parquet`, then `raw/<id>/manifest.json` (`raw/<id>/removed.json` once pruned). The
manifest is written last and is the commit marker: a crash between the two leaves data that `list()`
ignores and the next save reuses.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraud_detection.domain.dataset import DatasetId, DatasetRef, count_frauds
from fraud_detection.domain.errors import (
    DatasetNotFoundError,
    DatasetRemovedError,
    DataSourceError,
    ObjectNotFoundError,
)
from fraud_detection.domain.ports.datasets import DatasetStore
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.domain.schema import TRANSACTION_COLUMNS, check_transactions
from fraud_detection.infrastructure.arrow.frames import (
    FRAME_FROM_ARROW,
    PRE_BUFFER,
    release_unused_arrow_memory,
)
from fraud_detection.infrastructure.local.scratch_folder import scratch_folder

PREFIX = "raw/"
DATA_FILE = "data.parquet"
MANIFEST_FILE = "manifest.json"
REMOVED_FILE = "removed.json"  # what a prune left in a removed dataset's place
COMPRESSION = "zstd"


class ParquetDatasetStore(DatasetStore):
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def save(self, frame: pd.DataFrame, source: str) -> DatasetRef:
        frame = check_transactions(frame, source)
        dataset_id = DatasetId.of(frame)
        data_key = _data_key(dataset_id)
        now = datetime.now(UTC).isoformat()
        if self._store.exists(_manifest_key(dataset_id)) and self._store.exists(data_key):
            # Same content: the first ref (and its source) stays, with this save's time, which a prune's
            # minimum age counts from (a run storing rows stored before had the old time: no protection).
            return self._commit(replace(self.get(dataset_id), saved_at=now))
        # Written whole or not at all (the store's writes are atomic), and named by its content: a data file
        # left by a save whose manifest failed (a disk-full probe) is this content. Writing it again needed
        # its full size free a second time; `load` checks the content against the id all the same. A
        # manifest whose data a prune removed under a concurrent save gets its data back here.
        if not self._store.exists(data_key):
            with scratch_folder("fraud-dataset-") as folder:
                path = Path(folder) / DATA_FILE
                table = pa.Table.from_pandas(frame.loc[:, list(TRANSACTION_COLUMNS)], preserve_index=False)
                pq.write_table(table, path, compression=COMPRESSION)
                del table
                release_unused_arrow_memory()
                self._store.write_file(data_key, path)
        ref = DatasetRef(
            id=dataset_id,
            uri=self._store.uri_for(data_key),
            rows=len(frame),
            frauds=count_frauds(frame),
            source=source,
            created_at=now,
            saved_at=now,
        )
        return self._commit(ref)

    def _commit(self, ref: DatasetRef) -> DatasetRef:
        """Write the manifest, the dataset's commit marker."""
        self._store.write_bytes(_manifest_key(ref.id), json.dumps(ref.to_dict(), indent=2).encode())
        return ref

    def load(self, dataset_id: DatasetId) -> pd.DataFrame:
        ref = self.get(dataset_id)
        try:
            with self._store.open_read(_data_key(dataset_id)) as stream:
                table = _read_table(stream)
        except ObjectNotFoundError as error:
            raise DataSourceError(f"dataset {dataset_id.short}: manifest present but data missing") from error
        except (pa.ArrowException, OSError) as error:
            raise DataSourceError(f"dataset {dataset_id.short}: unreadable Parquet at {ref.uri}") from error
        frame: pd.DataFrame = table.to_pandas(**FRAME_FROM_ARROW)
        del table
        release_unused_arrow_memory()
        if list(frame.columns) != list(TRANSACTION_COLUMNS) or DatasetId.of(frame) != dataset_id:
            raise DataSourceError(f"dataset {dataset_id.short}: content at {ref.uri} does not match its id")
        return frame

    def get(self, dataset_id: DatasetId) -> DatasetRef:
        try:
            manifest = self._store.read_bytes(_manifest_key(dataset_id))
        except ObjectNotFoundError as error:
            removed = self._store.read_or_none(_removed_key(dataset_id))
            if removed is not None:
                note = _removal_note(removed)
                raise DatasetRemovedError(f"dataset {dataset_id.value} was removed ({note})") from error
            raise DatasetNotFoundError(f"no stored dataset {dataset_id.value}") from error
        return _parse_manifest(manifest, _manifest_key(dataset_id))

    def remove(self, dataset_id: DatasetId, note: str) -> None:
        """The note first, then the manifest (the commit marker: from then on the dataset is not listed),
        then the rows. A removal that stops half-way leaves a dataset still listed, or rows nobody lists,
        which the next save of the same content reuses. A save of the same rows between the last two steps
        (no lock spans stores) can leave a manifest without rows: its load says so, and the next save
        writes the rows again."""
        self._store.write_bytes(_removed_key(dataset_id), json.dumps({"note": note}).encode())
        self._store.delete(_manifest_key(dataset_id))
        self._store.delete(_data_key(dataset_id))

    def list(self) -> list[DatasetRef]:
        refs = [
            _parse_manifest(self._store.read_bytes(key), key)
            for key in self._store.list_keys(PREFIX)
            if key.endswith(f"/{MANIFEST_FILE}")
        ]
        return sorted(refs, key=lambda ref: (_created(ref), ref.id.value), reverse=True)


def _data_key(dataset_id: DatasetId) -> str:
    return f"{PREFIX}{dataset_id.value}/{DATA_FILE}"


def _manifest_key(dataset_id: DatasetId) -> str:
    return f"{PREFIX}{dataset_id.value}/{MANIFEST_FILE}"


def _removal_note(data: bytes) -> str:
    try:
        return str(json.loads(data)["note"])
    except (ValueError, KeyError, TypeError):
        return "no note"


def _removed_key(dataset_id: DatasetId) -> str:
    return f"{PREFIX}{dataset_id.value}/{REMOVED_FILE}"


def _read_table(stream: IO[bytes]) -> pa.Table:
    """Parquet needs random access; a non-seekable stream (S3) is spooled to a temporary file first."""
    if stream.seekable():
        return pq.read_table(stream, pre_buffer=PRE_BUFFER)
    with tempfile.TemporaryFile(prefix="fraud-dataset-") as spool:
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.seek(0)
        return pq.read_table(spool, pre_buffer=PRE_BUFFER)


def _parse_manifest(data: bytes, key: str) -> DatasetRef:
    try:
        return DatasetRef.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError) as error:
        raise DataSourceError(f"corrupt dataset manifest {key}: {error}") from error


def _created(ref: DatasetRef) -> datetime:
    try:
        created = datetime.fromisoformat(ref.created_at)
    except ValueError:
        created = datetime.min
    return created if created.tzinfo else created.replace(tzinfo=UTC)
