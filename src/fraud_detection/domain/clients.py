"""API clients: who may call the scoring service, with which scopes, and whose transaction ids they name.

A client holds one or more keys (two during a rotation). Only a key's SHA-256 is kept: keys are random
tokens of 32+ characters made by `fraud clients add`, not passwords, so a slow password hash would only add
latency to every request without making a stolen table any easier to reverse.

Transaction ids are scoped by the client's namespace: a label posted by the chargeback system of namespace
`acme` matches only transactions scored by clients of `acme`, so another client cannot plant features on an
id it does not own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fraud_detection.domain.errors import FraudDetectionError

MIN_KEY_LENGTH = 32
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DIGEST = re.compile(r"^[0-9a-f]{64}$")
NAMESPACE_SEPARATOR = ":"  # namespaces never contain it (NAME), so the first one splits a scoped id


class Scope(StrEnum):
    SCORE = "score"  # POST /v1/score, /v1/score/batch
    EXPLAIN = "explain"  # ?explain=true: feature contributions for every row (a model oracle)
    FEEDBACK = "feedback"  # POST /v1/feedback: labels that feed retraining and realised quality
    JOBS = "jobs"  # /v1/jobs: batch files under the configured roots
    ADMIN = "admin"  # /admin: reload, retrain, registry listing


class ClientConfigError(FraudDetectionError):
    """The clients document is malformed: the message names the client and field."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    sha256: str


@dataclass(frozen=True)
class ApiClient:
    name: str
    namespace: str
    scopes: frozenset[Scope]
    keys: tuple[ApiKey, ...] = ()

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    def scoped_id(self, transaction_id: str) -> str:
        return scoped_id(self.namespace, transaction_id)

    def scoped_ids(self, transaction_ids: Iterable[str | None]) -> tuple[str | None, ...]:
        """Rows scored without an id stay without one (they cannot be labelled)."""
        return tuple(None if i is None else scoped_id(self.namespace, i) for i in transaction_ids)


def scoped_id(namespace: str, transaction_id: str) -> str:
    """The id stored for feedback matching: the client's id within its namespace."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{transaction_id}"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ClientDirectory:
    """Key digest -> client, built from a clients document (see `parse_clients`)."""

    def __init__(self, clients: Iterable[ApiClient]) -> None:
        self.clients = {client.name: client for client in clients}
        self._by_digest = {key.sha256: client for client in self.clients.values() for key in client.keys}

    def authenticate(self, key: str) -> ApiClient | None:
        """The client holding `key`, or None. A dict lookup by the key's SHA-256: the timing of the lookup
        depends on the digest, which an attacker cannot steer towards a stored one."""
        if len(key) < MIN_KEY_LENGTH:
            return None
        return self._by_digest.get(key_digest(key))

    def to_document(self) -> dict[str, Any]:
        return {"clients": {name: _client_document(client) for name, client in sorted(self.clients.items())}}


def parse_clients(document: Mapping[str, Any]) -> ClientDirectory:
    """Validate a clients document:
    `{"clients": {name: {"namespace": ..., "scopes": [...], "keys": [{"id": ..., "sha256": ...}]}}}`."""
    clients = document.get("clients")
    if not isinstance(clients, Mapping):
        raise ClientConfigError("clients document: 'clients' must be an object of name -> client")
    parsed = [_client(str(name), entry) for name, entry in clients.items()]
    seen: dict[str, str] = {}
    for client in parsed:
        for key in client.keys:
            if key.sha256 in seen:
                raise ClientConfigError(f"client '{client.name}': a key is also held by '{seen[key.sha256]}'")
            seen[key.sha256] = client.name
    return ClientDirectory(parsed)


def _client(name: str, entry: Any) -> ApiClient:
    where = f"client '{name}'"
    if not NAME.fullmatch(name):
        raise ClientConfigError(f"{where}: the name must match {NAME.pattern}")
    if not isinstance(entry, Mapping):
        raise ClientConfigError(f"{where}: must be an object")
    namespace = entry.get("namespace", name)
    if not isinstance(namespace, str) or not NAME.fullmatch(namespace):
        raise ClientConfigError(f"{where}: namespace must match {NAME.pattern}")
    raw_scopes = entry.get("scopes")
    if not isinstance(raw_scopes, list) or not raw_scopes:
        raise ClientConfigError(f"{where}: scopes must be a non-empty list of {[s.value for s in Scope]}")
    try:
        scopes = frozenset(Scope(scope) for scope in raw_scopes)
    except ValueError as error:
        raise ClientConfigError(f"{where}: {error} (known: {[s.value for s in Scope]})") from None
    raw_keys = entry.get("keys", [])
    if not isinstance(raw_keys, list):
        raise ClientConfigError(f"{where}: keys must be a list")
    keys = []
    for i, key in enumerate(raw_keys):
        if not isinstance(key, Mapping) or not DIGEST.fullmatch(str(key.get("sha256", ""))):
            raise ClientConfigError(f"{where}: keys[{i}].sha256 must be 64 lowercase hex characters")
        keys.append(ApiKey(str(key.get("id", key["sha256"][:8])), str(key["sha256"])))
    return ApiClient(name, namespace, scopes, tuple(keys))


def _client_document(client: ApiClient) -> dict[str, Any]:
    return {
        "namespace": client.namespace,
        "scopes": sorted(scope.value for scope in client.scopes),
        "keys": [{"id": key.key_id, "sha256": key.sha256} for key in client.keys],
    }
