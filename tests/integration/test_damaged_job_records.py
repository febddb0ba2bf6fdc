"""A job record that is not what this code writes (edited by hand, cut short by a full disk) is named in one
line, exit 2, by `fraud batch status`, `cancel` and `resume`: each printed a traceback (JSONDecodeError,
KeyError, TypeError) and exited 1."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.errors import DataSourceError
from fraud_detection.domain.jobs import JobRequest, JobState
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.documents.job_records import ObjectStoreJobStore
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration

DAMAGE = {
    "not JSON": ("outcome.json", b"garbage\n", "Expecting value"),
    "outcome without its state": ("outcome.json", b"{}", "missing field 'state'"),
    "request not an object": ("request.json", b"[]", "a JSON list, not an object"),
    "plan without its chunks": ("plan.json", b'{"rows": 3}', "missing field 'chunks'"),
}


@pytest.mark.parametrize("command", ["status", "cancel", "resume"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_job_record_is_one_line_naming_the_job_and_its_file(tmp_path, command, damage):
    name, content, problem = DAMAGE[damage]
    settings = Settings(home=tmp_path)
    root = tmp_path / "store"
    store = ObjectStoreJobStore(LocalObjectStore(root))
    store.create(JobRequest("j-1", "in.csv", "out.parquet", "champion", "2026-12-07T00:00:00+00:00"))
    store.finish("j-1", JobState.SUCCEEDED)
    (root / "jobs" / "j-1" / name).write_bytes(content)
    use_container(Container(settings))
    try:
        result = CliRunner().invoke(app, ["batch", command, "j-1"])
    finally:
        use_container(None)
    lines = result.stderr.strip().splitlines()
    assert (result.exit_code, len(lines)) == (2, 1), result.output
    assert lines[0].startswith(f"error: job 'j-1': its record jobs/j-1/{name} is damaged ("), lines[0]
    assert problem in lines[0]


def test_the_store_raises_a_domain_error_not_the_parsers(tmp_path):
    objects = LocalObjectStore(tmp_path)
    store = ObjectStoreJobStore(objects)
    request = JobRequest("j-2", "in.csv", "out.parquet", "champion", "2026-12-07T00:00:00+00:00")
    store.create(request)
    objects.write_bytes("jobs/j-2/request.json", json.dumps(asdict(request) | {"extra": 1}).encode())
    with pytest.raises(DataSourceError, match=r"jobs/j-2/request\.json is damaged \(.*extra"):
        store.status("j-2")
    objects.write_bytes("jobs/j-2/owner.json", b"{}")  # what the API reads to tell namespaces apart
    with pytest.raises(DataSourceError, match=r"owner\.json is damaged \(missing field 'namespace'\)"):
        store.owner("j-2")
