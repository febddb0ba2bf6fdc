"""What the local folder store adds to the shared contract: containment, atomic replace, no temp litter."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from fraud_detection.domain.errors import ObjectNotFoundError, StorageFullError
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local.object_store import TEMP_PREFIX


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "key",
    ["..", "../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/", "", "a\\..\\b", f"a/{TEMP_PREFIX}1"],
)
def test_rejects_keys_that_escape_the_root_or_are_malformed(store: LocalObjectStore, key: str) -> None:
    for operation in (
        lambda: store.write_bytes(key, b"x"),
        lambda: store.open_read(key),
        lambda: store.exists(key),
        lambda: store.uri_for(key),
    ):
        with pytest.raises(ValueError, match="invalid object key"):
            operation()


def test_prefix_cannot_escape_the_root(store: LocalObjectStore) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        list(store.list_keys("../"))


def test_write_creates_folders_and_reads_back(store: LocalObjectStore, tmp_path: Path) -> None:
    store.write_bytes("a/b/c.bin", b"abc")
    assert (tmp_path / "store" / "a" / "b" / "c.bin").read_bytes() == b"abc"
    assert _all_files(tmp_path / "store") == ["a/b/c.bin"]


def test_open_read_is_a_real_seekable_file(store: LocalObjectStore) -> None:
    store.write_bytes("k", b"0123456789")
    with store.open_read("k") as stream:
        assert isinstance(stream, io.BufferedReader)
        stream.seek(5)
        assert stream.read() == b"56789"


def test_missing_key_and_folder_keys_are_not_found(store: LocalObjectStore) -> None:
    store.write_bytes("folder/inner", b"x")
    for key in ("nope", "folder", "folder/inner/deeper"):
        with pytest.raises(ObjectNotFoundError, match=f"no object '{key}'"):
            store.open_read(key)
    store.delete("folder")  # a folder is no object: nothing to delete, no error
    assert store.exists("folder/inner")


def test_failed_replace_keeps_the_old_object_and_leaves_no_temp_file(
    store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write_bytes("model.bin", b"old")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StorageFullError, match="No space left on device"):  # the disk's, not the input's
        store.write_bytes("model.bin", b"new")
    assert store.read_bytes("model.bin") == b"old"
    assert _all_files(tmp_path / "store") == ["model.bin"]


def test_failed_fsync_leaves_no_partial_object(
    store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 100)

    def io_error(_: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", io_error)
    with pytest.raises(StorageFullError, match=r"cannot write .*partial\.bin: Input/output error"):
        store.write_file("new/partial.bin", source)
    assert not store.exists("new/partial.bin")
    assert _all_files(tmp_path / "store") == []


def test_interrupted_copy_removes_its_temp_file(
    store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class CopyInterruptedError(Exception):
        pass

    def interrupted(*_: object) -> None:
        raise CopyInterruptedError

    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 100)
    store.write_bytes("kept.bin", b"kept")
    monkeypatch.setattr("shutil.copyfileobj", interrupted)
    with pytest.raises(CopyInterruptedError):
        store.write_file("kept.bin", source)
    assert store.read_bytes("kept.bin") == b"kept"
    assert _all_files(tmp_path / "store") == ["kept.bin"]


def test_write_file_streams_a_copy(store: LocalObjectStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    store.write_file("blobs/big.bin", source)
    assert store.read_bytes("blobs/big.bin") == source.read_bytes()


def test_list_keys_skips_temp_files_and_handles_a_missing_root(
    store: LocalObjectStore, tmp_path: Path
) -> None:
    assert list(store.list_keys()) == []
    store.write_bytes("raw/a.csv", b"a")
    (tmp_path / "store" / "raw" / f"{TEMP_PREFIX}crashed-writer").write_bytes(b"partial")
    assert list(store.list_keys()) == ["raw/a.csv"]
    assert list(store.list_keys("raw/a")) == ["raw/a.csv"]


def test_uri_for_is_an_absolute_file_uri(store: LocalObjectStore, tmp_path: Path) -> None:
    assert store.uri_for("raw/a b.csv") == (tmp_path / "store" / "raw" / "a b.csv").resolve().as_uri()


def test_written_files_follow_the_umask(store: LocalObjectStore, tmp_path: Path) -> None:
    store.write_bytes("k", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "store" / "k").stat().st_mode & 0o777 == 0o666 & ~umask


def test_deleting_the_last_object_of_a_folder_removes_the_emptied_folders_but_not_the_root(
    store: LocalObjectStore,
) -> None:
    """As on S3, a deleted job or expired captures leave no folder behind (a refused submit left one)."""
    store.write_bytes("jobs/j1/request.json", b"{}")
    store.write_bytes("jobs/j1/runs/prepare-1.json", b"{}")
    store.write_bytes("jobs/j2/request.json", b"{}")
    for key in list(store.list_keys("jobs/j1/")):
        store.delete(key)
    assert not (store.root / "jobs" / "j1").exists()
    assert (store.root / "jobs" / "j2" / "request.json").exists()
    store.delete("jobs/j2/request.json")
    assert store.root.is_dir()
    assert list(store.root.iterdir()) == []
    store.delete("jobs/never/written.json")  # a missing key prunes nothing and is no error
    assert store.root.is_dir()


def test_writes_racing_deletes_of_the_same_folder_are_never_lost(store: LocalObjectStore) -> None:
    """A delete may prune a folder between a writer's mkdir and its open: the writer makes it again."""
    import threading

    failures: list[BaseException] = []

    def churn(worker: int) -> None:
        try:
            for round_ in range(300):
                key = f"a/b/c/{worker}-{round_}"
                store.write_bytes(key, b"x")
                assert store.read_bytes(key) == b"x"
                store.delete(key)
        except BaseException as error:  # reported below, with its thread's key
            failures.append(error)

    threads = [threading.Thread(target=churn, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert list(store.root.iterdir()) == []
