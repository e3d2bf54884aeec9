"""The sample partner's WSGI application: a correct Partner Connect endpoint.

It is written to be read: each handler does what the Partner Connect API
asks of a partner (the public OpenAPI document and ApiSpecifications.md of
databrickslabs/partner-connect-api), in the order a partner should do it:
check the credential, parse and validate the request (tolerating fields it
does not know), find or create the account (by e-mail domain) and connection
(``connect_flow.py``), answer. Faults (``faults.py``) that break the envelope
are applied in one place, ``_success``; those that change a decision are
applied where the decision is made, so the correct path stays plain.

Endpoints, each also served under any path prefix (``/databricks/connect``)
so that a config's own paths re-rooted with ``connect-test --url`` reach it;
every operation of the Partner Connect API (openapi/partner-connect-2.0.yaml):

- ``POST /connect`` (decisions in ``connect_flow.py``)
- ``POST /delete-connection`` (also ``DELETE``, and the alias ``/delete``)
- ``POST /test-connection``: ``{"connection_id"}`` ->
  ``{"test_results": [{"test_name", "status": PASS|FAIL|UNKNOWN, "message"}]}``
- ``DELETE /delete-account`` ``{"domain", ...}`` and ``PUT /expire-account``
  ``{"email", ...}``: test hooks, allowed only for the Databricks test domains
  (400 ``bad_request`` otherwise)
- ``GET /connectors``: the connectors of an ingestion partner, paginated
- ``GET /create-trial``, ``/sign-in``, ``/contact-your-admin``,
  ``/purchase-product``, ``/sign-up``: the pages redirect_uri points to (HTML)
- ``GET /``: what this server is (JSON), for a human with curl
"""

from __future__ import annotations

import functools
import hmac
import html
import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from stp_ext.connect.catalog import NEW_USER_ACTIONS
from stp_ext.sample_partner.connect_flow import PAGES, Flow
from stp_ext.sample_partner.faults import FAULT_NAMES
from stp_ext.sample_partner.hostile import ANY_PATH_FAULTS, HOSTILE_FAULTS, hostile_bytes
from stp_ext.sample_partner.state import TEST_DOMAINS, PartnerState, domain_of, is_test_domain
from stp_ext.servers.serving import raw_response

LogFunction = Callable[[str], None]

# "gpc" is how openapi/partner-connect-2.0.yaml (2.1.1) spells gcp in its enum; accept both.
CLOUD_PROVIDERS = ("aws", "azure", "gcp", "gpc")
HUGE_BODY_BYTES = 5 * 1024 * 1024

_ENDPOINTS = {
    "connect": ("POST",),
    "delete-connection": ("POST", "DELETE"),
    "delete": ("POST", "DELETE"),
    "test-connection": ("POST",),
    "delete-account": ("DELETE", "POST"),
    "expire-account": ("PUT", "POST"),
    "connectors": ("GET",),
}
_PAGES = (*PAGES.values(), "sign-up")


@functools.cache
def _routes() -> Map:
    """One map for every app: werkzeug compiles each rule into Python code (40 ms for these),
    and a map is read-only once built, so apps and their threads can share it."""
    rules = [Rule("/", endpoint="index", methods=["GET"])]
    for path, methods in _ENDPOINTS.items():
        endpoint = "delete-connection" if path == "delete" else path
        rules.append(Rule(f"/{path}", endpoint=endpoint, methods=list(methods)))
        rules.append(Rule(f"/<path:prefix>/{path}", endpoint=endpoint, methods=list(methods)))
    for page in _PAGES:
        rules.append(Rule(f"/{page}", endpoint="page", defaults={"page": page}, methods=["GET"]))
        rules.append(Rule(f"/<path:prefix>/{page}", endpoint="page", defaults={"page": page}, methods=["GET"]))
    return Map(rules, strict_slashes=False)


# Required request fields and their JSON types (bool is not an int here, as in JSON).
_USER_INFO_FIELDS: dict[str, type] = {
    "email": str,
    "first_name": str,
    "last_name": str,
    "databricks_user_id": int,
    "databricks_organization_id": int,
    "is_connection_established": bool,
}
_CONNECT_FIELDS: dict[str, type] = {
    "user_info": dict,
    "hostname": str,
    "port": int,
    "workspace_url": str,
    "workspace_id": int,
    "demo": bool,
    "cloud_provider": str,
    "is_free_trial": bool,
}


class BadRequest(Exception):
    """The request breaks the contract; answered 400 bad_request."""


class SamplePartnerApp:
    def __init__(
        self,
        *,
        auth_header: str = "",
        hostnames: Iterable[str] | None = None,
        fault: str | None = None,
        new_user_action: str = "auto_add",
        slow_seconds: float = 30.0,
        stopping: threading.Event | None = None,
        log: LogFunction | None = None,
    ) -> None:
        if new_user_action not in NEW_USER_ACTIONS:
            raise ValueError(f"new_user_action must be one of {', '.join(NEW_USER_ACTIONS)}")
        self.auth_header = auth_header
        self.hostnames = [h.strip() for h in (hostnames or []) if h.strip()]
        self.fault = fault
        self.new_user_action = new_user_action
        self.slow_seconds = slow_seconds
        self.state = PartnerState()
        self._stopping = stopping or threading.Event()
        self.log = log
        self._routes = _routes()

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        fault = self._fault_for(request)
        if fault in ANY_PATH_FAULTS or (fault in HOSTILE_FAULTS and self._is_authorized_connect(request)):
            if self.log is not None:
                self.log(f"{request.method} {request.path} -> (no answer) [fault {fault}]")
            return raw_response(environ, start_response, hostile_bytes(fault, self._stopping))
        response = self._dispatch(request, fault)
        if fault == "error_not_json" and response.status_code >= 400:
            response = Response(f"Error {response.status_code}\n", status=response.status_code, mimetype="text/plain")
        elif fault == "error_text_plain" and response.status_code >= 400:
            response.mimetype = "text/plain"  # the same JSON body, mislabelled
        elif fault == "error_not_strings" and response.status_code >= 400:
            body = json.loads(response.get_data())
            response = _json(response.status_code, {**body, "retry_after": 3})
        if self.log is not None:
            suffix = f" [fault {fault}]" if fault else ""
            self.log(f"{request.method} {request.path} -> {response.status_code}{suffix}")
        return response(environ, start_response)

    def _is_authorized_connect(self, request: Request) -> bool:
        connect = request.method == "POST" and request.path.rstrip("/").endswith("/connect")
        return connect and self._authorize(request, None) is None

    def _fault_for(self, request: Request) -> str | None:
        asked = request.args.get("fault")
        return asked if asked in FAULT_NAMES else self.fault

    def _dispatch(self, request: Request, fault: str | None) -> Response:
        try:
            endpoint, values = self._routes.bind_to_environ(request.environ).match()
            if endpoint == "index":
                return self._index(request)
            if endpoint == "page":
                return self._page(values["page"], fault)
            denied = self._authorize(request, fault)
            if denied is not None:
                return denied
            handler = {
                "connect": self._connect,
                "delete-connection": self._delete_connection,
                "test-connection": self._test_connection,
                "delete-account": self._delete_account,
                "expire-account": self._expire_account,
                "connectors": self._connectors,
            }[endpoint]
            return handler(request, fault)
        except BadRequest as e:
            return _error(400, "bad_request", str(e))
        except NotFound:
            return _error(404, "bad_request", f"no endpoint at {request.path}; see GET / for the endpoints")
        except MethodNotAllowed as e:
            return _error(405, "bad_request", f"{request.method} is not allowed here; use {e.valid_methods}")
        except HTTPException as e:
            return _error(e.code or 500, "bad_request", e.description or "")
        except Exception as e:  # a bug here must still be a well-formed partner answer
            return _error(500, "general_error", f"{type(e).__name__}: {e}")

    # -- handlers --------------------------------------------------------------

    def _index(self, request: Request) -> Response:
        return _json(
            200,
            {
                "service": "databricks-stp sample partner",
                "endpoints": {
                    "connect": "POST /connect",
                    "delete_connection": "POST /delete-connection",
                    "test_connection": "POST /test-connection",
                    "delete_account": "DELETE /delete-account",
                    "expire_account": "PUT /expire-account",
                    "connectors": "GET /connectors",
                },
                "pages": [f"GET /{page}" for page in _PAGES],
                "hostnames": self.hostnames or [request.host.rsplit(":", 1)[0]],
                "requires_authorization": bool(self.auth_header),
                "new_user_action": self.new_user_action,
                "fault": self.fault,
            },
        )

    def _page(self, page: str, fault: str | None) -> Response:
        """The page a redirect_uri opens in the user's browser: here, a stub that says where it is."""
        if fault == "redirect_page_404":
            return Response("<!DOCTYPE html><title>Not found</title>", status=404, mimetype="text/html")
        if fault == "redirect_page_silent":
            self._stopping.wait(self.slow_seconds)  # wakes early when the server stops
        title = html.escape(page.replace("-", " ").capitalize())
        body = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
        return Response(body, status=200, mimetype="text/html")

    def _authorize(self, request: Request, fault: str | None) -> Response | None:
        """Databricks sends the credential verbatim; compare in constant time."""
        if not self.auth_header or fault == "accept_any_auth":
            return None  # an empty expected value means the partner asked for no header
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode("utf-8"), self.auth_header.encode("utf-8")):
            return None
        if fault == "wrong_auth_status":
            return _json(401, {"message": "Unauthorized"})
        if fault == "echo_credential":
            expected = self.auth_header.split(" ")[-1]
            return _error(403, "unauthorized", f"expected the credential {expected}, got another")
        return _error(
            401,
            "unauthorized",
            "the Authorization header is missing or wrong",
            display="Databricks could not authenticate to the partner. Check the credential.",
        )

    def _connect(self, request: Request, fault: str | None) -> Response:
        if fault == "slow":
            self._stopping.wait(self.slow_seconds)  # wakes early when the server stops
        raw = request.get_data()
        doc = _parse_connect(request, raw)
        if fault == "not_idempotent":
            doc["_seen_before"] = self.state.seen_before(raw)
        flow = Flow(self.state, self._redirect_base(request, fault), self.new_user_action, fault)
        established = doc["user_info"]["is_connection_established"]
        status, answer = flow.reuse(doc) if established else flow.new_connection(doc)
        if status != 200:
            return _json(status, answer)
        if established and fault == "connection_id_on_established":
            answer["connection_id"] = doc["connection_id"]
        if established and fault == "reuse_configured":
            answer["configured_resources"] = True
        if fault == "redirect_page_silent":  # a page per sign-in, as many partners do: every URL differs
            answer["redirect_uri"] += f"?session={uuid.uuid4().hex[:12]}"
        if established and fault == "reuse_contact_admin" and answer.get("user_status") == "existing":
            answer["redirect_value"] = "contact_admin"
        if doc.get("oauth_u2m_app_id") and fault != "u2m_no_oauth_redirect":
            answer["oauth_redirect_uri"] = f"{flow.base}/oauth/databricks/callback"
        response = self._success(answer, fault)
        if established and fault == "reuse_201":
            response.status_code = 201
        return response

    def _delete_connection(self, request: Request, fault: str | None) -> Response:
        connection_id = _connection_id_of(request)
        if not self.state.delete_connection(connection_id):
            return _error(404, "connection_not_found", f"no connection {connection_id}")
        if fault == "delete_no_status":
            return _json(200, {})
        status = "deleted" if fault == "delete_bad_status" else "resources_deleted"
        return _json(200, {"resource_status": status})

    def _test_connection(self, request: Request, fault: str | None) -> Response:
        connection_id = _connection_id_of(request)
        if self.state.connection(connection_id) is None:
            if fault == "test_deleted_passes" and self.state.was_deleted(connection_id):
                return _json(200, {"test_results": [_test_result("PASS", "Connection exists.")]})
            return _error(404, "connection_not_found", f"no connection {connection_id}")
        if fault == "test_connection_invalid":
            return _json(200, {"test_results": [{"test_name": "connection exists", "status": "UNKNOWN"}]})
        return _json(200, {"test_results": [_test_result("PASS", "Connection exists.")]})

    def _delete_account(self, request: Request, fault: str | None) -> Response:
        doc = _json_body(request, request.get_data())
        domain = doc.get("domain")
        if not isinstance(domain, str) or not domain:
            raise BadRequest("domain (a string) is required")
        if not is_test_domain(domain):
            raise BadRequest(f"accounts can be deleted only for {' and '.join(TEST_DOMAINS)} (and their sub-domains)")
        if not self.state.delete_account(domain):
            return _error(404, "account_not_found", f"no account for {domain}")
        return _json(200, {})

    def _expire_account(self, request: Request, fault: str | None) -> Response:
        doc = _json_body(request, request.get_data())
        email = doc.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise BadRequest("email (an e-mail address) is required")
        if not is_test_domain(domain_of(email)):
            raise BadRequest(f"accounts can be expired only for {' and '.join(TEST_DOMAINS)} (and their sub-domains)")
        if not self.state.expire_account(email):
            return _error(404, "account_not_found", f"no account with the user {email}")
        return _json(200, {})

    def _connectors(self, request: Request, fault: str | None) -> Response:
        """Two pages of connectors, so a client's pagination is exercised too."""
        token = request.args.get("pagination_token") or ""
        if token not in ("", "2"):
            raise BadRequest(f"unknown pagination_token {token!r}")
        page = CONNECTORS[:2] if token == "" else CONNECTORS[2:]
        body: dict[str, Any] = {"connectors": [dict(c) for c in page]}
        if token == "":
            body["pagination_token"] = "2"
        if fault == "connectors_invalid":
            body["connectors"].append({"identifier": "CUSTOM", "name": "", "type": "both"})
        return _json(200, body)

    # -- answers ---------------------------------------------------------------

    def _redirect_base(self, request: Request, fault: str | None) -> str:
        """Where redirect_uri points: the first configured hostname, else this server itself."""
        own_host = request.host.rsplit(":", 1)[0].strip("[]")
        if not self.hostnames or self.hostnames[0] == own_host:
            base = request.host_url.rstrip("/")
            host = request.host
        else:
            host = self.hostnames[0]
            base = f"https://{host}"
        if fault == "subdomain_redirect":
            return base.replace(f"//{host}", f"//login.{host}", 1)
        if fault == "lookalike_redirect":
            return base.replace(f"//{host}", f"//{host.rsplit(':', 1)[0]}.evil.example", 1)
        return base

    def _success(self, answer: dict[str, Any], fault: str | None) -> Response:
        """A 200 connect answer, with the contract broken the way ``fault`` says."""
        if fault == "missing_field":
            answer.pop("user_status", None)
        elif fault == "bad_enum":
            answer["redirect_value"] = "signin"
        elif fault == "foreign_redirect":
            answer["redirect_uri"] = "https://login.other-partner.example.net/sign-in"
        elif fault == "relative_redirect":
            answer["redirect_uri"] = "/sign-in"
        elif fault == "connection_id_missing" and answer.get("configured_resources"):
            answer.pop("connection_id", None)
        elif fault == "huge_body":
            answer["padding"] = "x" * HUGE_BODY_BYTES
        elif fault == "redirect":
            return Response(b"", status=302, headers={"Location": "https://elsewhere.example.net/connect"})
        elif fault == "html_body":
            page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"
            return Response(page, status=200, content_type="text/html; charset=utf-8")
        response = _json(202 if fault == "wrong_status" else 200, answer)
        if fault == "text_plain":
            response.headers["Content-Type"] = "text/plain; charset=utf-8"
        elif fault == "no_content_type":
            del response.headers["Content-Type"]
        elif fault == "malformed_json":
            data = response.get_data()
            response.set_data(data[: len(data) // 2])
        return response


# A few identifiers from the API's connector list (openapi/connectors.csv).
CONNECTORS: tuple[dict[str, str], ...] = (
    {"identifier": "SALESFORCE", "name": "Salesforce", "type": "source", "description": "Salesforce objects"},
    {"identifier": "POSTGRESQL", "name": "PostgreSQL", "type": "source"},
    {"identifier": "DATABRICKS_DELTA_LAKE", "name": "Databricks", "type": "target"},
)


def _test_result(status: str, message: str) -> dict[str, str]:
    return {"test_name": "connection exists", "status": status, "message": message}


def _parse_connect(request: Request, raw: bytes) -> dict[str, Any]:
    """The connect body, checked like a strict but tolerant partner: unknown fields are fine."""
    doc = _json_body(request, raw)
    _check_fields(doc, _CONNECT_FIELDS, "")
    _check_fields(doc["user_info"], _USER_INFO_FIELDS, "user_info.")
    user = doc["user_info"]
    if "@" not in user["email"]:
        raise BadRequest(f"user_info.email {user['email']!r} is not an e-mail address")
    if doc["cloud_provider"] not in CLOUD_PROVIDERS:
        raise BadRequest(f"cloud_provider {doc['cloud_provider']!r} is not one of {', '.join(CLOUD_PROVIDERS)}")
    if doc["workspace_id"] != user["databricks_organization_id"]:
        raise BadRequest("workspace_id differs from user_info.databricks_organization_id")
    if user["is_connection_established"] and not isinstance(doc.get("connection_id"), str):
        raise BadRequest("an established connection needs connection_id (a string)")
    return doc


def _json_body(request: Request, raw: bytes) -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise BadRequest(f"Content-Type must be application/json, not {request.mimetype or 'missing'}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest(f"the body is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise BadRequest("the body must be a JSON object")
    return doc


def _check_fields(doc: dict[str, Any], fields: dict[str, type], prefix: str) -> None:
    for name, kind in fields.items():
        if name not in doc:
            raise BadRequest(f"{prefix}{name} is required")
        value = doc[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BadRequest(f"{prefix}{name} must be a {kind.__name__}, not {type(value).__name__}")


def _connection_id_of(request: Request) -> str:
    doc = _json_body(request, request.get_data())
    connection_id = doc.get("connection_id")
    if not isinstance(connection_id, str) or not connection_id:
        raise BadRequest("connection_id (a string) is required")
    return connection_id


def _json(status: int, document: dict[str, Any]) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")


def framing_error(status: int, code: str, message: str) -> dict[str, Any]:
    """The errors the server answers before this app sees a request (bad framing, too large), in the
    partner API's shape like every other error here, not the workspace's."""
    return {"error_reason": "bad_request" if status < 500 else "general_error", "debugging_message": message}


def _error(status: int, reason: str, debugging: str, *, display: str | None = None) -> Response:
    body: dict[str, Any] = {"error_reason": reason, "debugging_message": debugging}
    if display:
        body["display_message"] = display
    return _json(status, body)
