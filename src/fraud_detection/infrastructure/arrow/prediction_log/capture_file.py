"""A capture file as readers take it: its rows, and the names of the files the writer put them in.

A file the writer made is its own single source. A compacted file (compaction.py) merges a closed hour's
files and tags each row with the file it came from: the index of its name in the file's metadata. A reader
may meet a compacted file next to the files it merged (they are deleted only after a grace period, so a read
that listed them just before the merge still finds them), next to an older merge, or next to a merge made at
the same time from an overlapping set. Taking each source's rows once, from the first file that holds them,
gives the same rows in every case. The extra column also makes a reader older than compaction skip a
compacted file as "another schema" rather than count its rows twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from fraud_detection.infrastructure.arrow.prediction_log.arrow_table import encode_parquet
from fraud_detection.infrastructure.arrow.prediction_log.layout import file_name, is_compacted
from fraud_detection.infrastructure.arrow.prediction_log.numpy_view import arrow_to_numpy
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import SCORED_AT, conformed

SOURCE = "compacted_source"  # per row: the index of its source file's name in SOURCES_KEY
SOURCES_KEY = b"fraud_detection.compacted_sources"  # schema metadata: a JSON list of file names
UNUSABLE_MERGE = "a compacted file without a usable list of the files it merged"


@dataclass(frozen=True)
class CaptureFile:
    rows: pa.Table  # PREDICTION_SCHEMA
    sources: tuple[str, ...]  # file names within the hour folder
    source_of_row: np.ndarray | None = None  # int32 index into `sources`; None: every row is sources[0]

    def unseen(self, taken: set[str]) -> CaptureFile:
        """The rows of the sources not in `taken`, which then holds all of this file's sources."""
        fresh = [index for index, name in enumerate(self.sources) if name not in taken]
        taken.update(self.sources)
        if len(fresh) == len(self.sources):
            return self
        if not fresh:
            return CaptureFile(self.rows.slice(0, 0), ())
        assert self.source_of_row is not None  # one source is either all fresh or none
        keep = np.isin(self.source_of_row, fresh)
        renumbered = np.full(len(self.sources), -1, np.int32)
        renumbered[fresh] = np.arange(len(fresh), dtype=np.int32)
        return CaptureFile(
            self.rows.filter(pa.array(keep)),
            tuple(self.sources[index] for index in fresh),
            renumbered[self.source_of_row[keep]],
        )

    def source_indices(self) -> np.ndarray:
        if self.source_of_row is None:
            return np.zeros(self.rows.num_rows, np.int32)
        return self.source_of_row


def capture_file(key: str, table: pa.Table) -> CaptureFile | str:
    """The file under `key` read as `table`, or why it cannot be used."""
    if not is_compacted(key):
        usable = conformed(table)
        if usable is None:
            return f"another schema (columns {table.schema.names})"
        return CaptureFile(usable, (file_name(key),))
    sources: tuple[str, ...] = ()
    try:
        listed = json.loads((table.schema.metadata or {})[SOURCES_KEY])
        sources = (
            tuple(listed) if isinstance(listed, list) and all(isinstance(n, str) for n in listed) else ()
        )
        position = table.schema.get_field_index(SOURCE)
        column = table.column(SOURCE).combine_chunks() if position >= 0 else None
    except (KeyError, ValueError, TypeError, pa.ArrowException):
        column = None
    if column is None or column.null_count or not pa.types.is_integer(column.type) or not sources:
        return UNUSABLE_MERGE
    indices = arrow_to_numpy(column).astype(np.int32)
    rows = conformed(table.remove_column(position).replace_schema_metadata(None))
    if rows is None or (len(indices) and not 0 <= indices.min() <= indices.max() < len(sources)):
        return UNUSABLE_MERGE
    return CaptureFile(rows, sources, indices)


def encode_compacted(files: Sequence[CaptureFile]) -> bytes:
    """One Parquet file of `files`' rows in `scored_at` order (stable: rows of one instant keep their order),
    each tagged with its source; the files must not share a source (take them through `unseen`)."""
    sources: list[str] = []
    tables, indices = [], []
    for part in files:
        indices.append(part.source_indices() + len(sources))
        sources.extend(part.sources)
        tables.append(part.rows.replace_schema_metadata(None))
    merged = pa.concat_tables(tables)
    merged = merged.append_column(SOURCE, pa.array(np.concatenate(indices).astype(np.int32)))
    instants = arrow_to_numpy(merged.column(SCORED_AT).combine_chunks())
    if np.any(instants[1:] < instants[:-1]):  # one writer's files are in order already: no copy
        merged = merged.sort_by([(SCORED_AT, "ascending")])
    return encode_parquet(merged.replace_schema_metadata({SOURCES_KEY: json.dumps(sources).encode()}))


@dataclass
class Coverage:
    """What a read has taken so far, per hour folder: each source's rows are taken once."""

    _taken: dict[str, set[str]] = field(default_factory=dict)
    _newest_merge: dict[str, str] = field(default_factory=dict)

    def unseen(self, key: str, file: CaptureFile) -> pa.Table:
        folder, _, name = key.rpartition("/")
        if is_compacted(name):
            self._newest_merge[folder] = max(self._newest_merge.get(folder, name), name)
        return file.unseen(self._taken.setdefault(folder, set())).rows

    def taken(self, key: str) -> bool:
        """Whether a file deleted since the read listed it loses nothing: compaction's sweep deletes a file
        only when a merge made a grace period earlier holds its rows, and such a merge was listed and read
        first (newest merges first): a writer's file whose rows a merge gave, or an older merge."""
        folder, _, name = key.rpartition("/")
        if is_compacted(name):
            return self._newest_merge.get(folder, name) > name
        return name in self._taken.get(folder, ())
