"""FRAUD_VALIDATION_AMOUNT_MAX reaches every scoring path: the API's bodies (422) and batch jobs (the job
fails naming the column and row), through the same settings-built rules."""

import pytest
from dependency_injector import providers

from tests.api_clients import NAMESPACE
from tests.builders import transactions
from tests.fakes import FakeBatchFiles
from tests.integration.test_api import Api, transaction

pytestmark = pytest.mark.integration
AMOUNT_MAX = 1_000.0


@pytest.fixture
def api(tmp_path):
    service = Api(tmp_path, validation_amount_max=AMOUNT_MAX)
    with service.client:
        yield service


def test_the_api_refuses_an_amount_over_the_configured_maximum(api):
    assert api.client.post("/v1/score", json=transaction(Amount=AMOUNT_MAX)).status_code == 200
    for path, body in (
        ("/v1/score", transaction(Amount=AMOUNT_MAX + 1)),
        ("/v1/score/batch", {"transactions": [transaction(), transaction(Amount=AMOUNT_MAX + 1)]}),
    ):
        response = api.client.post(path, json=body)
        assert response.status_code == 422, response.text
        [problem] = response.json()["problems"]
        assert problem["field"].endswith("Amount")
        assert "1000" in problem["problem"]
    schema = api.client.app.openapi()["components"]["schemas"]["TransactionIn"]
    assert schema["properties"]["Amount"]["maximum"] == AMOUNT_MAX


def test_a_batch_job_refuses_a_row_over_the_configured_maximum(api):
    files = FakeBatchFiles()
    roots = api.container.settings().batch_roots
    source, target = f"{roots.inputs[0]}/in.parquet", f"{roots.outputs[0]}/out.parquet"
    frame = transactions(300).drop(columns=["Class"])
    frame["Amount"] = frame["Amount"].clip(upper=AMOUNT_MAX)
    frame.loc[123, "Amount"] = AMOUNT_MAX + 0.5
    files.inputs[source] = frame
    api.container.batch.batch_files.override(providers.Object(files))
    job = {"input_uri": source, "output_uri": target, "job_id": "over-max"}
    assert api.client.post("/v1/jobs", json=job).status_code == 202
    api.container.batch.job_queue().wait(f"{NAMESPACE}:over-max", timeout=30)  # as recorded
    status = api.client.get("/v1/jobs/over-max").json()
    assert status["state"] == "failed"
    assert status["error"] == f"{source}: column 'Amount' row 124: above the maximum 1000"
