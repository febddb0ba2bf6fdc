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
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.programs import require_program
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO_ROOT / "deploy" / "ansible"
PLAYBOOK = "playbooks/mlflow.yml"
TOOLS_BIN = Path(os.environ.get("FRAUD_TOOLS_BIN", str(REPO_ROOT / ".venv-tools" / "bin")))
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


def _tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.skip(f"{path} is missing: build the tools venv (make tools)")
    return path


def _env() -> dict[str, str]:
    """Ansible's own settings for a quiet, offline, colourless run from deploy/ansible."""
    return os.environ | {
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_GALAXY_SERVER": "",
        "ANSIBLE_GALAXY_SERVER_LIST": "",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }


def _run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ANSIBLE_DIR, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
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
    command = [str(_tool("ansible-playbook")), "-i", str(inventory), PLAYBOOK, "-e", f"@{vars_file}", *args]
    return _run(command, PLAYBOOK_TIMEOUT_SECONDS)


@pytest.mark.slow
def test_ansible_lint_passes_with_the_configured_profile() -> None:
    result = _run([str(_tool("ansible-lint")), "--offline", "--nocolor"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stderr + result.stdout


def test_playbook_syntax_is_valid(tmp_path: Path) -> None:
    result = _run(
        [str(_tool("ansible-playbook")), "-i", str(_inventory(tmp_path)), PLAYBOOK, "--syntax-check"]
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_dry_run_of_every_tag_completes_without_failures(tmp_path: Path) -> None:
    """Local PostgreSQL, venv, systemd unit and nginx in check mode: nothing is written, nothing fails."""
    prefix = tmp_path / "prefix"
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(prefix),
        "mlflow_db_password": "check-only",
        "mlflow_basic_auth_password": "check-only",
        "mlflow_artifacts_bucket": "fraud-dev-mlflow-000000000000",
    }

    result = _playbook(_inventory(tmp_path), extra_vars, "--check")

    recap = _recap(result.stdout)
    assert (recap.failed, recap.unreachable) == (0, 0), result.stdout[-5000:]
    assert "Install the systemd unit" in result.stdout
    assert "Write the MLflow site" in result.stdout
    assert not prefix.exists(), "check mode created the prefix"


def test_missing_secret_fails_early_with_its_name(tmp_path: Path) -> None:
    extra_vars = _as_invoking_user() | {"mlflow_prefix": str(tmp_path / "p"), "mlflow_artifacts_bucket": "b"}

    result = _playbook(_inventory(tmp_path), extra_vars, "--check", "--tags", "mlflow_app")

    assert _recap(result.stdout).failed == 1
    assert "mlflow_db_password is empty" in result.stdout


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


@pytest.fixture(scope="module")
def deployed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedApp]:
    """`--tags mlflow_app` for real: fresh venv with the pinned MLflow, SQLite, local artifacts, free port."""
    root = tmp_path_factory.mktemp("ansible-mlflow")
    prefix = root / "opt-mlflow"
    port = free_port()
    extra_vars = _as_invoking_user() | {
        "mlflow_prefix": str(prefix),
        "mlflow_version": MLFLOW_VERSION,
        "mlflow_backend_store_uri": f"sqlite:///{prefix / 'data' / 'mlflow.db'}",
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
    first_run = _playbook(inventory, extra_vars, "--tags", "mlflow_app")
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
    version = subprocess.run(
        [str(deployed_app.prefix / "venv" / "bin" / "mlflow"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    assert MLFLOW_VERSION in version.stdout


@pytest.mark.slow
def test_app_tag_keeps_the_password_carrying_uri_off_the_command_line(deployed_app: DeployedApp) -> None:
    command_line = (Path("/proc") / str(_pid(deployed_app.prefix)) / "cmdline").read_bytes().split(b"\0")
    environment_file = (deployed_app.prefix / "etc" / "mlflow.env").read_text()

    assert b"server" in command_line
    assert not any(b"sqlite" in argument for argument in command_line)
    assert "MLFLOW_BACKEND_STORE_URI='sqlite:///" in environment_file
    assert oct((deployed_app.prefix / "etc" / "mlflow.env").stat().st_mode & 0o777) == "0o640"


@pytest.mark.slow
def test_app_tag_second_run_changes_nothing_and_keeps_the_server(deployed_app: DeployedApp) -> None:
    pid_before = _pid(deployed_app.prefix)

    second = _playbook(deployed_app.inventory, deployed_app.extra_vars, "--tags", "mlflow_app")

    assert _recap(second.stdout) == Recap(ok=_recap(second.stdout).ok, changed=0, unreachable=0, failed=0), (
        second.stdout[-5000:]
    )
    assert _pid(deployed_app.prefix) == pid_before


def _as_cluster_owner(command: list[str]) -> list[str]:
    """initdb refuses root: as root, run the throwaway cluster as `nobody`."""
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[Path, int]]:
    """A PostgreSQL cluster in a temporary folder on a free port: (socket dir, port); superuser `pgadmin`
    trusted on the socket, passwords (scram) on 127.0.0.1 like a distribution's default cluster."""
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
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    start = [pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start"]
    subprocess.run(_as_cluster_owner(start), check=True, capture_output=True)
    try:
        yield root, port
    finally:
        stop = [pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"]
        subprocess.run(_as_cluster_owner(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


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
    login = subprocess.run(
        [
            str(require_program("psql")),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "mlflow",
            "-d",
            "mlflow",
            "-tAc",
            "SELECT current_user",
        ],
        env=os.environ | {"PGPASSWORD": password},
        capture_output=True,
        text=True,
        check=False,
    )
    assert login.stdout.strip() == "mlflow", login.stderr
