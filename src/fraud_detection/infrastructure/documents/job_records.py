"""Job records as small JSON objects under `jobs/<id>/` in the object store every worker already shares:

    request.json   what was submitted            plan.json     model version and chunks
    owner.json     the submitter's namespace, created first (its own object: a reader from before it read
                   request.json as exactly its fields)
    done/<n>.json  one per scored chunk           outcome.json  succeeded / failed / cancelled
    cancel-requested.json, committing.json        the marks that settle a cancel racing the commit
    runs/<step>/<token>.json                      a step's run under way; one left behind is a lost run
    resumed/<progress>.json                       a sweeper queued the stalled job again from that point

plus `job-index/open/<id>.json` while a job has no outcome, so a sweep for stalled jobs reads the open ones
without listing every job ever run (`job-index/backfilled.json`: the jobs of a version from before the
index, which it never named, were indexed once by one listing of every job). Every write is one atomic
object; a chunk mark is written once per chunk key, so redelivered tasks cannot double-count; status is
derived from what exists. No database to run, local or S3 alike.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fraud_detection.domain.errors import (
    DataSourceError,
    JobExistsError,
    JobNotFoundError,
    ObjectNotFoundError,
)
from fraud_detection.domain.jobs import (
    OPERATOR,
    Chunk,
    FailureKind,
    JobMark,
    JobPlan,
    JobRequest,
    JobSnapshot,
    JobState,
    JobStatus,
)
from fraud_detection.domain.ports.jobs import JobStore
from fraud_detection.domain.ports.storage import ObjectStore

PREFIX = "jobs"
OPEN_PREFIX = "job-index/open/"
BACKFILLED = "job-index/backfilled.json"
OWNER = "owner.json"
RESUMED = "resumed/"


class ObjectStoreJobStore(JobStore):
    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._backfilled = False

    def create(self, request: JobRequest, owner: str = OPERATOR) -> None:
        """The owner claimed first, then the request, each create-if-absent: of two submissions of one id
        at once, one is refused (both were accepted, and the later record replaced the earlier one's
        locations); a job is never readable without its owner. A claim left by a submission that stopped
        before its request blocks the id for other owners only; its owner may submit it again."""
        job_id = request.job_id
        owner_key = self._key(job_id, OWNER)
        claimed = self._store.create_bytes(owner_key, json.dumps({"namespace": owner}).encode())
        if not claimed and self.owner(job_id) != owner:
            raise JobExistsError(f"job '{job_id}' already exists; choose another id")
        document = json.dumps(asdict(request)).encode()
        request_key = self._key(job_id, "request.json")
        try:
            written = self._store.create_bytes(request_key, document)
        except BaseException:
            self._unclaim(owner_key, claimed)
            raise
        if not written:
            if claimed:  # a job from before owners holds the id: it stays as it was, every client's
                self._store.delete(owner_key)
            raise JobExistsError(f"job '{job_id}' already exists; choose another id")
        # After the request: an entry written first could be the one a refused duplicate id deletes.
        try:
            self._store.write_bytes(_open_key(job_id), b"{}")
        except BaseException:
            # Nothing half-written: a request without its open entry is never run or swept, and it kept the
            # id taken (a disk-full probe: a job `queued` for good, its id refused with 409).
            # The owner claim goes only once the request is gone: a request left without its owner would
            # be readable and cancellable by every client (a failed delete here kept it, the claim went).
            with suppress(Exception):
                self._store.delete(request_key)
                self._unclaim(owner_key, claimed)
            raise

    def _unclaim(self, owner_key: str, claimed: bool) -> None:
        """Give back an owner claim this call made (another call's stays)."""
        if claimed:
            with suppress(Exception):  # the write's own error is the one to report
                self._store.delete(owner_key)

    def request(self, job_id: str) -> JobRequest:
        document = self._read_required(job_id, "request.json")
        with self._damaged(job_id, "request.json"):
            return JobRequest(**document)

    def owner(self, job_id: str) -> str | None:
        document = self._read(job_id, OWNER)
        with self._damaged(job_id, OWNER):
            return None if document is None else str(document["namespace"])

    def save_plan(self, job_id: str, plan: JobPlan) -> None:
        self._write(job_id, "plan.json", asdict(plan))

    def plan(self, job_id: str) -> JobPlan | None:
        document = self._read(job_id, "plan.json")
        if document is None:
            return None
        with self._damaged(job_id, "plan.json"):
            chunks = tuple(
                Chunk(**chunk | {"row_groups": tuple(chunk.get("row_groups", ()))})
                for chunk in document.pop("chunks")
            )
            return JobPlan(**document, chunks=chunks)

    def mark_chunk_done(self, job_id: str, index: int, rows: int) -> None:
        self._write(job_id, f"done/{index:06d}.json", {"rows": rows, "at": _now()})

    def finish(
        self, job_id: str, state: JobState, error: str | None = None, kind: FailureKind | None = None
    ) -> None:
        """The first outcome wins (e.g. a cancel), created only where none is: a read, then a write, let a
        cancel and a failure recorded at once both write, the later one replacing the first."""
        kind_value = kind.value if kind else None
        outcome = {"state": state.value, "error": error, "kind": kind_value, "at": _now()}
        self._store.create_bytes(self._key(job_id, "outcome.json"), json.dumps(outcome).encode())
        self._store.delete(_open_key(job_id))

    def begin_run(self, job_id: str, step: str) -> tuple[str, int]:
        folder = self._key(job_id, f"runs/{_step_key(step)}/")
        unfinished = sum(1 for _ in self._store.list_keys(folder))
        token = uuid.uuid4().hex
        self._store.write_bytes(f"{folder}{token}.json", json.dumps({"at": _now()}).encode())
        return token, unfinished

    def renew_run(self, job_id: str, step: str, token: str) -> None:
        key = self._key(job_id, f"runs/{_step_key(step)}/{token}.json")
        self._store.write_bytes(key, json.dumps({"at": _now(), "renewed": True}).encode())

    def end_run(self, job_id: str, step: str, token: str) -> None:
        self._store.delete(self._key(job_id, f"runs/{_step_key(step)}/{token}.json"))

    def mark(self, job_id: str, mark: JobMark) -> None:
        self._write(job_id, f"{mark.value}.json", {"at": _now()})

    def has_mark(self, job_id: str, mark: JobMark) -> bool:
        return self._store.exists(self._key(job_id, f"{mark.value}.json"))

    def status(self, job_id: str) -> JobStatus:
        return self.snapshot(job_id).status

    def snapshot(self, job_id: str) -> JobSnapshot:
        request = self.request(job_id)
        plan = self.plan(job_id)
        outcome = self._read(job_id, "outcome.json")
        done = self.done_chunks(job_id)
        done_rows = sum(plan.chunks[index].rows for index in done) if plan else 0
        updated_at, error_kind = None, None
        if outcome is not None:
            with self._damaged(job_id, "outcome.json"):
                state, error, updated_at = JobState(outcome["state"]), outcome["error"], outcome["at"]
                error_kind = FailureKind(outcome["kind"]) if outcome.get("kind") else None
        else:
            started = plan or done or any(self._store.list_keys(self._key(job_id, "runs/prepare/")))
            state, error = (JobState.RUNNING if started else JobState.QUEUED), None
        status = JobStatus(
            job_id=job_id,
            state=state,
            request=request,
            rows_total=plan.rows if plan else None,
            rows_scored=done_rows,
            chunks_total=len(plan.chunks) if plan else None,
            chunks_done=len(done),
            model_version=plan.model_version if plan else None,
            threshold=plan.threshold if plan else None,
            error=error,
            updated_at=updated_at,
            error_kind=error_kind,
        )
        return JobSnapshot(status, plan, done)

    def delete(self, job_id: str) -> None:
        """The owner claim last: a delete that stops half-way never leaves a request without its owner."""
        keys = sorted(self._store.list_keys(f"{PREFIX}/{job_id}/"), key=lambda key: key.endswith(f"/{OWNER}"))
        for key in keys:
            self._store.delete(key)
        self._store.delete(_open_key(job_id))

    def done_chunks(self, job_id: str) -> frozenset[int]:
        keys = self._store.list_keys(self._key(job_id, "done/"))
        return frozenset(int(key.rsplit("/", 1)[1][:-5]) for key in keys if key.endswith(".json"))

    def open_jobs(self) -> Iterator[str]:
        """One listing of the index, whatever the number of jobs ever run; an entry a finish or a delete
        left behind (it stopped between its records and the index) is removed by `progress`."""
        if not self._backfilled:
            self._backfill()
        for key in self._store.list_keys(OPEN_PREFIX):
            yield key.removeprefix(OPEN_PREFIX).removesuffix(".json")

    def _backfill(self) -> None:
        """Index the open jobs of a version from before the index, once per store: they were never swept,
        so a job such a version left open stayed `running` for ever after an upgrade (seen upgrading from
        e49e0f9). One listing of every job's records, then a marker; a store without jobs costs a HEAD."""
        if not self._store.exists(BACKFILLED):
            requested, ended = set(), set()
            for key in self._store.list_keys(f"{PREFIX}/"):
                job_id, _, name = key.removeprefix(f"{PREFIX}/").partition("/")
                if name == "request.json":
                    requested.add(job_id)
                elif name == "outcome.json":
                    ended.add(job_id)
            for job_id in sorted(requested - ended):
                self._store.write_bytes(_open_key(job_id), b"{}")
            self._store.write_bytes(
                BACKFILLED, json.dumps({"at": _now(), "indexed": len(requested - ended)}).encode()
            )
        self._backfilled = True

    def progress(self, job_id: str) -> str:
        """The names of the job's records (a chunk done, a plan, a run begun or ended, a mark), hashed; the
        records' content never changes once written except through a name that also appears or goes."""
        names = [
            key
            for key in self._store.list_keys(self._key(job_id, ""))
            if not key.startswith(self._key(job_id, RESUMED))
        ]
        if self._key(job_id, "outcome.json") in names or self._key(job_id, "request.json") not in names:
            self._store.delete(_open_key(job_id))  # ended, or deleted: no longer open
        return hashlib.sha256("\n".join(names).encode()).hexdigest()[:32]

    def runs_under_way(self, job_id: str) -> dict[str, datetime]:
        """One read per mark (a job has one or two under way): a mark gone since the listing ended; one
        unreadable (a version that wrote no time) counts as renewed now, so it is never taken as lost."""
        folder = self._key(job_id, "runs/")
        runs: dict[str, datetime] = {}
        for key in self._store.list_keys(folder):
            try:
                renewed = _mark_time(self._store.read_bytes(key))
            except ObjectNotFoundError:
                continue
            step = _step_of_key(key.removeprefix(folder).split("/", 1)[0])
            runs[step] = max(renewed, runs.get(step, renewed))
        return runs

    def claim_resume(self, job_id: str, progress: str) -> bool:
        return self._store.create_bytes(
            self._key(job_id, f"{RESUMED}{progress}.json"), json.dumps({"at": _now()}).encode()
        )

    def release_resume(self, job_id: str, progress: str) -> None:
        self._store.delete(self._key(job_id, f"{RESUMED}{progress}.json"))

    def _key(self, job_id: str, name: str) -> str:
        return f"{PREFIX}/{job_id}/{name}"

    def _write(self, job_id: str, name: str, document: dict[str, Any]) -> None:
        self._store.write_bytes(self._key(job_id, name), json.dumps(document).encode())

    def _read(self, job_id: str, name: str) -> dict[str, Any] | None:
        try:
            raw = self._store.read_bytes(self._key(job_id, name))
        except ObjectNotFoundError:
            return None
        with self._damaged(job_id, name):
            document = json.loads(raw)
            if not isinstance(document, dict):
                raise TypeError(f"a JSON {type(document).__name__}, not an object")
        return document

    @contextmanager
    def _damaged(self, job_id: str, name: str) -> Iterator[None]:
        """A record that is not what this code writes (edited by hand, cut short by a full disk): one line
        naming the job and the file, where `fraud batch status` printed a JSONDecodeError's traceback."""
        try:
            yield
        except (KeyError, TypeError, ValueError) as error:
            problem = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise DataSourceError(
                f"job '{job_id}': its record {self._key(job_id, name)} is damaged ({problem})"
            ) from None

    def _read_required(self, job_id: str, name: str) -> dict[str, Any]:
        document = self._read(job_id, name)
        if document is None:
            raise JobNotFoundError(f"no job '{job_id}'")
        return document


def _open_key(job_id: str) -> str:
    return f"{OPEN_PREFIX}{job_id}.json"


def _step_key(step: str) -> str:
    """'chunk 12' -> 'chunk-12': a key segment."""
    return step.replace(" ", "-")


def _step_of_key(segment: str) -> str:
    """'chunk-12' -> 'chunk 12': `_step_key` undone."""
    return segment.replace("-", " ")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _mark_time(content: bytes) -> datetime:
    try:
        moment = datetime.fromisoformat(str(json.loads(content)["at"]))
    except (ValueError, KeyError, TypeError):
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
