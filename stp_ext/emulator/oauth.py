"""OAuth machine-to-machine (client credentials), as databricks-sdk's ``oauth-m2m`` auth uses it.

The SDK reads ``oidc_endpoint`` from the host metadata
(``/.well-known/databricks-config``), fetches the discovery document at
``{oidc_endpoint}/.well-known/oauth-authorization-server`` (older releases go
there directly), then POSTs ``grant_type=client_credentials&scope=all-apis``
to its ``token_endpoint`` with the client id and secret as HTTP Basic auth (or
as form fields), and sends the access token as a bearer token until it
expires.

One service principal is registered at start (``client_id``/``client_secret``);
it is a workspace admin. Tokens live in memory only and expire after
``ttl_s``. A live token is never taken back: a client (a client id at one
address) holds at most ``MAX_TOKENS_PER_CLIENT`` live tokens and the server at
most ``MAX_LIVE_TOKENS``; past either, the token endpoint answers 429
``temporarily_unavailable`` with a Retry-After until one expires, so a client
asking for tokens in a loop slows only itself and never signs another out.
The client secret is compared in constant time and never logged (the request
log keeps paths only).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from stp_ext.emulator.http import Reply, Request, User, json_response

DEFAULT_CLIENT_ID = "emulator-service-principal"
DEFAULT_CLIENT_SECRET = "dose-emulator-client-secret"
TOKEN_TTL_S = 3600
MAX_TOKENS_PER_CLIENT = 1_000
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
        self.max_per_client = MAX_TOKENS_PER_CLIENT
        self.max_live = MAX_LIVE_TOKENS
        # token -> (expiry, client), oldest first: one TTL for all, so also the order they expire in.
        self._tokens: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._by_client: dict[str, deque[str]] = {}  # each client's live tokens, oldest first
        self._lock = threading.Lock()

    def user_for(self, token: str) -> User | None:
        """The service principal for a live access token; None for an unknown or expired one."""
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None or self._clock() >= entry[0]:
            return None  # an expired one is forgotten by _forget_expired, in order
        return self.principal

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._by_client.clear()

    def _forget_expired(self, now: float) -> None:
        """Drop the expired tokens: the oldest first, so this costs only what it drops (lock held)."""
        while self._tokens:
            token, (expiry, client) = next(iter(self._tokens.items()))
            if expiry > now:
                return
            del self._tokens[token]
            mine = self._by_client[client]
            mine.popleft()  # the client's oldest: tokens are issued and expire in the same order
            if not mine:
                del self._by_client[client]

    def _issue(self, client: str) -> tuple[str, float]:
        """A new token for ``client``, or ("", seconds until one of the tokens in the way expires)."""
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            mine = self._by_client.get(client)
            if mine is not None and len(mine) >= self.max_per_client:
                return "", self._tokens[mine[0]][0] - now
            if len(self._tokens) >= self.max_live:
                return "", next(iter(self._tokens.values()))[0] - now
            token = "dose" + secrets.token_hex(32)
            self._tokens[token] = (now + self.ttl_s, client)
            self._by_client.setdefault(client, deque()).append(token)
            return token, 0.0

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
        # A client: this client id from this address (on loopback, every program here is one client).
        token, wait_s = self._issue(f"{client_id} {request.environ.get('REMOTE_ADDR', '')}")
        if not token:
            reply = _oauth_error(
                429, "temporarily_unavailable", "Too many live access tokens: use the one you have, or retry later"
            )
            reply.headers.append(("Retry-After", str(max(1, math.ceil(wait_s)))))
            return reply
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
