"""The emulator's WSGI application: the route table, auth, faults and the request log.

Every request goes through ``EmulatorApp.__call__``: control API (no auth),
else an armed fault, else the route table (werkzeug ``Map``), the token check
and the handler. Handlers raise ``ApiError`` for the JSON errors a workspace
sends; anything else becomes a JSON 500, never werkzeug's HTML traceback page.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from stp_ext.emulator import identity, partners, secrets_api
from stp_ext.emulator.faults import Fault, Faults
from stp_ext.emulator.http import (
    ADMIN,
    ANONYMOUS,
    USER,
    ApiError,
    Call,
    User,
    bad_token_response,
    error_response,
    json_response,
)
from stp_ext.emulator.state import Store

log = logging.getLogger(__name__)

Handler = Callable[[Store, Call], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    public: bool = False  # answered without a token


PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"

# The whole workspace API surface in one table.
ROUTES: tuple[Route, ...] = (
    Route("/.well-known/databricks-config", ("GET",), identity.host_metadata, public=True),
    Route("/api/2.0/preview/scim/v2/Me", ("GET",), identity.me),
    Route(f"{PARTNERS}/create", ("POST",), partners.create),
    Route(f"{PARTNERS}/get", ("GET",), partners.get),
    Route(f"{PARTNERS}/update/<partner_id>", ("PUT",), partners.update),
    Route(f"{PARTNERS}/delete/<partner_id>", ("DELETE",), partners.delete),
    Route(f"{SECRETS}/scopes/create", ("POST",), secrets_api.create_scope),
    Route(f"{SECRETS}/scopes/delete", ("POST",), secrets_api.delete_scope),
    Route(f"{SECRETS}/scopes/list", ("GET",), secrets_api.list_scopes),
    Route(f"{SECRETS}/put", ("POST",), secrets_api.put_secret),
    Route(f"{SECRETS}/delete", ("POST",), secrets_api.delete_secret),
    Route(f"{SECRETS}/list", ("GET",), secrets_api.list_secrets),
    Route(f"{SECRETS}/get", ("GET",), secrets_api.get_secret),
    Route(f"{SECRETS}/acls/put", ("POST",), secrets_api.put_acl),
    Route(f"{SECRETS}/acls/delete", ("POST",), secrets_api.delete_acl),
    Route(f"{SECRETS}/acls/get", ("GET",), secrets_api.get_acl),
    Route(f"{SECRETS}/acls/list", ("GET",), secrets_api.list_acls),
)

CONTROL = "/_emulator"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # without the query string
    status: int  # 0 when the connection was dropped on purpose


class EmulatorApp:
    def __init__(self, store: Store, admin_token: str, user_token: str) -> None:
        self.store = store
        self.faults = Faults()
        self._tokens = {admin_token: ADMIN, user_token: USER}
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        # strict_slashes=False: the docs show a trailing slash, the original client sends none.
        self._api = Map(
            [Rule(route.path, endpoint=route, methods=list(route.methods)) for route in ROUTES],
            strict_slashes=False,
        )
        # The control API (faults.py documents it), a table of its own: no auth, no faults.
        control: tuple[tuple[str, str, Callable[[Request], Response]], ...] = (
            ("/faults", "GET", self._show_faults),
            ("/faults", "POST", self._arm_faults),
            ("/faults", "DELETE", self._clear_faults),
            ("/requests", "GET", self._show_requests),
            ("/reset", "POST", self._reset),
        )
        self._control = Map(
            [Rule(CONTROL + path, endpoint=view, methods=[method]) for path, method, view in control],
            strict_slashes=False,
        )

    # -- the request log ---------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def _record(self, request: Request, status: int) -> None:
        # Method, path and status only: bodies and query strings may carry secrets.
        with self._log_lock:
            self._log.append(RequestRecord(request.method, request.path, status))

    # -- WSGI ---------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == CONTROL or request.path.startswith(CONTROL + "/"):
            response = self._guarded(request, self._dispatch_control)
        else:
            fault = self.faults.take(request.path)
            if fault is not None:
                time.sleep(fault.latency_s)
                if fault.mode == "drop":
                    self._record(request, 0)
                    return _DroppedConnection(environ)
            if fault is not None and fault.mode is not None:
                response = _faulty(fault)
            else:
                response = self._guarded(request, self._dispatch)
        self._record(request, response.status_code)
        return response(environ, start_response)

    def _guarded(self, request: Request, dispatch: Callable[[Request], Response]) -> Response:
        try:
            return dispatch(request)
        except ApiError as e:
            return error_response(e)
        except Exception:
            # A bug in a handler, or the state closed under a late request: answer as a
            # workspace would (JSON 500). The traceback names code, never request bodies.
            log.exception("emulator: internal error on %s %s", request.method, request.path)
            return error_response(ApiError(500, "INTERNAL_ERROR", "Internal error in the workspace emulator"))

    def _dispatch(self, request: Request) -> Response:
        route, args = _match(self._api, request)
        user = ANONYMOUS if route.public else self._authenticate(request)
        if user is None:
            return bad_token_response(request.path)
        return json_response(200, route.handler(self.store, Call(request, user, args)))

    def _authenticate(self, request: Request) -> User | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self._tokens.get(token.strip())

    # -- the control API ------------------------------------------------------------

    def _dispatch_control(self, request: Request) -> Response:
        view, _ = _match(self._control, request)
        return view(request)

    def _show_faults(self, request: Request) -> Response:
        return json_response(200, self.faults.describe())

    def _arm_faults(self, request: Request) -> Response:
        body = Call(request, ANONYMOUS, {}).json_body()
        try:
            self.faults.arm_from(body)
        except (ValueError, TypeError) as e:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", str(e)) from None
        return json_response(200, self.faults.describe())

    def _clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return json_response(200, self.faults.describe())

    def _show_requests(self, request: Request) -> Response:
        log = [{"method": r.method, "path": r.path, "status": r.status} for r in self.request_log]
        return json_response(200, {"requests": log})

    def _reset(self, request: Request) -> Response:
        self.store.wipe()
        self.faults.clear()
        self.clear_log()
        return json_response(200, {})


def _match(routes: Map, request: Request) -> tuple[Any, Mapping[str, Any]]:
    """The endpoint for ``request`` and its URL arguments; 404 and 405 as JSON errors."""
    adapter = routes.bind_to_environ(request.environ)
    try:
        return adapter.match()
    except NotFound:
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.path}'") from None
    except MethodNotAllowed as e:
        allowed = ", ".join(sorted(e.valid_methods or ()))
        raise ApiError(
            405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed for {request.path} (allowed: {allowed})"
        ) from None


def _faulty(fault: Fault) -> Response:
    streamed = fault.body_chunks()  # json, drip, huge: faults.py makes the body
    if streamed is not None:
        length, chunks = streamed
        response = Response(chunks, status=fault.status, content_type="application/json")
        response.headers["Content-Length"] = str(length)
        return response
    if fault.mode == "html":
        # What a load balancer in front of a workspace answers when the service is down.
        page = "<html><body><h1>Service unavailable</h1></body></html>"
        return Response(page, status=fault.status, content_type="text/html")
    if fault.mode == "malformed_json":
        return Response('{"partners": [{"id": ', status=fault.status, content_type="application/json")
    response = error_response(ApiError(fault.status, _code_for(fault.status), f"Injected fault: HTTP {fault.status}"))
    if fault.retry_after is not None:
        response.headers["Retry-After"] = str(fault.retry_after)
    return response


def _code_for(status: int) -> str:
    return {
        429: "TOO_MANY_REQUESTS",
        500: "INTERNAL_ERROR",
        502: "BAD_GATEWAY",
        503: "TEMPORARILY_UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")


class _DroppedConnection:
    """A response body that closes the connection before its first byte, as a crashing proxy would.

    werkzeug writes the status line only with the first chunk, and treats a
    ``ConnectionError`` from the body as the client going away: it writes
    nothing, logs nothing and closes the socket. Shutting the socket down first
    makes the client see the end of the stream at once.
    """

    def __init__(self, environ: dict[str, Any]) -> None:
        self._socket = environ.get("werkzeug.socket")

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # the client may be gone already
                self._socket.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("connection dropped by fault injection")
