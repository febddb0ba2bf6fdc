"""Who may call what: API clients with scopes (FRAUD_API_CLIENTS_FILE / _SECRET), and the admin token.

`Authenticate` is pure ASGI middleware that decides before a byte of the body is read: an unauthenticated
request to a protected path gets 401 at once, whatever its size, and the route never runs. The routes then
read the client from the request scope (`client_of`), and check finer scopes (`explain`) themselves.

| path | scope |
|---|---|
| /v1/score, /v1/score/batch | score (+ explain for `?explain=true`) |
| /v1/feedback | feedback |
| /v1/jobs | jobs |
| /admin | admin (a client's key, or FRAUD_ADMIN_TOKEN) |

/healthz, /readyz and /metrics stay open: orchestrators and Prometheus probe them without credentials.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from fraud_detection.domain.clients import ApiClient
from fraud_detection.domain.clients import Scope as ClientScope
from fraud_detection.domain.ports.clients import ClientSource
from fraud_detection.entrypoints.api.middleware import CLIENT_KEY, ROUTE_KEY, refuse

CHALLENGE = ((b"www-authenticate", b"Bearer"),)
PROTECTED: tuple[tuple[str, ClientScope], ...] = (
    ("/v1/score", ClientScope.SCORE),
    ("/v1/feedback", ClientScope.FEEDBACK),
    ("/v1/jobs", ClientScope.JOBS),
    ("/admin", ClientScope.ADMIN),
)
ADMIN_TOKEN_CLIENT = ApiClient("admin-token", "admin", frozenset({ClientScope.ADMIN}))
NO_CLIENTS = (
    "no API clients are configured: create one with `fraud clients add NAME --scope score` "
    "(or set FRAUD_API_CLIENTS_SECRET)"
)

# Documents the scheme in OpenAPI; the middleware has already decided by the time a route runs.
bearer = HTTPBearer(auto_error=False, description="An API client's key (`fraud clients add`).")


def protected_prefix(path: str) -> tuple[str, ClientScope] | None:
    """The protected prefix `path` falls under, and the scope it needs; None for open paths."""
    for prefix, scope in PROTECTED:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, scope
    return None


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" and token.strip() else None
    return None


class Authenticate:
    """401 without credentials, 403 without the path's scope; both before the body is read."""

    def __init__(
        self, app: ASGIApp, clients: Callable[[], ClientSource], admin_token: Callable[[], str | None]
    ) -> None:
        self.app = app
        self._clients = clients
        self._admin_token = admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        protected = protected_prefix(scope["path"]) if scope["type"] == "http" else None
        if protected is None:
            await self.app(scope, receive, send)
            return
        prefix, needed = protected
        token = bearer_token(scope)
        client = self._client(token, needed) if token else None
        if client is None:
            scope[ROUTE_KEY] = prefix  # no route ran: the metrics label the refusal by its protected prefix
            status, problem = self._unauthenticated(needed)
            await refuse(send, status, problem, CHALLENGE if status == 401 else ())
            return
        if not client.allows(needed):
            scope[ROUTE_KEY] = prefix
            await refuse(send, 403, f"client '{client.name}' lacks the '{needed}' scope")
            return
        scope[CLIENT_KEY] = client
        # Labels an answer a later middleware gives before routing (batch admission's 503, the body limits'
        # 413/408), which the 5xx rule over `/v1/*` must count; a matched route labels everything else.
        scope[ROUTE_KEY] = prefix
        await self.app(scope, receive, send)

    def _client(self, token: str, needed: ClientScope) -> ApiClient | None:
        admin = self._admin_token()
        # Constant-time comparison: the response time says nothing about how much of a guess was right.
        if needed is ClientScope.ADMIN and admin and hmac.compare_digest(token.encode(), admin.encode()):
            return ADMIN_TOKEN_CLIENT
        return self._clients().directory().authenticate(token)

    def _unauthenticated(self, needed: ClientScope) -> tuple[int, str]:
        directory = self._clients().directory()
        admins = any(client.allows(ClientScope.ADMIN) for client in directory.clients.values())
        if needed is ClientScope.ADMIN and not self._admin_token() and not admins:
            return 403, "admin endpoints are disabled: FRAUD_ADMIN_TOKEN is not set and no client has 'admin'"
        if not directory.clients and needed is not ClientScope.ADMIN:
            return 401, NO_CLIENTS
        return 401, "missing or invalid bearer token"


def client_of(request: Request) -> ApiClient:
    """The client `Authenticate` accepted for this request."""
    client: ApiClient | None = request.scope.get(CLIENT_KEY)
    if client is None:  # the app was built without the middleware: refuse rather than serve anonymously
        raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})
    return client


def require_scope(needed: ClientScope) -> Callable[..., Awaitable[None]]:
    """A route dependency: documents the bearer scheme and re-checks the scope (defence in depth)."""

    async def dependency(request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not client_of(request).allows(needed):
            raise HTTPException(403, f"client '{client_of(request).name}' lacks the '{needed}' scope")

    dependency.__name__ = f"require_{needed}"
    return dependency
