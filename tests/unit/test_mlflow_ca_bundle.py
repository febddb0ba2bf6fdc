"""FRAUD_MLFLOW_CA_BUNDLE (the PEM ECS injects from fraud/<env>/mlflow-ca) becomes a private file that
MLFLOW_TRACKING_SERVER_CERT_PATH names, written by the composition root before any MLflow client exists; a
path the deployer set is left alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fraud_detection.composition.root import Container, environment_settings
from fraud_detection.infrastructure.mlflow.ca_bundle import CERT_PATH_VARIABLE, FILE_PREFIX, trust_ca_bundle
from tests.fixtures.certificates import certificate_authority


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No deployer path, FRAUD_HOME (where the bundle file goes) under tmp_path; the variable the code sets
    is undone after each test (set first, so monkeypatch records it as absent and removes it again)."""
    for name in list(os.environ):
        if name.startswith(("FRAUD_", "MLFLOW_TRACKING")):
            monkeypatch.delenv(name)
    monkeypatch.setenv(CERT_PATH_VARIABLE, "")
    monkeypatch.delenv(CERT_PATH_VARIABLE)
    home = tmp_path / "home"
    monkeypatch.setenv("FRAUD_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    certificate, _key = certificate_authority(tmp_path_factory.mktemp("ca"), "mlflow-ca")
    return certificate.read_text()


def written(temp: Path) -> list[Path]:
    return sorted(temp.glob(f"{FILE_PREFIX}*"))


def test_the_bundle_is_written_private_and_named_by_the_variable(isolated: Path, pem: str) -> None:
    path = trust_ca_bundle(pem, isolated)

    assert path is not None
    assert os.environ[CERT_PATH_VARIABLE] == str(path)
    assert path.parent == isolated
    assert path.read_text() == pem
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert written(isolated) == [path]


def test_a_bundle_without_a_final_newline_still_ends_its_last_block(isolated: Path, pem: str) -> None:
    path = trust_ca_bundle(pem.rstrip("\n"), isolated)

    assert path is not None
    assert path.read_text() == pem.rstrip("\n") + "\n"


def test_the_deployers_path_wins_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch, isolated: Path, pem: str
) -> None:
    monkeypatch.setenv(CERT_PATH_VARIABLE, "/etc/ssl/certs/deployer-ca.pem")

    assert trust_ca_bundle(pem, isolated) is None

    assert os.environ[CERT_PATH_VARIABLE] == "/etc/ssl/certs/deployer-ca.pem"
    assert written(isolated) == []


@pytest.mark.parametrize("bundle", [None, ""])
def test_no_bundle_sets_nothing(isolated: Path, bundle: str | None) -> None:
    assert trust_ca_bundle(bundle, isolated) is None

    assert CERT_PATH_VARIABLE not in os.environ
    assert written(isolated) == []


def test_the_composition_root_installs_the_bundle_from_the_setting_once(
    monkeypatch: pytest.MonkeyPatch, isolated: Path, pem: str
) -> None:
    """Every entry point's container reads its settings through `environment_settings`: the variable is set
    when the settings are, before any adapter (and so any MLflow client) is built. A second container (after
    a fork, or `use_container(None)`) finds the variable set and writes no second file."""
    monkeypatch.setenv("FRAUD_MLFLOW_CA_BUNDLE", pem)

    Container().settings()
    (path,) = written(isolated)
    assert os.environ[CERT_PATH_VARIABLE] == str(path)
    assert path.read_text() == pem
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    environment_settings()
    assert written(isolated) == [path]
    assert os.environ[CERT_PATH_VARIABLE] == str(path)


def test_the_composition_root_leaves_the_deployers_path(
    monkeypatch: pytest.MonkeyPatch, isolated: Path, pem: str
) -> None:
    monkeypatch.setenv("FRAUD_MLFLOW_CA_BUNDLE", pem)
    monkeypatch.setenv(CERT_PATH_VARIABLE, "/etc/ssl/certs/deployer-ca.pem")

    environment_settings()

    assert os.environ[CERT_PATH_VARIABLE] == "/etc/ssl/certs/deployer-ca.pem"
    assert written(isolated) == []


def test_without_the_setting_the_composition_root_sets_nothing(isolated: Path) -> None:
    environment_settings()

    assert CERT_PATH_VARIABLE not in os.environ
    assert written(isolated) == []


def test_every_process_of_a_host_reuses_one_file_per_bundle(
    monkeypatch: pytest.MonkeyPatch, isolated: Path, pem: str
) -> None:
    """A file per process piled up in the temporary folder with every `fraud` command."""
    first = trust_ca_bundle(pem, isolated)
    monkeypatch.delenv(CERT_PATH_VARIABLE)  # as the next process starts
    assert trust_ca_bundle(pem, isolated) == first
    monkeypatch.delenv(CERT_PATH_VARIABLE)
    other = trust_ca_bundle(pem + pem, isolated)  # another bundle: another file
    assert other != first
    assert written(isolated) == sorted([first, other])
