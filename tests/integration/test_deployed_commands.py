"""Every `fraud ...` command a deployment runs is one the CLI accepts.

The ECS task definitions (Terraform), the compose file and the image's CMD name CLI options in text; a renamed
or removed option would only show as a task that exits at start, in AWS. Each command is parsed here by the
CLI's own parser (click, through Typer), without running it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import typer.main
import yaml
from hcl2.api import SerializationOptions
from typer.exceptions import TyperException

from fraud_detection.entrypoints.cli.app import app

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def terraform_commands() -> dict[str, list[str]]:
    """The ECS containers' commands (`command = null`: the image's CMD)."""
    with (REPO / "deploy" / "terraform" / "modules" / "ecs" / "main.tf").open() as handle:
        document = hcl2.load(
            handle,
            serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False),
        )
    (containers,) = [
        body["containers"] for entry in document["locals"] for body in [entry] if "containers" in body
    ]
    return {
        f"ecs {name}": spec["command"] for name, spec in containers.items() if spec["command"] is not None
    }


def compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    return {
        f"compose {name}": service["command"]
        for name, service in services.items()
        if isinstance(service.get("command"), list) and service["command"][:1] == ["fraud"]
    }


def image_commands() -> dict[str, list[str]]:
    """The exec-form CMD of every Dockerfile stage that runs `fraud`."""
    found = re.findall(r"^CMD (\[.*\])$", (REPO / "Dockerfile").read_text(), flags=re.MULTILINE)
    return {f"image CMD {i}": argv for i, argv in enumerate(map(json.loads, found)) if argv[:1] == ["fraud"]}


DEPLOYED = terraform_commands() | compose_commands() | image_commands()


def parse(argv: list[str]) -> Any:
    """Parse `fraud <argv>` down to its subcommand, as the console script would, running nothing: the
    subcommand's context (its parsed, converted parameters). Typer vendors its own click, so commands are
    walked by their methods (get_command, make_context) rather than by click's classes."""
    command = typer.main.get_command(app)
    context = command.context_class(command, info_name="fraud")
    rest = list(argv)
    while hasattr(command, "get_command"):
        name, rest = rest[0], rest[1:]
        command = command.get_command(context, name)
        if command is None:
            raise LookupError(f"fraud has no command {' '.join(argv[: argv.index(name) + 1])}")
        context = command.make_context(name, rest, parent=context)
        rest = (
            [*getattr(context, "_protected_args", []), *context.args]
            if hasattr(command, "get_command")
            else []
        )
    return context


def test_the_deployments_run_commands_of_their_own() -> None:
    assert {"ecs worker", "ecs retrain", "compose worker", "image CMD 1"} <= set(DEPLOYED), sorted(DEPLOYED)


@pytest.mark.parametrize("where", sorted(DEPLOYED))
def test_the_cli_accepts_the_deployed_command(where: str) -> None:
    argv = DEPLOYED[where]

    context = parse(argv[1:])

    assert context.command.name == argv[1]


@pytest.mark.parametrize(
    "argv",
    [["worker", "--concurency", "2"], ["retrain", "--reasons", "x"], ["serve", "--port", "http"], ["servee"]],
)
def test_a_wrong_command_is_refused_by_the_same_parse(argv: list[str]) -> None:
    with pytest.raises((TyperException, LookupError)):
        parse(argv)
