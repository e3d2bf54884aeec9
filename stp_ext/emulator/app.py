"""The emulator's WSGI application: the route table, auth, faults and the request log.

Every request goes through ``EmulatorApp.__call__``: control API (no auth),
else an armed fault, else the route table, the token check and the handler.
Handlers raise ``ApiError`` for the JSON errors a workspace sends; anything
else becomes a JSON 500, never an HTML traceback page. Routing is a dict
lookup built once; the server (stp_ext/servers/serving.py) has already read and
capped the body.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from stp_ext.emulator import identity, partner_connect_page, partners, provisioning, secrets_api
from stp_ext.emulator.faults import Fault, Faults, echo_answer, oauth_echo_answer
from stp_ext.emulator.http import (
    ADMIN,
    ANONYMOUS,
    USER,
    ApiError,
    Call,
    Reply,
    Request,
    User,
    bad_token_response,
    error_response,
    json_response,
)
from stp_ext.emulator.oauth import DISCOVERY, OIDC, TOKEN, OAuthServer, base_url
from stp_ext.emulator.partner_connect import PartnerConnect
from stp_ext.emulator.state import StateBusy, Store
from stp_ext.servers.serving import HELD, drop_connection

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
    # What a Partner Connect click provisions (provisioning.py, partner_connect.py).
    Route("/api/2.0/preview/scim/v2/ServicePrincipals", ("GET",), provisioning.list_service_principals),
    Route("/api/2.0/sql/warehouses/<warehouse_id>", ("GET",), provisioning.get_warehouse),
    Route("/api/2.0/clusters/get", ("GET",), provisioning.get_cluster),
)

CONTROL = "/_emulator"
RESET = f"{CONTROL}/reset"
PAGE = partner_connect_page.PAGE
_UNDER_CONTROL = CONTROL + "/"  # made once: asked on every request
_NOT_FAULTED = (_UNDER_CONTROL, PAGE)
# Answered by a worker thread, never the I/O loop: a click calls the partner, which may call back.
CALLS_OUT = (CONTROL + "/partner-connect", PAGE)
REQUEST_LOG_SIZE = 10_000  # the newest requests kept; older ones are counted, not kept
# The log is bounded in bytes too, so no client can bloat it with long paths: a path is kept up to
# LOGGED_PATH_CHARS (the rest is cut and its length noted), and the whole log up to REQUEST_LOG_BYTES.
REQUEST_LOG_BYTES = 1024 * 1024  # its answer too: a client that never reads it holds that much, at most
LOGGED_PATH_CHARS = 1024
LOGGED_METHOD_CHARS = 32

T = TypeVar("T")


class Router(Generic[T]):
    """Path and method to an endpoint: a dict lookup, built once.

    A path may end in one ``<name>`` segment (``.../update/<partner_id>``).
    A trailing slash is ignored (the docs show one, clients send none).

    Not werkzeug's ``Map`` (issue 25 asked to route as the sample partner does,
    or to say with a figure why not): measured on this table (2 cores, Python
    3.11, benchmarks/BENCHMARKS.md), ``Router.match`` takes 0.7 us for
    secrets/get and 1.3 us for ``update/<partner_id>``; werkzeug takes 9 and 20 us
    on an adapter bound once, 16 and 27 us bound per request as the sample
    partner does. The emulator answers a GET in about 60 us of CPU, so werkzeug
    would cost it 15-25% of its throughput for the same 404/405 answers.
    """

    def __init__(self, table: Iterable[tuple[str, str, T]]) -> None:
        self._exact: dict[str, dict[str, T]] = {}
        self._variable: dict[str, tuple[str, dict[str, T]]] = {}  # prefix -> (name, methods)
        for path, method, endpoint in table:
            if path.endswith(">"):
                prefix, _, name = path.rpartition("/<")
                self._variable.setdefault(prefix + "/", (name[:-1], {}))[1][method] = endpoint
            else:
                self._exact.setdefault(path, {})[method] = endpoint

    def match(self, method: str, path: str) -> tuple[T, Mapping[str, str]]:
        """The endpoint and URL arguments; 404 and 405 as JSON errors."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        args: Mapping[str, str] = {}
        methods = self._exact.get(path)
        if methods is None:
            prefix, _, last = path.rpartition("/")
            variable = self._variable.get(prefix + "/")
            if variable is None or not last:
                raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
            name, methods = variable
            args = {name: last}
        endpoint = methods.get(method)
        if endpoint is None:
            allowed = ", ".join(sorted(methods))
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed for {path} (allowed: {allowed})")
        return endpoint, args


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # without the query string
    status: int  # 0 when the connection was dropped on purpose


class EmulatorApp:
    def __init__(
        self,
        store: Store,
        admin_token: str,
        user_token: str,
        log_size: int = REQUEST_LOG_SIZE,
        oauth: OAuthServer | None = None,
        log_bytes: int = REQUEST_LOG_BYTES,
    ) -> None:
        self.store = store
        self.oauth = oauth or OAuthServer()
        # OAuth M2M (oauth.py): public, form-encoded, with OAuth's own error shape.
        self._oauth_routes: dict[str, Callable[[Request], Reply]] = {
            DISCOVERY: self.oauth.discovery,
            TOKEN: self.oauth.token,
        }
        self.faults = Faults()
        self.partner_connect = PartnerConnect(store)
        # Provisioned service principals exchange their OAuth secret here too; others go to self.oauth.
        self._oauth_routes[TOKEN] = lambda request: self.partner_connect.connections.oauth_token(
            request, self.oauth.token
        )
        self._tokens = {admin_token: ADMIN, user_token: USER}
        # A ring: a long-running emulator keeps the newest requests, and counts the ones it let go.
        # Entries are plain tuples (method, path, status, weight): one is added per request, and a
        # RequestRecord (a frozen dataclass) costs several times a tuple to make; made when the log is read.
        self._log: deque[tuple[str, str, int, int]] = deque()
        self._log_size = log_size
        self._log_bytes_max = log_bytes
        self._log_bytes = 0  # what the kept records weigh (_weight)
        self._dropped = 0
        self._log_lock = threading.Lock()
        self._api = Router((route.path, method, route) for route in ROUTES for method in route.methods)
        # The control API (faults.py documents it), a table of its own: no auth, no faults.
        control: tuple[tuple[str, str, Callable[[Request], Reply]], ...] = (
            ("/faults", "GET", self._show_faults),
            ("/faults", "POST", self._arm_faults),
            ("/faults", "DELETE", self._clear_faults),
            ("/requests", "GET", self._show_requests),
            ("/reset", "POST", self._reset),
            ("/partner-connect/connect", "POST", self.partner_connect.connect_view),
            ("/partner-connect/delete-connection", "POST", self.partner_connect.delete_view),
            ("/partner-connect/connections", "GET", self.partner_connect.list_view),
            ("/health", "GET", self._health),
        )
        self._control = Router((CONTROL + path, method, view) for path, method, view in control)

    # -- the request log ---------------------------------------------------------

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._log_lock:
            entries = list(self._log)
        return [RequestRecord(method, path, status) for method, path, status, _ in entries]

    @property
    def dropped_requests(self) -> int:
        """How many requests left the log (it keeps the newest ``log_size``) since it was last cleared."""
        with self._log_lock:
            return self._dropped

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()
            self._log_bytes = 0
            self._dropped = 0

    def _record(self, request: Request, status: int) -> None:
        # Method, path and status only: bodies and query strings may carry secrets.
        method, path = request.method, request.path
        if len(method) > LOGGED_METHOD_CHARS or len(path) > LOGGED_PATH_CHARS:
            method, path = _clip(method, LOGGED_METHOD_CHARS), _clip(path, LOGGED_PATH_CHARS)
        weight = _weight(method, path)
        log = self._log
        with self._log_lock:
            log.append((method, path, status, weight))
            self._log_bytes += weight
            while len(log) > self._log_size or (self._log_bytes > self._log_bytes_max and len(log) > 1):
                self._log_bytes -= log.popleft()[3]
                self._dropped += 1

    def answers_quickly(self, method: str, path: str) -> bool:
        """Whether this request is answered at once, so the server may answer it in its I/O thread.

        The control API always is (so it answers even when every worker is busy),
        except a reset of a state file (and a Partner Connect click, CALLS_OUT, which
        the server never answers inline); so is the workspace API where no fault
        applies (whatever is armed for other paths), except a write to a state file,
        which waits for the disk and maybe for another program's lock (state.py),
        and so goes to a worker.
        """
        durable = self.store.path is not None
        if path == CONTROL or path.startswith(_UNDER_CONTROL):
            return not (durable and path.rstrip("/") == RESET)
        if durable and method not in ("GET", "HEAD"):
            return False
        return self.faults.spares(path)  # with a fault armed elsewhere, this path is still quick

    def writes_durably(self, method: str, path: str) -> bool:
        """A write to a state file with no fault on its path: the server answers it with a group (group commit).

        The server's one writer thread runs such writes together inside
        ``Store.group`` (one transaction, one sync) and sends their answers once
        the group is on disk. The control API and the page are not in it (a
        reset goes to a worker; a click calls a partner), nor a faulted request
        (it may drip or hang, which the writer must never wait for).
        """
        if self.store.path is None or method in ("GET", "HEAD"):
            return False
        if path.startswith(_NOT_FAULTED) or path == CONTROL:
            return False
        return self.faults.spares(path)

    def hold(self, method: str, path: str) -> tuple[float, Fault | None] | None:
        """The server asks this once per request, before it is served: how long to park it, and its fault.

        A latency fault (or a hang) is served by the server's timer, not by a
        sleeping thread, so no number of delayed requests takes the workers away.
        """
        if path.startswith(_NOT_FAULTED) or path == CONTROL or self.faults.idle():
            return None  # the control API and the page are never faulted
        fault = self.faults.take(path)
        if fault is None:
            return None
        # A parked request is answered by a worker: so a streamed answer (drip, huge) is parked for a
        # moment at least, never sent from the I/O thread, which would wait on it.
        return max(fault.wait_s, 0.001) if fault.mode in ("drip", "huge") else fault.wait_s, fault

    # -- WSGI ---------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == CONTROL or request.path.startswith(_UNDER_CONTROL):
            response = self._guarded(request, self._dispatch_control)
        elif request.path == PAGE or request.path.startswith(PAGE + "/"):
            response = self._guarded(request, self._dispatch_page)
        else:
            if HELD in environ:
                fault = environ[HELD]  # taken by hold(), and already waited for
            else:  # served by a server without hold() (this app in another WSGI server): wait here
                fault = self.faults.take(request.path)
                if fault is not None:
                    time.sleep(fault.wait_s)
            if fault is not None and fault.mode in ("drop", "hang"):
                self._record(request, 0)
                return drop_connection()
            if fault is not None and fault.mode is not None:
                response = _faulty(fault, request)
            else:
                response = self._guarded(request, self._dispatch)
        self._record(request, response.status)
        return response.send(start_response)

    def _guarded(self, request: Request, dispatch: Callable[[Request], Reply]) -> Reply:
        try:
            return dispatch(request)
        except ApiError as e:
            return error_response(e)
        except StateBusy:
            # Another program holds the state file's write lock: a clear, retryable answer, as a
            # workspace gives when it is briefly unavailable (clients retry a 503 after Retry-After).
            message = "The workspace emulator's state file is locked by another program; nothing was changed, retry"
            response = error_response(ApiError(503, "TEMPORARILY_UNAVAILABLE", message))
            response.headers.append(("Retry-After", "1"))
            return response
        except Exception:
            # A bug in a handler, or the state closed under a late request: answer as a
            # workspace would (JSON 500). The traceback names code, never request bodies.
            log.exception("emulator: internal error on %s %s", request.method, request.path)
            return error_response(ApiError(500, "INTERNAL_ERROR", "Internal error in the workspace emulator"))

    def _dispatch(self, request: Request) -> Reply:
        if request.has_empty_segment:
            raise ApiError(400, "MALFORMED_REQUEST", f"Invalid path (empty segment): {request.path!r}")
        oauth = self._oauth_routes.get(request.path.rstrip("/"))
        if oauth is not None:
            return oauth(request)
        route, args = self._api.match(request.method, request.path)
        user = ANONYMOUS if route.public else self._authenticate(request)
        if user is None:
            return bad_token_response(request.path)
        return json_response(200, route.handler(self.store, Call(request, user, args)))

    def _authenticate(self, request: Request) -> User | None:
        scheme, _, token = request.header("Authorization").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = token.strip()
        return self._tokens.get(token) or self.oauth.user_for(token) or self.partner_connect.connections.user_for(token)

    # -- the control API ------------------------------------------------------------

    def _dispatch_control(self, request: Request) -> Reply:
        _check_control_caller(request)
        view, _ = self._control.match(request.method, request.path)
        return view(request)

    def _dispatch_page(self, request: Request) -> Reply:
        _check_local_caller(request)
        return partner_connect_page.handle(self.partner_connect, request, base_url(request))

    def _show_faults(self, request: Request) -> Reply:
        return json_response(200, self.faults.describe())

    def _arm_faults(self, request: Request) -> Reply:
        body = Call(request, ANONYMOUS, {}).json_body()
        try:
            self.faults.arm_from(body)
        except (ValueError, TypeError) as e:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", str(e)) from None
        return json_response(200, self.faults.describe())

    def _clear_faults(self, request: Request) -> Reply:
        self.faults.clear()
        return json_response(200, self.faults.describe())

    def _show_requests(self, request: Request) -> Reply:
        with self._log_lock:
            records, dropped = list(self._log), self._dropped
        log = [{"method": method, "path": path, "status": status} for method, path, status, _ in records]
        return json_response(200, {"requests": log, "dropped": dropped})

    def _health(self, request: Request) -> Reply:
        """For a CI job waiting for the emulator: answered in the I/O thread, however busy the workers are."""
        return json_response(200, {"status": "ok"})

    def _reset(self, request: Request) -> Reply:
        self.store.wipe()
        self.partner_connect.connections.wipe()
        self.faults.clear()
        self.clear_log()
        return json_response(200, {})


def _clip(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters; a longer one is cut and says by how much."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...(+{len(text) - limit} characters)"


def _weight(method: str, path: str) -> int:
    """About what a record costs, in bytes of the JSON answer: a non-ASCII character is escaped (6 bytes)."""
    text = len(method) + len(path)
    return 48 + (text if path.isascii() and method.isascii() else 6 * text)


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_control_caller(request: Request) -> None:
    """The control API has no token: only a program on this machine may use it, never a web page.

    A page in a browser can send a cross-site POST (``text/plain``, no CORS
    preflight) and, through DNS rebinding, even a same-site one under another
    name. So: the Host must name loopback (or, for an absolute-form target, the
    target's host, which RFC 9112 puts before the Host header), a browser's Origin must be this
    server's own, and a POST must be declared JSON (which a page cannot do
    cross-site without a preflight this server never approves). A Host that is
    not a well-formed ``host[:port]`` (``[::1]evil.example``) names nothing.
    """
    _check_local_caller(request)
    if request.method == "POST" and request.header("Content-Type").split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "INVALID_PARAMETER_VALUE", "The control API takes Content-Type: application/json")


def _check_local_caller(request: Request) -> None:
    """A loopback Host and, from a browser, this server's own Origin (the control API and the page)."""
    target = str(request.environ.get("REQUEST_URI") or "/")
    if target.startswith("/"):
        host = _host_name(request.header("Host"))
    else:  # absolute form, http://host:port/_emulator/...: its host is the one that counts (RFC 9112, 3.2.2)
        scheme, _, rest = target.partition("://")
        host = _host_name(rest.partition("/")[0]) if scheme.lower() == "http" else None
    if host not in _LOOPBACK_HOSTS:
        raise ApiError(403, "PERMISSION_DENIED", "The emulator's control API answers only on a loopback Host")
    origin = request.header("Origin")
    if origin and not _is_own_origin(origin, str(request.environ.get("SERVER_PORT", ""))):
        raise ApiError(403, "PERMISSION_DENIED", "The emulator's control API refuses requests from web pages")


# host[:port], the host a bracketed IPv6 address or a name/IPv4 address (RFC 3986's authority, no user info).
_AUTHORITY = re.compile(r"(?:\[(?P<ip6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?")


def _is_own_origin(origin: str, port: str) -> bool:
    """``http://127.0.0.1:PORT`` (or localhost, [::1]) with this server's port: a page it served itself."""
    scheme, _, authority = origin.strip().lower().partition("://")
    match = _AUTHORITY.fullmatch(authority.rstrip("/"))
    return scheme == "http" and match is not None and match["port"] == port and _host_name(authority) in _LOOPBACK_HOSTS


def _host_name(authority: str) -> str | None:
    """``127.0.0.1:8765`` -> ``127.0.0.1``, ``[::1]:8765`` -> ``::1``, lower-case, no trailing dot.

    None for anything that is not a well-formed ``host[:port]``.
    """
    match = _AUTHORITY.fullmatch(authority.strip().rstrip("/").lower())
    if match is None:
        return None
    return match["ip6"] or match["name"].rstrip(".")


def _faulty(fault: Fault, request: Request) -> Reply:
    if fault.mode == "echo":
        if request.path.startswith(OIDC + "/"):
            return json_response(fault.status, oauth_echo_answer(request.header("Authorization"), request.body))
        return json_response(fault.status, echo_answer(request.body))
    streamed = fault.body_chunks()  # json, drip, huge: faults.py makes the body
    if streamed is not None:
        length, chunks = streamed
        return Reply(fault.status, b"", length=length, chunks=chunks)
    if fault.mode == "html":
        # What a load balancer in front of a workspace answers when the service is down.
        page = "<html><body><h1>Service unavailable</h1></body></html>"
        return Reply(fault.status, page.encode(), "text/html")
    if fault.mode == "malformed_json":
        return Reply(fault.status, b'{"partners": [{"id": ')
    response = error_response(ApiError(fault.status, _code_for(fault.status), f"Injected fault: HTTP {fault.status}"))
    if fault.retry_after is not None:
        response.headers.append(("Retry-After", str(fault.retry_after)))
    return response


def _code_for(status: int) -> str:
    return {
        429: "TOO_MANY_REQUESTS",
        500: "INTERNAL_ERROR",
        502: "BAD_GATEWAY",
        503: "TEMPORARILY_UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
