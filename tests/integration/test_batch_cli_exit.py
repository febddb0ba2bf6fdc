"""`fraud batch submit` in embedded mode (no broker; the job runs in the command's process), in-process with
typer's runner over a real container: the exit code of a failed job says whether running it again can help."""

from __future__ import annotations

import pytest
from dependency_injector import providers
from typer.testing import CliRunner

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.entrypoints.cli.app import app
from fraud_detection.settings import Settings
from tests.builders import transactions
from tests.fakes import FakeModel, FakeRegistry

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path):
    registry = FakeRegistry()
    registry.uri_models["models:/1"] = FakeModel(1.0)
    registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, "d" * 64, {"auprc": 0.9}))
    registry.set_alias(CHAMPION, 1)
    container = Container(Settings(home=tmp_path))
    container.adapters.registry.override(providers.Object(registry))
    use_container(container)
    inputs = tmp_path / "batch" / "in"
    inputs.mkdir(parents=True)
    transactions(300).drop(columns=["Class"]).to_csv(inputs / "day.csv", index=False)
    yield tmp_path, registry
    use_container(None)


def submit(home, name: str):
    folder, _ = home
    source, target = folder / "batch" / "in" / "day.csv", folder / "batch" / "out" / f"{name}.parquet"
    return CliRunner().invoke(app, ["batch", "submit", str(source), str(target), "--job-id", name])


def test_a_job_failed_by_an_outage_exits_1_and_one_failed_by_its_input_exits_2(home):
    folder, registry = home
    assert submit(home, "fine").exit_code == 0
    registry.down = True  # the registry is out past the retries: the same job may succeed later
    down = submit(home, "down")
    assert down.exit_code == 1, down.output
    assert "job down failed: " in down.stderr
    assert "unreachable" in down.stderr
    registry.down = False
    (folder / "batch" / "in" / "day.csv").write_text("Time,V1\n1,2\n")  # missing columns: fix it first
    bad = submit(home, "bad")
    assert bad.exit_code == 2, bad.output
    assert "job bad failed: " in bad.stderr
