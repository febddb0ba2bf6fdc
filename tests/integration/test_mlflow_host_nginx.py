"""The MLflow host's nginx site (deploy/ansible, template nginx-mlflow.conf.j2), served by a real nginx.

The role renders the site; the test serves it from a temporary prefix on free loopback ports, in front of a
stub MLflow that answers every request with what it received. Then each identity is tried against reads,
searches and writes: the writer may do anything, the read-only user only GET/HEAD and the search POSTs, no
one anything without a valid password, and /health is open. The dry run in test_ansible.py only reads the
rendered text; this checks what nginx does with it.
"""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.fixtures.mlflow_site import READER, WRITER, MlflowSite, mlflow_site

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class _EchoMlflow(http.server.BaseHTTPRequestHandler):
    """Stands in for `mlflow server`: answers 200 with the method and the path it was sent."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"method": self.command, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[MlflowSite]:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoMlflow)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        with mlflow_site(upstream.server_address[1]) as served:
            yield served
    finally:
        upstream.shutdown()


def _trusting(site: MlflowSite) -> ssl.SSLContext:
    """A client that verifies the site's certificate against the site's own CA."""
    return ssl.create_default_context(cafile=str(site.ca))


def _request(
    site: MlflowSite, method: str, path: str, identity: tuple[str, str] | None = None
) -> tuple[int, dict[str, str] | None]:
    """(status, what the stub MLflow received, or None when nginx answered itself)."""
    request = urllib.request.Request(f"https://127.0.0.1:{site.https}{path}", method=method)
    if method == "POST":
        request.data = b"{}"
        request.add_header("Content-Type", "application/json")
    if identity:
        token = base64.b64encode(f"{identity[0]}:{identity[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, context=_trusting(site), timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else {"method": method}
    except urllib.error.HTTPError as error:
        return error.code, None


SEARCH = "/api/2.0/mlflow/experiments/search"
CREATE = "/api/2.0/mlflow/experiments/create"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/2.0/mlflow/registered-models/alias?name=m&alias=champion"),
        ("HEAD", "/api/2.0/mlflow/experiments/get?experiment_id=0"),
        ("POST", SEARCH),
        ("POST", "/ajax-api/2.0/mlflow/runs/search"),
        ("POST", "/api/3.0/mlflow/logged-models/search"),
        ("POST", "/api/2.0/mlflow/registered-models/get-latest-versions"),
    ],
)
def test_the_reader_may_read_and_search(site: MlflowSite, method: str, path: str) -> None:
    status, seen = _request(site, method, path, READER)

    assert status == 200
    assert seen is not None
    assert seen["method"] == method


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", CREATE),
        ("POST", "/api/2.0/mlflow/registered-models/alias"),
        ("DELETE", "/api/2.0/mlflow/registered-models/alias"),
        ("PATCH", "/api/2.0/mlflow/registered-models/update"),
        ("POST", "/api/2.0/mlflow/runs/log-batch"),
        ("POST", f"{SEARCH}/../create"),  # dot segments: nginx judges the normalised path
        ("POST", "/api/2.0/mlflow/experiments/search%2F..%2Fcreate"),
        ("POST", f"{SEARCH}x"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/model.txt"),
    ],
)
def test_the_reader_may_not_write(site: MlflowSite, method: str, path: str) -> None:
    assert _request(site, method, path, READER) == (403, None)


@pytest.mark.parametrize(("method", "path"), [("POST", CREATE), ("DELETE", "/api/2.0/mlflow/runs/delete")])
def test_the_writer_may_write(site: MlflowSite, method: str, path: str) -> None:
    status, seen = _request(site, method, path, WRITER)

    assert status == 200
    assert seen == {"method": method, "path": path}


@pytest.mark.parametrize(
    "identity", [None, (READER[0], "wrong"), (WRITER[0], "wrong"), ("someone", READER[1])], ids=str
)
def test_no_valid_password_no_access(site: MlflowSite, identity: tuple[str, str] | None) -> None:
    assert _request(site, "GET", SEARCH, identity)[0] == 401
    assert _request(site, "POST", CREATE, identity)[0] in {401, 403}


def test_health_needs_no_password(site: MlflowSite) -> None:
    assert _request(site, "GET", "/health") == (200, {"method": "GET", "path": "/health"})


def test_plain_http_only_redirects_to_https(site: MlflowSite) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{site.http}{SEARCH}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert raised.value.code == 301
    assert raised.value.headers["Location"] == f"https://127.0.0.1{SEARCH}"
