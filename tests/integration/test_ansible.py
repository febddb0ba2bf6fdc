"""The Ansible role of the MLflow host (deploy/ansible), run for real against localhost.

Lint, syntax check and a dry run of the whole playbook cover every tag; the `mlflow_app` tag then runs for
real (venv with the pinned MLflow, SQLite store, local artifacts, background process with a pid file) and the
server must answer /health. The tools live in their own venv (.venv-tools, `make tools`); the tests skip
without it.
"""

from __future__ import annotations

import getpass
import grp
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.certificates import certificate_authority, server_certificate
from tests.fixtures.mlflow_site import (
    ANSIBLE_DIR,
    ROLE_DIR,
    TOOLS_BIN,
    ansible_env,
    ansible_tool,
)
from tests.fixtures.programs import require_program
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.integration

PLAYBOOK = "playbooks/mlflow.yml"
MLFLOW_VERSION = "3.17.2"
# Installing MLflow into a fresh venv takes ~50-90 s on this machine; the whole real run ~100 s.
PLAYBOOK_TIMEOUT_SECONDS = 420
STOP_TIMEOUT_SECONDS = 20.0
RECAP = re.compile(r"^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Recap:
    """The PLAY RECAP line of a single-host run."""

    ok: int
    changed: int
    unreachable: int
    failed: int


def _run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=ANSIBLE_DIR,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _recap(output: str) -> Recap:
    match = RECAP.search(output)
    assert match, f"no PLAY RECAP in the output:\n{output[-3000:]}"
    return Recap(*(int(group) for group in match.groups()))


def _inventory(directory: Path) -> Path:
    """localhost in the `mlflow` group, driven by the tools venv's interpreter (no SSH, no sudo)."""
    path = directory / "inventory.json"
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(TOOLS_BIN / "python")}
    path.write_text(json.dumps({"mlflow": {"hosts": {"localhost": host}}}))
    return path


def _as_invoking_user() -> dict[str, object]:
    """Run everything as whoever runs the tests: no service account, no root-owned files, no become."""
    user = getpass.getuser()
    return {
        "mlflow_create_user": False,
        "mlflow_user": user,
        "mlflow_group": grp.getgrgid(os.getgid()).gr_name,
        "mlflow_config_owner": user,
        "ansible_become": False,
    }


def _playbook(inventory: Path, extra_vars: dict[str, object], *args: str) -> subprocess.CompletedProcess[str]:
    vars_file = inventory.parent / f"vars-{len(list(inventory.parent.glob('vars-*')))}.json"
    vars_file.write_text(json.dumps(extra_vars))
    command = [
        str(ansible_tool("ansible-playbook")),
        "-i",
        str(inventory),
        PLAYBOOK,
        "-e",
        f"@{vars_file}",
        *args,
    ]
    return _run(command, PLAYBOOK_TIMEOUT_SECONDS)


# ---------------------------------------------------------------- secrets stay out of logs (no_log)

SECRET_WORD = re.compile(r"password|secret|token", re.IGNORECASE)
# Task keywords that are not the module's arguments (a secret's *name* in a task's title is fine).
TASK_KEYWORDS = {
    "name", "when", "tags", "notify", "register", "changed_when", "failed_when", "check_mode", "listen",
    "become", "become_user", "no_log", "loop_control", "delay", "retries", "until",
}  # fmt: skip
# assert only evaluates a condition: on failure it prints fail_msg, which names the variable, never its value
# (no_log would hide that message, and with it which secret is missing).
NO_VALUE_MODULES = {"ansible.builtin.assert"}


def _yaml_documents(folder: Path) -> dict[str, Any]:
    return {path.stem: yaml.safe_load(path.read_text()) or {} for path in sorted(folder.glob("*.yml"))}


def secret_bearing_variables() -> set[str]:
    """Role variables that hold a secret: named like one, or defined from one (vars/ and defaults/)."""
    definitions: dict[str, str] = {}
    for folder in (ROLE_DIR / "defaults", ROLE_DIR / "vars"):
        for document in _yaml_documents(folder).values():
            definitions.update({name: json.dumps(value) for name, value in document.items()})
    found = {name for name in definitions if SECRET_WORD.search(name)}
    while True:
        more = {
            name
            for name, text in definitions.items()
            if name not in found and any(re.search(rf"\b{secret}\b", text) for secret in found)
        }
        if not more:
            return found
        found |= more


def _tasks(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items or []:
        nested = [item[key] for key in ("block", "rescue", "always") if key in item]
        if nested:
            for tasks in nested:
                yield from _tasks(tasks)
        else:
            yield item


JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def _template_expressions(name: str) -> str:
    """The Jinja expressions of a template: its literal text (comments, prose) holds no value."""
    return " ".join(JINJA.findall((ROLE_DIR / "templates" / name).read_text()))


def mentions_a_secret(task: dict[str, Any], secrets: set[str]) -> bool:
    """True when a task's arguments (or the template it renders) use a secret or a secret-bearing variable."""
    keywords = TASK_KEYWORDS | {"vars", "loop", "args"}
    module = next((key for key in task if key not in keywords), "")
    if module in NO_VALUE_MODULES or module.endswith("import_tasks"):
        return False
    text = json.dumps({key: value for key, value in task.items() if key not in TASK_KEYWORDS})
    arguments = task.get(module) if isinstance(task.get(module), dict) else {}
    templates = re.findall(r"'([\w.-]+\.j2)'", text)
    if module.endswith("template") and arguments.get("src"):
        templates.append(arguments["src"])
    text += " ".join(_template_expressions(name) for name in templates)
    return bool(SECRET_WORD.search(text)) or any(re.search(rf"\b{name}\b", text) for name in secrets)


def all_tasks() -> Iterator[tuple[str, dict[str, Any]]]:
    for folder in (ROLE_DIR / "tasks", ROLE_DIR / "handlers"):
        for stem, document in _yaml_documents(folder).items():
            for task in _tasks(document):
                yield f"{folder.name}/{stem}.yml: {task.get('name')}", task
    for stem, document in _yaml_documents(ANSIBLE_DIR / "playbooks").items():
        for play in document:
            for task in _tasks(
                play.get("tasks", []) + play.get("pre_tasks", []) + play.get("post_tasks", [])
            ):
                yield f"playbooks/{stem}.yml: {task.get('name')}", task


SERVICE_MODULES = {"ansible.builtin.service", "ansible.builtin.systemd_service", "ansible.builtin.systemd"}


def test_a_dry_run_asks_systemd_only_about_installed_units() -> None:
    """On a fresh host `--check` installs no package, and asking systemd about a unit that is not there yet
    ("Could not find the requested service postgresql") failed the README's first command. Each service
    task and handler is skipped in check mode unless service_facts listed its unit."""
    unguarded = [
        where
        for where, task in all_tasks()
        if SERVICE_MODULES & task.keys() and "mlflow_installed_units" not in str(task.get("when", ""))
    ]
    assert {where for where, task in all_tasks() if SERVICE_MODULES & task.keys()}, "no service task found"
    assert not unguarded


def test_the_secret_detector_sees_values_not_names() -> None:
    secrets = secret_bearing_variables()

    assert {"mlflow_db_password", "mlflow_basic_auth_password", "mlflow_reader_password"} <= secrets
    assert {"mlflow_postgres_uri", "mlflow_effective_backend_store_uri"} <= secrets, "derived from a password"
    assert "mlflow_prefix" not in secrets
    assert mentions_a_secret({"name": "x", "ansible.builtin.copy": {"content": "{{ x_token }}"}}, secrets)
    assert mentions_a_secret({"name": "x", "ansible.builtin.template": {"src": "mlflow.env.j2"}}, secrets)
    assert not mentions_a_secret(
        {"name": "Set the password", "ansible.builtin.file": {"path": "/x"}}, secrets
    )
    assert not mentions_a_secret({"name": "x", "ansible.builtin.assert": {"that": "x_password"}}, secrets)


def test_every_task_that_writes_or_passes_a_secret_has_no_log() -> None:
    secrets = secret_bearing_variables()
    tasks = list(all_tasks())
    exposed = [
        where for where, task in tasks if mentions_a_secret(task, secrets) and task.get("no_log") is not True
    ]

    assert len(tasks) > 30
    assert sum(task.get("no_log") is True for _, task in tasks) >= 6
    assert exposed == [], f"tasks that handle a secret without no_log: true: {exposed}"


@pytest.mark.slow
def test_ansible_lint_passes_with_the_configured_profile() -> None:
    result = _run([str(ansible_tool("ansible-lint")), "--offline", "--nocolor"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stderr + result.stdout


def test_playbook_syntax_is_valid(tmp_path: Path) -> None:
    result = _run(
        [str(ansible_tool("ansible-playbook")), "-i", str(_inventory(tmp_path)), PLAYBOOK, "--syntax-check"]
    )

    assert result.returncode == 0, result.stdout + result.stderr


# Values no output may contain: the dry run below shows every file it would write (--diff).
DRY_RUN_SECRETS = {
    "mlflow_db_password": "db-secret-7Qx",
    "mlflow_basic_auth_password": "writer-secret-4Jm",
    "mlflow_reader_password": "reader-secret-9Vk",
}


@pytest.mark.slow
def test_dry_run_of_every_tag_completes_without_failures_or_secrets(tmp_path: Path) -> None:
    """Local PostgreSQL, venv, systemd unit and nginx in check mode with --diff: nothing is written, nothing
    fails, and no secret shows in the output (the environment file holds the database URI, the htpasswd file
    the hashes: both are no_log). The nginx site lets the read-only user read and refuses its writes."""
    prefix = tmp_path / "prefix"
    extra_vars = (
        _as_invoking_user()
        | {
            "mlflow_prefix": str(prefix),
            "mlflow_artifacts_bucket": "fraud-dev-mlflow-000000000000",
        }
        | DRY_RUN_SECRETS
    )

    result = _playbook(_inventory(tmp_path), extra_vars, "--check", "--diff")

    recap = _recap(result.stdout)
    output = result.stdout + result.stderr
    assert (recap.failed, recap.unreachable) == (0, 0), result.stdout[-5000:]
    assert "Install the systemd unit" in result.stdout
    assert "Write the MLflow site" in result.stdout
    assert not prefix.exists(), "check mode created the prefix"
    for name, value in DRY_RUN_SECRETS.items():
        assert value not in output, f"{name} shows in the output of a --check --diff run"
    site = result.stdout.split("Write the MLflow site", 1)[1]
    assert "map $remote_user $mlflow_is_writer {" in site
    assert '"fraud" 1;' in site, "only the writer may write"
    assert "if ($mlflow_refused) {" in site
    assert "return 403;" in site


def test_missing_secret_fails_early_with_its_name(tmp_path: Path) -> None:
    extra_vars = _as_invoking_user() | {"mlflow_prefix": str(tmp_path / "p"), "mlflow_artifacts_bucket": "b"}

    result = _playbook(_inventory(tmp_path), extra_vars, "--check", "--tags", "mlflow_app")

    assert _recap(result.stdout).failed == 1
    assert "mlflow_db_password is empty" in result.stdout


def test_an_rds_admin_user_without_its_password_fails_early_with_its_name(tmp_path: Path) -> None:
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(tmp_path / "p"),
        "mlflow_artifacts_bucket": "b",
        "mlflow_db_password": "x",
        "mlflow_db_host": "db.example.internal",
        "mlflow_db_admin_user": "mlflow_admin",
    }

    result = _playbook(_inventory(tmp_path), extra_vars, "--check", "--tags", "postgres")

    assert _recap(result.stdout).failed == 1
    assert "mlflow_db_admin_password is empty while mlflow_db_admin_user is set" in result.stdout


@dataclass(frozen=True)
class DeployedApp:
    """The outcome of the real `--tags mlflow_app` run."""

    prefix: Path
    port: int
    first_run: subprocess.CompletedProcess[str]
    inventory: Path
    extra_vars: dict[str, object]


def _pid(prefix: Path) -> int:
    return int((prefix / "run" / "mlflow.pid").read_text().strip())


def _stop_by_pid_file(prefix: Path) -> None:
    """The role starts the server in its own session: its pid is also its process group id."""
    pid = _pid(prefix)
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb refuses root: as root, run the throwaway cluster as `nobody`."""
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def _postgres_cluster() -> Iterator[tuple[Path, int]]:
    """A PostgreSQL cluster in a temporary folder on a free port: (socket dir, port); superuser `pgadmin`
    trusted on the socket, passwords (scram) on 127.0.0.1 like a distribution's default cluster, and TLS
    with a certificate for 127.0.0.1 signed by `<socket dir>/ca.pem`, like RDS."""
    initdb, pg_ctl = str(require_program("initdb")), str(require_program("pg_ctl"))
    require_program("psql")
    root = Path(tempfile.mkdtemp(prefix="ansible-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
    data, port = root / "data", free_port()
    subprocess.run(
        _as_cluster_owner(
            [initdb, "-D", str(data), "-U", "pgadmin", "--auth-local=trust", "--auth-host=scram-sha-256"]
        ),
        check=True,
        capture_output=True,
    )
    certificate, key = server_certificate(root, "ca", owner="nobody")
    tls = f"-c ssl=on -c ssl_cert_file={certificate} -c ssl_key_file={key}"
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 {tls}"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"]
    subprocess.run(_as_cluster_owner(start), check=True, capture_output=True)
    try:
        yield root, port
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"]
        subprocess.run(_as_cluster_owner(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[Path, int]]:
    with _postgres_cluster() as cluster:
        yield cluster


RDS_LIKE_ADMIN_PASSWORD = "m@ster'pw"


def _create_rds_like_admin(socket_dir: Path, port: int) -> None:
    """`master`: may create roles and databases, is no superuser (RDS's master user)."""
    literal = RDS_LIKE_ADMIN_PASSWORD.replace("'", "''")
    create = f"CREATE ROLE master LOGIN CREATEROLE CREATEDB PASSWORD '{literal}'"
    psql = [str(require_program("psql")), "-h", str(socket_dir), "-p", str(port), "-U", "pgadmin"]
    subprocess.run([*psql, "-d", "postgres", "-c", create], check=True, capture_output=True)


APP_DB_PASSWORD = "app'db/pw%1"


@pytest.fixture(scope="module")
def deployed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedApp]:
    """`--tags postgres,mlflow_app` for real: fresh venv with the pinned MLflow, its backend store on a
    PostgreSQL server reached as RDS is (role and database created by its non-superuser admin, TLS verified
    with the CA bundle), local artifacts, free port."""
    root = tmp_path_factory.mktemp("ansible-mlflow")
    prefix = root / "opt-mlflow"
    port = free_port()
    with _postgres_cluster() as (socket_dir, db_port):
        _create_rds_like_admin(socket_dir, db_port)
        extra_vars = _as_invoking_user() | {
            "mlflow_prefix": str(prefix),
            "mlflow_version": MLFLOW_VERSION,
            "mlflow_db_host": "127.0.0.1",
            "mlflow_db_port": db_port,
            "mlflow_db_password": APP_DB_PASSWORD,
            "mlflow_db_admin_user": "master",
            "mlflow_db_admin_password": RDS_LIKE_ADMIN_PASSWORD,
            "mlflow_db_ca_bundle": str(socket_dir / "ca.pem"),
            "mlflow_db_ca_path": str(root / "db-ca.pem"),
            "mlflow_postgres_client_packages": [],
            "mlflow_artifacts_destination": str(prefix / "data" / "artifacts"),
            "mlflow_start_without_systemd": True,
            "mlflow_manage_systemd": False,
            "mlflow_system_packages": [],
            "mlflow_port": port,
            "mlflow_workers": 1,
            # Bytecode compilation is half of the install's ~70 s here and tests nothing of the role.
            "mlflow_pip_extra_args": "--no-compile",
        }
        inventory = _inventory(root)
        first_run = _playbook(inventory, extra_vars, "--tags", "postgres,mlflow_app")
        try:
            yield DeployedApp(prefix, port, first_run, inventory, extra_vars)
        finally:
            if (prefix / "run" / "mlflow.pid").exists():
                _stop_by_pid_file(prefix)


@pytest.mark.slow
def test_app_tag_installs_the_pinned_mlflow_and_serves_health(deployed_app: DeployedApp) -> None:
    recap = _recap(deployed_app.first_run.stdout)
    assert recap.failed == 0, deployed_app.first_run.stdout[-5000:]

    with urllib.request.urlopen(f"http://127.0.0.1:{deployed_app.port}/health", timeout=10) as response:
        assert (response.status, response.read().decode().strip()) == (200, "OK")
    # /health does not touch the store: a search does (the default experiment, in PostgreSQL).
    search = f"http://127.0.0.1:{deployed_app.port}/api/2.0/mlflow/experiments/search?max_results=5"
    with urllib.request.urlopen(search, timeout=30) as response:
        experiments = json.loads(response.read())["experiments"]
    assert [experiment["name"] for experiment in experiments] == ["Default"]
    version = subprocess.run(
        [str(deployed_app.prefix / "venv" / "bin" / "mlflow"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=ansible_env(),
    )
    assert MLFLOW_VERSION in version.stdout


@pytest.mark.slow
def test_app_tag_keeps_the_password_carrying_uri_off_the_command_line(deployed_app: DeployedApp) -> None:
    command_line = (Path("/proc") / str(_pid(deployed_app.prefix)) / "cmdline").read_bytes().split(b"\0")
    environment_file = (deployed_app.prefix / "etc" / "mlflow.env").read_text()

    assert b"server" in command_line
    assert not any(b"postgresql" in argument or b"db/pw" in argument for argument in command_line)
    assert "MLFLOW_BACKEND_STORE_URI='postgresql+psycopg2://mlflow:" in environment_file
    assert "?sslmode=verify-full&sslrootcert=" in environment_file
    assert oct((deployed_app.prefix / "etc" / "mlflow.env").stat().st_mode & 0o777) == "0o640"


@pytest.mark.slow
def test_app_tag_second_run_changes_nothing_and_keeps_the_server(deployed_app: DeployedApp) -> None:
    pid_before = _pid(deployed_app.prefix)

    second = _playbook(deployed_app.inventory, deployed_app.extra_vars, "--tags", "mlflow_app")

    assert _recap(second.stdout) == Recap(ok=_recap(second.stdout).ok, changed=0, unreachable=0, failed=0), (
        second.stdout[-5000:]
    )
    assert _pid(deployed_app.prefix) == pid_before


# Run in the deployed venv: one migration of MLflow's chain undone, as an older MLflow left the schema.
DOWNGRADE_ONE = (
    "import os; from alembic import command; from mlflow.store.db.utils import _get_alembic_config; "
    "command.downgrade(_get_alembic_config(os.environ['MLFLOW_BACKEND_STORE_URI']), '-1')"
)
SCHEMA_VERSION = (
    "import os, sqlalchemy as sa; e = sa.create_engine(os.environ['MLFLOW_BACKEND_STORE_URI']); "
    "print(e.connect().execute(sa.text('SELECT version_num FROM alembic_version')).scalar())"
)


def _in_deployed_venv(app: DeployedApp, code: str) -> str:
    """`code` run by the venv's Python with the server's environment file (the store URI and its password)."""
    environment = (app.prefix / "etc" / "mlflow.env").read_text()
    uri = re.search(r"^MLFLOW_BACKEND_STORE_URI='(.*)'$", environment, re.MULTILINE)
    assert uri is not None
    result = subprocess.run(
        [str(app.prefix / "venv" / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=ansible_env() | {"MLFLOW_BACKEND_STORE_URI": uri.group(1)},
        timeout=120,
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_a_restart_brings_an_older_schema_up_to_the_installed_mlflow(deployed_app: DeployedApp) -> None:
    """A newer MLflow refuses to start on an older schema, and no step of the role migrated it: upgrading
    `mlflow_version` left the service failing on every restart. Runs after the idempotence test (module
    order): it restarts the server."""
    head = _in_deployed_venv(deployed_app, SCHEMA_VERSION)
    _in_deployed_venv(deployed_app, DOWNGRADE_ONE)
    assert _in_deployed_venv(deployed_app, SCHEMA_VERSION) != head
    _stop_by_pid_file(deployed_app.prefix)

    run = _playbook(deployed_app.inventory, deployed_app.extra_vars, "--tags", "mlflow_app")

    assert _recap(run.stdout).failed == 0, run.stdout[-5000:]
    assert _in_deployed_venv(deployed_app, SCHEMA_VERSION) == head
    search = f"http://127.0.0.1:{deployed_app.port}/api/2.0/mlflow/experiments/search?max_results=5"
    with urllib.request.urlopen(search, timeout=30) as response:
        assert [e["name"] for e in json.loads(response.read())["experiments"]] == ["Default"]
    log = (deployed_app.prefix / "log").glob("*")
    assert any(f"-> {head}" in path.read_text(errors="replace") for path in log if path.is_file())


@pytest.mark.slow
def test_postgres_tag_creates_a_login_with_an_awkward_password(
    tmp_path: Path, throwaway_postgres: tuple[Path, int]
) -> None:
    socket_dir, port = throwaway_postgres
    password = "s3cr/et'p@ss:w%rd"
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(tmp_path / "p"),
        "mlflow_artifacts_bucket": "b",
        "mlflow_db_password": password,
        "mlflow_db_port": port,
        "mlflow_postgres_packages": [],
        "mlflow_postgres_service": "",
        "mlflow_postgres_admin_user": getpass.getuser(),
        "mlflow_postgres_superuser": "pgadmin",
        "mlflow_postgres_socket_dir": str(socket_dir),
    }
    inventory = _inventory(tmp_path)

    first = _playbook(inventory, extra_vars, "--tags", "postgres")
    second = _playbook(inventory, extra_vars, "--tags", "postgres")

    assert (_recap(first.stdout).failed, _recap(first.stdout).changed) == (0, 1), first.stdout[-5000:]
    assert (_recap(second.stdout).failed, _recap(second.stdout).changed) == (0, 0), second.stdout[-5000:]
    assert _psql_as("mlflow", password, port, "SELECT current_user") == "mlflow"


def _psql_as(user: str, password: str, port: int, query: str, database: str = "mlflow") -> str:
    """One query over TCP with a password, as a client of the server would log in."""
    server = ["-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", database]
    result = subprocess.run(
        [str(require_program("psql")), *server, "-tAc", query],
        env=os.environ | {"PGPASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.slow
def test_postgres_tag_creates_the_login_on_a_remote_server_as_its_non_superuser_admin(
    tmp_path: Path, throwaway_postgres: tuple[Path, int]
) -> None:
    """RDS: the role connects over verified TLS as the master user, which may create roles and databases but
    is no superuser (like rds_superuser), so it must join the new role before giving it the database."""
    socket_dir, port = throwaway_postgres
    admin_password, password = RDS_LIKE_ADMIN_PASSWORD, "app/pw:1%"
    _create_rds_like_admin(socket_dir, port)
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(tmp_path / "p"),
        "mlflow_artifacts_bucket": "b",
        "mlflow_db_host": "127.0.0.1",
        "mlflow_db_port": port,
        "mlflow_db_ca_bundle": str(socket_dir / "ca.pem"),  # so sslmode verify-full
        "mlflow_db_ca_path": str(tmp_path / "db-ca.pem"),
        "mlflow_db_password": password,
        "mlflow_db_admin_user": "master",
        "mlflow_db_admin_password": admin_password,
        "mlflow_postgres_client_packages": [],
    }
    inventory = _inventory(tmp_path)

    first = _playbook(inventory, extra_vars, "--tags", "postgres")
    second = _playbook(inventory, extra_vars, "--tags", "postgres")

    # changed: the CA bundle copied, the role and database created
    assert (_recap(first.stdout).failed, _recap(first.stdout).changed) == (0, 2), first.stdout[-5000:]
    assert "Create the MLflow role and database on the remote server" in first.stdout
    assert (tmp_path / "db-ca.pem").read_bytes() == (socket_dir / "ca.pem").read_bytes()
    assert (_recap(second.stdout).failed, _recap(second.stdout).changed) == (0, 0), second.stdout[-5000:]
    superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    owner = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    assert _psql_as("master", admin_password, port, superuser, "postgres") == "f"
    assert _psql_as("mlflow", password, port, owner) == "mlflow"
    assert _psql_as("mlflow", password, port, "CREATE TABLE t (x int); DROP TABLE t; SELECT 'ok'").endswith(
        "ok"
    )
    for secret in (password, admin_password):
        assert secret not in first.stdout + first.stderr


@pytest.mark.slow
def test_postgres_tag_refuses_a_remote_server_whose_certificate_another_ca_signed(
    tmp_path: Path, throwaway_postgres: tuple[Path, int]
) -> None:
    """With a CA bundle the server is verified: one that is not the database's (here, a certificate from
    another CA) is refused. Everything else is as in the test above, which succeeds."""
    socket_dir, port = throwaway_postgres
    _create_rds_like_admin(socket_dir, port)
    other_ca, _ = certificate_authority(tmp_path, "other")
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(tmp_path / "p"),
        "mlflow_artifacts_bucket": "b",
        "mlflow_db_host": "127.0.0.1",
        "mlflow_db_port": port,
        "mlflow_db_ca_bundle": str(other_ca),
        "mlflow_db_ca_path": str(tmp_path / "db-ca.pem"),
        "mlflow_db_password": "app/pw:1%",
        "mlflow_db_admin_user": "master",
        "mlflow_db_admin_password": RDS_LIKE_ADMIN_PASSWORD,
        "mlflow_postgres_client_packages": [],
    }

    result = _playbook(_inventory(tmp_path), extra_vars, "--tags", "postgres")

    assert _recap(result.stdout).failed == 1, result.stdout[-5000:]
    assert "Create the MLflow role and database on the remote server" in result.stdout
