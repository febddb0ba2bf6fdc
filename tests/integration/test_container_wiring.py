"""The composition root: adapters chosen from settings, and injection into the flow really happening."""

import importlib.util
from pathlib import Path

import pytest

import fraud_detection.flows.training as training_module
from fraud_detection.application.pipeline import TrainingPipeline
from fraud_detection.container import Container, bootstrap
from fraud_detection.infrastructure.events import EventBridgePublisher, InProcessPublisher
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.s3 import S3ObjectStore
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


def test_embedded_defaults_need_no_server(tmp_path):
    container = bootstrap(Settings(home=tmp_path))
    assert isinstance(container.object_store(), LocalObjectStore)
    assert isinstance(container.publisher(), InProcessPublisher)
    assert container.settings().resolved_tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_settings_from_the_environment_switch_adapters(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUD_STORAGE_URI", "s3://bucket/prefix")
    monkeypatch.setenv("FRAUD_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FRAUD_EVENT_BUS", "fraud-events")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    container = Container()
    store = container.object_store()
    assert isinstance(store, S3ObjectStore)
    assert store.uri_for("k") == "s3://bucket/prefix/k"
    assert isinstance(container.publisher(), EventBridgePublisher)
    assert container.settings().resolved_tracking_uri == "http://127.0.0.1:5000"


def test_bootstrap_wires_the_flow_and_overrides_reach_it(tmp_path):
    container = bootstrap(Settings(home=tmp_path))
    pipeline, settings = training_module.new_pipeline()
    assert isinstance(pipeline, TrainingPipeline)  # not a 'Provide' marker: injection happened
    assert settings.home == tmp_path
    container.unwire()


def test_a_flow_module_loaded_from_its_file_wires_itself(monkeypatch, tmp_path):
    """How a Prefect worker runs a deployment: it imports the entrypoint file by path, nobody bootstraps."""
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    spec = importlib.util.spec_from_file_location("deployed_flow", Path(training_module.__file__))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(__import__("sys").modules, "deployed_flow", module)
    spec.loader.exec_module(module)
    pipeline, settings = module.new_pipeline()
    assert isinstance(pipeline, TrainingPipeline)
    assert settings.home == tmp_path
