"""How the API reads bodies: a limit per route (a batch's bodies are large, every other route's a few
fields), feedback parsed off the event loop, Content-Encoding refused, non-JSON bodies named as such, and
the OpenAPI document listing what the body checks answer."""

import asyncio
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.entrypoints.api.app import FEEDBACK_LABEL_MAX_BYTES, SMALL_BODY_MAX_BYTES
from fraud_detection.entrypoints.api.routes import feedback
from tests.api_clients import SERVICE
from tests.integration.test_api import TOKEN, Api, transaction

pytestmark = pytest.mark.integration
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"content-type": "application/json"}
JOB = {"input_uri": "/data/in.csv", "output_uri": "/data/out.parquet"}


@pytest.fixture
def api(tmp_path):
    service = Api(tmp_path, feedback_batch_max=1_000)  # FRAUD_MAX_BODY_BYTES at its default, 16 MiB
    with service.client:
        yield service


def escaped(text: str) -> str:
    """`text` written wholly in JSON's `\\u` escapes: 6 bytes a character."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def junk(route_body: dict, size: int) -> bytes:
    """`route_body` padded with an extra field of `{}`s up to ~`size` bytes (a 16 MB one stalled the loop)."""
    pad = ",".join(["{}"] * (size // 3))
    return json.dumps(route_body).encode()[:-1] + b', "pad": [' + pad.encode() + b"]}"


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/v1/score", SERVICE, transaction()),
        ("/v1/jobs", SERVICE, JOB),
        ("/admin/retrain", ADMIN, {"reason": "drift"}),
        ("/admin/rollout/abort", ADMIN, {"reason": "canary"}),
    ],
)
def test_a_route_whose_body_is_a_few_fields_refuses_one_over_64_kib_unread(api, path, headers, body):
    answer = api.client.post(path, content=junk(body, SMALL_BODY_MAX_BYTES + 1_000), headers=headers | JSON)
    assert answer.status_code == 413, answer.text
    assert f"exceeds the limit of {SMALL_BODY_MAX_BYTES} bytes" in answer.json()["error"]
    read = api.client.post(path, content=junk(body, 30_000), headers=headers | JSON)
    assert read.status_code in {404, 422}, read.text  # read: an extra field, or no rollout to abort


def test_feedback_takes_a_full_call_of_long_escaped_ids_and_refuses_junk_past_its_share(api):
    """1,000 labels (FRAUD_FEEDBACK_BATCH_MAX here), each id 128 characters written as `\\u` escapes, with
    a time, pretty-printed: within the limit. The same call padded past 2 KiB a label: 413."""
    at = json.dumps((datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="microseconds"))
    indent = "\n" + " " * 8
    labels = [
        f'    {{{indent}"transaction_id": "{escaped(f"{i:04d}" + "a" * 124)}",{indent}"is_fraud": false,'
        f'{indent}"labelled_at": {at}\n    }}'
        for i in range(1_000)
    ]
    body = ('{\n  "labels": [\n' + ",\n".join(labels) + "\n  ]\n}").encode()
    assert len(body) > 850_000
    assert len(json.loads(body)["labels"][0]["transaction_id"]) == 128
    answer = api.client.post("/v1/feedback", content=body, headers=SERVICE | JSON)
    assert answer.status_code == 404, answer.text  # read, parsed, every id unknown: nothing was scored
    limit = SMALL_BODY_MAX_BYTES + 1_000 * FEEDBACK_LABEL_MAX_BYTES
    too_big = api.client.post(
        "/v1/feedback", content=junk({"labels": []}, limit + 10), headers=SERVICE | JSON
    )
    assert too_big.status_code == 413, too_big.text
    assert f"exceeds the limit of {limit} bytes" in too_big.json()["error"]


def test_a_feedback_body_is_parsed_and_checked_off_the_event_loop(api, monkeypatch):
    """FastAPI parsed it on the loop, then the repeated-key check parsed it again there: a 16 MB body of
    junk held every probe and single score for ~4 s."""
    on_loop: list[bool] = []
    parse = feedback.parse_body

    def spy(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread runs no loop
            on_loop.append(False)
        return parse(*args, **kwargs)

    monkeypatch.setattr(feedback, "parse_body", spy)
    body = {"labels": [{"transaction_id": "t-1", "is_fraud": True, "is_fraud": False}]}  # noqa: F601
    raw = b'{"labels": [{"transaction_id": "t-1", "is_fraud": true, "is_fraud": false}]}'
    assert body  # the dict literal above keeps the last; the bytes keep both
    answer = api.client.post("/v1/feedback", content=raw, headers=SERVICE | JSON)
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"][0]["field"] == "labels[0].is_fraud"  # the repeat, found off the loop
    assert on_loop == [False]


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/v1/feedback", SERVICE, {"labels": [{"transaction_id": "a", "is_fraud": True}]}),
        ("/v1/jobs", SERVICE, JOB),
        ("/admin/retrain", ADMIN, {"reason": "drift"}),
    ],
)
def test_a_body_sent_as_another_content_type_is_refused_naming_the_content_type(api, path, headers, body):
    answer = api.client.post(path, content=json.dumps(body), headers=headers | {"content-type": "text/plain"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["problems"] == [{"field": None, "problem": "Content-Type must be application/json"}]


@pytest.mark.parametrize(("path", "headers"), [("/v1/jobs", SERVICE), ("/admin/rollout/abort", ADMIN)])
def test_malformed_json_names_the_decoders_finding_not_an_index(api, path, headers):
    """It read `{"field": "[12]", "problem": "JSON decode error"}`: a character offset as a list index."""
    answer = api.client.post(path, content=b'{"reason": [}', headers=headers | JSON)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["field"] is None
    assert problem["problem"].startswith("Invalid JSON: ")
    assert problem["problem"].endswith(" at character 12")


def test_a_route_without_a_body_ignores_one(api):
    """A repeated key in a body the route never reads was a 422, while any other junk was ignored."""
    for junk_body in (b'{"a": 1, "a": 2}', b"not json"):
        answer = api.client.post("/admin/model/reload", content=junk_body, headers=ADMIN | JSON)
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_415_whatever_its_bytes(api, encoding):
    """The header was ignored: a gzip body got "Invalid JSON", a plain body declared as gzip was scored."""
    plain = json.dumps(transaction()).encode()
    for content in (gzip.compress(plain), plain):
        answer = api.client.post(
            "/v1/score", content=content, headers=SERVICE | JSON | {"content-encoding": encoding}
        )
        assert answer.status_code == 415, answer.text
        assert f"Content-Encoding '{encoding}' is not supported" in answer.json()["error"]
    identity = SERVICE | JSON | {"content-encoding": "identity"}
    assert api.client.post("/v1/score", content=plain, headers=identity).status_code == 200


def test_the_openapi_document_lists_the_body_checks_answers(tmp_path):
    service = Api(tmp_path, api_docs=True)
    with service.client:
        paths = service.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/score", "/v1/score/batch", "/v1/feedback", "/v1/jobs", "/admin/retrain",
                 "/admin/rollout/abort"):  # fmt: skip
        assert {"408", "413", "415", "422"} <= set(paths[path]["post"]["responses"]), path
    assert "64 KiB" in paths["/v1/score"]["post"]["responses"]["413"]["description"]
    for path in ("/v1/score/batch", "/v1/feedback"):
        busy = paths[path]["post"]["responses"]["503"]
        assert "FRAUD_API_BATCH_WAIT_SECONDS" in busy["description"], path
        assert "Retry-After" in busy["headers"], path
