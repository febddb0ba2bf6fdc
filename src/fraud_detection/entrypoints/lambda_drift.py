"""AWS Lambda entry point of the drift check: `handler(event, context)`.

Deployed as a container image (pandas, pyarrow and scipy exceed the zip limit) and started by an EventBridge
schedule. Settings come from the function's environment like any other process: FRAUD_STORAGE_URI (the
bucket holding captured predictions and reference profiles), FRAUD_EVENT_BUS (where DriftDetected goes),
FRAUD_MODEL_NAME. The handler needs neither MLflow nor Prefect: profiles live in the bucket.

The event may carry the window, at its top level or under `detail` (an EventBridge rule's input):
    {"hours": 24, "last_rows": 5000, "publish": true}
Before the check, the handler merges each closed hour of the last `compact_hours` (48) of captured files into
one (compaction.py), spending at most `compact_seconds` (120) of the function's 300 s; `"compact": false`
skips it. A failed compaction is logged and the check runs anyway: upkeep must not stop monitoring.
Bad event input or a bad setting returns {"status": "error", ...} rather than raising, since a retry would
fail the same way; an unreachable bucket or bus raises, so Lambda's retry policy applies.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fraud_detection.application.drift.check import DriftWindowSpec
from fraud_detection.composition import Container, get_container
from fraud_detection.domain.compaction import BUDGET_SECONDS, LOOKBACK_HOURS
from fraud_detection.domain.errors import ConfigurationError, ServiceUnavailableError
from fraud_detection.domain.windows import MAX_WINDOW_HOURS

logger = logging.getLogger(__name__)
logging.getLogger().setLevel(logging.INFO)  # Lambda's root handler drops INFO by default


class DriftCheckRequest(BaseModel):
    # strict: `{"hours": true}` was one hour, `"2"` two; JSON numbers and booleans only, as they are
    model_config = ConfigDict(extra="forbid", strict=True)

    hours: float | None = Field(
        None, gt=0, le=MAX_WINDOW_HOURS, description="Window: the last N hours (default: the setting)."
    )
    last_rows: int | None = Field(None, ge=1, description="Only the latest N rows of the window.")
    publish: bool = True
    compact: bool = True
    compact_hours: float = Field(
        LOOKBACK_HOURS, gt=0, le=MAX_WINDOW_HOURS, description="Merge the closed hours of the last N hours."
    )
    compact_seconds: float = Field(BUDGET_SECONDS, gt=0, description="Start no hour's merge after this long.")


def handler(event: dict[str, Any] | None, context: object = None) -> dict[str, Any]:
    if event is not None and not isinstance(event, dict):  # a bare number or list: a TypeError before
        logger.error("drift check refused: the event is a %s, not a JSON object", type(event).__name__)
        return {
            "status": "error",
            "error": f"invalid event: a JSON object is needed, got {type(event).__name__}",
        }
    try:
        request = DriftCheckRequest.model_validate(_window_fields(event or {}))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        logger.error("drift check refused: %s", problems)
        return {"status": "error", "error": f"invalid event: {problems}"}
    container = get_container()  # reused across warm invocations
    try:
        settings = container.settings()
    except ConfigurationError as error:  # the function's environment: a retry would fail the same way
        logger.error("drift check refused: %s", error)
        return {"status": "error", "error": str(error)}
    compaction = _compact(container, request) if request.compact else None
    hours = request.hours or settings.drift_window_hours
    spec = DriftWindowSpec.last_hours(hours, last_rows=request.last_rows)
    outcome = container.drift.check()(spec, publish=request.publish)  # outages raise: Lambda retries
    report = outcome.report
    return {
        "status": report.status,
        "reason": report.reason,
        "model": {"name": report.model_name, "version": report.model_version},
        "window_rows": report.window.rows,
        "model_at_risk": report.at_risk,
        "evidence": list(report.fired_evidence),
        "input_drift": report.input_drift,
        "drifted_inputs": list(report.drifted_inputs),
        "report": outcome.location,
        "event": outcome.event.kind if outcome.event else None,
        "compaction": compaction,
    }


def _compact(container: Container, request: DriftCheckRequest) -> dict[str, Any]:
    try:
        summary = container.drift.compact()(request.compact_hours, request.compact_seconds)
    except ServiceUnavailableError:
        # The store is down: the check reads the same store and would wait out its retries again (a hung
        # S3 took the function past its 300 s limit); raised, Lambda retries the invocation
        raise
    except Exception as error:  # upkeep: the drift check below still runs, and the next hour retries
        logger.exception("capture compaction failed; checking drift anyway")
        return {"error": f"{type(error).__name__}: {error}"}
    return summary.to_dict()


def _window_fields(event: dict[str, Any]) -> dict[str, Any]:
    """A scheduled EventBridge event wraps everything in an envelope (source, detail-type, detail...)."""
    if "detail-type" in event or "source" in event:
        detail = event.get("detail") or {}
        return detail if isinstance(detail, dict) else {"detail": detail}
    return event
