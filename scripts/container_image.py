"""Build the project's container images with podman, on a machine with no Docker engine and no Docker Hub.

`make image` and tests/e2e/test_container_image.py use it. What it does, and why:
- podman runs with runc and no default ulimits (scripts/podman/containers.conf): crun refuses hybrid cgroups,
  and raising the open-files limit is not permitted on some hosts;
- the base image is made from Debian's packages (debootstrap minbase bookworm + Debian's python3.11), because
  `python:3.11-slim-bookworm` cannot be pulled; it is passed to the Dockerfile as PYTHON_IMAGE, so the
  Dockerfile itself is the one a real `docker build` uses;
- pip inside a build cannot reach the package index, so the pinned wheels are downloaded on the host into a
  wheelhouse, mounted at /wheels, and installed with PIP_NO_INDEX/PIP_FIND_LINKS build arguments. The host's
  pip evaluates markers for its own Python (3.11.x); the wheelhouse is then checked by a dry-run install with
  the image's own interpreter, and whatever that reports missing is downloaded too.
Base images are built once and kept in podman's store; the wheelhouse is kept under .cache/image.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = Path(__file__).resolve().parent / "podman" / "containers.conf"
CACHE = REPO / ".cache" / "image"
MINBASE = "localhost/fraud-build/debian-minbase:bookworm"
PYTHON_BASE = "localhost/fraud-build/python:3.11-bookworm"
DEBIAN_MIRROR = os.environ.get("FRAUD_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Debian's interpreter stands in for the official image's; python-is-python3 gives it the `python` name.
PYTHON_BASE_CONTAINERFILE = f"""FROM {MINBASE}
RUN apt-get update \\
    && apt-get install -y --no-install-recommends \\
        python3.11 python3.11-venv python-is-python3 ca-certificates \\
    && rm -rf /var/lib/apt/lists/*
"""
MISSING = re.compile(r"No matching distribution found for ([^;\s]+)")
MAX_WHEELHOUSE_PASSES = 5


class ImageError(RuntimeError):
    """A step failed; the message names it and ends with the tail of its output."""


@dataclass(frozen=True)
class Image:
    tag: str
    target: str
    size_bytes: int
    build_seconds: float


def podman_env() -> dict[str, str]:
    return os.environ | {"CONTAINERS_CONF": str(CONTAINERS_CONF)}


def privileged(command: Sequence[str]) -> list[str]:
    """debootstrap and podman (rootful, to import its root filesystem) need root: passwordless sudo if not."""
    if os.geteuid() == 0:
        return list(command)
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n", "--preserve-env=CONTAINERS_CONF", *command]
    raise ImageError(f"{command[0]} needs root here (no passwordless sudo): run as root")


def run(command: Sequence[str], what: str, log: Path | None = None, stdin: bytes | None = None) -> str:
    """Run a step; on failure raise ImageError with the last lines of its output."""
    result = subprocess.run(
        privileged(command) if command[0] in ("podman", "debootstrap") else list(command),
        input=stdin,
        capture_output=True,
        env=podman_env(),
        cwd=REPO,
    )
    output = (result.stdout + result.stderr).decode(errors="replace")
    if log is not None:
        log.write_text(output)
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-25:])
        raise ImageError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout.decode(errors="replace")


def podman(*args: str, what: str, log: Path | None = None, stdin: bytes | None = None) -> str:
    return run(["podman", *args], what, log, stdin)


def image_exists(tag: str) -> bool:
    command = privileged(["podman", "image", "exists", tag])
    return subprocess.run(command, env=podman_env(), capture_output=True).returncode == 0


def ensure_python_base(work: Path) -> str:
    """localhost/fraud-build/python:3.11-bookworm, made once from Debian's packages."""
    if not image_exists(MINBASE):
        root = work / "rootfs"
        run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), DEBIAN_MIRROR],
            "debootstrap",
            work / "debootstrap.log",
        )
        archive = subprocess.run(
            privileged(["tar", "-C", str(root), "-c", "."]), capture_output=True, check=True
        )
        podman("import", "-", MINBASE, what="podman import", stdin=archive.stdout)
        subprocess.run(privileged(["rm", "-rf", str(root)]), check=True)
    if not image_exists(PYTHON_BASE):
        containerfile = work / "Containerfile.python"
        containerfile.write_text(PYTHON_BASE_CONTAINERFILE)
        podman(
            "build", "--network", "host", "-f", str(containerfile), "-t", PYTHON_BASE, str(work),
            what="the Python base image", log=work / "python-base.log",
        )  # fmt: skip
    return PYTHON_BASE


def runtime_requirements() -> list[str]:
    """pyproject's runtime list, the build backend, and the pins the Dockerfile's lambda stage installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = list(project["project"]["dependencies"]) + list(project["build-system"]["requires"])
    lambda_stage = False
    for instruction in DockerfileParser(path=str(REPO / "Dockerfile")).structure:
        if instruction["instruction"] == "FROM":
            lambda_stage = instruction["value"].split()[-1] == "lambda"
        elif lambda_stage and instruction["instruction"] == "RUN" and "pip install" in instruction["value"]:
            requirements += re.findall(r"\b[A-Za-z0-9_.-]+==[A-Za-z0-9_.+-]+", instruction["value"])
    return requirements


def wheelhouse(base: str, work: Path) -> Path:
    """The pinned wheels for the image's interpreter, in .cache/image/wheelhouse."""
    folder = CACHE / "wheelhouse"
    folder.mkdir(parents=True, exist_ok=True)
    requirements = work / "requirements.txt"
    requirements.write_text("\n".join(runtime_requirements()) + "\n")
    wanted = [f"-r{requirements}"]
    for _ in range(MAX_WHEELHOUSE_PASSES):
        run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "-c", str(REPO / "constraints.txt"), "-d", str(folder), *wanted],
            "pip download",
        )  # fmt: skip
        check = subprocess.run(
            privileged(
                ["podman", "run", "--rm", "--network", "none",
                 "-v", f"{folder}:/wheels:ro", "-v", f"{requirements}:/requirements.txt:ro",
                 "-v", f"{REPO / 'constraints.txt'}:/constraints.txt:ro", base, "sh", "-c",
                 "python -m venv /tmp/venv && /tmp/venv/bin/pip install --quiet --dry-run --no-index "
                 "--find-links /wheels -c /constraints.txt -r /requirements.txt"]
            ),
            capture_output=True,
            env=podman_env(),
        )  # fmt: skip
        if check.returncode == 0:
            return folder
        missing = MISSING.findall(check.stderr.decode(errors="replace"))
        if not missing:
            raise ImageError(f"the wheelhouse check failed:\n{check.stderr.decode(errors='replace')[-3000:]}")
        wanted = missing
    raise ImageError(f"the wheelhouse still misses {wanted} after {MAX_WHEELHOUSE_PASSES} passes")


def build(target: str, tag: str, base: str, wheels: Path, log: Path) -> Image:
    """`podman build` of one Dockerfile target, offline: base image and wheels from the host."""
    started = time.monotonic()
    podman(
        "build", "--network", "host", "--format", "docker", "--target", target,
        "--build-arg", f"PYTHON_IMAGE={base}",
        "--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/wheels",
        "--volume", f"{wheels}:/wheels:ro", "-t", tag, str(REPO),
        what=f"podman build --target {target}", log=log,
    )  # fmt: skip
    size = int(podman("image", "inspect", "--format", "{{.Size}}", tag, what="podman image inspect").strip())
    return Image(tag, target, size, time.monotonic() - started)


def build_images(targets: Sequence[str], tag: str, logs: Path) -> list[Image]:
    """Base, wheelhouse, then each target (`service` is tagged `tag`, others `tag-<target>`)."""
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fraud-image-") as scratch:
        work = Path(scratch)
        base = ensure_python_base(work)
        wheels = wheelhouse(base, work)
        return [
            build(
                target,
                tag if target == "service" else f"{tag}-{target}",
                base,
                wheels,
                logs / f"{target}.log",
            )
            for target in targets
        ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=["service", "lambda"], dest="targets")
    parser.add_argument("--tag", default="localhost/fraud-detection:dev")
    args = parser.parse_args(argv)
    try:
        images = build_images(args.targets or ["service", "lambda"], args.tag, CACHE / "logs")
    except ImageError as error:
        print(f"image: {error}", file=sys.stderr)
        return 1
    for image in images:
        megabytes = image.size_bytes / 1e6
        print(f"{image.tag} ({image.target}): {megabytes:,.0f} MB, built in {image.build_seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
