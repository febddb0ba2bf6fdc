"""Bearer-token guard of the /admin endpoints. No token configured = admin disabled (403), never open."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fraud_detection.entrypoints.api import dependencies
from fraud_detection.settings import Settings

bearer = HTTPBearer(auto_error=False, description="FRAUD_ADMIN_TOKEN")


async def require_admin(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    settings: Settings = Depends(dependencies.settings),
) -> None:
    if settings.admin_token is None:
        raise HTTPException(403, "admin endpoints are disabled: FRAUD_ADMIN_TOKEN is not set")
    expected = settings.admin_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials else b""
    # Constant-time comparison: the response time says nothing about how much of a guess was right.
    if not credentials or not hmac.compare_digest(given, expected):
        raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
