"""Request and response bodies. Strict: no string numbers, no booleans as numbers, no NaN/Infinity, no
unknown fields, so a malformed client fails loudly (422) instead of being scored on garbage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic.config import JsonDict

from fraud_detection.domain.batch_roots import Direction, is_relative_path
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import TRANSACTION_ID
from fraud_detection.domain.schema import AMOUNT, TIME, V_COLUMNS
from fraud_detection.domain.scoring_input import ScoringInput
from fraud_detection.domain.text import ONE_LINE_PATTERN, control_character_problem

STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
# In the OpenAPI document only: the validators refuse a control character with a message of their own.
ONE_LINE: JsonDict = {"pattern": ONE_LINE_PATTERN}


class TransactionBase(BaseModel):
    """The fields every transaction body has; `transaction_model` adds V1..V28 and the app's limits."""

    model_config = STRICT

    transaction_id: str | None = Field(
        None, min_length=1, max_length=128, pattern=TRANSACTION_ID.pattern,
        description="The client's id, echoed back and kept with the captured prediction (for feedback).",
    )  # fmt: skip
    Time: float | None = Field(None, description="Seconds since the start of the client's period.")
    Amount: float = Field(description="Transaction amount in euros.")

    def inputs(self) -> list[float]:
        """V1..V28, Amount: the scoring inputs in the domain's order."""
        values = self.__dict__
        return [values[name] for name in SCORING_INPUTS]


_V_FIELDS: dict[str, Any] = {name: (float, Field(description="PCA component.")) for name in V_COLUMNS}


def transaction_model(rules: ScoringInput) -> type[TransactionBase]:
    """One app's transaction body, bounded by its scoring-input rules (built from its settings when the app
    is), so FRAUD_VALIDATION_AMOUNT_MAX is enforced by the schema and stated in the OpenAPI document."""
    fields = TransactionBase.model_fields
    bounded: dict[str, Any] = {
        name: (fields[name].annotation, Field(fields[name].default, ge=bounds.low, le=bounds.high,
                                              description=fields[name].description))
        for name, bounds in ((TIME, rules.time), (AMOUNT, rules.amount))
    }  # fmt: skip
    return create_model(
        "TransactionIn",
        __base__=TransactionBase,
        __doc__="One card transaction to score.",
        **bounded,
        **_V_FIELDS,
    )


def inputs_matrix(transactions: Sequence[TransactionBase]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 29) scoring inputs and (n,) times (NaN where absent)."""
    inputs = np.array([t.inputs() for t in transactions], dtype=np.float64)
    times = np.array([np.nan if t.Time is None else t.Time for t in transactions], dtype=np.float64)
    return inputs, times


class BatchIn(BaseModel):
    """The template of one app's batch body (`bodies.limited` caps it and types its items)."""

    model_config = STRICT
    transactions: list[TransactionBase] = Field(
        min_length=1, description="At most FRAUD_SCORE_BATCH_MAX (default 10,000) transactions."
    )


class Contribution(BaseModel):
    feature: str
    contribution: float = Field(description="Contribution to the log-odds (LightGBM TreeSHAP).")


class ModelRef(BaseModel):
    name: str
    version: int


class ScoreItem(BaseModel):
    transaction_id: str | None
    fraud_probability: float
    decision: Literal["fraud", "legit"]
    top_contributions: list[Contribution] | None = Field(
        description="Why: for every fraud decision, and for all rows when `explain=true`; else null."
    )


class ScoreOut(ScoreItem):
    request_id: str
    threshold: float = Field(description="The threshold of the model that answered.")
    model: ModelRef = Field(
        description="The version that answered: the champion, or the challenger for a canary transaction."
    )


class BatchItem(ScoreItem):
    model_version: int = Field(
        description="The version that answered this transaction: the batch's `model` (the champion), or the "
        "challenger for a canary transaction (decided at the `canary` threshold)."
    )


class CanaryRef(BaseModel):
    model: ModelRef
    threshold: float = Field(description="The threshold the challenger's rows were decided at.")


class BatchScoreOut(BaseModel):
    request_id: str
    threshold: float = Field(description="The champion's threshold.")
    model: ModelRef = Field(description="The champion.")
    canary: CanaryRef | None = Field(
        description="The challenger that answered some rows during a canary (their `model_version`), else "
        "null: without it, a client checking decisions against `threshold` found canary rows that broke it."
    )
    results: list[BatchItem]


class ModelInfo(BaseModel):
    name: str
    version: int
    aliases: list[str]
    source: Literal["registry", "local-cache"] = Field(
        description="local-cache: the registry was unreachable when this process loaded its model."
    )
    registry_reachable: bool | None
    loaded_at: float
    registered_at: str
    run_id: str | None
    feature_version: str
    threshold: float
    dataset_id: str
    metrics: dict[str, float | None]


class ModelVersionOut(BaseModel):
    version: int
    aliases: list[str]
    registered_at: str
    run_id: str | None
    tags: dict[str, str]


class ReloadOut(BaseModel):
    changed: bool
    detail: str
    model: ModelInfo | None


class ReloadFailedOut(BaseModel):
    """A reload that did not load the registry's champion; `model` is what serves on (null: nothing)."""

    error: str
    changed: bool
    model: ModelInfo | None


class RetrainIn(BaseModel):
    model_config = STRICT
    reason: str = Field("requested by an operator", min_length=1, max_length=500, json_schema_extra=ONE_LINE)

    @field_validator("reason")
    @classmethod
    def _one_line(cls, reason: str) -> str:
        return one_line_only(reason)


class RetrainOut(BaseModel):
    event: str
    reason: str
    occurred_at: str


class Problem(BaseModel):
    field: str | None
    problem: str


class ErrorOut(BaseModel):
    error: str
    problems: list[Problem] = []


Responses = dict[int | str, dict[str, Any]]


def body_refusals(limit: str) -> Responses:
    """What the body middleware answers before a route runs (middleware.BodySizeLimit), for the OpenAPI
    document of a route that takes a body no larger than `limit`."""
    return {
        408: {"model": ErrorOut, "description": "The body did not arrive within FRAUD_API_BODY_SECONDS."},
        413: {"model": ErrorOut, "description": f"Body over {limit}."},
        415: {"model": ErrorOut, "description": "A Content-Encoding other than identity (send it plain)."},
    }


# Every body but a batch's is a few fields (one transaction is ~1 KB of JSON; a job, a retrain or an abort
# less): a 16 MB body there (millions of `{}` in an extra field) was 1-4 s of parsing on the event loop,
# every probe waiting behind it. 64 KiB leaves room for any id and layout (app.body_limits).
SMALL_BODY_MAX_BYTES = 64 * 1024
SMALL_BODY = f"{SMALL_BODY_MAX_BYTES // 1024} KiB"
# A label is ~100 bytes of JSON; 2 KiB each leaves room for the longest id written in `\u` escapes (128
# characters of 6 bytes), a time and pretty-printing (~880 bytes: tests/integration/test_api_bodies.py).
FEEDBACK_LABEL_MAX_BYTES = 2048
FEEDBACK_BODY = (
    f"{SMALL_BODY} plus {FEEDBACK_LABEL_MAX_BYTES // 1024} KiB per label of FRAUD_FEEDBACK_BATCH_MAX "
    "(at most FRAUD_MAX_BODY_BYTES)"
)
# A batch route's 503 when no turn frees up in time (middleware.BatchAdmission).
BUSY = "or no batch turn free within FRAUD_API_BATCH_WAIT_SECONDS (then `Retry-After: 1`)"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait (busy).", "schema": {"type": "integer"}}}


class Health(BaseModel):
    status: str
    model_version: int | None = None
    reason: str | None = None


class Alive(BaseModel):
    """/healthz: always both fields, so a probe or an operator reads the served version without /readyz."""

    status: Literal["ok"]
    model_version: int | None = Field(
        description="The model version this process serves; null until one is loaded (see /readyz)."
    )


class JobIn(BaseModel):
    model_config = STRICT
    input_uri: str = Field(
        min_length=1,
        max_length=2048,
        description="CSV, CSV.gz or Parquet: path or s3://.",
        json_schema_extra=ONE_LINE,
    )
    output_uri: str = Field(
        min_length=1,
        max_length=2048,
        description="Parquet to write: path or s3://.",
        json_schema_extra=ONE_LINE,
    )
    model: str = Field(
        "champion",
        min_length=1,
        max_length=64,
        description="Alias or version number.",
        json_schema_extra=ONE_LINE,
    )
    job_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

    @field_validator("input_uri", "output_uri")
    @classmethod
    def _absolute(cls, uri: str, info: ValidationInfo) -> str:
        """Over HTTP a relative path has no working folder to mean anything against (and guessing one, such
        as the first root, would read or write a file the client did not name): refused, naming the field."""
        if is_relative_path(uri):
            direction = Direction.INPUT if info.field_name == "input_uri" else Direction.OUTPUT
            raise ValueError(
                f"'{uri}' is a relative path, which has no working folder over HTTP: give an absolute path "
                f"under {direction.setting} or an s3:// URI"
            )
        return uri

    @field_validator("input_uri", "output_uri", "model")
    @classmethod
    def _one_line(cls, text: str) -> str:
        return one_line_only(text)


def one_line_only(text: str) -> str:
    """A field that is recorded and logged: refused (422 naming it) when it holds a control character."""
    problem = control_character_problem(text)
    if problem is not None:
        raise ValueError(problem)
    return text


class JobOut(BaseModel):
    job_id: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    input_uri: str
    output_uri: str
    model: str
    submitted_at: str
    rows_total: int | None
    rows_scored: int
    chunks_total: int | None
    chunks_done: int
    progress: float
    model_version: int | None
    threshold: float | None = Field(
        None, description="The pinned version's decision threshold: `decision` is fraud at or above it."
    )
    error: str | None
    error_kind: Literal["input", "service", "internal"] | None = Field(
        None,
        description="A failed job's: input (fix the request or its data), service (storage, registry or "
        "broker out past the retries: submit again later), internal (see the worker logs).",
    )
    updated_at: str | None
