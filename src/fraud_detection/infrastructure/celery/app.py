"""The Celery application of batch scoring, configured from `Settings` (one place for both sides).

Choices that matter for correctness, not only speed:
- late acks, one message prefetched, rejected back on worker loss: a worker killed mid-chunk leaves its
  message unacknowledged, and Redis hands it to another worker after the visibility timeout; an
  acknowledgement Redis could not confirm does not stop the worker taking the next (`redis_transport`);
- the unacked-message sweep runs a few times per visibility timeout (kombu's default sweep is every ~100 s,
  far longer than a short timeout);
- short connect timeouts and few publish retries: submitting to a dead broker fails in seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from celery import Celery

from fraud_detection.infrastructure.celery.names import QUEUE
from fraud_detection.infrastructure.celery.redis_transport import TRANSPORT
from fraud_detection.settings import Settings

# A refused connection fails at once; these bound a broker that is unreachable (2 s per connect attempt,
# three attempts) or hung (one 5 s read). Broker commands are small, and BRPOP waits only 1 s per call.
CONNECT_TIMEOUT_SECONDS = 2.0
SOCKET_TIMEOUT_SECONDS = 5.0
RESULT_SOCKET_TIMEOUT_SECONDS = 15.0
SWEEPS_PER_VISIBILITY_TIMEOUT = 5
LONGEST_SWEEP_SECONDS = 60
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def make_celery_app(settings: Settings, main: str = "fraud") -> Celery:
    """Raises ValueError when FRAUD_BROKER_URL is unset (callers decide whether that is an error)."""
    if not settings.broker_url:
        raise ValueError("FRAUD_BROKER_URL is not set")
    app = Celery(
        main,
        broker=verified_tls(settings.broker_url),
        backend=verified_tls(settings.result_backend or settings.broker_url),
        set_as_current=False,
    )
    app.conf.update(celery_settings(settings))
    return app


def verified_tls(url: str) -> str:
    """A `rediss://` URL that does not say how to check the server's certificate gets
    `ssl_cert_reqs=required`: without it Celery's Redis result backend refuses the URL at start (ValueError),
    and kombu's broker connects without checking the certificate at all, so whoever answers gets the AUTH
    token. Checked against the system's CAs; a private CA goes in the URL as `ssl_ca_certs=<path>`. Other URLs
    are returned unchanged."""
    parts = urlsplit(url)
    if parts.scheme != "rediss" or any(key == "ssl_cert_reqs" for key, _ in parse_qsl(parts.query)):
        return url
    query = f"{parts.query}&ssl_cert_reqs=required" if parts.query else "ssl_cert_reqs=required"
    return urlunsplit(parts._replace(query=query))


def celery_settings(settings: Settings) -> dict[str, Any]:
    visibility = settings.broker_visibility_timeout
    sweep = max(1, min(LONGEST_SWEEP_SECONDS, visibility // SWEEPS_PER_VISIBILITY_TIMEOUT))
    transport = {
        "visibility_timeout": visibility,
        "unacked_restore_interval": sweep,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
    }
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_send_task_events": False,
        "broker_transport": TRANSPORT,  # kombu's Redis transport, with acknowledgements that cannot wedge
        "broker_transport_options": transport,
        "result_backend_transport_options": {"visibility_timeout": visibility},
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": CONNECT_TIMEOUT_SECONDS,
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        "redis_socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "redis_socket_timeout": RESULT_SOCKET_TIMEOUT_SECONDS,
    }
