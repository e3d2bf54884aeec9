"""The emulator's WSGI application: the route table, auth, faults and the request log."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from stp_ext.emulator import partners, secrets_api
from stp_ext.emulator.faults import Fault, Faults
from stp_ext.emulator.http import (
    ADMIN,
    USER,
    ApiError,
    Call,
    User,
    bad_token_response,
    error_response,
    json_response,
)
from stp_ext.emulator.state import Store

Handler = Callable[[Store, Call], dict[str, Any]]

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"

# (path, methods, handler): the whole API surface in one table.
ROUTES: tuple[tuple[str, tuple[str, ...], Handler], ...] = (
    (f"{PARTNERS}/create", ("POST",), partners.create),
    (f"{PARTNERS}/get", ("GET",), partners.get),
    (f"{PARTNERS}/update/<partner_id>", ("PUT",), partners.update),
    (f"{PARTNERS}/delete/<partner_id>", ("DELETE",), partners.delete),
    ("/api/2.0/preview/scim/v2/Me", ("GET",), partners.me),
    (f"{SECRETS}/scopes/create", ("POST",), secrets_api.create_scope),
    (f"{SECRETS}/scopes/delete", ("POST",), secrets_api.delete_scope),
    (f"{SECRETS}/scopes/list", ("GET",), secrets_api.list_scopes),
    (f"{SECRETS}/put", ("POST",), secrets_api.put_secret),
    (f"{SECRETS}/delete", ("POST",), secrets_api.delete_secret),
    (f"{SECRETS}/list", ("GET",), secrets_api.list_secrets),
    (f"{SECRETS}/get", ("GET",), secrets_api.get_secret),
    (f"{SECRETS}/acls/put", ("POST",), secrets_api.put_acl),
    (f"{SECRETS}/acls/delete", ("POST",), secrets_api.delete_acl),
    (f"{SECRETS}/acls/get", ("GET",), secrets_api.get_acl),
    (f"{SECRETS}/acls/list", ("GET",), secrets_api.list_acls),
)

CONTROL = "/_emulator"


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int  # 0 when the connection was dropped on purpose


class EmulatorApp:
    def __init__(self, store: Store, admin_token: str, user_token: str) -> None:
        self.store = store
        self.faults = Faults()
        self._tokens = {admin_token: ADMIN, user_token: USER}
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        # strict_slashes=False: the docs show a trailing slash, the original client sends none.
        self._map = Map(
            [Rule(path, endpoint=handler, methods=list(methods)) for path, methods, handler in ROUTES],
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
        with self._log_lock:
            self._log.append(RequestRecord(request.method, request.path, status))

    # -- WSGI ---------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL):
            response = self._control(request)
        else:
            fault = self.faults.take(request.path)
            if fault is not None:
                time.sleep(fault.latency_s)
            if fault is not None and fault.mode == "drop":
                self._record(request, 0)
                _drop(environ)
                return []
            response = self._faulty(fault) if fault is not None and fault.mode else self._dispatch(request)
        self._record(request, response.status_code)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.path == "/.well-known/databricks-config":
            return json_response(200, {})  # host metadata: an empty answer keeps the SDK quiet
        adapter = self._map.bind_to_environ(request.environ)
        try:
            handler, args = adapter.match()
        except NotFound:
            return error_response(
                ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.path}'")
            )
        except MethodNotAllowed:
            return error_response(
                ApiError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed for {request.path}")
            )
        user = self._authenticate(request)
        if user is None:
            return bad_token_response()
        try:
            return json_response(200, handler(self.store, Call(request, user, args)))
        except ApiError as e:
            return error_response(e)

    def _authenticate(self, request: Request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self._tokens.get(token.strip())

    def _faulty(self, fault: Fault) -> Response:
        if fault.mode == "html":
            return Response(
                "<html><body><h1>Service unavailable</h1></body></html>", status=fault.status, content_type="text/html"
            )
        if fault.mode == "malformed_json":
            return Response('{"partners": [{"id": ', status=fault.status, content_type="application/json")
        response = error_response(
            ApiError(fault.status, _code_for(fault.status), f"Injected fault: HTTP {fault.status}")
        )
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        return response

    # -- the control API ------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == f"{CONTROL}/faults" and request.method == "POST":
            try:
                self.faults.arm(**json.loads(request.get_data() or b"{}"))
            except (ValueError, TypeError) as e:
                return error_response(ApiError(400, "INVALID_PARAMETER_VALUE", str(e)))
            return json_response(200, self.faults.describe())
        if path == f"{CONTROL}/faults" and request.method == "DELETE":
            self.faults.clear()
            return json_response(200, self.faults.describe())
        if path == f"{CONTROL}/faults" and request.method == "GET":
            return json_response(200, self.faults.describe())
        if path == f"{CONTROL}/requests" and request.method == "GET":
            log = [{"method": r.method, "path": r.path, "status": r.status} for r in self.request_log]
            return json_response(200, {"requests": log})
        if path == f"{CONTROL}/reset" and request.method == "POST":
            self.store.wipe()
            self.clear_log()
            return json_response(200, {})
        return error_response(ApiError(404, "ENDPOINT_NOT_FOUND", f"No control API at '{request.method} {path}'"))


def _code_for(status: int) -> str:
    return {
        429: "TOO_MANY_REQUESTS",
        500: "INTERNAL_ERROR",
        502: "BAD_GATEWAY",
        503: "TEMPORARILY_UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")


def _drop(environ: dict[str, Any]) -> None:
    """Close the connection without a byte of answer, as a crashing proxy would."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the client may be gone already
            sock.shutdown(socket.SHUT_RDWR)
