"""Schemathesis over the OpenAPI document: generated requests (valid and invalid: positive and negative
generation) get no 5xx, and responses match the documented schemas (status codes, content types, bodies).

Driven through its Python API with Hypothesis directly: schemathesis' pytest plugin does not run under
pytest 9 here (`'Function' object has no attribute '_nodeid'`)."""

from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from fraud_detection.domain.feedback import future_label_problem, stale_label_problem
from fraud_detection.settings import Settings
from tests.api_clients import SERVICE
from tests.integration.test_api import TOKEN, Api

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLES = 100


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    api = Api(tmp_path_factory.mktemp("schemathesis"), api_docs=True)
    api.container.serving.champion_loader().refresh()  # what the lifespan does; schemathesis' calls skip it
    return api


def operations(service):
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_is_fuzzed(service):
    labels = {f"{op.method.upper()} {op.path}" for op in operations(service)}
    assert {"POST /v1/score", "POST /v1/score/batch", "GET /v1/model", "POST /admin/model/reload",
            "POST /admin/retrain", "GET /admin/models", "GET /healthz", "GET /readyz"} <= labels  # fmt: skip


def credentials(case: schemathesis.Case, headers: dict[str, str]) -> dict[str, str]:
    """The valid key, unless the negative case under test is the Authorization header itself (missing or
    malformed): that one must be sent as generated, and refused."""
    data = case.meta.phase.data if case.meta else None
    mutated = {getattr(data, "parameter", None)}
    mutated |= {getattr(m, "parameter", None) for m in getattr(data, "mutations", None) or ()}
    return {} if "Authorization" in mutated else headers


RETENTION_DAYS = Settings.model_fields["feedback_retention_days"].default  # the fuzzed service's


def refused_by_the_clock(case: schemathesis.Case) -> bool:
    """A label time ahead of the server's clock (or before year 1 in UTC), or older than the feedback
    retention, is rightly refused (422): a rule relative to now, which no schema can state. Other feedback
    cases keep the acceptance check."""
    labels = case.body.get("labels") if isinstance(case.body, dict) else None
    for label in labels if isinstance(labels, list) else ():
        at = label.get("labelled_at") if isinstance(label, dict) else None
        try:
            moment = datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            continue
        if moment is None or not moment.tzinfo:
            continue
        now = datetime.now(UTC)
        if future_label_problem(moment, now) or stale_label_problem(moment, now, RETENTION_DAYS):
            return True
    return False


def labels_an_id_both_ways(case: schemathesis.Case) -> bool:
    """One call giving an id both labels is rightly refused (422): no schema can say that either."""
    labels = case.body.get("labels") if isinstance(case.body, dict) else None
    given: dict[str, set[bool]] = {}
    for label in labels if isinstance(labels, list) else ():
        named = isinstance(label, dict) and isinstance(label.get("transaction_id"), str)
        if named and isinstance(label.get("is_fraud"), bool):
            given.setdefault(label["transaction_id"], set()).add(label["is_fraud"])
    return any(len(values) > 1 for values in given.values())


def fuzz(operation, mode: GenerationMode, checked: list[int]):
    """The Hypothesis test of one operation, counting the cases it sent."""
    # The admin token for /admin, a client with every other scope elsewhere.
    headers = {"Authorization": f"Bearer {TOKEN}"} if operation.path.startswith("/admin") else SERVICE
    # A job's input and output must sit under the configured batch roots, which no schema can state:
    # a schema-valid location elsewhere is rightly refused (422), so acceptance is not checked there.
    excluded = [positive_data_acceptance] if operation.label == "POST /v1/jobs" else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        unstated = (
            [positive_data_acceptance] if refused_by_the_clock(case) or labels_an_id_both_ways(case) else []
        )
        case.call_and_validate(headers=credentials(case, headers), excluded_checks=excluded + unstated)
        checked[0] += 1

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_responses_match_the_schema(service, mode):
    checked = [0]
    for operation in operations(service):
        try:
            fuzz(operation, mode, checked)()
        except Unsatisfiable:  # nothing invalid to send (e.g. GET /healthz has no inputs)
            assert mode is GenerationMode.NEGATIVE
    assert checked[0] >= 8
