"""The ECS task roles (deploy/terraform/modules/ecs) against what each task really asks of S3: the API and
a batch worker run here against moto, which enforces no IAM, and every S3 request they make is checked
against their role's statements. Each role holds only what its task needs: the internet-facing API could
write the training datasets (`raw/`) and reports the retrain task trusts, when one policy served all three."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from moto import mock_aws

from fraud_detection.composition import Container
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.rollout import Rollout
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.entrypoints.api.app import create_app
from fraud_detection.settings import Settings
from tests.api_clients import SERVICE, bearer, write_clients
from tests.fakes import FakeJobQueue, FakeModel, FakeModelCache, FakeRegistry
from tests.iam_replay import Request, allowed, policy_statements, record_s3_requests, refused
from tests.rollout_fakes import FakeRolloutStore

pytestmark = pytest.mark.integration
REGION, BUCKET = "eu-west-1", "fraud-data"


def role_statements(document: str) -> list[dict[str, Any]]:
    """A task policy's statements, the bucket's ARN filled in."""
    return policy_statements("ecs", document, {"${var.data_bucket_arn}": f"arn:aws:s3:::{BUCKET}"})


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Request]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield record_s3_requests(monkeypatch)


def container(tmp_path: Any, **more: Any) -> Container:
    """A task as Terraform configures it: the store and the batch roots in the data bucket."""
    settings = Settings(
        home=tmp_path, storage_uri=f"s3://{BUCKET}/fraud", batch_input_roots=f"s3://{BUCKET}/batch/in",
        batch_output_roots=f"s3://{BUCKET}/batch/out", aws_region=REGION, model_poll_seconds=0,
        rollout_shadow_budget_ms=60_000.0, capture_max_seconds=0.2, **more,
    )  # fmt: skip
    built = Container(settings)
    registry = FakeRegistry()
    for weight in (1.0, -1.0):
        registry.uri_models[f"models:/{weight}"] = FakeModel(weight)
        registry.register(f"models:/{weight}", "run", ModelMetadata("fe-1", 0.5, "d" * 64))
    registry.set_alias(CHAMPION, 1)
    built.adapters.registry.override(providers.Object(registry))
    built.serving.model_cache.override(providers.Object(FakeModelCache()))
    built.batch.model_accelerator.override(providers.Object(ModelAccelerator()))
    return built


def transaction(transaction_id: str) -> dict[str, object]:
    return {name: 0.1 for name in V_COLUMNS} | {"Amount": 12.5, "transaction_id": transaction_id}


def test_every_s3_request_of_the_api_is_one_its_role_allows(tmp_path, recorded) -> None:
    api = container(tmp_path, admin_token="s3cret-token-for-tests-0123456789abcdef")
    rollouts = FakeRolloutStore()
    rollouts.save(Rollout.start("fake-model", 2, 1, now=time.time()), replacing=None)
    api.serving.rollout_store.override(providers.Object(rollouts))
    api.rollout.store.override(providers.Object(rollouts))
    api.batch.job_queue.override(providers.Object(FakeJobQueue()))
    write_clients(tmp_path, None)
    job = {"input_uri": f"s3://{BUCKET}/batch/in/a.csv", "output_uri": f"s3://{BUCKET}/batch/out/a.parquet"}
    with TestClient(create_app(api), headers=SERVICE) as client:
        for index in range(20):
            assert client.post("/v1/score", json=transaction(f"tx-{index}")).status_code == 200
        rows = {"transactions": [transaction(f"b-{index}") for index in range(5)]}
        assert client.post("/v1/score/batch", json=rows).status_code == 200
        assert client.post("/v1/jobs", json=job | {"job_id": "j-1"}).status_code == 202
        assert client.get("/v1/jobs/j-1").status_code == 200
        assert client.delete("/v1/jobs/j-1").status_code == 200
        for path in ("/metrics", "/v1/model", "/readyz"):
            assert client.get(path).status_code == 200
        time.sleep(1.0)  # the captured rows written: the rollout's evidence reads them
        assert client.get("/admin/rollout", headers=bearer("operator")).status_code == 200
        aborted = client.post("/admin/rollout/abort", headers=bearer("operator"), json={"reason": "test"})
        assert aborted.status_code == 200, aborted.text
    assert {operation for operation, _ in recorded} >= {"PutObject", "GetObject", "ListObjectsV2"}
    assert refused(role_statements("api_task"), recorded) == []


def test_every_s3_request_of_a_batch_worker_is_one_its_role_allows(tmp_path, recorded) -> None:
    from tests.builders import transactions

    worker = container(tmp_path)
    frame = transactions(2_000).drop(columns=["Class"])
    path = tmp_path / "in.parquet"
    frame.to_parquet(path, row_group_size=500)
    boto3.client("s3", region_name=REGION).upload_file(str(path), BUCKET, "batch/in/day.parquet")
    csv = tmp_path / "in.csv"
    frame.to_csv(csv, index=False)
    boto3.client("s3", region_name=REGION).upload_file(str(csv), BUCKET, "batch/in/day.csv")
    submit = worker.batch.submit_job()
    recorded.clear()
    for name in ("day.parquet", "day.csv"):
        submit(f"s3://{BUCKET}/batch/in/{name}", f"s3://{BUCKET}/batch/out/{name}.parquet", "champion", name)
    queue = worker.batch.job_queue()
    for name in ("day.parquet", "day.csv"):
        queue.wait(name, timeout=60)
        assert worker.batch.job_control().status(name).state.value == "succeeded"
    assert refused(role_statements("worker_task"), recorded) == []


@pytest.mark.parametrize("document", ["api_task", "worker_task", "task"])
def test_every_prefix_a_role_reads_it_may_list(document: str) -> None:
    """S3 answers 404 for a missing key only to a caller allowed to list it, else 403: the store then lists
    the key to tell absent from refused, which needs the listing (a job's marks, reports not written yet)."""
    statements = role_statements(document)
    bucket = f"arn:aws:s3:::{BUCKET}/"
    for statement in statements:
        if "s3:GetObject" in statement["actions"]:
            for resource in statement["resources"]:
                prefix = resource.removeprefix(bucket)
                assert allowed(statements, "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", prefix), (
                    f"{document}: reads {prefix} but may not list it"
                )
