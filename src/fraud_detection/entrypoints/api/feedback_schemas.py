"""Bodies of POST /v1/feedback. Strict like the scoring bodies: no string booleans, no unknown fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from fraud_detection.domain.feedback import TRANSACTION_ID, future_label_problem
from fraud_detection.entrypoints.api.schemas import STRICT, ErrorOut

# JSON has no time type: the field parses ISO 8601 text (lax), and the validator below refuses numbers.
NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
IsoTime = Annotated[AwareDatetime, Field(strict=False)]


class LabelIn(BaseModel):
    model_config = STRICT
    transaction_id: str = Field(
        pattern=TRANSACTION_ID.pattern,
        description="The `transaction_id` sent when the transaction was scored.",
    )
    is_fraud: bool = Field(description="true: confirmed fraud (chargeback); false: confirmed legitimate.")
    labelled_at: IsoTime | None = Field(
        None,
        description="When the outcome was established: ISO 8601 with a timezone, at most 5 minutes ahead of "
        "the server's clock and not older than FRAUD_FEEDBACK_RETENTION_DAYS; default: when received.",
    )

    @field_validator("labelled_at", mode="before")
    @classmethod
    def _text_only(cls, value: object) -> object:
        # Lax parsing also reads a string of digits as Unix seconds ("1733400000"): not what ISO 8601 says.
        if (value is not None and not isinstance(value, str | datetime)) or (
            isinstance(value, str) and NUMBER.fullmatch(value)
        ):
            raise ValueError("must be an ISO 8601 time with a timezone, as a string")
        return value

    @field_validator("labelled_at")
    @classmethod
    def _not_ahead(cls, value: datetime | None) -> datetime | None:
        if value is not None and (problem := future_label_problem(value, datetime.now(UTC))) is not None:
            raise ValueError(problem)
        return value


class FeedbackIn(BaseModel):
    model_config = STRICT
    labels: list[LabelIn] = Field(
        min_length=1, description="At most FRAUD_FEEDBACK_BATCH_MAX (default 1,000) labels per call."
    )


class LabelOut(BaseModel):
    transaction_id: str
    label: Literal["fraud", "legit"]
    outcome: Literal["new", "duplicate", "conflict", "unknown"] = Field(
        description="new: recorded; duplicate: that label was already recorded; conflict: the other label is "
        "recorded (unchanged); unknown: no scored transaction with that id."
    )


class OutcomeCounts(BaseModel):
    new: int
    duplicate: int
    conflict: int
    unknown: int


class FeedbackOut(BaseModel):
    results: list[LabelOut] = Field(description="One per submitted label, in order.")
    counts: OutcomeCounts


class FeedbackErrorOut(ErrorOut):
    results: list[LabelOut]
    counts: OutcomeCounts
