"""Batch jobs over a Redis that speaks TLS only, as ElastiCache with in-transit encryption does on AWS.

Terraform hands the tasks `rediss://:<token>@<host>:6379/0`. Taken as it is, Celery's result backend refuses
that URL at start (it wants `ssl_cert_reqs`), and the broker connects without checking the certificate. The
app makes such a URL verify the server (`ssl_cert_reqs=required`), so: a whole job runs over TLS, and a
server whose certificate the client cannot verify is refused by the broker and the result backend alike.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from dependency_injector import providers

from fraud_detection.composition import Container, use_container
from fraud_detection.domain.jobs import JobState
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.infrastructure.celery import make_celery_app
from fraud_detection.infrastructure.celery.app import verified_tls
from fraud_detection.settings import Settings
from fraud_detection.workers.app import create_worker_app
from tests.fixtures.redis_server import TlsRedisServer
from tests.integration.test_celery_jobs import FlakyRegistry, Jobs, job_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rediss://:t@h:6379/0", "rediss://:t@h:6379/0?ssl_cert_reqs=required"),
        (
            "rediss://:t@h/0?ssl_ca_certs=/ca.pem",
            "rediss://:t@h/0?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required",
        ),
        ("rediss://:t@h:6379/0?ssl_cert_reqs=none", "rediss://:t@h:6379/0?ssl_cert_reqs=none"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("memory://", "memory://"),
    ],
)
def test_a_rediss_url_is_made_to_verify_the_server_unless_it_says_how(url: str, expected: str) -> None:
    assert verified_tls(url) == expected


@pytest.fixture(scope="module")
def tls_jobs(tls_redis_server: TlsRedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jobs]:
    folder = tmp_path_factory.mktemp("celery-tls")
    # As Terraform writes it, plus the private CA of this test's server (a public CA needs nothing).
    settings = job_settings(folder, tls_redis_server.url(1, f"ssl_ca_certs={tls_redis_server.ca}"))
    registry = FlakyRegistry()
    registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, "d" * 64))
    registry.set_alias(CHAMPION, 1)
    container = Container(settings)
    container.adapters.registry.override(providers.Object(registry))
    use_container(container)
    try:
        with start_worker(
            create_worker_app(settings), pool="solo", perform_ping_check=False, shutdown_timeout=30
        ):
            yield Jobs(container, registry, folder)
    finally:
        use_container(None)
        # The results send_task returned unsubscribe when collected: while Redis still runs, not at exit.
        gc.collect()


def test_a_job_runs_over_a_tls_only_redis(tls_jobs: Jobs) -> None:
    status, output = tls_jobs.run(tls_jobs.input("tls", 1_000), "tls-1")

    assert (status.state, status.rows_scored, status.chunks_total) == (JobState.SUCCEEDED, 1_000, 4)
    assert Path(output).is_file()


def test_a_certificate_the_client_cannot_verify_is_refused_by_broker_and_backend(
    tls_redis_server: TlsRedisServer,
) -> None:
    app = make_celery_app(Settings(broker_url=tls_redis_server.url(1)))  # no CA for the test's private one

    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        _ping_broker(app)
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        app.backend.client.ping()


def _ping_broker(app: Celery) -> None:
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=5)
        connection.default_channel.client.ping()
