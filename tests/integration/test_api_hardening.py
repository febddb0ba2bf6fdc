"""Attacks on the API replayed in-process: bodies read before authentication, chunked and slow bodies,
random HTTP methods as metric labels, the model oracle, the published API map. Each now fails safe."""

import asyncio
import json
import random
import string
import time

import pytest
from fastapi.testclient import TestClient

from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
from fraud_detection.entrypoints.api.middleware import OTHER_METHOD
from tests.api_clients import SERVICE, bearer, clients
from tests.integration.test_api import Api, transaction

pytestmark = pytest.mark.integration


@pytest.fixture
def api(tmp_path):
    service = Api(tmp_path, max_body_bytes=2_000, api_body_seconds=0.3)
    with service.client:
        yield service


def http_scope(path: str, headers: dict[str, str]) -> dict:
    """A POST's ASGI scope, as uvicorn builds it."""
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip


def call(app, path: str, headers: dict[str, str], chunks: list[bytes], stall: bool = False):
    """One raw ASGI request; returns (status, whether the app asked for the body). `stall`: the client
    announces more body after the last chunk and never sends it."""
    read = []
    sent: list[dict] = []

    async def receive():
        read.append(True)
        index = len(read) - 1
        if index < len(chunks):
            more = stall or index < len(chunks) - 1
            return {"type": "http.request", "body": chunks[index], "more_body": more}
        await asyncio.sleep(3600)  # a client that never sends the rest

    async def send(message):
        sent.append(message)

    scope = http_scope(path, headers)
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], bool(read)


@pytest.mark.parametrize(
    "path", ["/v1/score", "/v1/score/batch", "/v1/feedback", "/v1/jobs", "/admin/retrain"]
)
def test_an_unauthenticated_body_is_never_read(api, path):
    status, read = call(api.client.app, path, {"content-type": "application/json"}, [b"{" * 10_000_000])
    assert (status, read) == (401, False)


def test_a_chunked_body_over_the_limit_is_413_not_422(api):
    chunks = [b'{"transactions": [' + b" " * 1_500, b" " * 1_500, b"]}"]
    status, _ = call(
        api.client.app, "/v1/score/batch", SERVICE | {"content-type": "application/json"}, chunks
    )
    assert status == 413
    status, _ = call(api.client.app, "/v1/feedback", SERVICE | {"content-type": "application/json"}, chunks)
    assert status == 413


def test_a_body_that_stops_arriving_is_408(api):
    headers = SERVICE | {"content-type": "application/json"}
    assert call(api.client.app, "/v1/score", headers, [b'{"V1": '], stall=True)[0] == 408
    assert call(api.client.app, "/v1/score/batch", headers, [b'{"transactions": ['], stall=True)[0] == 408


def test_random_methods_share_one_metric_label(api):
    before = len(api.client.get("/metrics").text)
    methods = ["".join(random.choices(string.ascii_uppercase, k=400)) for _ in range(50)]
    for method in methods:
        assert api.client.request(method, "/v1/model").status_code in (400, 405)
    metrics = api.client.get("/metrics").text
    assert not any(method in metrics for method in methods)
    assert f'method="{OTHER_METHOD}"' in metrics
    assert len(metrics) - before < 5_000  # was ~3.8 MB for 50 methods of 400 characters


def test_explain_needs_its_own_scope(api):
    anonymous = TestClient(api.client.app)
    oracle = anonymous.post("/v1/score?explain=true", json=transaction(), headers=bearer("checkout"))
    assert oracle.status_code == 403
    assert "explain" in oracle.json()["error"]
    batch = {"transactions": [transaction()]}
    assert (
        anonymous.post("/v1/score/batch?explain=true", json=batch, headers=bearer("checkout")).status_code
        == 403
    )
    assert anonymous.post("/v1/score", json=transaction(), headers=bearer("checkout")).status_code == 200
    assert api.client.post("/v1/score?explain=true", json=transaction()).status_code == 200


def test_no_client_configured_means_every_score_is_refused_with_how_to_add_one(tmp_path):
    bare = Api(tmp_path, directory=ClientDirectory(()))
    with bare.client:  # the app's lifespan: what it starts is stopped at the end
        response = bare.anonymous.post("/v1/score", json=transaction(), headers=SERVICE)
    assert response.status_code == 401
    assert "fraud clients add" in response.json()["error"]


def test_docs_and_the_openapi_document_are_off_unless_asked_for(tmp_path):
    closed = Api(tmp_path / "closed")
    with closed.client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert closed.client.get(path).status_code == 404, path
    opened = Api(tmp_path / "open", api_docs=True)
    with opened.client:
        assert opened.client.get("/openapi.json").status_code == 200
        assert opened.client.get("/docs").status_code == 200


def test_the_openapi_document_lists_the_statuses_the_rollout_abort_answers(tmp_path):
    opened = Api(tmp_path, api_docs=True)
    with opened.client:
        document = opened.client.get("/openapi.json").json()
    answers = document["paths"]["/admin/rollout/abort"]["post"]["responses"]
    assert {"200", "202", "401", "403", "404", "409", "503"} <= set(answers)  # 409: the rollout moved


def test_refusals_are_counted_under_their_protected_prefix_not_as_unmatched(api):
    anonymous = TestClient(api.client.app)
    assert anonymous.get("/v1/jobs/some-job").status_code == 401
    assert anonymous.post("/v1/feedback", json={}, headers=bearer("checkout")).status_code == 403
    metrics = api.client.get("/metrics").text
    assert 'route="/v1/jobs",status="401"' in metrics
    assert 'route="/v1/feedback",status="403"' in metrics


def exchange(path: str, headers: dict[str, str], chunks: list[bytes], stall_seconds: float = 0.0):
    """A raw ASGI request to run alongside others on one loop: (receive, send, scope, the answer's status).
    `stall_seconds`: the body's last chunk comes that late (a batch holding its turn meanwhile)."""
    answer: dict[str, int] = {}

    async def receive():
        if not chunks:
            await asyncio.sleep(3600)
        if stall_seconds and len(chunks) == 1:
            await asyncio.sleep(stall_seconds)
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["retry_after"] = dict(message["headers"]).get(b"retry-after")

    scope = http_scope(path, headers)
    return scope, receive, send, answer


def test_batches_wait_their_turn_and_single_scores_do_not(tmp_path):
    """32 clients of 10,000-row batches took the process from 0.3 to 1.6 GB, single scores waiting seconds:
    at most FRAUD_API_BATCH_CONCURRENCY batches are read and parsed at once, a late one gets 503."""
    service = Api(tmp_path, api_batch_concurrency=1, api_batch_wait_seconds=0.3, api_body_seconds=5)
    headers = SERVICE | {"content-type": "application/json"}
    batch = json.dumps({"transactions": [transaction()]}).encode()
    with service.client:
        app = service.client.app
        slow = exchange("/v1/score/batch", headers, [batch[:10], batch[10:]], stall_seconds=1.0)
        late = exchange("/v1/score/batch", headers, [batch])
        single = exchange("/v1/score", headers, [json.dumps(transaction()).encode()])

        async def together():
            first = asyncio.create_task(app(*slow[:3]))
            await asyncio.sleep(0.05)  # the slow batch has its turn
            started = time.monotonic()
            await app(*single[:3])
            single_seconds = time.monotonic() - started
            await app(*late[:3])
            await first
            return single_seconds

        single_seconds = asyncio.run(asyncio.wait_for(together(), 10))
    assert slow[3]["status"] == 200  # its turn was its own: the body deadline had not started before it
    assert (late[3]["status"], late[3]["retry_after"]) == (503, b"1")
    assert single[3]["status"] == 200
    assert single_seconds < 0.3  # no queue for single scores
    # the refusal is a 5xx of /v1/score/batch for the error-rate rule over /v1/*, not an `unmatched` one
    assert 'route="/v1/score/batch",status="503"' in service.client.get("/metrics").text


def test_one_namespace_s_waiting_batches_do_not_hold_up_another_s(tmp_path):
    """Found by a tenant probe: a client holding every batch slot with slow bodies and queueing more kept
    another namespace's feedback waiting until its 503 (turns were first come, first served)."""
    rival_key = "fdk_test-rival-key-slow-batches-000000006"
    directory = ClientDirectory(
        [
            *clients().clients.values(),
            ApiClient("rival", "evil", frozenset({Scope.SCORE}), (ApiKey("rival", key_digest(rival_key)),)),
        ]
    )
    service = Api(
        tmp_path, directory=directory, api_batch_concurrency=1, api_batch_wait_seconds=2.5, api_body_seconds=5
    )
    rival = {"Authorization": f"Bearer {rival_key}", "content-type": "application/json"}
    batch = json.dumps({"transactions": [transaction()]}).encode()
    with service.client:
        app = service.client.app
        slow = [
            exchange("/v1/score/batch", rival, [batch[:10], batch[10:]], stall_seconds=1.0) for _ in range(3)
        ]
        mine = exchange("/v1/score/batch", SERVICE | {"content-type": "application/json"}, [batch])
        ended: list[str] = []

        async def request(name: str, parts) -> None:
            await app(*parts[:3])
            ended.append(name)

        async def together():
            tasks = []
            for n, parts in enumerate(slow):  # the first holds the only slot for 1 s, two more wait
                tasks.append(asyncio.create_task(request(f"rival-{n}", parts)))
                await asyncio.sleep(0.05)
            await asyncio.gather(request("mine", mine), *tasks)

        asyncio.run(asyncio.wait_for(together(), 10))
    # First come, first served: mine would be admitted after ~3 s of the rival's turns, past its 2.5 s: 503.
    assert mine[3]["status"] == 200
    assert ended.index("mine") == 1  # next after the turn that held the slot when it came
    assert [slow[n][3]["status"] for n in range(3)] == [200, 200, 200]


def test_a_single_score_body_is_capped_far_below_a_batch(tmp_path):
    """A 16 MB single-score body (millions of `{}` in an extra field) was ~0.9 s of parsing on the loop."""
    service = Api(tmp_path, api_body_seconds=0.3)  # FRAUD_MAX_BODY_BYTES at its default, 16 MiB
    headers = SERVICE | {"content-type": "application/json", "content-length": str(65 * 1024)}
    with service.client:
        status, read = call(service.client.app, "/v1/score", headers, [b"{"])
        assert (status, read) == (413, False)  # refused before a byte of it is parsed
        assert call(service.client.app, "/v1/score/batch", headers, [b"{"], stall=True)[0] == 408  # not 413
        metrics = service.client.get("/metrics").text
    assert 'route="/v1/score",status="413"' in metrics  # labelled by their routes, though none ran
    assert 'route="/v1/score/batch",status="408"' in metrics


def test_a_client_that_hangs_up_is_499_not_a_server_error(api):
    scope, _, send, answer = exchange("/v1/score/batch", SERVICE | {"content-type": "application/json"}, [])

    async def gone():
        return {"type": "http.disconnect"}

    asyncio.run(asyncio.wait_for(api.client.app(scope, gone, send), 10))
    assert answer["status"] == 499
