"""Known API clients for tests: a clients file written into a FRAUD_HOME, and the headers to use them."""

from __future__ import annotations

from pathlib import Path

from fraud_detection.domain.clients import ApiClient, ApiKey, ClientDirectory, Scope, key_digest
from fraud_detection.infrastructure.local.client_key_file import write_document

NAMESPACE = "acme"
KEYS = {  # name -> (key, scopes); every key is 32+ characters, as real ones are
    "service": (
        "fdk_test-service-key-all-but-admin-0001",
        {Scope.SCORE, Scope.EXPLAIN, Scope.FEEDBACK, Scope.JOBS},
    ),
    "checkout": ("fdk_test-checkout-key-score-only-00000002", {Scope.SCORE}),
    "chargebacks": ("fdk_test-chargebacks-key-feedback-00003", {Scope.FEEDBACK}),
    "operator": ("fdk_test-operator-key-admin-only-0000004", {Scope.ADMIN}),
}
SERVICE_KEY = KEYS["service"][0]
SERVICE = {"Authorization": f"Bearer {SERVICE_KEY}"}  # every scope a caller of /v1 needs


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][0]}"}


def clients(namespace: str = NAMESPACE) -> ClientDirectory:
    return ClientDirectory(
        ApiClient(name, namespace, frozenset(scopes), (ApiKey(name[:8], key_digest(key)),))
        for name, (key, scopes) in KEYS.items()
    )


def write_clients(home: Path, directory: ClientDirectory | None = None) -> Path:
    """The default clients file of FRAUD_HOME=`home`."""
    path = home / "api-clients.json"
    write_document(path, directory or clients())
    return path
