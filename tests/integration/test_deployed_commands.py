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


def _terraform(module: str) -> dict[str, Any]:
    with (REPO / "deploy" / "terraform" / "modules" / module / "main.tf").open() as handle:
        document: dict[str, Any] = hcl2.load(
            handle,
            serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False),
        )
    return document


def terraform_commands() -> dict[str, list[str]]:
    """The ECS containers' commands (`command = null`: the image's CMD)."""
    (containers,) = [entry["containers"] for entry in _terraform("ecs")["locals"] if "containers" in entry]
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


def event_commands() -> dict[str, list[str]]:
    """The commands EventBridge runs in the retrain task (its input templates, placeholders filled in)."""
    found = {}
    for entry in _terraform("events")["resource"]:
        for name, target in entry.get("aws_cloudwatch_event_target", {}).items():
            for transformer in target.get("input_transformer", []):
                heredoc = transformer["input_template"]  # python-hcl2 keeps the <<-EOT ... EOT markers
                template = heredoc.split("\n", 1)[1].rsplit("\n", 1)[0].strip()
                filled = template.replace('"<version>"', '"2"').replace("<reason>", json.dumps('alert "X"'))
                for override in json.loads(filled)["containerOverrides"]:
                    found[f"event {name} ({override['name']})"] = override["command"]
    for entry in _terraform("events")["locals"]:  # the scheduled ones' commands, as jsonencode'd there
        for name in ("rollout_evaluate", "quality_measure"):
            if f"{name}_command" in entry:
                found[f"event {name} (retrain)"] = entry[f"{name}_command"]
    return found


DEPLOYED = terraform_commands() | compose_commands() | image_commands() | event_commands()


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
    expected = {"ecs worker", "ecs retrain", "compose worker", "image CMD 1", "event rollout_abort (retrain)",
                "event rollout_evaluate (retrain)", "event quality_measure (retrain)"}  # fmt: skip
    assert expected <= set(DEPLOYED), sorted(DEPLOYED)


@pytest.mark.parametrize("where", sorted(DEPLOYED))
def test_the_cli_accepts_the_deployed_command(where: str) -> None:
    argv = DEPLOYED[where]

    context = parse(argv[1:])

    assert argv[0] == "fraud"
    assert context.command.name in argv[1:3]  # the (sub)command the deployment names


def test_a_requested_rollback_runs_the_abort_guarded_by_its_version() -> None:
    """EventBridge fills the reason in as a JSON string (quotes escaped) and the version as text."""
    context = parse(DEPLOYED["event rollout_abort (retrain)"][1:])

    assert (context.command.name, context.params["version"]) == ("abort", 2)
    assert context.params["reason"] == 'alert "X"'


@pytest.mark.parametrize(
    "argv",
    [["worker", "--concurency", "2"], ["retrain", "--reasons", "x"], ["serve", "--port", "http"], ["servee"]],
)
def test_a_wrong_command_is_refused_by_the_same_parse(argv: list[str]) -> None:
    with pytest.raises((TyperException, LookupError)):
        parse(argv)
