"""The clients document as a secret in AWS Secrets Manager (a JSON string), refreshed in the background.

A rotation is `put-secret-value` with the new document; every replica picks it up within the refresh
interval. Requests never wait on AWS: they read the last fetched directory.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from fraud_detection.domain.clients import ClientConfigError, ClientDirectory, parse_clients
from fraud_detection.domain.ports.clients import ClientSource

logger = logging.getLogger(__name__)


class SecretsManagerClients(ClientSource):
    def __init__(
        self, secret_id: str, region: str, refresh_seconds: float = 60.0, client: Any | None = None
    ) -> None:
        self.secret_id = secret_id
        self._client = client or boto3.client("secretsmanager", region_name=region)
        self._refresh_seconds = refresh_seconds
        self._directory = self.fetch()  # a missing or malformed secret stops the start, with its reason
        self._refusal: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh_loop, name="api-clients-refresh", daemon=True)
        self._thread.start()

    def directory(self) -> ClientDirectory:
        return self._directory

    def fetch(self) -> ClientDirectory:
        return read_clients_secret(self._client, self.secret_id)

    def refresh(self) -> None:
        """Keep the previous clients when the fetch fails: an AWS hiccup must not lock every client out."""
        try:
            self._directory = self.fetch()
        except ClientConfigError as error:
            logger.error("%s; keeping the previous clients", error)
            self._refusal = str(error)
        else:
            self._refusal = None

    def refusal(self) -> str | None:
        return self._refusal

    def close(self) -> None:
        self._stop.set()

    def _refresh_loop(self) -> None:
        """Whatever one refresh raises, the next still runs: an unexpected error (a parse that recursed too
        deep, a botocore bug) ended the thread, and a key revoked afterwards kept working until a restart."""
        while not self._stop.wait(self._refresh_seconds):
            try:
                self.refresh()
            except Exception as error:
                logger.exception("API clients secret '%s' not refreshed; keeping the previous clients",
                                 self.secret_id)  # fmt: skip
                self._refusal = f"API clients secret '{self.secret_id}': not refreshed ({error!r})"


def read_clients_secret(client: Any, secret_id: str) -> ClientDirectory:
    """The secret's current clients document, checked as the API checks it. Also what `fraud clients ...
    --print` changes, so the document it prints keeps every client already in the secret."""
    try:
        secret = client.get_secret_value(SecretId=secret_id)
    except (BotoCoreError, ClientError) as error:
        raise ClientConfigError(f"API clients secret '{secret_id}': cannot read it ({error})") from None
    try:
        document = json.loads(secret.get("SecretString") or "")
    except json.JSONDecodeError as error:
        raise ClientConfigError(f"API clients secret '{secret_id}': not JSON ({error})") from None
    if not isinstance(document, dict):
        raise ClientConfigError(f"API clients secret '{secret_id}': must hold a JSON object")
    return parse_clients(document)
