"""The composition root: adapters chosen from settings; one container per process, rebuilt after a fork."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from dependency_injector import providers

import fraud_detection.flows.training as training_module
from fraud_detection.application.pipeline import TrainingPipeline
from fraud_detection.composition import Container, get_container, process, use_container
from fraud_detection.domain.errors import JobNotFoundError
from fraud_detection.infrastructure.aws.eventbridge import EventBridgePublisher
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.local.in_process_events import InProcessPublisher
from fraud_detection.infrastructure.s3 import S3ObjectStore
from fraud_detection.settings import Settings

pytestmark = pytest.mark.integration


def test_embedded_defaults_need_no_server(tmp_path):
    container = Container(Settings(home=tmp_path))
    assert isinstance(container.adapters.object_store(), LocalObjectStore)
    assert isinstance(container.adapters.publisher(), InProcessPublisher)
    assert container.settings().resolved_tracking_uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_job_status_without_a_broker_builds_no_scoring_steps(tmp_path):
    """The steps hold the registry and LightGBM (~3 s of imports): `fraud batch status` took 5 s for them."""

    def steps_not_wanted() -> None:
        raise AssertionError("the job steps were built to read a job's status")

    container = Container(Settings(home=tmp_path))
    container.batch.job_steps.override(providers.Callable(steps_not_wanted))
    with pytest.raises(JobNotFoundError):
        container.batch.job_control().status("no-such-job")


def test_settings_from_the_environment_switch_adapters(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUD_STORAGE_URI", "s3://bucket/prefix")
    monkeypatch.setenv("FRAUD_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FRAUD_EVENT_BUS", "fraud-events")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    container = Container()
    store = container.adapters.object_store()
    assert isinstance(store, S3ObjectStore)
    assert store.uri_for("k") == "s3://bucket/prefix/k"
    assert isinstance(container.adapters.publisher(), EventBridgePublisher)
    assert container.settings().resolved_tracking_uri == "http://127.0.0.1:5000"


def test_the_process_container_is_built_from_the_environment_once(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    use_container(None)
    try:
        container = get_container()
        assert get_container() is container
        assert container.settings().home == tmp_path
        assert isinstance(container.training.pipeline(), TrainingPipeline)
    finally:
        use_container(None)


def test_a_forked_child_builds_its_own_container(tmp_path):
    use_container(Container(Settings(home=tmp_path)))
    try:
        get_container().adapters.object_store()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its storage clients must not be the parent's
            os.write(write, b"1" if process._container is None else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
        assert process._container is not None
    finally:
        use_container(None)


def test_a_flow_module_loaded_from_its_file_uses_the_process_container(monkeypatch, tmp_path):
    """How a Prefect worker runs a deployment: it imports the entrypoint file by path; nothing is wired."""
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path))
    spec = importlib.util.spec_from_file_location("deployed_flow", Path(training_module.__file__))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "deployed_flow", module)
    spec.loader.exec_module(module)
    use_container(None)
    try:
        assert module.get_container().settings().home == tmp_path
    finally:
        use_container(None)
