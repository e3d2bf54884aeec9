"""OAuth machine-to-machine (client credentials), as databricks-sdk's ``oauth-m2m`` auth uses it.

The SDK reads ``oidc_endpoint`` from the host metadata
(``/.well-known/databricks-config``), fetches the discovery document at
``{oidc_endpoint}/.well-known/oauth-authorization-server`` (older releases go
there directly), then POSTs ``grant_type=client_credentials&scope=all-apis``
to its ``token_endpoint`` with the client id and secret as HTTP Basic auth (or
as form fields), and sends the access token as a bearer token until it
expires.

One service principal is registered at start (``client_id``/``client_secret``);
it is a workspace admin. Tokens live in memory only, expire after ``ttl_s``,
and at most ``MAX_LIVE_TOKENS`` are kept: a client that asks for more pushes
out the oldest. The client secret is compared in constant time and never
logged (the request log keeps paths only).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from stp_ext.emulator.http import Reply, Request, User, json_response

DEFAULT_CLIENT_ID = "emulator-service-principal"
DEFAULT_CLIENT_SECRET = "dose-emulator-client-secret"
TOKEN_TTL_S = 3600
MAX_LIVE_TOKENS = 10_000

OIDC = "/oidc"
DISCOVERY = f"{OIDC}/.well-known/oauth-authorization-server"
TOKEN = f"{OIDC}/v1/token"


class OAuthServer:
    """The registered client and the access tokens issued to it."""

    def __init__(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        ttl_s: float = TOKEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("the OAuth client id and secret must be non-empty")
        self.client_id = client_id
        self.client_secret = client_secret
        self.ttl_s = ttl_s
        self._clock = clock
        self.principal = User("1003", client_id, "Emulator Service Principal", True, ("admins", "users"))
        self._tokens: OrderedDict[str, float] = OrderedDict()  # token -> expiry, oldest first
        self._lock = threading.Lock()

    def user_for(self, token: str) -> User | None:
        """The service principal for a live access token; None for an unknown or expired one."""
        with self._lock:
            expiry = self._tokens.get(token)
            if expiry is None:
                return None
            if self._clock() >= expiry:
                del self._tokens[token]
                return None
        return self.principal

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    # -- the endpoints --------------------------------------------------------------

    def discovery(self, request: Request) -> Reply:
        base = base_url(request) + OIDC
        return json_response(
            200,
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/v1/authorize",
                "token_endpoint": f"{base}/v1/token",
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["all-apis"],
            },
        )

    def token(self, request: Request) -> Reply:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "The token endpoint takes POST")
        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return _oauth_error(400, "invalid_request", "The request body is not form-encoded UTF-8")
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
        client_id, client_secret = _client_credentials(request, form)
        if not (
            hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        token = "dose" + secrets.token_hex(32)
        with self._lock:
            now = self._clock()
            for old in [t for t, expiry in self._tokens.items() if expiry <= now]:
                del self._tokens[old]
            while len(self._tokens) >= MAX_LIVE_TOKENS:
                self._tokens.popitem(last=False)
            self._tokens[token] = now + self.ttl_s
        document: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.ttl_s),
            "scope": form.get("scope") or "all-apis",
        }
        return json_response(200, document)


def base_url(request: Request) -> str:
    """This server as the client named it (its Host header), so the URLs it gets back work for it."""
    host = request.header("Host") or f"{request.environ.get('SERVER_NAME')}:{request.environ.get('SERVER_PORT')}"
    return f"http://{host}"


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic (what databricks-sdk sends), else client_secret_post."""
    scheme, _, encoded = request.header("Authorization").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return "", ""
        # RFC 6749 2.3.1: both are form-urlencoded before they are put in the header.
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def _oauth_error(status: int, error: str, description: str) -> Reply:
    """RFC 6749 5.2 errors, which databricks-sdk turns into ``ValueError("error: description")``."""
    return json_response(status, {"error": error, "error_description": description})
