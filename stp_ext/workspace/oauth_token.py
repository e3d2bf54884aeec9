"""OAuth M2M's token request, made by us: bounded in time and size, its answers and failures worded here.

databricks-sdk's client-credentials token source (``auth_type = oauth-m2m``)
asks the token endpoint with a bare ``requests.post``: no timeout, no size
cap, nothing of ours. A token endpoint that never answered kept `get` running
forever, a token dripped a byte a second took 82 s, a 400 MB answer took the
process to 1.67 GB, and an answer without ``expires_in`` became "unexpected
NotImplementedError". ``retrieve_token`` here takes the SDK function's place
(``workspace.auth`` binds it, the one place that holds the SDK's names): the
same arguments and result, sent through the bounded reader every workspace
call uses (``workspace.transport.BoundedAdapter``), within the HTTP timeout and at
most ``TOKEN_MAX_BYTES``. The SDK keeps caching and refreshing the token.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

import requests
import requests.auth

from stp_ext.core.errors import WorkspaceError
from stp_ext.core.logs import redact_peer, register_basic, register_secret
from stp_ext.core.wire import classify
from stp_ext.workspace.client import DEFAULT_HTTP_TIMEOUT, HTTP_TIMEOUT_ENV
from stp_ext.workspace.sdk_seam import oauth_token_class
from stp_ext.workspace.transport import BoundedAdapter

logger = logging.getLogger(__name__)

# A token answer is a few KiB (a JWT and four fields).
TOKEN_MAX_BYTES = 1024 * 1024
# The lifetime assumed when the answer gives no usable expires_in (RFC 6749 only recommends it): short,
# so a long run asks again rather than sending a token the workspace may have let expire.
DEFAULT_LIFETIME_SECONDS = 300
MAX_LIFETIME_SECONDS = 24 * 3600  # a larger expires_in (1e20) is taken as a day, not an overflow
_http_seconds = DEFAULT_HTTP_TIMEOUT


def set_http_timeout(seconds: float) -> None:
    """The deadline of each token request: the HTTP timeout of the workspace calls."""
    global _http_seconds
    _http_seconds = seconds


class TokenEndpointError(WorkspaceError):
    """The token endpoint could not be asked, or did not answer with a token."""


def retrieve_token(
    client_id: str | None,
    client_secret: str | None,
    token_url: str,
    params: dict[str, Any],
    use_params: bool = False,
    use_header: bool = False,
    headers: dict[str, str] | None = None,
) -> Any:
    """databricks-sdk's ``oauth.retrieve_token``, bounded: a ``Token``, a ValueError when the endpoint
    refuses the client (the SDK's contract, worded by ``Workspace``), or TokenEndpointError."""
    register_basic(client_id, client_secret)  # an error echoing the request must not print them
    data = dict(params)
    if use_params:
        data.update({k: v for k, v in (("client_id", client_id), ("client_secret", client_secret)) if v})
    # Basic auth when asked; otherwise an explicit no-op, so requests does not add ~/.netrc credentials.
    auth: Any = requests.auth.HTTPBasicAuth(client_id or "", client_secret or "") if use_header else _no_auth
    logger.debug("asking %s for an OAuth token for %s", token_url, client_id)
    session = requests.Session()
    adapter = BoundedAdapter(_http_seconds, max_bytes=TOKEN_MAX_BYTES)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    try:
        response = session.post(token_url, data=data, auth=auth, headers=headers, timeout=_http_seconds)
    except requests.RequestException as e:
        failure = classify(e)
        raise TokenEndpointError(
            f"cannot get an OAuth token from {token_url}: {failure.message}",
            hint=(failure.hint + " " if failure.hint else "")
            + f"Check the host and your network; {HTTP_TIMEOUT_ENV} sets how long to wait.",
        ) from None
    finally:
        session.close()
    document = _json_object(response) or {}
    if not response.ok:
        code = document.get("errorCode", document.get("error"))
        summary = document.get("errorSummary", document.get("error_description"))
        words = ": ".join(str(part) for part in (code, summary) if part) or f"HTTP {response.status_code}"
        raise ValueError(redact_peer(" ".join(words.split()))[:300])  # the SDK's type for a refusal
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenEndpointError(
            f"{token_url} answered HTTP {response.status_code} without an access_token: not an OAuth token answer",
            hint="Check the host: its OIDC discovery document names this token endpoint.",
        )
    register_secret(token)
    token_type = document.get("token_type")
    refresh = document.get("refresh_token")
    return oauth_token_class()(
        access_token=token,
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
        refresh_token=refresh if isinstance(refresh, str) else None,
        expiry=datetime.now() + timedelta(seconds=_lifetime(document.get("expires_in"))),
    )


def _no_auth(request: Any) -> Any:
    return request


def _json_object(response: Any) -> dict[str, Any] | None:
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _lifetime(value: Any) -> float:
    """Seconds the token lives: expires_in when it is a usable number, else DEFAULT_LIFETIME_SECONDS."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS
    if not math.isfinite(seconds) or seconds <= 0:
        return DEFAULT_LIFETIME_SECONDS
    return min(seconds, MAX_LIFETIME_SECONDS)
