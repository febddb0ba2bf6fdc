"""The Dockerfile, built and run for real: the service image scores like `fraud serve`, non-root on a
read-only root filesystem with FRAUD_HOME on a volume, its HEALTHCHECK works; the Lambda image answers a drift
event. The tests share one running container and run in file order (the last one stops it).

Built with podman from Debian's packages and a host wheelhouse (scripts/container_image.py explains why): this
machine has no Docker engine and cannot pull from Docker Hub. The Dockerfile is the one `docker build` uses;
only the base image and pip's package source come in as build arguments.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from scripts import container_image as builder

from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.simulation import generate_transactions
from tests.api_clients import SERVICE
from tests.e2e.conftest import make_cli
from tests.e2e.lambda_runtime import LambdaRuntimeApi
from tests.e2e.serving import TOKEN, serve, train_champion, wait_until
from tests.fixtures.programs import require_program
from tests.fixtures.servers import free_port

# The first test builds the images (cold: ~5 min, more while the other xdist worker is busy)
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

TAG = "localhost/fraud-detection:e2e"
UID = "10001"
BATCH_ROWS = 1_200
START_SECONDS = 120


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        builder.privileged(["podman", *args]),
        env=builder.podman_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert result.returncode == 0, f"podman {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    for program in ("podman", "runc", "debootstrap"):
        require_program(program)
    logs = tmp_path_factory.mktemp("image-logs")
    try:
        built = builder.build_images(["service", "lambda"], TAG, logs)
    except builder.ImageError as error:
        pytest.fail(str(error), pytrace=False)
    for image in built:  # shown with -s, and in the junit report's stdout
        print(
            f"{image.tag} ({image.target}): {image.size_bytes / 1e6:,.0f} MB in {image.build_seconds:.0f} s"
        )
    return {image.target: image for image in built}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A FRAUD_HOME with a champion. The registry stores absolute artifact paths, so containers mount it at
    the same path (`:U` hands it to the image's user)."""
    folder = tmp_path_factory.mktemp("image-home")
    train_champion(folder)
    return folder


def rows(count: int, seed: int) -> list[dict[str, object]]:
    frame = generate_transactions(count, seed=seed, fraud_rate=0.02)
    return [
        {name: float(row[name]) for name in ("Time", *SCORING_INPUTS)} | {"transaction_id": f"img-{seed}-{i}"}
        for i, (_, row) in enumerate(frame.iterrows())
    ]


SAME_FIELDS = ("transaction_id", "fraud_probability", "decision", "threshold", "model", "top_contributions")


@pytest.fixture(scope="module")
def container(images: dict[str, Any], home: Path) -> Iterator[dict[str, Any]]:
    """The service image running on the home; yields what `fraud serve` on the host answered first."""
    probe = rows(20, seed=3)
    with serve(make_cli(home)) as server, server.client() as client:
        expected = [client.post("/v1/score", json=body).json() for body in probe]
    port = free_port()
    name = f"fraud-e2e-{port}"
    podman(
        "run", "--detach", "--name", name, "--read-only", "--publish", f"127.0.0.1:{port}:8000",
        "--volume", f"{home}:{home}:U", "--env", f"FRAUD_HOME={home}", "--env", f"FRAUD_ADMIN_TOKEN={TOKEN}",
        images["service"].tag,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until(lambda: _status(f"{url}/readyz") == 200, timeout=START_SECONDS, interval=0.5)
        assert ready, podman("logs", name, check=False).stderr[-3000:]
        yield {"name": name, "url": url, "probe": probe, "expected": expected}
    finally:
        podman("rm", "--force", "--time", "30", name, check=False)


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_the_service_image_answers_exactly_as_fraud_serve_does(container: dict[str, Any]) -> None:
    with httpx.Client(base_url=container["url"], timeout=30, headers=SERVICE) as client:
        answers = [client.post("/v1/score", json=body).json() for body in container["probe"]]
        assert client.get("/v1/model").json()["source"] == "registry"
    for served, expected in zip(answers, container["expected"], strict=True):
        assert {k: served[k] for k in SAME_FIELDS} == {k: expected[k] for k in SAME_FIELDS}
    assert {a["decision"] for a in answers} <= {"fraud", "legit"}


def test_the_service_runs_as_its_own_user_on_a_read_only_root(container: dict[str, Any]) -> None:
    assert podman("exec", container["name"], "id", "-u").stdout.strip() == UID
    written = podman("exec", container["name"], "touch", "/opt/venv/planted", check=False)
    assert written.returncode != 0
    assert "Read-only file system" in written.stderr
    inspected = json.loads(podman("inspect", container["name"]).stdout)[0]
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True


def test_the_image_home_is_readable_by_its_user_alone(images: dict[str, Any]) -> None:
    """Its databases and captured rows are 0644 inside it: a home made 0755 exposed them to every user."""
    listed = podman(
        "run", "--rm", "--entrypoint", "stat", images["service"].tag, "-c", "%a %u", "/var/lib/fraud"
    )  # fmt: skip
    assert listed.stdout.split() == ["700", UID]


def test_the_service_image_trains_and_runs_the_retrain_tasks_command(images: dict[str, Any]) -> None:
    """The ECS retrain task runs this image with `fraud retrain --reason event` (Terraform's command): the
    pipeline and the retrain flow, Prefect's temporary server included, as the image's user, offline."""
    script = (
        "fraud data generate --rows 20000 --fraud-rate 0.01 --seed 4 >/dev/null"
        " && fraud pipeline run >/dev/null && fraud retrain --reason event"
    )
    ran = podman(
        "run", "--rm", "--network", "none", "--env", "FRAUD_HOME=/tmp/fraud-home", images["service"].tag,
        "sh", "-c", script, check=False, timeout=600,
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "retrain (event): starting the Prefect flow" in ran.stdout + ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr


def test_the_healthcheck_passes_on_a_live_api_and_fails_without_one(
    images: dict[str, Any], container: dict[str, Any]
) -> None:
    inspected = json.loads(podman("image", "inspect", images["service"].tag).stdout)[0]
    assert "/healthz" in " ".join(inspected["Healthcheck"]["Test"])
    assert podman("healthcheck", "run", container["name"], check=False).returncode == 0
    idle = f"{container['name']}-idle"
    podman("run", "--detach", "--name", idle, "--read-only", images["service"].tag, "sleep", "60")
    try:
        assert podman("healthcheck", "run", idle, check=False).returncode != 0
    finally:
        podman("rm", "--force", "--time", "0", idle, check=False)


def test_the_lambda_image_answers_a_drift_event(
    images: dict[str, Any], container: dict[str, Any], home: Path
):
    with httpx.Client(base_url=container["url"], timeout=60, headers=SERVICE) as client:
        scored = client.post("/v1/score/batch", json={"transactions": rows(BATCH_ROWS, seed=4)})
        assert scored.status_code == 200, scored.text
    podman("stop", "--time", "30", container["name"])  # SIGTERM flushes the captured predictions
    captured = sum(pq.read_metadata(p).num_rows for p in (home / "store" / "predictions").rglob("*.parquet"))
    assert captured >= BATCH_ROWS  # plus the probe rows, when the first test ran

    event = {
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": {"hours": 2, "publish": False},
    }
    with LambdaRuntimeApi(event) as runtime:
        name = f"{container['name']}-lambda"
        podman(
            "run", "--detach", "--name", name, "--read-only", "--network", "host",
            "--volume", f"{home}:{home}:U", "--env", f"FRAUD_HOME={home}",
            "--env", f"AWS_LAMBDA_RUNTIME_API={runtime.address}", images["lambda"].tag,
        )  # fmt: skip
        try:
            kind, answer = runtime.outcome(timeout=START_SECONDS)
        finally:
            logs = podman("logs", name, check=False)
            podman("rm", "--force", "--time", "0", name, check=False)
    assert kind == "response", (answer, logs.stderr[-3000:])
    assert answer["status"] in ("no_drift", "input_drift", "model_at_risk"), answer
    assert isinstance(answer["model_at_risk"], bool), answer
    assert answer["model"] == {"name": "fraud-lgbm", "version": 1}
    assert answer["window_rows"] == captured
    # The compaction before the check ran in the image (read-only root, the store on the volume).
    assert set(answer["compaction"]) == {"hours", "files_merged", "rows", "files_deleted", "hours_left"}, (
        answer
    )
    assert answer["report"].startswith(home.as_uri())
