"""The reason an API abort records: the caller's text, Alertmanager's firing alerts, or the default; a
null, NaN or number recorded "None" or "nan" in the rollout's audit history."""

import pytest

from fraud_detection.entrypoints.api.routes.rollout import DEFAULT_REASON, MAX_REASON, abort_reason


@pytest.mark.parametrize("reason", [None, float("nan"), 3, "", "   ", ["x"]], ids=repr)
def test_no_text_records_the_default(reason):
    assert abort_reason({"reason": reason}) == DEFAULT_REASON


def test_the_callers_text_is_kept_up_to_its_limit():
    assert abort_reason({"reason": "latency"}) == "latency"
    assert abort_reason({"reason": "x" * (MAX_REASON + 5)}) == "x" * MAX_REASON
    assert abort_reason({}) == DEFAULT_REASON


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
