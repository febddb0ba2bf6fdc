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
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.programs import require_program
from tests.fixtures.servers import free_port
from tests.integration.test_ansible import ANSIBLE_DIR, ROLE_DIR, _env, _server_certificate, _tool

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRITER, READER = ("fraud", "writer-pw"), ("fraud-reader", "reader-pw")
START_TIMEOUT_SECONDS = 20.0


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


@dataclass(frozen=True)
class Site:
    https: int
    http: int
    context: ssl.SSLContext


def _htpasswd(folder: Path) -> Path:
    """The two identities, SHA-512 crypt hashed as the role hashes them (`openssl passwd -6`)."""
    lines = []
    for user, password in (WRITER, READER):
        hashed = subprocess.run(
            [str(require_program("openssl")), "passwd", "-6", "-stdin"],
            input=password, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        lines.append(f"{user}:{hashed}")
    path = folder / "htpasswd"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)  # nginx's workers (nobody, when the tests run as root) read it per request
    return path


def _render_site(folder: Path, variables: dict[str, object]) -> str:
    """The role's template rendered by Ansible with the role's defaults and derived values."""
    target = folder / "rendered.conf"
    extra = folder / "vars.json"
    extra.write_text(json.dumps(variables))
    template = ROLE_DIR / "templates" / "nginx-mlflow.conf.j2"
    command = [
        str(_tool("ansible")), "localhost", "-i", "localhost,", "-c", "local",
        "-m", "ansible.builtin.template", "-a", f"src={template} dest={target}",
        "-e", f"@{ROLE_DIR / 'defaults' / 'main.yml'}", "-e", f"@{ROLE_DIR / 'vars' / 'main.yml'}",
        "-e", f"@{extra}", "-e", f"ansible_python_interpreter={_tool('python')}",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ANSIBLE_DIR, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return target.read_text()


def _on_loopback(site: str, https: int, plain: int) -> str:
    """The site as rendered, listening on free loopback ports instead of 443/80 on every address."""
    site = re.sub(r"^\s*listen \[::\]:.*\n", "", site, flags=re.MULTILINE)
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{https} ").replace(
        "listen 80 ", f"listen 127.0.0.1:{plain} "
    )
    assert f"127.0.0.1:{https} ssl" in site, site
    assert f"127.0.0.1:{plain} default_server" in site, site
    return site


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    nginx = str(require_program("nginx"))
    root = Path(tempfile.mkdtemp(prefix="mlflow-nginx-"))
    root.chmod(0o755)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoMlflow)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    certificate, key = _server_certificate(root, "ca")
    https, plain = free_port(), free_port()
    rendered = _render_site(root, {
        "mlflow_port": upstream.server_address[1],
        "mlflow_server_name": "127.0.0.1",
        "mlflow_nginx_htpasswd_path": str(_htpasswd(root)),
        "mlflow_tls_certificate": str(certificate),
        "mlflow_tls_certificate_key": str(key),
        "mlflow_basic_auth_user": WRITER[0],
        "mlflow_reader_user": READER[0],
    })  # fmt: skip
    (root / "mlflow.conf").write_text(_on_loopback(rendered, https, plain))
    kinds = {"client_body": "body", "proxy": "proxy", "fastcgi": "fastcgi", "uwsgi": "uwsgi", "scgi": "scgi"}
    for name in kinds.values():
        (root / name).mkdir()
        (root / name).chmod(0o777)  # nginx's workers write there
    temp_paths = "".join(f"    {kind}_temp_path {root / name};\n" for kind, name in kinds.items())
    (root / "nginx.conf").write_text(
        f"worker_processes 1;\nerror_log {root / 'error.log'};\npid {root / 'nginx.pid'};\n"
        f"events {{}}\nhttp {{\n    access_log off;\n{temp_paths}    include {root / 'mlflow.conf'};\n}}\n"
    )
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    checked = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    context = ssl.create_default_context(cafile=str(root / "ca.pem"))
    try:
        _wait_until_listening(https, server)
        yield Site(https, plain, context)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        upstream.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"nginx exited: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nginx did not listen on {port} within {START_TIMEOUT_SECONDS} s")


def _request(
    site: Site, method: str, path: str, identity: tuple[str, str] | None = None
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
        with urllib.request.urlopen(request, context=site.context, timeout=10) as response:
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
def test_the_reader_may_read_and_search(site: Site, method: str, path: str) -> None:
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
def test_the_reader_may_not_write(site: Site, method: str, path: str) -> None:
    assert _request(site, method, path, READER) == (403, None)


@pytest.mark.parametrize(("method", "path"), [("POST", CREATE), ("DELETE", "/api/2.0/mlflow/runs/delete")])
def test_the_writer_may_write(site: Site, method: str, path: str) -> None:
    status, seen = _request(site, method, path, WRITER)

    assert status == 200
    assert seen == {"method": method, "path": path}


@pytest.mark.parametrize(
    "identity", [None, (READER[0], "wrong"), (WRITER[0], "wrong"), ("someone", READER[1])], ids=str
)
def test_no_valid_password_no_access(site: Site, identity: tuple[str, str] | None) -> None:
    assert _request(site, "GET", SEARCH, identity)[0] == 401
    assert _request(site, "POST", CREATE, identity)[0] in {401, 403}


def test_health_needs_no_password(site: Site) -> None:
    assert _request(site, "GET", "/health") == (200, {"method": "GET", "path": "/health"})


def test_plain_http_only_redirects_to_https(site: Site) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{site.http}{SEARCH}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert raised.value.code == 301
    assert raised.value.headers["Location"] == f"https://127.0.0.1{SEARCH}"
