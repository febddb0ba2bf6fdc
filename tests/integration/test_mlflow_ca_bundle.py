"""The tasks reach MLflow over https with a certificate from the operator's CA: FRAUD_MLFLOW_CA_BUNDLE (the
secret fraud/<env>/mlflow-ca) is what makes the product's MLflow client trust it, TLS verification staying on.

An https server on loopback, its certificate signed by a throwaway CA, answers MLflow's REST call for a
registered model. The client is the product's (`client_for`, as every MLflow adapter makes it) after the
composition root read the settings: without the bundle, or with another CA's, the handshake is refused;
with the bundle, the call goes through. The wiring half checks that Terraform delivers the bundle to every
task, and that the secret's first value (before the operator puts the PEM) reads as unset.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fraud_detection.composition.root import environment_settings
from fraud_detection.infrastructure.mlflow.ca_bundle import CERT_PATH_VARIABLE
from fraud_detection.infrastructure.mlflow.connection import client_for, registered_model_tags
from fraud_detection.settings import Settings
from tests.fixtures.certificates import certificate_authority, server_certificate
from tests.fixtures.terraform_files import (
    MODULES,
    env_folders,
    module_calls,
    module_locals,
    resources,
    typed_blocks,
)

pytestmark = pytest.mark.integration

MODEL = "fraud-lgbm"
SECRET_VARIABLE = re.compile(r"var\.(\w+_secret_arn)")
TAGS = {"fraud.rollout": "none"}


class _RegisteredModel(BaseHTTPRequestHandler):
    """MLflow's `registered-models/get`, the first call a serving task makes."""

    def do_GET(self) -> None:
        body = json.dumps(
            {"registered_model": {"name": MODEL, "tags": [{"key": k, "value": v} for k, v in TAGS.items()]}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass(frozen=True)
class Server:
    url: str
    ca: str  # the PEM of the CA that signed its certificate
    other_ca: str  # a CA that did not


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("mlflow-tls")
    certificate, key = server_certificate(folder, "mlflow-ca")
    other, _other_key = certificate_authority(folder, "other-ca")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RegisteredModel)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(
            f"https://127.0.0.1:{httpd.server_port}",
            (folder / "mlflow-ca.pem").read_text(),
            other.read_text(),
        )
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what each test sets; the variable the composition root sets is removed after each test."""
    for name in list(os.environ):
        if name.startswith(("FRAUD_", "MLFLOW_TRACKING", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv(CERT_PATH_VARIABLE, "")
    monkeypatch.delenv(CERT_PATH_VARIABLE)
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refused handshake fails at once
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))


def _registered_model_tags(monkeypatch: pytest.MonkeyPatch, url: str, bundle: str | None) -> dict[str, str]:
    """As a task starts: the settings through the composition root, then the product's MLflow client."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    if bundle is not None:
        monkeypatch.setenv("FRAUD_MLFLOW_CA_BUNDLE", bundle)
    settings = environment_settings()
    tags = registered_model_tags(client_for(settings.resolved_tracking_uri), MODEL)
    assert tags is not None
    return tags


def test_the_bundle_setting_makes_the_client_trust_the_servers_ca(
    monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    assert _registered_model_tags(monkeypatch, server.url, server.ca) == TAGS


def test_without_the_bundle_the_private_ca_is_not_trusted(
    monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        _registered_model_tags(monkeypatch, server.url, None)


def test_another_cas_bundle_is_refused_verification_stays_on(
    monkeypatch: pytest.MonkeyPatch, server: Server
) -> None:
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        _registered_model_tags(monkeypatch, server.url, server.other_ca)


# ---------------------------------------------------------------- Terraform delivers it to every task


def test_every_task_gets_the_bundle_and_the_execution_role_reads_only_the_secrets_it_injects() -> None:
    ecs_tf = MODULES / "ecs" / "main.tf"
    local = module_locals(ecs_tf)
    secrets = resources(MODULES / "secrets" / "main.tf")
    (execution,) = [
        body
        for kind, name, body in typed_blocks(ecs_tf, "data")
        if kind == "aws_iam_policy_document" and name == "execution"
    ]
    readable = {statement["sid"]: statement["resources"] for statement in execution["statement"]}[
        "ReadOwnSecrets"
    ]

    assert local["mlflow_ca_secrets"] == {"FRAUD_MLFLOW_CA_BUNDLE": "${var.mlflow_ca_secret_arn}"}
    for container, body in local["containers"].items():
        assert "local.mlflow_ca_secrets" in body["secrets"], container
    assert "${var.mlflow_ca_secret_arn}" in readable
    # what the containers get: the secret ARNs of the `*_secrets` maps and of the containers' own merges
    sources = [json.dumps(value) for name, value in local.items() if name.endswith("_secrets")]
    sources += [body["secrets"] for body in local["containers"].values()]
    injected = {f"${{var.{name}}}" for source in sources for name in SECRET_VARIABLE.findall(source)}
    assert "${var.mlflow_ca_secret_arn}" in injected
    assert set(readable) == injected, "the execution role reads the secrets it injects, no other"
    assert secrets[("aws_secretsmanager_secret", "mlflow_ca")]["name"] == "fraud/${var.environment}/mlflow-ca"
    assert secrets[("aws_secretsmanager_secret", "mlflow_ca")]["kms_key_id"] == "${var.kms_key_arn}"
    for folder in env_folders():
        calls = {name: body for _, name, body, _ in module_calls(folder)}
        assert calls["ecs"]["mlflow_ca_secret_arn"] == "${module.secrets.mlflow_ca_secret_arn}", folder.name


def test_the_secrets_first_value_reads_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets Manager refuses an empty value and ECS cannot start a task whose secret has none, so Terraform
    creates fraud/<env>/mlflow-ca with a placeholder: every task must start as if the bundle were unset until
    the operator puts the PEM (which Terraform then leaves alone)."""
    version = resources(MODULES / "secrets" / "main.tf")[("aws_secretsmanager_secret_version", "mlflow_ca")]
    monkeypatch.setenv("FRAUD_MLFLOW_CA_BUNDLE", version["secret_string"])

    assert version["secret_string"] != ""
    assert Settings().mlflow_ca_bundle is None
    assert version["lifecycle"] == [{"ignore_changes": ["secret_string"]}]
