"""The reason an API abort records: the caller's text, Alertmanager's firing alerts, or the default. A body
that is neither is refused (422), nothing aborted: `{"alerts": "firing"}` rolled a rollout back under the
operator's default reason, a number recorded "nan", and a long reason was cut without a word."""

import pytest
from fastapi.exceptions import RequestValidationError

from fraud_detection.entrypoints.api.routes.rollout import DEFAULT_REASON, MAX_REASON, abort_reason


@pytest.mark.parametrize("reason", [None, "", "   "], ids=repr)
def test_no_text_records_the_default(reason):
    assert abort_reason({"reason": reason}) == DEFAULT_REASON
    assert abort_reason({}) == DEFAULT_REASON


def test_the_callers_text_is_kept_whole_up_to_its_limit():
    assert abort_reason({"reason": "latency"}) == "latency"
    assert abort_reason({"reason": "x" * MAX_REASON}) == "x" * MAX_REASON


@pytest.mark.parametrize(
    ("payload", "field", "problem"),
    [
        ({"reason": float("nan")}, "reason", "must be text"),
        ({"reason": 3}, "reason", "must be text"),
        ({"reason": ["x"]}, "reason", "must be text"),
        ({"reason": "x" * (MAX_REASON + 5)}, "reason", f"at most {MAX_REASON} characters"),
        ({"alerts": "firing"}, "alerts", "must be the list of alerts"),
        ({"alerts": {"status": "firing"}}, "alerts", "must be the list of alerts"),
        ({"reasn": "canary alert rate doubled"}, "reasn", 'unknown field: the body is {"reason"'),
        ({"foo": 1}, "foo", "unknown field"),
        ({"reason": "latency", "force": True}, "force", "unknown field"),
    ],
    ids=repr,
)
def test_a_body_that_is_neither_a_reason_nor_a_notification_is_refused(payload, field, problem):
    with pytest.raises(RequestValidationError) as refused:
        abort_reason(payload)
    (error,) = refused.value.errors()
    assert error["loc"] == ("body", field)
    assert problem in error["msg"]


def test_firing_alerts_name_themselves():
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "FraudRolloutCanarySlow"},
            "annotations": {"summary": "p99"},
        },
        {"status": "resolved", "labels": {"alertname": "Other"}},
    ]
    assert abort_reason({"alerts": alerts}) == "alert FraudRolloutCanarySlow: p99"
    assert abort_reason({"alerts": [{"status": "resolved"}]}) is None
    notification = {"receiver": "rollout", "status": "firing", "groupLabels": {}, "alerts": alerts}
    assert abort_reason(notification) == "alert FraudRolloutCanarySlow: p99"  # its other fields are fine
