"""Where API clients come from: the JSON file (re-read on change: rotation without restart), AWS Secrets
Manager (moto), and the `fraud clients` commands that write the file."""

import json
import logging
import os
import time

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from fraud_detection.domain.clients import (
    ApiClient,
    ApiKey,
    ClientConfigError,
    ClientDirectory,
    Scope,
    key_digest,
    parse_clients,
)
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.infrastructure.aws.secrets_manager import SecretsManagerClients
from fraud_detection.infrastructure.local.client_key_file import KeyFileClients, write_document

pytestmark = pytest.mark.integration
OLD, NEW = "fdk_old-key-of-the-checkout-client-0001", "fdk_new-key-of-the-checkout-client-0002"


def directory(*keys: str) -> ClientDirectory:
    stored = tuple(ApiKey(key[4:7], key_digest(key)) for key in keys)
    return ClientDirectory([ApiClient("checkout", "acme", frozenset({Scope.SCORE}), stored)])


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_file_is_re_read_when_it_changes_so_rotation_needs_no_restart(tmp_path):
    path, clock = tmp_path / "clients.json", Clock()
    write_document(path, directory(OLD))
    source = KeyFileClients(path, check_seconds=1.0, clock=clock)
    assert source.directory().authenticate(OLD) is not None
    write_document(path, directory(OLD, NEW))  # rotate: both keys valid
    assert source.directory().authenticate(NEW) is None  # checked at most once a second
    clock.now = 1.5
    assert source.directory().authenticate(NEW) is not None
    assert source.directory().authenticate(OLD) is not None
    write_document(path, directory(NEW))  # revoke the old key
    clock.now = 3.0
    assert source.directory().authenticate(OLD) is None
    assert source.directory().authenticate(NEW) is not None
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_broken_edit_keeps_the_last_good_clients_and_a_broken_start_fails(tmp_path):
    path, clock = tmp_path / "clients.json", Clock()
    write_document(path, directory(OLD))
    source = KeyFileClients(path, clock=clock)
    path.write_text('{"clients": {"checkout": ')  # half written by hand
    clock.now = 2.0
    assert source.directory().authenticate(OLD) is not None
    with pytest.raises(ClientConfigError, match="cannot read JSON"):
        KeyFileClients(path)


def test_a_file_that_cannot_be_checked_keeps_the_last_good_clients(tmp_path, monkeypatch, caplog):
    """Before, an error other than a missing file (EACCES, EIO: a secret remounted) escaped the check, and
    every protected request answered 500 until it passed. Root ignores permissions: the error is injected."""
    path, clock = tmp_path / "clients.json", Clock()
    write_document(path, directory(OLD))
    source = KeyFileClients(path, clock=clock)
    stat = type(path).stat

    def refused(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(path))
        return stat(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "stat", refused)
    caplog.set_level(logging.WARNING)  # a Celery worker started in this process may leave the root at ERROR
    clock.now = 2.0
    assert source.directory().authenticate(OLD) is not None
    assert "not checked, keeping the previous clients: [Errno 13] Permission denied" in caplog.text
    with pytest.raises(ClientConfigError, match=r"clients.json: cannot read \(\[Errno 13\]"):
        KeyFileClients(path)


def test_a_clients_file_others_can_write_is_refused(tmp_path, caplog):
    """Any local user who could write the file could add an `admin` client: refused at start, and a later
    change that makes it writable keeps the last good clients."""
    caplog.set_level(logging.WARNING)
    path, clock = tmp_path / "clients.json", Clock()
    write_document(path, directory(OLD))
    path.chmod(0o666)
    with pytest.raises(ClientConfigError, match=r"writable by group or others \(mode -rw-rw-rw-\)"):
        KeyFileClients(path, check_seconds=1.0, clock=clock)
    path.chmod(0o644)  # readable by all (a mounted secret): accepted
    source = KeyFileClients(path, check_seconds=1.0, clock=clock)
    assert source.directory().authenticate(OLD) is not None
    assert source.refusal() is None
    write_document(path, directory(NEW))
    path.chmod(0o620)
    clock.now = 1.5
    assert source.directory().authenticate(OLD) is not None  # the last good clients
    assert source.directory().authenticate(NEW) is None
    assert "writable by group or others" in caplog.text
    assert "writable by group or others" in str(source.refusal())  # for /metrics: the revocation did not take
    path.chmod(0o600)  # the fix the message asks for: only the mode changes
    clock.now = 3.0
    assert source.refusal() is None
    assert source.directory().authenticate(NEW) is not None
    assert source.directory().authenticate(OLD) is None  # the key the edit revoked


def test_no_file_means_no_client_until_one_appears(tmp_path):
    path, clock = tmp_path / "clients.json", Clock()
    source = KeyFileClients(path, clock=clock)
    assert source.directory().clients == {}
    write_document(path, directory(OLD))
    clock.now = 1.0
    assert source.directory().authenticate(OLD) is not None


@mock_aws
def test_secrets_manager_clients_refresh_and_keep_the_last_good_document():
    aws = boto3.client("secretsmanager", region_name="eu-west-1")
    aws.create_secret(Name="fraud/api-clients", SecretString=json.dumps(directory(OLD).to_document()))
    source = SecretsManagerClients("fraud/api-clients", "eu-west-1", refresh_seconds=3600, client=aws)
    try:
        assert source.directory().authenticate(OLD) is not None
        aws.put_secret_value(
            SecretId="fraud/api-clients", SecretString=json.dumps(directory(NEW).to_document())
        )
        source.refresh()
        assert source.directory().authenticate(NEW) is not None
        assert source.directory().authenticate(OLD) is None
        assert source.refusal() is None
        aws.put_secret_value(SecretId="fraud/api-clients", SecretString="not json")
        source.refresh()
        assert source.directory().authenticate(NEW) is not None
        assert "not JSON" in str(source.refusal())
    finally:
        source.close()
    with pytest.raises(ClientConfigError, match="cannot read it"):
        SecretsManagerClients("fraud/missing", "eu-west-1", client=aws)


@mock_aws
def test_the_secret_refresh_outlives_an_unexpected_error(caplog):
    """Only a config error was caught: anything else ended the refresh thread, and a key revoked later kept
    working until a restart."""
    caplog.set_level(logging.WARNING)
    aws = boto3.client("secretsmanager", region_name="eu-west-1")
    aws.create_secret(Name="fraud/api-clients", SecretString=json.dumps(directory(OLD).to_document()))
    source = SecretsManagerClients("fraud/api-clients", "eu-west-1", refresh_seconds=0.05, client=aws)
    fetch, failures = source.fetch, [RecursionError("maximum recursion depth exceeded")]

    def fails_once() -> ClientDirectory:
        if failures:
            raise failures.pop()
        return fetch()

    source.fetch = fails_once  # type: ignore[method-assign]
    aws.put_secret_value(SecretId="fraud/api-clients", SecretString=json.dumps(directory(NEW).to_document()))
    deadline = time.monotonic() + 10
    while source.directory().authenticate(OLD) is not None:  # revoked: the thread must live to see it
        assert time.monotonic() < deadline, "the refresh thread stopped"
        time.sleep(0.02)
    source.close()
    assert not failures
    assert "not refreshed" in caplog.text


def test_fraud_clients_list_says_when_the_api_refuses_the_file(tmp_path):
    """A hand edit under umask 002 left the file group-writable: the API kept the clients it had, and this
    listed the removed client gone, saying nothing."""
    env = {"FRAUD_HOME": str(tmp_path), "COLUMNS": "200"}
    path = tmp_path / "api-clients.json"
    write_document(path, directory(OLD))
    listed = CliRunner().invoke(app, ["clients", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "warning" not in listed.stderr
    path.chmod(0o664)
    listed = CliRunner().invoke(app, ["clients", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "writable by group or others" in listed.stderr
    assert "the API serves the clients it loaded before this file changed" in listed.stderr
    assert "checkout" in listed.stdout


def test_fraud_clients_add_rotate_revoke_remove(tmp_path):
    runner, env = CliRunner(), {"FRAUD_HOME": str(tmp_path), "COLUMNS": "200"}
    added = runner.invoke(app, ["clients", "add", "checkout", "-s", "score", "--namespace", "acme"], env=env)
    assert added.exit_code == 0, added.output
    first = added.stdout.strip().splitlines()[-1]
    path = tmp_path / "api-clients.json"
    assert first.startswith("fdk_")
    assert len(first) >= 32
    assert first not in path.read_text()  # only the digest is stored
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    source = KeyFileClients(path)
    assert source.directory().authenticate(first).namespace == "acme"

    rotated = runner.invoke(app, ["clients", "rotate", "checkout"], env=env)
    second = rotated.stdout.strip().splitlines()[-1]
    listed = json.loads(runner.invoke(app, ["clients", "list", "--json"], env=env).stdout)
    old_id, new_id = (key["id"] for key in listed["clients"]["checkout"]["keys"])
    fresh = KeyFileClients(path)
    assert fresh.directory().authenticate(first)
    assert fresh.directory().authenticate(second)
    assert runner.invoke(app, ["clients", "revoke", "checkout", old_id], env=env).exit_code == 0
    fresh = KeyFileClients(path)
    assert fresh.directory().authenticate(first) is None
    assert fresh.directory().authenticate(second) is not None
    assert new_id in path.read_text()

    again = runner.invoke(app, ["clients", "add", "checkout", "-s", "score"], env=env)
    assert again.exit_code == 2
    assert "exists" in again.output
    bad = runner.invoke(app, ["clients", "revoke", "checkout", "nope"], env=env)
    assert bad.exit_code == 2
    assert "no key 'nope'" in bad.output
    assert runner.invoke(app, ["clients", "remove", "checkout"], env=env).exit_code == 0
    assert KeyFileClients(path).directory().clients == {}


def test_an_empty_namespace_is_refused_and_joining_a_used_one_is_said(tmp_path):
    """Found by a tenant probe: `--namespace ""` silently became the client's name, and a client added
    without --namespace under a name that is another tenant's namespace joined it without a word."""
    runner, env = CliRunner(), {"FRAUD_HOME": str(tmp_path), "COLUMNS": "200"}
    empty = runner.invoke(app, ["clients", "add", "globex", "-s", "score", "--namespace", ""], env=env)
    assert empty.exit_code == 2
    assert "--namespace" in empty.output
    assert "'' is not a namespace" in empty.output
    assert not (tmp_path / "api-clients.json").exists()  # nothing written
    assert (
        runner.invoke(
            app, ["clients", "add", "checkout", "-s", "score", "--namespace", "acme"], env=env
        ).exit_code
        == 0
    )
    alone = runner.invoke(app, ["clients", "add", "globex", "-s", "score"], env=env)
    assert alone.exit_code == 0
    assert "shared" not in alone.stderr
    joined = runner.invoke(app, ["clients", "add", "acme", "-s", "feedback"], env=env)
    assert joined.exit_code == 0
    assert "namespace 'acme' is shared with client(s) checkout" in joined.stderr
    source = KeyFileClients(tmp_path / "api-clients.json").directory()
    assert {c.name: c.namespace for c in source.clients.values()} == {
        "checkout": "acme",
        "globex": "globex",
        "acme": "acme",
    }


@pytest.mark.parametrize("command", [["add", "checkout", "-s", "score"], ["rotate", "checkout"]])
def test_print_writes_exactly_the_secret_document_to_stdout_and_the_key_to_stderr(tmp_path, command):
    """`fraud clients add x --print > clients.json` is what `put-secret-value` stores: a key after the
    document made it invalid JSON, and put the key in the secret."""
    runner, env = CliRunner(), {"FRAUD_HOME": str(tmp_path), "COLUMNS": "200"}
    if command[0] == "rotate":
        assert runner.invoke(app, ["clients", "add", "checkout", "-s", "score"], env=env).exit_code == 0
    before = (tmp_path / "api-clients.json").read_bytes() if command[0] == "rotate" else None

    printed = runner.invoke(app, ["clients", *command, "--print"], env=env)

    assert printed.exit_code == 0, printed.output
    key = printed.stderr.strip().splitlines()[-1]
    assert key.startswith("fdk_")
    assert key not in printed.stdout
    document = parse_clients(json.loads(printed.stdout))
    assert document.authenticate(key).name == "checkout"
    # A key for a document stored nowhere was refused by the API with no word of why.
    assert f"--print: nothing stored; {tmp_path / 'api-clients.json'} is unchanged" in printed.stderr
    if before is None:
        assert not (tmp_path / "api-clients.json").exists()  # --print writes no file
    else:
        assert (tmp_path / "api-clients.json").read_bytes() == before


@mock_aws
def test_print_with_the_secret_set_changes_the_secrets_document_and_keeps_its_clients(tmp_path, monkeypatch):
    """A secret set-up keeps no local file: a document built on the empty file would drop every client
    already in the secret at the next `put-secret-value`."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    aws = boto3.client("secretsmanager", region_name="eu-west-1")
    aws.create_secret(Name="fraud/dev/api-clients", SecretString=json.dumps(directory(OLD).to_document()))
    env = {"FRAUD_HOME": str(tmp_path), "FRAUD_API_CLIENTS_SECRET": "fraud/dev/api-clients"}
    runner = CliRunner()

    printed = runner.invoke(app, ["clients", "add", "payouts", "-s", "score", "--print"], env=env)

    assert printed.exit_code == 0, printed.output
    document = parse_clients(json.loads(printed.stdout))
    assert document.authenticate(OLD) is not None  # the secret's client is kept
    assert document.authenticate(printed.stderr.strip().splitlines()[-1]).name == "payouts"
    assert not (tmp_path / "api-clients.json").exists()
    assert "--print: nothing stored; put it in the secret 'fraud/dev/api-clients'" in printed.stderr
    missing = runner.invoke(
        app, ["clients", "add", "x", "-s", "score", "--print"], env=env | {"FRAUD_API_CLIENTS_SECRET": "nope"}
    )
    assert missing.exit_code == 2
    assert "API clients secret 'nope': cannot read it" in missing.output
    assert missing.stdout == ""


@pytest.mark.parametrize(
    ("command", "advice"),
    [(["list"], "Read them with `aws secretsmanager get-secret-value"),  # it said "Run with --print"
     (["add", "x", "-s", "score"], "Run with --print and store the document")],
    ids=["list", "add"],
)  # fmt: skip
def test_with_the_secret_set_local_commands_say_what_to_do_instead(tmp_path, command, advice):
    env = {"FRAUD_HOME": str(tmp_path), "FRAUD_API_CLIENTS_SECRET": "fraud/dev/api-clients"}
    result = CliRunner().invoke(app, ["clients", *command], env=env)
    assert result.exit_code == 2, result.output
    assert "FRAUD_API_CLIENTS_SECRET is set: the clients live in that secret. " + advice in result.stderr


def test_two_adds_at_once_keep_both_clients(tmp_path, monkeypatch, capsys):
    """Each read the document before the other wrote it: the later write dropped the other's client, whose
    key had been shown already. The second now reads the file once the first has saved it."""
    import threading
    import time as clock

    from fraud_detection.domain.clients import Scope
    from fraud_detection.entrypoints.cli import clients

    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    load = clients.load

    def slow_load(path):
        directory = load(path)
        clock.sleep(0.3)  # both commands read before either writes, unless one waits for the other
        return directory

    monkeypatch.setattr(clients, "load", slow_load)
    adds = [
        threading.Thread(target=clients.add, args=(name, [Scope.SCORE]), kwargs={"print_only": False})
        for name in ("checkout", "payouts")
    ]
    for add in adds:
        add.start()
    for add in adds:
        add.join(10)
    assert set(json.loads((tmp_path / "api-clients.json").read_text())["clients"]) == {"checkout", "payouts"}
