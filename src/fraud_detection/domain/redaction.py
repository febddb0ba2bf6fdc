"""Passwords inside URLs, masked wherever a URL is shown: `fraud config`, start-up errors, log lines and
error bodies that name a store (`redis://:pw@host`, `postgresql://u:pw@db/x?sslpassword=...`).

Hand-written rather than `urllib.parse`: a password typed without percent-encoding may hold `/`, `?` or `#`,
which end `urlsplit`'s netloc early, so the password read as a port or a path and was shown
(`redis://:12/ab@host`). Here the credentials are everything up to the last `@`, as the clients (redis-py,
libpq, requests) read them; an `@` in a path after a port is masked too, which errs on the safe side.
"""

from __future__ import annotations

import re

MASK = "**"
# A scheme, or what a typo left of one (`redis//`, `redis:`), after any blank a settings file left in front.
_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*(?::/*|/+:?)")
# Query parameters that carry a secret: libpq's `password`/`sslpassword`, redis-py's `password`, tokens, keys,
# a presigned URL's signature and session token (`X-Amz-Signature`, `X-Amz-Security-Token`), `sig`, `auth`.
_NAME = r"[a-z_-]*"
_SECRET_PARAMETER = re.compile(
    rf"(?i)([?&;](?:{_NAME}pass(?:word|wd)?|pwd|{_NAME}secret{_NAME}|{_NAME}token|{_NAME}key|"
    rf"{_NAME}signature|sig|auth|{_NAME}credential)=)[^&#;]*"
)


def masked_url(text: str) -> str:
    """`text` with the secrets of its credentials part and of its secret query parameters replaced by
    `**`: the password of `user:password@`, and the whole of a `token@` with no colon (a token passed as the
    user, as `https://TOKEN@host` does); anything that is not a URL with either comes back unchanged."""
    scheme = _SCHEME.match(text)
    if scheme is None or scheme.end() == len(text):
        return text
    head, rest = text[: scheme.end()], text[scheme.end() :]
    if "@" in rest:
        credentials, host = rest.rsplit("@", 1)
        if ":" in credentials:
            rest = f"{credentials.split(':', 1)[0]}:{MASK}@{host}"
        elif credentials and "/" not in credentials:  # `s3://bucket/a@b` is a path, not credentials
            rest = f"{MASK}@{host}"
    return head + _SECRET_PARAMETER.sub(rf"\g<1>{MASK}", rest)
