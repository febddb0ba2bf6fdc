"""The scoring API: admin and client credentials, request limits, and prediction capture."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from fraud_detection.domain.windows import MAX_DAYS, MAX_INTERVAL_SECONDS
from fraud_detection.settings.rules import file_not_folder, folder_not_file, local_path, unset_if_empty

MIN_TOKEN_LENGTH = 32
PLACEHOLDER = "change-me"  # .env.example's placeholders start with it


class ServingSettings(BaseSettings):
    admin_token: SecretStr | None = Field(
        None,
        description="Bearer token of the /admin endpoints (clients with the `admin` scope are let in too); "
        "unset, with no `admin` client, the admin endpoints answer 403.",
    )
    api_clients_file: Path | None = Field(
        None,
        description="JSON file of API clients, scopes and hashed keys (`fraud clients`); "
        "default `<home>/api-clients.json`. Re-read when it changes.",
    )
    api_clients_secret: str | None = Field(
        None, description="AWS Secrets Manager secret holding the API clients document (instead of the file)."
    )
    api_clients_refresh_seconds: float = Field(
        60.0,
        gt=0,
        le=MAX_INTERVAL_SECONDS,  # larger overflowed the refresher's wait: it died, revoked keys kept working
        description="How often the API re-reads FRAUD_API_CLIENTS_SECRET (key rotation).",
    )
    api_docs: bool = Field(
        False,
        description="Serve /docs, /redoc and /openapi.json (off by default: they map the API for anyone).",
    )
    api_concurrency_max: int = Field(
        256,
        gt=0,
        description="Most connections `fraud serve` holds at once (idle keep-alive ones count), shared "
        "equally among its workers; more get 503 at once.",
    )
    api_batch_concurrency: int = Field(
        2,
        gt=0,
        description="Batch requests (/v1/score/batch, /v1/feedback) one API process reads, parses and scores "
        "at once; others wait their turn before their body is read (memory stays bounded).",
    )
    api_batch_wait_seconds: float = Field(
        30.0, gt=0, description="Longest a batch request waits for its turn; then 503 with Retry-After."
    )
    api_body_seconds: float = Field(
        10.0, gt=0, description="Longest the API waits for the rest of a request body (slow clients: 408)."
    )
    api_header_seconds: float = Field(
        10.0, gt=0, description="`fraud serve` closes a connection whose request headers take longer."
    )
    model_poll_seconds: float = Field(
        30.0,
        ge=0,
        le=MAX_INTERVAL_SECONDS,  # larger overflowed the poller's wait
        description="How often the API checks the registry for a new champion (0 = never).",
    )
    score_batch_max: int = Field(10_000, gt=0, description="Most transactions in one /v1/score/batch call.")
    max_body_bytes: int = Field(
        16 * 1024 * 1024,
        gt=0,
        description="Largest request body the API accepts (a batch's; every other route has a lower limit).",
    )
    top_reasons: int = Field(5, ge=0, description="Feature contributions returned per explained transaction.")
    capture_max_rows: int = Field(10_000, gt=0, description="Captured predictions per Parquet micro-batch.")
    # A file per replica at least this often while traffic flows: at 5 s, a day was 17,280 files a replica
    # for the drift check to read (benchmarks/capture_files.py); rows are journaled every second meanwhile.
    capture_max_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest a captured prediction waits unwritten (a file per replica this often).",
    )
    capture_max_pending_bytes: int = Field(
        64 * 1024 * 1024,
        gt=0,
        description="Memory bound of captured predictions waiting to be written (the oldest dropped beyond).",
    )
    capture_spill_dir: Path | None = Field(
        None,
        description="Local folder for captured predictions the store refused and the write-ahead journal; "
        "default `<home>/capture-spill`.",
    )
    capture_spill_max_bytes: int = Field(
        1024 * 1024 * 1024, gt=0, description="Disk bound of the capture spill folder."
    )
    capture_journal_seconds: float = Field(
        1.0,
        ge=0,
        le=MAX_INTERVAL_SECONDS,  # larger overflowed the journal threads' wait: they died, no journal
        description="Captured rows are journaled to local disk this often: a killed API loses at most this "
        "interval (0 = no journal).",
    )
    capture_retention_days: float = Field(
        90.0,
        ge=0,
        lt=MAX_DAYS,  # larger: the daily sweep's cutoff fell before year 1 (a traceback a day)
        description="Captured predictions in a local store are deleted after N days (0 = kept forever; S3: "
        "bucket lifecycle rule).",
    )

    @field_validator("api_clients_secret", "api_clients_file", "capture_spill_dir", mode="before")
    @classmethod
    def _serving_empty_is_unset(cls, value: object) -> object:
        return unset_if_empty(value)

    @field_validator("api_clients_file", "capture_spill_dir", mode="before")
    @classmethod
    def _serving_local_paths(cls, value: object, info: ValidationInfo) -> object:
        """The clients file must not be a folder (refused as "writable by others", with `chmod 600` as the
        advice), nor the spill folder a file ("File exists", naming no variable)."""
        path = local_path(value)
        if isinstance(path, str):
            (file_not_folder if info.field_name == "api_clients_file" else folder_not_file)(path)
        return path

    @field_validator("admin_token", mode="before")
    @classmethod
    def _admin_token(cls, value: object) -> object:
        """Empty means unset (admin disabled); a set token must be long enough to resist guessing. Blanks
        around it are dropped, as the API drops them from the token it receives: a secret file's trailing
        newline made a token that no request could match, so admin was silently shut."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or text == "":
            return None
        if not isinstance(text, str):
            return value
        if text.startswith(PLACEHOLDER):
            raise ValueError("is still the .env.example placeholder; generate one: `openssl rand -hex 32`")
        text = text.strip()
        if not text:  # 40 spaces passed the length check
            raise ValueError("is only whitespace; generate one: `openssl rand -hex 32`")
        if any(character.isspace() for character in text):
            raise ValueError("holds a blank inside, which no Authorization header can carry")
        if len(text) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (or empty to disable admin)")
        return text
