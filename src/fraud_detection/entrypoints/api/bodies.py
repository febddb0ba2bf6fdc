"""Request bodies whose list limits come from settings, enforced by the schema itself.

FastAPI builds a route's body model from the endpoint's annotations at import time, but the limits
(FRAUD_SCORE_BATCH_MAX, FRAUD_FEEDBACK_BATCH_MAX, the scoring-input rules such as
FRAUD_VALIDATION_AMOUNT_MAX) are settings. Each app therefore gets its own body model,
`max_length` included: pydantic stops validating items past the limit (half the work on an oversized
batch), the OpenAPI document states `maxItems`, and no handler counts rows after the fact. The routes
that parse their body off the event loop (a single score, a batch, feedback) parse it here, from bytes.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, create_model

M = TypeVar("M", bound=BaseModel)


def limited(
    base: type[BaseModel], field: str, limit: int, item: type[BaseModel] | None = None
) -> type[BaseModel]:
    """`base` with its list `field` capped at `limit` items, of the app's `item` model when given (same
    name: the OpenAPI schema keeps it)."""
    info = base.model_fields[field]
    annotation = info.annotation if item is None else list[item]  # type: ignore[valid-type]
    capped: Any = (annotation, Field(min_length=1, max_length=limit, description=info.description))
    return create_model(base.__name__, __base__=base, **{field: capped})


def with_body(endpoint: Callable[..., Any], parameter: str, model: type[BaseModel]) -> Callable[..., Any]:
    """`endpoint` with `parameter` annotated as `model`; every other annotation resolved as written."""
    hints = typing.get_type_hints(endpoint, include_extras=True) | {parameter: model}
    signature = inspect.signature(endpoint)

    @wraps(endpoint)
    def call(*args: Any, **kwargs: Any) -> Any:
        return endpoint(*args, **kwargs)

    parameters = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
    ]
    call.__signature__ = signature.replace(parameters=parameters, return_annotation=hints.get("return"))  # type: ignore[attr-defined]
    del call.__wrapped__  # FastAPI must read the signature above, not the original's string annotations
    return call


def refuse_non_json(content_type: str) -> None:
    """A body must say it is JSON: read as JSON whatever it says, bytes and header would disagree."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        problem = {"type": "content_type", "loc": ("body",), "msg": "Content-Type must be application/json"}
        raise RequestValidationError([problem])


def parse_body(content_type: str, raw: bytes, model: type[M]) -> M:
    """The same strict model FastAPI would apply, parsed from JSON bytes by pydantic-core; problems are
    raised as FastAPI's RequestValidationError so they render like every other 422."""
    refuse_non_json(content_type)
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        # A repeated key first: pydantic judged its last value, so `{"labels": [...], "labels": []}` was
        # refused as "at least 1 item" (only the failure path pays for the exact pass). Not for a body with
        # an unknown field, refused whatever else it holds: the exact pass is a Python call per object, and
        # junk of that kind (a 1.9 MiB field of `{}`s to /v1/feedback) held the GIL, single scores went from
        # a median of 5.7 ms to 136 ms (benchmarks/serve_batch_load.py). Imported here: repeated_keys
        # imports this module.
        from fraud_detection.entrypoints.api.repeated_keys import refuse_repeated_keys

        if not any(problem["type"] == "extra_forbidden" for problem in error.errors()):
            refuse_repeated_keys(raw, 0, 0)
        raise RequestValidationError(
            [dict(e) | {"loc": ("body", *e["loc"])} for e in error.errors()]
        ) from None
