"""POST /v1/feedback and the realised-quality gauges through the real app: real capture (Parquet in a local
store), the real indexer and SQLite feedback store; fakes only behind the model registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from fraud_detection.composition import Container
from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.feedback import LabelOutcome
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.entrypoints.api.app import create_app
from fraud_detection.settings import Settings
from tests.api_clients import NAMESPACE, SERVICE, bearer, clients, write_clients
from tests.fakes import FakeModel, FakeModelCache, FakeRegistry
from tests.feedback_fakes import FakeFeedbackStore
from tests.integration.test_api import TOKEN, transaction

pytestmark = pytest.mark.integration
AUTH = SERVICE  # a client with the feedback scope, in the namespace that scored the ids
EVIL_KEY = "fdk_attacker-key-with-its-own-namespace-0005"
FRAUD_V14, LEGIT_V14 = -5.0, 5.0  # version 1 (weight 1) flags negative V14; version 2 (weight -1) positive


class Service:
    def __init__(self, tmp_path, override_store: FakeFeedbackStore | None = None, directory=None, **settings):
        base = {"home": tmp_path, "admin_token": TOKEN, "model_poll_seconds": 0, "feedback_batch_max": 20}
        self.container = Container(Settings(**(base | settings)))
        self.registry = FakeRegistry()
        self.container.adapters.registry.override(providers.Object(self.registry))
        self.container.serving.model_cache.override(providers.Object(FakeModelCache()))
        self.container.batch.model_accelerator.override(providers.Object(ModelAccelerator()))
        if override_store is not None:
            self.container.adapters.feedback_store.override(providers.Object(override_store))
        self.promote(weight=1.0)
        write_clients(tmp_path, directory)
        self.client = TestClient(create_app(self.container), headers=SERVICE)

    def promote(self, weight: float) -> None:
        uri = f"models:/{len(self.registry.versions) + 1}"
        self.registry.uri_models[uri] = FakeModel(weight)
        version = self.registry.register(uri, "run", ModelMetadata("fe-1", 0.5, "d" * 64, {"auprc": 0.9}))
        self.registry.set_alias(CHAMPION, version.version)

    def score(self, *rows: tuple[str | None, float]) -> list[str]:
        body = {"transactions": [transaction(transaction_id=tid, V14=v14) for tid, v14 in rows]}
        response = self.client.post("/v1/score/batch", json=body)
        assert response.status_code == 200, response.text
        return [result["decision"] for result in response.json()["results"]]

    def index(self) -> None:
        """What the indexer thread does within a second, now."""
        self.container.serving.indexed_prediction_log().flush()

    def label(self, *labels: tuple[str, bool], **extra) -> tuple[int, dict]:
        body = {"labels": [{"transaction_id": tid, "is_fraud": is_fraud} | extra for tid, is_fraud in labels]}
        response = self.client.post("/v1/feedback", json=body, headers=AUTH)
        return response.status_code, response.json()


@pytest.fixture
def service(tmp_path):
    api = Service(tmp_path)
    with api.client:
        yield api


def counter(label: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("fraud_feedback_labels_total", {"label": label, "outcome": outcome})
    return value or 0.0


def test_labels_realised_quality_and_metrics_end_to_end(service):
    # version 1 serves a..h; "h" through the single-row endpoint; one row has no transaction id
    assert service.score(("a", FRAUD_V14), ("b", FRAUD_V14), ("c", FRAUD_V14), ("d", LEGIT_V14),
                         ("e", LEGIT_V14), ("f", LEGIT_V14), ("g", FRAUD_V14), (None, FRAUD_V14)) == [
        "fraud", "fraud", "fraud", "legit", "legit", "legit", "fraud", "fraud",
    ]  # fmt: skip
    single = service.client.post("/v1/score", json=transaction(transaction_id="h", V14=LEGIT_V14))
    assert single.json()["decision"] == "legit"
    service.promote(weight=-1.0)  # version 2 becomes champion
    assert (
        service.client.post("/admin/model/reload", headers={"Authorization": f"Bearer {TOKEN}"}).json()[
            "changed"
        ]
        is True
    )
    assert service.score(("x", LEGIT_V14), ("y", FRAUD_V14)) == ["fraud", "legit"]
    service.index()
    new_frauds = counter("fraud", "new")

    labels = {"a": True, "b": True, "c": False, "d": True, "e": False, "f": False, "g": True, "h": True,
              "x": False, "y": True}  # fmt: skip
    status, body = service.label(*labels.items(), ("never-scored", True))
    assert status == 200  # mixed: accepted labels and one unknown id
    assert [(r["transaction_id"], r["outcome"]) for r in body["results"]][-2:] == [
        ("y", "new"), ("never-scored", "unknown"),
    ]  # fmt: skip
    assert body["counts"] == {"new": 10, "duplicate": 0, "conflict": 0, "unknown": 1}
    assert counter("fraud", "new") - new_frauds == 6

    # By hand. v1 decisions a b c g fraud, d e f h legit; labels fraud a b d g h:
    #   TP a b g = 3, FP c = 1, FN d h = 2, TN e f = 2 -> precision 3/4, recall 3/5.
    # v2: x flagged but legit (FP), y passed but fraud (FN) -> precision 0, recall 0.
    stored = service.container.feedback.measure_quality()(days=1)
    v1, v2 = stored.report.models
    assert (v1.model_version, v1.labelled, v1.precision, v1.recall) == (1, 8, 0.75, 0.6)
    assert (v2.model_version, v2.labelled, v2.precision, v2.recall) == (2, 2, 0.0, 0.0)

    metrics = service.client.get("/metrics").text
    for line in (
        'fraud_realised_precision{model_version="1"} 0.75',
        'fraud_realised_recall{model_version="1"} 0.6',
        'fraud_labelled_transactions{model_version="1"} 8.0',
        'fraud_labelled_frauds{model_version="1"} 5.0',
        'fraud_realised_precision{model_version="2"} 0.0',
        'fraud_realised_recall{model_version="2"} 0.0',
        'fraud_labelled_transactions{model_version="2"} 2.0',
    ):
        assert line in metrics
    assert 'fraud_feedback_labels_total{label="fraud",outcome="new"}' in metrics
    assert 'fraud_feedback_labels_total{label="fraud",outcome="unknown"}' in metrics


def test_duplicate_conflict_and_unknown_statuses(service):
    service.score(("a", FRAUD_V14), ("b", LEGIT_V14))
    service.index()
    assert service.label(("a", True))[0] == 200
    status, body = service.label(("a", True))
    assert (status, body["results"][0]["outcome"]) == (200, "duplicate")  # a retry is harmless

    conflicts = counter("legit", "conflict")
    status, body = service.label(("a", False))
    assert status == 409
    assert body["results"] == [{"transaction_id": "a", "label": "legit", "outcome": "conflict"}]
    assert "'a'" in body["error"]
    assert body["problems"] == [
        {"field": "labels[0].transaction_id", "problem": "'a' is already labelled fraud; not changed"}
    ]
    assert counter("legit", "conflict") - conflicts == 1

    status, body = service.label(("nope-1", True), ("nope-2", False))
    assert status == 404
    assert "'nope-1', 'nope-2'" in body["error"]
    assert body["counts"]["unknown"] == 2
    assert service.label(("nope-3", True))[0] == 404  # a single unknown id

    status, body = service.label(("a", False), ("nope-4", True))  # nothing accepted, one conflict
    assert status == 409
    assert [p["field"] for p in body["problems"]] == ["labels[0].transaction_id", "labels[1].transaction_id"]

    status, body = service.label(("b", False), ("a", False))  # one new, one conflict: 200
    assert status == 200
    assert [r["outcome"] for r in body["results"]] == ["new", "conflict"]


def test_the_label_time_is_kept(service):
    service.score(("a", FRAUD_V14))
    service.index()
    at = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    in_paris = at.astimezone(timezone(timedelta(hours=1))).isoformat()
    status, _ = service.label(("a", True), labelled_at=in_paris)
    assert status == 200
    (record,) = service.container.adapters.feedback_store().labels()
    assert record.labelled_at == at
    assert record.labelled_at.utcoffset() == timedelta(0)  # kept in UTC


def test_a_label_older_than_the_retention_is_422_and_nothing_of_the_call_is_recorded(service):
    """A label dated before the feedback retention (an outcome follows its transaction, so that transaction
    too): SQLite kept it, Redis dropped it from its time index at once, and retraining never saw it."""
    service.score(("a", FRAUD_V14), ("b", FRAUD_V14))
    service.index()
    old = (datetime.now(UTC) - timedelta(days=181)).isoformat()
    body = {
        "labels": [
            {"transaction_id": "a", "is_fraud": True},
            {"transaction_id": "b", "is_fraud": True, "labelled_at": old},
        ]
    }
    response = service.client.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == "labels[1].labelled_at"
    assert "older than the feedback retention (180 days, FRAUD_FEEDBACK_RETENTION_DAYS)" in problem["problem"]
    assert service.container.adapters.feedback_store().labels() == []


YESTERDAY_AS_DIGITS = str(int((datetime.now(UTC) - timedelta(days=1)).timestamp()))
BAD = {
    "string boolean": ({"labels": [{"transaction_id": "a", "is_fraud": "yes"}]}, "labels[0].is_fraud"),
    "number boolean": ({"labels": [{"transaction_id": "a", "is_fraud": 1}]}, "labels[0].is_fraud"),
    "missing id": ({"labels": [{"is_fraud": True}]}, "labels[0].transaction_id"),
    "bad id": ({"labels": [{"transaction_id": "a b", "is_fraud": True}]}, "labels[0].transaction_id"),
    "naive time": (
        {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": "2026-03-04T05:06:07"}]},
        "labels[0].labelled_at",
    ),
    "numeric time": (
        {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": 1700000000}]},
        "labels[0].labelled_at",
    ),
    "numeric text time": (  # lax parsing read it as Unix seconds
        {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": YESTERDAY_AS_DIGITS}]},
        "labels[0].labelled_at",
    ),
    "time out of range": (
        {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": "0001-01-01T00:00:00+14:00"}]},
        "labels[0].labelled_at",
    ),
    "future time": (
        {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": "2099-01-01T00:00:00Z"}]},
        "labels[0].labelled_at",
    ),
    "extra field": ({"labels": [{"transaction_id": "a", "is_fraud": True, "x": 1}]}, "labels[0].x"),
    "empty": ({"labels": []}, "labels"),
    "too many": ({"labels": [{"transaction_id": f"t{i}", "is_fraud": True} for i in range(21)]}, "labels"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bodies_are_422_naming_the_field(service, case):
    body, field = BAD[case]
    response = service.client.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    assert field in [problem["field"] for problem in response.json()["problems"]]


def test_a_refused_time_is_said_in_the_projects_words_not_pydantics(service):
    body = {"labels": [{"transaction_id": "a", "is_fraud": True, "labelled_at": "2099-01-01T00:00:00Z"}]}
    response = service.client.post("/v1/feedback", json=body, headers=AUTH)
    (problem,) = response.json()["problems"]
    assert problem["problem"].startswith("2099-01-01"), problem  # it began "Value error, "


def test_a_label_given_twice_in_one_item_is_422_and_nothing_is_recorded(service):
    service.score(("a", 3.0))
    service.index()
    raw = '{"labels": [{"transaction_id": "a", "is_fraud": true, "is_fraud": false}]}'
    headers = AUTH | {"content-type": "application/json"}
    response = service.client.post("/v1/feedback", content=raw, headers=headers)
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == ["labels[0].is_fraud"]
    status, body = service.label(("a", False))
    assert (status, body["results"][0]["outcome"]) == (200, "new")  # the refused one left no label


def test_one_call_labelling_an_id_both_ways_is_422_and_nothing_is_recorded(service):
    """The first label was kept for good and the other answered `conflict` with a 200: a correction later in
    the call was lost."""
    service.score(("a", 3.0), ("b", 3.0))
    service.index()
    body = {
        "labels": [
            {"transaction_id": "a", "is_fraud": True},
            {"transaction_id": "b", "is_fraud": True},
            {"transaction_id": "a", "is_fraud": False},
        ]
    }
    response = service.client.post("/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == "labels[2].is_fraud"
    assert "'a' is labelled legit here and fraud at labels[0]" in problem["problem"]
    assert service.container.adapters.feedback_store().labels() == []
    twice = {"labels": [{"transaction_id": "a", "is_fraud": True}, {"transaction_id": "a", "is_fraud": True}]}
    response = service.client.post("/v1/feedback", json=twice, headers=AUTH)
    assert response.status_code == 200, response.text  # the same label twice is a harmless retry
    assert [r["outcome"] for r in response.json()["results"]] == ["new", "duplicate"]


def test_feedback_needs_a_client_with_the_feedback_scope(service):
    body = {"labels": [{"transaction_id": "a", "is_fraud": True}]}
    anonymous = TestClient(service.client.app)
    assert anonymous.post("/v1/feedback", json=body).status_code == 401
    assert (
        anonymous.post("/v1/feedback", json=body, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    admin = {"Authorization": f"Bearer {TOKEN}"}  # the admin token alone no longer opens feedback
    assert anonymous.post("/v1/feedback", json=body, headers=admin).status_code == 401
    assert anonymous.post("/v1/feedback", json=body, headers=bearer("checkout")).status_code == 403
    assert anonymous.post("/v1/feedback", json=body, headers=bearer("chargebacks")).status_code == 404


def test_a_rescore_by_another_client_cannot_plant_features_on_a_labelled_id(tmp_path):
    """The label-poisoning attack replayed: an attacker scores a victim's transaction id with its own
    features, before and after the victim; the chargeback label lands on the victim's first scoring."""
    victims = clients(NAMESPACE)
    attacker = ApiClient(
        "attacker", "evil", frozenset({Scope.SCORE}), (ApiKey("evil", key_digest(EVIL_KEY)),)
    )
    service = Service(tmp_path, directory=ClientDirectory([*victims.clients.values(), attacker]))
    evil = {"Authorization": f"Bearer {EVIL_KEY}"}
    with service.client:
        row = transaction(transaction_id="victim-1", V14=LEGIT_V14)
        assert service.client.post("/v1/score/batch", json={"transactions": [row]}).status_code == 200
        forged = transaction(transaction_id="victim-1", V14=FRAUD_V14, Amount=999.0)
        for _ in range(2):
            assert service.client.post("/v1/score", json=forged, headers=evil).status_code == 200
        service.client.post("/v1/score", json=forged)  # the victim's own retry with other features
        service.index()
        status, body = service.label(("victim-1", True))
        assert status == 200, body
        (record,) = service.container.adapters.feedback_store().labels()
        assert record.transaction_id == f"{NAMESPACE}:victim-1"
        assert record.scored.decision is False  # the first, legit-looking scoring, not the forged one
        # The attacker's own namespace holds its scorings; it cannot label the victim's id either.
        assert (
            service.client.post(
                "/v1/feedback",
                json={"labels": [{"transaction_id": "victim-1", "is_fraud": False}]},
                headers=evil,
            ).status_code
            == 403
        )


def test_openapi_documents_the_limit_the_statuses_and_the_scope(service):
    document = service.client.app.openapi()
    assert document["components"]["schemas"]["FeedbackIn"]["properties"]["labels"]["maxItems"] == 20
    operation = document["paths"]["/v1/feedback"]["post"]
    assert {"200", "401", "403", "404", "409", "422", "503"} <= set(operation["responses"])
    assert "`feedback` scope" in operation["description"]
    assert "conflicts mixed with unknown ids" in operation["description"]
    assert operation["security"] == [{"HTTPBearer": []}]


def test_no_quality_report_means_no_quality_series(service):
    metrics = service.client.get("/metrics").text
    assert "fraud_realised_precision" not in metrics
    assert "fraud_labelled_transactions" not in metrics


class DownStore(FakeFeedbackStore):
    def add_label(self, transaction_id: str, is_fraud: bool, labelled_at: datetime) -> LabelOutcome:
        raise ServiceUnavailableError("feedback store (Redis): Connection refused")


def test_an_unreachable_feedback_store_is_503_and_scoring_goes_on(tmp_path):
    api = Service(tmp_path, override_store=DownStore())
    with api.client:
        assert api.score(("a", FRAUD_V14)) == ["fraud"]
        status, body = api.label(("a", True))
    assert status == 503
    assert "Connection refused" in body["error"]
