"""The scoring API in-process (real FastAPI and pydantic; fakes behind the registry and capture ports)."""

import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from fraud_detection.application.batch.patience import OutagePatience
from fraud_detection.composition import Container
from fraud_detection.composition import batch as batch_composition
from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.entrypoints.api.app import create_app, embedded_sweeper
from fraud_detection.entrypoints.api.repeated_keys import PROBLEM
from fraud_detection.infrastructure.local import retrain_launcher
from fraud_detection.settings import Settings
from tests.api_clients import KEYS, NAMESPACE, SERVICE, bearer, clients, write_clients
from tests.fakes import FakeModel, FakeModelCache, FakePredictionLog, FakeRegistry

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token-for-tests-0123456789abcdef"


def transaction(**changes):
    body = {name: 0.1 for name in V_COLUMNS} | {"Amount": 12.5, "Time": 10.0, "transaction_id": "tx-1"}
    return body | changes


class Api:
    def __init__(self, tmp_path, champion: bool = True, directory=None, **settings):
        base = {"home": tmp_path, "admin_token": TOKEN, "model_poll_seconds": 0, "score_batch_max": 5}
        self.container = Container(Settings(**(base | settings)))
        self.registry, self.log = FakeRegistry(), FakePredictionLog()
        self.container.adapters.registry.override(providers.Object(self.registry))
        self.container.serving.prediction_log.override(providers.Object(self.log))
        self.container.serving.model_cache.override(providers.Object(FakeModelCache()))
        self.container.batch.model_accelerator.override(providers.Object(ModelAccelerator()))
        if champion:
            self.promote(weight=1.0)
        write_clients(tmp_path, directory)
        app = create_app(self.container)
        self.client = TestClient(app, headers=SERVICE)
        self.anonymous = TestClient(app)  # no default credentials

    def promote(self, weight: float) -> int:
        uri = f"models:/{len(self.registry.versions) + 1}"
        self.registry.uri_models[uri] = FakeModel(weight)
        version = self.registry.register(uri, "run-1", ModelMetadata("fe-1", 0.5, "d" * 64, {"auprc": 0.9}))
        self.registry.set_alias(CHAMPION, version.version)
        return version.version


@pytest.fixture
def api(tmp_path):
    service = Api(tmp_path)
    with service.client:
        yield service


def test_score_returns_probability_decision_model_and_request_id(api):
    response = api.client.post("/v1/score", json=transaction(V14=-5.0), headers={"X-Request-ID": "abc-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["decision"] == "fraud"
    assert body["fraud_probability"] > 0.99
    assert body["model"] == {"name": "fake-model", "version": 1}
    assert body["request_id"] == "abc-1" == response.headers["X-Request-ID"]
    assert body["transaction_id"] == "tx-1"
    assert body["top_contributions"][0]["feature"] == "V14"
    legit = api.client.post("/v1/score", json=transaction(V14=3.0)).json()
    assert legit["decision"] == "legit"
    assert legit["top_contributions"] is None
    assert len(legit["request_id"]) == 32
    explained = api.client.post("/v1/score?explain=true", json=transaction(V14=3.0)).json()
    assert explained["top_contributions"]
    assert [b.request_id for b in api.log.batches][:1] == ["abc-1"]


def test_batch_scores_every_row_and_refuses_over_the_limit(api):
    rows = [transaction(V14=-5.0, transaction_id="a"), transaction(V14=2.0, transaction_id="b")]
    body = api.client.post("/v1/score/batch", json={"transactions": rows}).json()
    assert [(r["transaction_id"], r["decision"]) for r in body["results"]] == [("a", "fraud"), ("b", "legit")]
    too_many = api.client.post("/v1/score/batch", json={"transactions": [transaction()] * 6})
    assert too_many.status_code == 422
    assert too_many.json()["problems"] == [
        {"field": "transactions", "problem": "6 transactions exceed the limit of 5 per call"}
    ]
    empty = api.client.post("/v1/score/batch", json={"transactions": []})
    assert empty.status_code == 422
    assert empty.json()["problems"][0]["field"] == "transactions"


BAD = {
    "missing field": (transaction() | {"V7": None}, "V7"),
    "extra field": (transaction(colour="red"), "colour"),
    "string number": (transaction(V3="1.5"), "V3"),
    "boolean": (transaction(V3=False), "V3"),
    "negative amount": (transaction(Amount=-1), "Amount"),
    "amount too large": (transaction(Amount=1e9), "Amount"),
    "bad transaction id": (transaction(transaction_id="a b"), "transaction_id"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bodies_are_422_naming_the_field(api, case):
    body, field = BAD[case]
    if case == "missing field":
        body = {k: v for k, v in body.items() if k != "V7"}
    response = api.client.post("/v1/score", json=body)
    assert response.status_code == 422, response.text
    assert field in [p["field"] for p in response.json()["problems"]]


@pytest.mark.parametrize("key", ["body", "query", "header", ""])
def test_an_unknown_key_named_like_a_request_part_is_named(api, key):
    """FastAPI's locations start with "body": keys of those names were dropped with it (`field: null`)."""
    named = key or '""'
    response = api.client.post("/v1/score", json=transaction() | {key: 1})
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == [named]
    rows = [transaction(), transaction() | {key: 1}]
    response = api.client.post("/v1/score/batch", json={"transactions": rows})
    assert [p["field"] for p in response.json()["problems"]] == [f"transactions[1].{named}"]


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch", "/v1/feedback"])
def test_json_nested_past_the_decoders_depth_is_422_not_500(api, path):
    """2 KiB of brackets: the exact repeated-key pass hit Python's recursion limit (a 500, a traceback)."""
    key = {"/v1/score": "Amount", "/v1/score/batch": "transactions", "/v1/feedback": "labels"}[path]
    raw = f'{{"{key}": {"[" * 1_000}{"]" * 1_000}}}'
    caller = "chargebacks" if path == "/v1/feedback" else "checkout"
    headers = {"content-type": "application/json", "Authorization": f"Bearer {KEYS[caller][0]}"}
    response = api.anonymous.post(path, content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert "recursion limit exceeded" in response.json()["problems"][0]["problem"]


def test_a_job_without_a_body_says_the_body_is_missing(api):
    response = api.client.post("/v1/jobs", headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [{"field": None, "problem": "no body: a JSON object is required"}]


@pytest.mark.parametrize(
    ("raw", "content_type", "field"),
    [
        (json.dumps(transaction()).replace('"V1": 0.1', '"V1": NaN'), "application/json", "V1"),
        (json.dumps(transaction()).replace('"V2": 0.1', '"V2": Infinity'), "application/json", "V2"),
        ('{"V1": 0.1,', "application/json", None),
        (json.dumps(transaction()), "text/plain", None),
        ("[]", "application/json", None),
    ],
)
def test_non_finite_malformed_and_wrong_content_type_are_422(api, raw, content_type, field):
    response = api.client.post("/v1/score", content=raw, headers={"content-type": content_type})
    assert response.status_code == 422, response.text
    problems = response.json()["problems"]
    assert problems
    if field:
        assert problems[0]["field"] == field


def repeating(body: dict, key: str, value: object) -> str:
    """`body` as JSON with `key` given a second time, `value` last (what a last-wins parser would keep)."""
    text = json.dumps(body)
    return text[:-1] + f", {json.dumps(key)}: {json.dumps(value)}}}"


@pytest.mark.parametrize(
    ("transaction_id", "key"),
    [("tx-1", "Amount"), ("order:7:tx-1", "Amount"), ("tx-1", "transaction_id"), ("tx-1", "V28")],
    ids=["repeat", "repeat-with-colons-in-the-id", "repeated-id", "repeated-last-v"],
)
def test_a_field_given_twice_is_422_naming_it_and_nothing_is_scored(api, transaction_id, key):
    body = transaction(transaction_id=transaction_id)
    raw = repeating(body, key, "tx-2" if key == "transaction_id" else 9_000.0)
    response = api.client.post("/v1/score", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [{"field": key, "problem": PROBLEM}]
    assert api.log.batches == []


def test_a_batch_row_with_a_field_given_twice_is_422_naming_its_row(api):
    rows = [json.dumps(transaction(transaction_id=f"id:{i}")) for i in range(3)]
    rows[2] = repeating(transaction(transaction_id="id:2"), "V3", 1.0)
    raw = '{"transactions": [' + ", ".join(rows) + "]}"
    response = api.client.post("/v1/score/batch", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [{"field": "transactions[2].V3", "problem": PROBLEM}]
    top = '{"transactions": [' + rows[0] + '], "transactions": [' + rows[1] + "]}"
    response = api.client.post("/v1/score/batch", content=top, headers={"content-type": "application/json"})
    assert response.json()["problems"] == [{"field": "transactions", "problem": PROBLEM}]


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        ("/v1/jobs", '{"input_uri": "{home}/batch/in/a.csv", "output_uri": "{home}/batch/out/a.parquet", '
         '"output_uri": "{home}/batch/out/b.parquet"}', "output_uri"),
        ("/admin/retrain", '{"reason": "a", "reason": "b"}', "reason"),
        ("/admin/rollout/abort", '{"reason": "a", "reason": "b"}', "reason"),
    ],
    ids=["job", "retrain", "rollout-abort"],
)  # fmt: skip
def test_other_bodies_with_a_field_given_twice_are_422_naming_it(api, path, raw, field):
    """Each body would be accepted with either value: only the repeat is wrong."""
    home = api.container.settings().home.resolve()
    headers = {"content-type": "application/json"}
    if path.startswith("/admin"):
        headers["Authorization"] = f"Bearer {TOKEN}"
    client = api.anonymous if path.startswith("/admin") else api.client
    response = client.post(path, content=raw.replace("{home}", str(home)), headers=headers)
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == [field]


@pytest.mark.parametrize(
    ("path", "client", "raw", "field"),
    [
        ("/v1/score/batch", "checkout", '{"transactions": [], "transactions": []}', "transactions"),
        ("/v1/feedback", "chargebacks",
         '{"labels": [{"transaction_id": "a", "is_fraud": true}], "labels": []}', "labels"),
    ],
    ids=["batch", "feedback"],
)  # fmt: skip
def test_a_repeated_key_whose_last_value_is_invalid_is_named_as_repeated(api, path, client, raw, field):
    """pydantic judged the last value first: the answer was "List should have at least 1 item"."""
    headers = {"content-type": "application/json", "Authorization": f"Bearer {KEYS[client][0]}"}
    response = api.anonymous.post(path, content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["problems"] == [{"field": field, "problem": PROBLEM}]


def test_colons_inside_strings_alone_are_not_a_repeat(api):
    body = transaction(transaction_id="a:b:c:d:e:f")
    single = api.client.post(
        "/v1/score", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert single.status_code == 200, single.text
    batch = {"transactions": [body, transaction(transaction_id="x:1")]}
    assert api.client.post("/v1/score/batch", json=batch).status_code == 200


def test_body_over_the_limit_is_413(tmp_path):
    service = Api(tmp_path, max_body_bytes=2_000)
    with service.client:
        big = {"transactions": [transaction()] * 10}
        response = service.client.post("/v1/score/batch", json=big)
    assert response.status_code == 413
    assert "exceeds the limit of 2000 bytes" in response.json()["error"]


def test_admin_needs_the_bearer_token(api):
    assert api.anonymous.get("/admin/models").status_code == 401
    wrong = api.anonymous.get("/admin/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    ok = api.anonymous.get("/admin/models", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert ok.json()[0]["aliases"] == ["champion"]
    assert api.anonymous.get("/admin/models", headers=bearer("operator")).status_code == 200  # admin scope
    assert api.client.get("/admin/models").status_code == 403  # a client without the admin scope


def guarded_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document marks as needing the bearer token, path
    parameters filled in."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if any("HTTPBearer" in requirement for requirement in operation.get("security", [])):
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "job-1", path)))
    return found


def near_misses(key: str) -> dict[str, str | None]:
    return {
        "no header": None,
        "empty": "Bearer ",
        "a prefix": f"Bearer {key[:-1]}",
        "the first 4 bytes": f"Bearer {key[:4]}",
        "one character more": f"Bearer {key}x",
        "other case": f"Bearer {key.upper()}",
        "another scheme": f"Basic {key}",
    }


# The key that opens each guarded route, and one that authenticates but lacks the route's scope.
OPENS = {"/admin": (TOKEN, KEYS["service"][0]), "/v1/feedback": (KEYS["chargebacks"][0], KEYS["checkout"][0]),
         "/v1/jobs": (KEYS["service"][0], KEYS["chargebacks"][0]),
         "/v1/score": (KEYS["checkout"][0], KEYS["chargebacks"][0])}  # fmt: skip


def test_every_guarded_route_refuses_every_near_miss_and_the_wrong_scope(api):
    routes = guarded_routes(api.client.app)
    assert {path for _, path in routes} >= {"/admin/models", "/admin/model/reload", "/admin/retrain",
                                            "/v1/feedback", "/v1/jobs", "/v1/jobs/job-1",
                                            "/v1/score", "/v1/score/batch"}  # fmt: skip
    for method, path in routes:
        key, other_scope = next(keys for prefix, keys in OPENS.items() if path.startswith(prefix))
        for what, header in near_misses(key).items():
            headers = {"Authorization": header} if header else {}
            response = api.anonymous.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (method, path, what, response.text)
        wrong = api.anonymous.request(
            method, path, headers={"Authorization": f"Bearer {other_scope}"}, json={}
        )
        assert wrong.status_code == 403, (method, path, wrong.text)
        assert "scope" in wrong.json()["error"]
        accepted = api.anonymous.request(method, path, headers={"Authorization": f"Bearer {key}"}, json={})
        assert accepted.status_code not in (401, 403), (method, path, accepted.text)


def test_the_admin_token_alone_no_longer_opens_feedback_jobs_or_scoring(api):
    admin = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in (("POST", "/v1/feedback"), ("POST", "/v1/jobs"), ("POST", "/v1/score")):
        assert api.anonymous.request(method, path, headers=admin, json={}).status_code == 401, path


def test_an_admin_token_read_with_a_trailing_newline_still_opens_admin(tmp_path):
    """As a mounted secret file or `echo` hands it over: the newline made a token no request could match."""
    service = Api(tmp_path, admin_token=f"{TOKEN}\n")
    with service.client:
        response = service.anonymous.get("/admin/models", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text


def test_admin_is_disabled_without_a_configured_token(tmp_path):
    no_admins = ClientDirectory(c for c in clients().clients.values() if not c.allows(Scope.ADMIN))
    service = Api(tmp_path, admin_token=None, directory=no_admins)
    with service.client:
        response = service.client.post("/admin/model/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 403
    assert "FRAUD_ADMIN_TOKEN" in response.json()["error"]


def test_reload_and_retrain(api):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    api.promote(weight=2.0)
    reloaded = api.client.post("/admin/model/reload", headers=auth).json()
    assert reloaded["changed"] is True
    assert reloaded["model"]["version"] == 2
    assert api.client.get("/v1/model").json()["version"] == 2
    retrain = api.client.post("/admin/retrain", json={"reason": "drift on V14"}, headers=auth)
    assert retrain.status_code == 202
    assert retrain.json()["event"] == "RetrainRequested"
    published = api.container.adapters.publisher().published
    assert published[-1].reason == "drift on V14"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/retrain", {"reason": "a\u0000b"}, "reason"),  # was a 500 after the event was logged
        ("/admin/rollout/abort", {"reason": "canary\nCRITICAL: forged"}, "reason"),
        ("/v1/jobs", {"input_uri": "{inputs}/x\nCRITICAL: forged\n.csv", "output_uri": "{outputs}/f.parquet"},
         "input_uri"),  # a line of the caller's choosing in the API's log
        ("/v1/jobs", {"input_uri": "{inputs}/x.csv", "output_uri": "{outputs}/f\r.parquet"}, "output_uri"),
        ("/v1/jobs", {"input_uri": "{inputs}/x.csv", "output_uri": "{outputs}/f.parquet", "model": "\u00001"},
         "model"),
    ],
    ids=["retrain-nul", "abort-newline", "job-input-newline", "job-output-return", "job-model-nul"],
)  # fmt: skip
def test_text_that_is_recorded_and_logged_is_refused_with_a_control_character(api, path, body, field):
    roots = api.container.settings().batch_roots
    where = {"inputs": roots.inputs[0], "outputs": roots.outputs[0]}
    body = {key: value.format(**where) for key, value in body.items()}
    admin = path.startswith("/admin")
    headers = {"Authorization": f"Bearer {TOKEN}"} if admin else SERVICE
    response = (api.anonymous if admin else api.client).post(path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == field
    assert "holds a control character (U+00" in problem["problem"]
    assert api.container.adapters.publisher().published == []  # no retrain requested


def test_a_reload_that_loads_no_champion_is_a_5xx_naming_what_serves_on(api):
    """A deploy script's `curl -f .../admin/model/reload` must fail when the new champion did not load:
    503 for a registry that is down (retry later), 502 for an artifact the API refuses."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    broken = api.promote(weight=2.0)
    api.registry.broken.add(broken)
    refused = api.client.post("/admin/model/reload", headers=auth)
    assert refused.status_code == 502, refused.text
    body = refused.json()
    assert body["error"].startswith(f"reload failed: loading fake-model v{broken} (champion) failed")
    assert body["error"].endswith("is corrupt; still serving v1")
    assert body["changed"] is False
    assert body["model"]["version"] == 1  # the old champion serves on
    api.registry.down = True
    down = api.client.post("/admin/model/reload", headers=auth)
    assert down.status_code == 503, down.text
    assert "registry unreachable" in down.json()["error"]
    assert "still serving v1" in down.json()["error"]
    assert api.client.post("/v1/score", json=transaction()).status_code == 200
    api.registry.down = False
    api.registry.broken.clear()
    assert api.client.post("/admin/model/reload", headers=auth).json()["model"]["version"] == broken


def test_a_reload_with_no_champion_registered_is_a_503_not_a_200(tmp_path):
    """The API is not ready (nothing to serve): a deploy script's `curl -f` read the 200 as loaded."""
    service = Api(tmp_path, champion=False)
    with service.client:
        answer = service.client.post("/admin/model/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"].startswith("reload failed: no version has the alias 'champion' yet")
        assert answer.json()["model"] is None
        assert service.client.get("/readyz").status_code == 503


# Stands in for `fraud retrain`: says who it is and ends at once.
QUICK_RETRAIN = """
import os, pathlib, sys
with pathlib.Path(sys.argv[1]).open("a") as out:
    out.write(f"{os.getpid()}\\n")
"""


def zombie_or_child(pid: int) -> str | None:
    """'zombie' if `pid` is an exited child of this process nobody waited for, 'running' if a live child."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None  # reaped (and not reused by now)
    state, parent = stat.rpartition(")")[2].split()[:2]
    if int(parent) != os.getpid():
        return None
    return "zombie" if state == "Z" else "running"


def api_retraining_with(tmp_path, monkeypatch, script_text: str) -> tuple[Api, Path]:
    """An API whose local retrain launcher runs `script_text` (given the path it may write) instead of
    `fraud retrain`: (the API, that path)."""
    script, started = tmp_path / "retrain_script.py", tmp_path / "started.txt"
    script.write_text(script_text)
    monkeypatch.setattr(
        retrain_launcher, "fraud_command", lambda: [sys.executable, str(script), str(started)]
    )
    return Api(tmp_path, retrain_on_events=True), started


def test_each_retrain_the_api_starts_is_reaped_when_it_ends(tmp_path, monkeypatch):
    """/admin/retrain starts a detached child and answers at once; once the child ends it must not stay a
    zombie of the API process (one per call, for as long as the API runs)."""
    service, started = api_retraining_with(tmp_path, monkeypatch, QUICK_RETRAIN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with service.client as client:
        for call in range(1, 4):  # one after the other: while one runs, another request starts nothing
            assert client.post("/admin/retrain", json={"reason": "zombies"}, headers=auth).status_code == 202
            deadline, pids, states = time.monotonic() + 60, [], []
            while time.monotonic() < deadline:  # until this one started, ended and was waited for
                pids = [int(line) for line in started.read_text().split()] if started.exists() else []
                states = [zombie_or_child(pid) for pid in pids]
                if len(pids) == call and not any(states):
                    break
                time.sleep(0.1)
        assert len(pids) == 3, "the three retrains did not all start"
        left = {pid: state for pid, state in zip(pids, states, strict=True) if state}
        assert not left, f"children of the API left behind: {left}"
    assert len(list((tmp_path / "logs").glob("retrain-*.log"))) == 3


SLOW_RETRAIN = """
import pathlib, sys, time
pathlib.Path(sys.argv[1]).touch()
time.sleep(30)
"""


def test_a_retrain_request_while_one_runs_is_409_and_starts_nothing(tmp_path, monkeypatch):
    """It answered 202, as if a retrain would start; only the server log said none did."""
    service, _ = api_retraining_with(tmp_path, monkeypatch, SLOW_RETRAIN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with service.client as client:
        assert client.post("/admin/retrain", json={"reason": "first"}, headers=auth).status_code == 202
        busy = client.post("/admin/retrain", json={"reason": "second"}, headers=auth)
        assert busy.status_code == 409
        assert busy.json()["error"].startswith("a retrain is already running on this host: this request")
        launcher = service.container.adapters.retrain_launcher()
        launcher._child.kill()  # the test's slow stand-in, not a real retrain
        launcher._child.wait()
    assert len(list((tmp_path / "logs").glob("retrain-*.log"))) == 1


def test_readiness_follows_the_model(tmp_path):
    service = Api(tmp_path, champion=False)
    with service.client as client:
        assert client.get("/healthz").json() == {"status": "ok", "model_version": None}
        assert client.get("/readyz").status_code == 503
        heads = [client.head(path) for path in ("/healthz", "/readyz")]  # an uptime checker's HEAD: was 405
        assert [(head.status_code, head.content) for head in heads] == [(200, b""), (503, b"")]
        assert client.post("/v1/score", json=transaction()).status_code == 503
        assert client.get("/v1/model").status_code == 503
        service.promote(weight=1.0)
        client.post("/admin/model/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert client.get("/readyz").json() == {"status": "ready", "model_version": 1}
        assert client.get("/healthz").json() == {"status": "ok", "model_version": 1}
        assert client.head("/readyz").status_code == 200


def test_model_info(api):
    info = api.client.get("/v1/model").json()
    assert info["source"] == "registry"
    assert info["registry_reachable"] is True
    assert info["threshold"] == 0.5
    assert info["feature_version"] == "fe-1"
    assert info["metrics"] == {"auprc": 0.9}


def test_metrics_name_routes_decisions_and_the_model(api):
    api.client.post("/v1/score", json=transaction(V14=-5.0))
    api.client.get("/no/such/path")
    text = api.client.get("/metrics").text
    assert 'fraud_http_requests_total{method="POST",route="/v1/score",status="200"}' in text
    assert 'route="unmatched"' in text
    assert 'fraud_predictions_total{decision="fraud"}' in text
    assert 'fraud_model_info{name="fake-model",source="registry",version="1"} 1.0' in text
    assert "fraud_http_request_duration_seconds_bucket" in text
    assert "fraud_prediction_score_bucket" in text


def test_metrics_say_while_the_clients_file_is_refused(api, tmp_path):
    """A group-writable edit kept the previous clients in force (a revoked key scored) with one log line."""
    assert "fraud_api_clients_refused 0.0" in api.client.get("/metrics").text
    (tmp_path / "api-clients.json").chmod(0o664)
    deadline = time.monotonic() + 10  # the file is checked at most once a second
    while "fraud_api_clients_refused 1.0" not in api.client.get("/metrics").text:
        assert time.monotonic() < deadline, "the refusal never reached /metrics"
        time.sleep(0.2)
    (tmp_path / "api-clients.json").chmod(0o600)
    while "fraud_api_clients_refused 0.0" not in api.client.get("/metrics").text:
        assert time.monotonic() < deadline + 10, "the mended file never cleared the gauge"
        time.sleep(0.2)


def test_jobs_need_the_token_run_in_process_and_report_progress(api):
    from tests.builders import transactions
    from tests.fakes import FakeBatchFiles

    files = FakeBatchFiles()
    roots = api.container.settings().batch_roots  # default: <home>/batch/in and <home>/batch/out
    source, target = f"{roots.inputs[0]}/in.parquet", f"{roots.outputs[0]}/out.parquet"
    files.inputs[source] = transactions(900).drop(columns=["Class"])
    api.container.batch.batch_files.override(providers.Object(files))
    auth = SERVICE  # the jobs scope; the admin token no longer opens file I/O
    job = {"input_uri": source, "output_uri": target, "job_id": "api-job-1"}
    assert api.anonymous.post("/v1/jobs", json=job).status_code == 401
    submitted = api.client.post("/v1/jobs", json=job, headers=auth)
    assert submitted.status_code == 202
    assert submitted.headers["Location"] == "/v1/jobs/api-job-1"
    api.container.batch.job_queue().wait(f"{NAMESPACE}:api-job-1", timeout=30)  # as recorded
    done = api.client.get("/v1/jobs/api-job-1", headers=auth).json()
    assert (done["state"], done["rows_scored"], done["progress"], done["model_version"]) == (
        "succeeded",
        900,
        1.0,
        1,
    )
    assert done["threshold"] == 0.5
    assert len(files.outputs[target]) == 900
    assert api.client.post("/v1/jobs", json=job, headers=auth).status_code == 409
    assert api.client.get("/v1/jobs/nope", headers=auth).status_code == 404
    missing = api.client.post(
        "/v1/jobs", json=job | {"job_id": "j2", "input_uri": f"{roots.inputs[0]}/missing.csv"}, headers=auth
    )
    assert missing.status_code == 202  # accepted, then failed at once with the reason in its status
    api.container.batch.job_queue().wait(f"{NAMESPACE}:j2", timeout=30)
    failed = api.client.get("/v1/jobs/j2", headers=auth).json()
    assert failed["state"] == "failed"
    assert "missing.csv" in failed["error"]
    cancelled = api.client.delete("/v1/jobs/api-job-1", headers=auth).json()
    assert cancelled["state"] == "succeeded"  # a finished job stays as it ended
    csv_named = api.client.post(
        "/v1/jobs", json=job | {"job_id": "j3", "output_uri": f"{roots.outputs[0]}/out.csv"}, headers=auth
    )
    assert csv_named.status_code == 422
    [problem] = csv_named.json()["problems"]
    assert problem["field"] == "output_uri"
    assert "does not end in .parquet" in problem["problem"]
    assert api.client.get("/v1/jobs/j3", headers=auth).status_code == 404  # nothing recorded


class UnrecordableEnds:
    """The real job store, whose `finish` fails while `down`: a run that fails cannot say so."""

    def __init__(self, store) -> None:
        self._store, self.down = store, True

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def finish(self, *args, **kwargs):
        if self.down:
            raise ServiceUnavailableError("cannot write s3://b/jobs/x/outcome.json: Read timeout")
        return self._store.finish(*args, **kwargs)


@pytest.mark.timeout(60)
def test_an_embedded_job_that_could_not_record_its_end_runs_again_and_ends(api, monkeypatch, caplog):
    """Before, its record read `running` over HTTP for ever: nothing but `fraud batch resume` reran it."""
    from tests.builders import transactions
    from tests.fakes import FakeBatchFiles

    caplog.set_level(logging.WARNING)  # a Celery worker started earlier in this process leaves root at ERROR

    monkeypatch.setattr(batch_composition, "RERUN_SECONDS", 0.3)
    files = FakeBatchFiles()
    roots = api.container.settings().batch_roots
    source, target = f"{roots.inputs[0]}/in.parquet", f"{roots.outputs[0]}/out.parquet"
    files.inputs[source] = transactions(900).drop(columns=["Class"])
    api.container.batch.batch_files.override(providers.Object(files))
    no_waits = OutagePatience(2, lambda seconds, stop: stop.is_set())
    api.container.batch.outage_patience.override(providers.Object(no_waits))
    store = UnrecordableEnds(api.container.adapters.job_store())
    api.container.adapters.job_store.override(providers.Object(store))
    api.registry.down = True  # the run fails past its retries, and its failure cannot be recorded
    job = {"input_uri": source, "output_uri": target, "job_id": "orphan"}
    assert api.client.post("/v1/jobs", json=job).status_code == 202
    queue = api.container.batch.job_queue()
    deadline = time.monotonic() + 30
    while "runs again in" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert api.client.get("/v1/jobs/orphan").json()["state"] == "queued"  # open: prepare never got through
    assert queue.holds(f"{NAMESPACE}:orphan")  # due to run again
    api.registry.down, store.down = False, False  # the outage ends
    while queue.holds(f"{NAMESPACE}:orphan") and time.monotonic() < deadline:
        time.sleep(0.05)
    done = api.client.get("/v1/jobs/orphan").json()
    assert (done["state"], done["rows_scored"]) == ("succeeded", 900)
    assert len(files.outputs[target]) == 900
    assert f"batch job {NAMESPACE}:orphan: running it again from where its records stand" in caplog.text


@pytest.mark.timeout(60)
def test_a_job_is_seen_and_cancelled_only_by_clients_of_its_namespace(tmp_path):
    """Any `jobs` client read another's job (paths, row counts) and cancelled it, by an id often guessed
    (`acme-2024-05-01`). Another namespace's job now reads as no job, and its id is free for this one;
    `admin` sees all (another namespace's as `ns:id`); an operator's (CLI) job is the admins'; one recorded
    before owners were is seen by every `jobs` client, as when submitted."""
    from tests.fakes import FakeJobQueue

    rival_key = "fdk_test-rival-key-jobs-in-another-ns-0005"
    directory = ClientDirectory(
        [
            *clients().clients.values(),
            ApiClient("rival", "evil", frozenset({Scope.JOBS}), (ApiKey("rival", key_digest(rival_key)),)),
            ApiClient("auditor", "evil", frozenset({Scope.JOBS, Scope.ADMIN}),
                      (ApiKey("auditor", key_digest(KEYS["operator"][0] + "x")),)),
        ]
    )  # fmt: skip
    service = Api(tmp_path, directory=directory)
    rival, auditor = (
        {"Authorization": f"Bearer {rival_key}"},
        {"Authorization": f"Bearer {KEYS['operator'][0]}x"},
    )
    roots = service.container.settings().batch_roots
    job = {"input_uri": f"{roots.inputs[0]}/in.csv", "output_uri": f"{roots.outputs[0]}/out.parquet"}
    with service.container.batch.job_queue.override(providers.Object(FakeJobQueue())), service.client:
        assert service.client.post("/v1/jobs", json=job | {"job_id": "acme-2024-05-01"}).status_code == 202
        mine = service.client.get("/v1/jobs/acme-2024-05-01")
        theirs = service.client.get("/v1/jobs/acme-2024-05-01", headers=rival)
        cancel = service.client.delete("/v1/jobs/acme-2024-05-01", headers=rival)
        missing = service.client.get("/v1/jobs/no-such-job", headers=rival)
        assert (mine.status_code, theirs.status_code, cancel.status_code) == (200, 404, 404)
        assert theirs.json() == {
            key: json.loads(json.dumps(value).replace("no-such-job", "acme-2024-05-01"))
            for key, value in missing.json().items()
        }  # the same answer as for an id nobody used
        assert service.client.get("/v1/jobs/acme-2024-05-01").json()["state"] == "queued"  # not cancelled
        # An admin of another namespace names it as recorded, `<namespace>:<id>`.
        assert service.client.get("/v1/jobs/acme-2024-05-01", headers=auditor).status_code == 404
        seen = service.client.get("/v1/jobs/acme:acme-2024-05-01", headers=auditor)
        assert (seen.status_code, seen.json()["job_id"]) == (200, "acme:acme-2024-05-01")
        # Each namespace has its own ids: the rival's job of the same id is its own (before: 409).
        theirs_too = service.client.post(
            "/v1/jobs",
            json={**job, "job_id": "acme-2024-05-01", "output_uri": f"{roots.outputs[0]}/r.parquet"},
            headers=rival,
        )
        assert (theirs_too.status_code, theirs_too.headers["Location"]) == (202, "/v1/jobs/acme-2024-05-01")
        outputs = {
            service.client.get("/v1/jobs/acme-2024-05-01", headers=who).json()["output_uri"].rsplit("/", 1)[1]
            for who in ({}, rival)
        }
        assert outputs == {"out.parquet", "r.parquet"}
        submit = service.container.batch.submit_job()
        submit(job["input_uri"], f"{roots.outputs[0]}/op.parquet", "champion", "by-operator")
        assert service.client.get("/v1/jobs/by-operator").status_code == 404
        assert service.client.get("/v1/jobs/by-operator", headers=auditor).status_code == 200
        submit(job["input_uri"], f"{roots.outputs[0]}/old.parquet", "champion", "before-owners")
        # as a version from before owners wrote it
        next(tmp_path.rglob("jobs/before-owners/owner.json")).unlink()
        assert service.client.get("/v1/jobs/before-owners", headers=rival).status_code == 200


def test_namespace_folders_keep_a_clients_jobs_to_its_own_files(tmp_path):
    """FRAUD_BATCH_NAMESPACE_FOLDERS: a `jobs` client named any file under the roots, another tenant's
    included. Now its job reads and writes only under `<root>/<its namespace>/`, with the roots' one answer
    (422, nothing recorded) for anything else; an operator's job still goes anywhere under the roots."""
    from tests.fakes import FakeJobQueue

    service = Api(tmp_path, batch_namespace_folders=True)
    roots = service.container.settings().batch_roots
    mine = {
        "input_uri": f"{roots.inputs[0]}/{NAMESPACE}/in.csv",
        "output_uri": f"{roots.outputs[0]}/{NAMESPACE}/o.parquet",
    }
    theirs = mine | {"input_uri": f"{roots.inputs[0]}/evil/in.csv"}
    shared = mine | {"output_uri": f"{roots.outputs[0]}/o.parquet"}
    with service.container.batch.job_queue.override(providers.Object(FakeJobQueue())), service.client:
        assert service.client.post("/v1/jobs", json=mine | {"job_id": "mine"}).status_code == 202
        refused = (
            ("theirs", theirs, roots.inputs[0], "input_uri"),
            ("shared", shared, roots.outputs[0], "output_uri"),
        )
        for job_id, job, root, field in refused:
            answer = service.client.post("/v1/jobs", json=job | {"job_id": job_id})
            assert answer.status_code == 422, answer.text
            (problem,) = answer.json()["problems"]
            assert (problem["field"], f"namespace '{NAMESPACE}''s" in problem["problem"]) == (field, True)
            assert problem["problem"].endswith(f": {root}/{NAMESPACE})")  # its folder, named
            assert service.client.get(f"/v1/jobs/{job_id}").status_code == 404  # nothing recorded
        operators = service.container.batch.submit_job()(
            theirs["input_uri"], shared["output_uri"], "champion", "by-operator"
        )
        assert operators.request.input_uri == theirs["input_uri"]


def test_an_embedded_api_runs_the_jobs_a_restart_left_open(tmp_path):
    """A job recorded and never run to its end (the process that ran it stopped): the API's sweeper finds it
    idle in two looks and runs it here. Before, its record stayed `queued` for ever over HTTP."""
    from tests.builders import transactions
    from tests.fakes import FakeBatchFiles, FakeJobQueue

    service = Api(tmp_path, batch_sweep_seconds=1)
    files = FakeBatchFiles()
    roots = service.container.settings().batch_roots
    source, target = f"{roots.inputs[0]}/in.parquet", f"{roots.outputs[0]}/out.parquet"
    files.inputs[source] = transactions(900).drop(columns=["Class"])
    service.container.batch.batch_files.override(providers.Object(files))
    with service.container.batch.job_queue.override(providers.Object(FakeJobQueue())):  # the process gone
        service.container.batch.submit_job()(source, target, "champion", "left-open", NAMESPACE)
    with service.client:
        deadline = time.monotonic() + 30
        while (state := service.client.get("/v1/jobs/left-open").json()["state"]) != "succeeded":
            assert time.monotonic() < deadline, f"still {state}"
            time.sleep(0.1)
    assert len(files.outputs[target]) == 900


def test_an_api_with_a_broker_leaves_sweeping_to_the_workers(tmp_path):
    service = Api(tmp_path, batch_sweep_seconds=1, broker_url="redis://127.0.0.1:9/0")
    assert embedded_sweeper(service.container) is None
    embedded = Api(tmp_path / "embedded", batch_sweep_seconds=1)
    sweeper = embedded_sweeper(embedded.container)
    assert sweeper is not None
    sweeper.stop()
    assert embedded_sweeper(Api(tmp_path / "off", batch_sweep_seconds=0).container) is None


def test_jobs_answer_503_when_the_queue_is_down(api):
    from tests.builders import transactions
    from tests.fakes import FakeBatchFiles, FakeJobQueue

    files = FakeBatchFiles()
    roots = api.container.settings().batch_roots
    source, target = f"{roots.inputs[0]}/in.parquet", f"{roots.outputs[0]}/out.parquet"
    files.inputs[source] = transactions(100).drop(columns=["Class"])
    api.container.batch.batch_files.override(providers.Object(files))
    api.container.batch.job_queue.override(providers.Object(FakeJobQueue(down=True)))
    job = {"input_uri": source, "output_uri": target, "job_id": "down-1"}
    response = api.client.post("/v1/jobs", json=job, headers=SERVICE)
    assert response.status_code == 503
    assert "unreachable" in response.json()["error"]
    assert api.client.get("/v1/jobs/down-1", headers=SERVICE).status_code == 404
    assert not (api.container.settings().home / "store" / "jobs" / "down-1").exists()  # not even a folder


@pytest.mark.parametrize(
    ("input_uri", "output_uri"),
    [
        ("{inputs}/in.parquet", "/tmp/x"),  # attack: overwrite any file the process can reach
        ("{inputs}/in.parquet", "{home}/mlflow.db"),  # attack: the registry (the next start failed)
        ("{inputs}/in.parquet", "{home}/store/jobs/victim/outcome.json"),  # attack: a job's outcome
        ("{inputs}/in.parquet", "{home}/serving/served-model.json"),  # attack: the served model
        ("{inputs}/in.parquet", "{outputs}/../../mlflow.db"),  # attack: `..` out of the output root
        ("{inputs}/in.parquet", "s3://any-bucket/x.parquet"),  # attack: S3 outside the roots
        ("/etc/passwd", "{outputs}/x.parquet"),  # attack: input existence oracle
        ("/etc/no-such-file", "{outputs}/x.parquet"),
    ],
)
def test_jobs_outside_the_batch_roots_answer_422_and_record_nothing(api, tmp_path, input_uri, output_uri):
    roots = api.container.settings().batch_roots
    where = {"home": tmp_path.resolve(), "inputs": roots.inputs[0], "outputs": roots.outputs[0]}
    job = {
        "input_uri": input_uri.format(**where),
        "output_uri": output_uri.format(**where),
        "job_id": "attack",
    }
    response = api.client.post("/v1/jobs", json=job, headers=SERVICE)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]  # it said `problems: []`, naming no field
    refused = "input" if input_uri.startswith("/etc") else "output"
    assert problem["field"] == f"{refused}_uri"
    assert "not found or not allowed" in problem["problem"]
    assert f"FRAUD_BATCH_{refused.upper()}_ROOTS" in problem["problem"]
    assert api.client.get("/v1/jobs/attack", headers=SERVICE).status_code == 404  # nothing recorded


@pytest.mark.parametrize(
    ("field", "job"),
    [
        ("input_uri", {"input_uri": "in.csv", "output_uri": "{outputs}/x.parquet"}),
        ("input_uri", {"input_uri": "./batch/in/in.csv", "output_uri": "{outputs}/x.parquet"}),
        ("output_uri", {"input_uri": "{inputs}/in.csv", "output_uri": "out/x.parquet"}),
    ],
)
def test_a_relative_path_over_http_is_refused_naming_its_field(api, field, job):
    """Over HTTP there is no working folder: the API neither guesses one (the server's, a root) nor gives
    the uniform not-allowed answer, but says which field is relative and what to send instead."""
    roots = api.container.settings().batch_roots
    (Path(roots.inputs[0])).mkdir(parents=True, exist_ok=True)
    (Path(roots.inputs[0]) / "in.csv").write_text("Time,Amount\n0,1\n")  # exists under the first root
    where = {"inputs": roots.inputs[0], "outputs": roots.outputs[0]}
    body = {key: value.format(**where) for key, value in job.items()} | {"job_id": "relative"}
    response = api.client.post("/v1/jobs", json=body, headers=SERVICE)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == field
    setting = "FRAUD_BATCH_INPUT_ROOTS" if field == "input_uri" else "FRAUD_BATCH_OUTPUT_ROOTS"
    assert f"'{body[field]}' is a relative path" in problem["problem"]
    assert f"give an absolute path under {setting} or an s3:// URI" in problem["problem"]
    assert api.client.get("/v1/jobs/relative", headers=SERVICE).status_code == 404  # nothing recorded
