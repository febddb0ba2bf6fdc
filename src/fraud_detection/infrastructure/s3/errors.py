"""Translate botocore failures into the domain's errors, naming the bucket and key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from fraud_detection.domain.errors import DataSourceError, ObjectNotFoundError, ServiceUnavailableError

_MISSING_OBJECT = {"NoSuchKey", "404", "NotFound"}
# S3's words for credentials it does not accept (a wrong secret, an unknown key id, an expired session), and
# for a refusal (a HEAD's bare 403 looks the same for a wrong secret as for a missing permission).
_BAD_CREDENTIALS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken"}
_REFUSED = {"AccessDenied", "403", "Forbidden"}
CREDENTIALS = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or the task role)"
# A conditional write (`If-None-Match: *`) that found the key taken: 412, or 409 while another conditional
# write to it is under way.
KEY_TAKEN = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


@contextmanager
def s3_errors(action: str, uri: str) -> Iterator[None]:
    """`action` reads like a verb phrase ("read", "upload to") in "cannot <action> <uri>"."""
    try:
        yield
    except ClientError as error:
        raise _translate(error, action, uri) from error
    except (BotoCoreError, Boto3Error) as error:
        if isinstance(error.__context__, ClientError):  # boto3's transfer manager re-raises without `from`
            raise _translate(error.__context__, action, uri) from error
        # Connection refused, timeouts after retries, missing credentials.
        raise ServiceUnavailableError(f"cannot {action} {uri}: {_one_line(error)}") from error


def _translate(error: ClientError, action: str, uri: str) -> Exception:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    if code in _MISSING_OBJECT:
        return ObjectNotFoundError(f"no object at {uri}")
    if code == "NoSuchBucket":
        bucket = uri.removeprefix("s3://").split("/", 1)[0]
        return DataSourceError(f"cannot {action} {uri}: bucket '{bucket}' does not exist")
    message = details.get("Message") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    problem = f"{code} {message}".rstrip()
    if code in _BAD_CREDENTIALS:  # named: "SignatureDoesNotMatch" alone sent users looking at the data
        return DataSourceError(
            f"cannot {action} {uri}: S3 refused the credentials ({problem}): check {CREDENTIALS}"
        )
    if code in _REFUSED:
        return DataSourceError(
            f"cannot {action} {uri}: S3 refused access ({problem}): the credentials, {CREDENTIALS}, are "
            "wrong or may not do this there"
        )
    return DataSourceError(f"cannot {action} {uri}: {problem}")


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
