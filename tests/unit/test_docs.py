"""The README stays true: its opening commands, and a configuration table matching `Settings`."""

from pathlib import Path

from typer.testing import CliRunner

from fraud_detection.entrypoints.cli.app import app
from fraud_detection.entrypoints.cli.config import variables

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    opening = "\n".join(README.splitlines()[:8])
    assert "make run" in opening
    assert "make test" in opening


def test_every_setting_is_documented_with_its_default():
    for env, default, description in variables():
        row = f"| `{env}` | `{default}` | {description} |".replace("``", "(unset)")
        assert row in README, (
            f"README's configuration table is stale for {env}; paste `fraud config --markdown`"
        )


def test_every_documented_command_exists():
    runner = CliRunner()
    for command in (["data", "generate"], ["data", "ingest"], ["data", "list"], ["data", "scenarios"],
                    ["validate"], ["pipeline", "run"], ["model", "list"], ["model", "history"],
                    ["model", "promote"], ["model", "rollback"], ["config"], ["mlflow-ui"]):  # fmt: skip
        assert f"fraud {' '.join(command)}" in README
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_admin_token_empty_means_disabled_and_short_is_refused():
    import pytest
    from pydantic import ValidationError

    from fraud_detection.settings import Settings

    assert Settings(admin_token="").admin_token is None
    assert Settings(admin_token="x" * 32).admin_token is not None
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(admin_token="x" * 31)
    # The .env.example placeholder is long enough, and still refused.
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(admin_token="change-me-admin-token-0123456789abcdef")
