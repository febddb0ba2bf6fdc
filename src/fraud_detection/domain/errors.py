"""Errors the domain and use cases raise; entrypoints map them to exit code 2 / HTTP 4xx."""

from __future__ import annotations


class FraudDetectionError(Exception):
    """Base of every expected, user-facing failure (never shown as a traceback)."""


class InvalidDataError(FraudDetectionError):
    """Input data breaks the transaction schema; names the source, column, row and problem."""

    def __init__(self, source: str, problem: str, column: str | None = None, row: int | None = None) -> None:
        self.source, self.problem, self.column, self.row = source, problem, column, row
        where = "".join(
            [f" column '{column}'" if column else "", f" row {row + 1}" if row is not None else ""]
        )
        super().__init__(f"{source}:{where + ':' if where else ''} {problem}")


class DataSourceError(FraudDetectionError):
    """A source could not be found, opened or downloaded."""


# "" as a path is the current folder, and as an option it read as "not given" (the default dataset)
EMPTY_SOURCE = "the source is empty: give a path, s3://bucket/key or kaggle://owner/dataset"


class ConfigurationError(FraudDetectionError):
    """A setting in the environment is malformed, or a misspelt or retired name of one (each named)."""


class RetrainInProgressError(FraudDetectionError):
    """A retrain already runs where this request would start one: it would start nothing."""


class ServiceUnavailableError(FraudDetectionError):
    """A backing service (object store, tracking server, broker) could not be reached; worth retrying,
    unlike bad input."""

    advice_included = False  # True: the message says what to fix; "try again" would mislead


class StorageFullError(ServiceUnavailableError):
    """The disk (or quota) under a write is full or failing: not the input's fault (it read as bad input:
    exit 2, HTTP 422, a job failed as `input`); free space and the same call works."""


class RegistryAccessDeniedError(FraudDetectionError):
    """The model registry refused this identity the request: a wrong password, or a read-only identity (the
    API's and the workers' on AWS) trying to write. Not worth retrying with the same identity."""


class ObjectNotFoundError(FraudDetectionError):
    """No object under that key in the store."""


class DatasetNotFoundError(FraudDetectionError):
    """No stored dataset matches that id or prefix."""


class DatasetRemovedError(DatasetNotFoundError):
    """The dataset was stored once and pruned; the message quotes the note the prune left."""


class RetentionRefusedError(FraudDetectionError):
    """A prune cannot tell which datasets are in use (no champion, unreadable metadata): it removes none."""


class InsufficientDataError(FraudDetectionError):
    """Too few rows or frauds to train and evaluate honestly."""


class ValidationFailedError(FraudDetectionError):
    """The dataset failed its expectation suite; training must not start."""

    def __init__(self, message: str, report_uri: str | None = None) -> None:
        self.report_uri = report_uri
        super().__init__(message)


class ModelNotFoundError(FraudDetectionError):
    """No registered model version matches the request."""


class JobNotFoundError(FraudDetectionError):
    """No batch job with that id."""


class JobExistsError(FraudDetectionError):
    """A batch job with that id was already submitted."""


class JobBusyError(FraudDetectionError):
    """A job asked to be queued again is still being worked on (a live step, tasks waiting): its work would
    be done twice."""


class ModelNotReadyError(FraudDetectionError):
    """No model is loaded yet (no champion registered, or the registry and the local copy both failed)."""


class IncompatibleModelError(FraudDetectionError):
    """A model was built for another feature version than this code computes."""


class ReferenceProfileMissingError(FraudDetectionError):
    """The model version to check has no stored reference profile (it predates them): retrain to get one."""


class UntrustedModelError(FraudDetectionError):
    """A model artifact failed its integrity or format check (no recorded digest, digest mismatch, a flavour
    that would unpickle, a cache file someone else could have written); it is never loaded."""


class LocationNotAllowedError(DataSourceError):
    """A batch job's input or output is outside the configured roots, missing, a symlink or unreadable (one
    message for all, so a refusal reveals nothing about files outside the roots), or an output that
    already exists (outputs never overwrite anything). `direction`: "input" or "output", which of the
    job's two locations (the API names its field)."""

    def __init__(self, message: str, direction: str | None = None) -> None:
        super().__init__(message)
        self.direction = direction


class RolloutRefusedError(FraudDetectionError):
    """The rollout action does not apply to the registry's or the rollout's state (named in the message)."""


class RolloutConflictError(RolloutRefusedError):
    """The stored rollout changed between reading it and writing the next state (another replica's
    evaluation, an operator, an alert): nothing was written; decide again on the new state."""


class NoActiveRolloutError(RolloutRefusedError):
    """No rollout is in shadow or canary (there never was one, or the last one is over)."""


class TooManyCapturedRowsError(FraudDetectionError):
    """A read of captured rows stopped at its row limit (`read_scores(max_rows=...)`): the caller holds a
    bounded amount of memory (the API gathering rollout evidence next to its traffic) and refuses more."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} captured rows to read")
        self.limit = limit
