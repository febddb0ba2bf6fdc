"""The README's endpoint table lists every route the API serves, and nothing it does not.

The table is how users find `/v1/feedback` or `/v1/jobs`; an endpoint added to the app but not to the table
(or removed from the app but left in the table) fails here, naming it."""

import re
from pathlib import Path

import pytest

from tests.integration.test_api import Api

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
# FastAPI's own documentation routes are not in the OpenAPI document; the table lists them for users, and
# each is probed below.
DOCUMENTATION = {("GET", "/docs"), ("GET", "/redoc"), ("GET", "/openapi.json")}
# Routes served but kept out of the OpenAPI document (`include_in_schema=False`); each is probed below.
HIDDEN = {("GET", "/metrics")}


def documented_endpoints(text: str) -> set[tuple[str, str]]:
    """`POST /v1/jobs`, `GET/DELETE /v1/jobs/{id}` -> (method, path) pairs; `[?explain=true]` dropped and
    path parameters named `{}` so the README's `{id}` matches the code's `{job_id}`."""
    section = text.split("## Scoring service", 1)[1].split("\n## ", 1)[0]
    endpoints: set[tuple[str, str]] = set()
    for row in re.findall(r"^\| (`[A-Z].*?) \|", section, flags=re.MULTILINE):
        for methods, path in re.findall(r"`([A-Z/]+) (/[^`\[ ]*)", row):
            endpoints |= {(method, normalised(path)) for method in methods.split("/")}
    return endpoints


def normalised(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_endpoints(api: Api) -> set[tuple[str, str]]:
    """From the OpenAPI document (the app's public description of its routes), plus the hidden ones."""
    paths = api.client.app.openapi()["paths"]  # type: ignore[attr-defined]
    schema = {(method.upper(), normalised(path)) for path, item in paths.items() for method in item}
    return schema | HIDDEN


def test_the_table_is_parsed():
    table = documented_endpoints(README.read_text())
    assert {("POST", "/v1/score"), ("GET", "/v1/jobs/{}"), ("DELETE", "/v1/jobs/{}")} <= table


def test_every_served_endpoint_is_in_the_readme_table_and_no_other(tmp_path):
    documented = documented_endpoints(README.read_text()) - DOCUMENTATION
    api = Api(tmp_path, api_docs=True)
    with api.client:  # the app's lifespan: what it starts is stopped at the end
        for method, path in HIDDEN | DOCUMENTATION:
            assert api.client.request(method, path).status_code != 404, f"{method} {path} is not served"
        served = served_endpoints(api)
    assert sorted(served - documented) == [], "served but missing from README's endpoint table"
    assert sorted(documented - served) == [], "in README's endpoint table but not served"
