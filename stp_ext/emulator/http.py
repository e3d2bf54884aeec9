"""Requests, answers, users and JSON errors shared by the emulator's handlers.

Plain WSGI, no framework objects: the emulator answers thousands of requests
a second, and a request here is parsed once, only as far as a handler needs.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

DEFAULT_ADMIN_TOKEN = "dapi-emulator-admin"
DEFAULT_USER_TOKEN = "dapi-emulator-user"


@dataclass(frozen=True)
class User:
    id: str
    user_name: str
    display_name: str
    is_admin: bool
    groups: tuple[str, ...]  # every workspace user is in `users`; admins also in `admins`


ADMIN = User("1001", "admin@example.com", "Emulator Admin", True, ("admins", "users"))
USER = User("1002", "user@example.com", "Emulator User", False, ("users",))
# The caller of a public route (host metadata): no token, no groups, no rights.
ANONYMOUS = User("0", "anonymous", "Anonymous", False, ())


class ApiError(Exception):
    """Answered as ``{"error_code", "message"}`` with ``status``."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def permission_denied(message: str) -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", message)


class Request:
    """What the emulator reads of a WSGI request: method, path, query, headers, body."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        # WSGI hands the path over as latin-1 text of the raw bytes; clients send UTF-8.
        path = environ.get("PATH_INFO", "")
        self.path: str = (path if path.isascii() else path.encode("latin-1").decode("utf-8", "replace")) or "/"
        self._args: dict[str, str] | None = None
        self._body: bytes | None = None

    @property
    def has_empty_segment(self) -> bool:
        """``//get``: the server folds leading slashes away, so look at the target as sent."""
        target = str(self.environ.get("REQUEST_URI") or self.environ.get("PATH_INFO", ""))
        if "//" not in target:
            return False  # most requests: no empty segment anywhere, nothing to take apart
        if not target.startswith("/"):  # absolute form, through a proxy: http://host/path
            target = "/" + target.partition("://")[2].partition("/")[2]
        return "//" in target.partition("?")[0]

    @property
    def args(self) -> Mapping[str, str]:
        """The query string's fields (the first value of a repeated one)."""
        if self._args is None:
            self._args = {}
            query = self.environ.get("QUERY_STRING", "")
            if "%" in query or "+" in query:
                fields = parse_qsl(query, keep_blank_values=True)
            else:  # nothing to decode: what parse_qsl answers, at a third of its cost (a GET's hot path)
                fields = [field.partition("=")[::2] for field in query.split("&") if field]
            for name, value in fields:
                self._args.setdefault(name, value)
        return self._args

    def header(self, name: str) -> str:
        key = name.upper().replace("-", "_")
        return str(self.environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key, ""))

    @property
    def body(self) -> bytes:
        """The whole body (the server caps its size and reads it before the app runs)."""
        if self._body is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            stream = self.environ.get("wsgi.input")
            self._body = stream.read(length) if length > 0 and stream is not None else b""
        return self._body


@dataclass
class Reply:
    """One answer: status, body and its type, extra headers.

    ``chunks`` (with its total ``length``) streams a body instead of ``body``.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    length: int = 0
    chunks: Iterable[bytes] | None = None

    @property
    def status_code(self) -> int:
        return self.status

    def send(self, start_response: Any) -> Iterable[bytes]:
        status = _STATUS_LINES.get(self.status)
        if status is None:
            try:
                status = f"{self.status} {HTTPStatus(self.status).phrase}"
            except ValueError:
                status = f"{self.status} Unknown"
        length = self.length if self.chunks is not None else len(self.body)
        headers = [("Content-Type", self.content_type), ("Content-Length", str(length)), *self.headers]
        start_response(status, headers)
        return self.chunks if self.chunks is not None else [self.body]


@dataclass
class Call:
    """One API call, as handlers see it (``user`` is ANONYMOUS on public routes)."""

    request: Request
    user: User
    args: Mapping[str, Any]  # from the URL rule
    _json: dict[str, Any] | None = None

    def json_body(self) -> dict[str, Any]:
        if self._json is None:
            self._json = parse_json_object(self.request.body)
        return self._json

    def param(self, name: str, *, required: bool = True) -> Any:
        """A field: from the query string for GET, from the JSON body otherwise."""
        source: Any = self.request.args if self.request.method == "GET" else self.json_body()
        value = source.get(name)
        if required and (value is None or value == ""):
            raise bad_request(f"Missing required field: {name}")
        return value


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from a request body ({} for none); 400 for anything else, however deep."""
    if not raw.strip():
        return {}
    try:
        if raw[:1] == b"{" and raw[1:2] != b"\x00":
            # What json.loads does with these bytes (it detects UTF-8 from them), without the detection.
            body = _decode(raw.decode("utf-8", "surrogatepass"))
        else:
            body = json.loads(raw)
    except RecursionError:
        raise ApiError(400, "MALFORMED_REQUEST", "Request body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "MALFORMED_REQUEST", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "MALFORMED_REQUEST", "Request body must be a JSON object")
    return body


def json_response(status: int, document: Any) -> Reply:
    if document == {}:  # the answer of most writes: no encoder made for it
        return Reply(status, b"{}")
    return Reply(status, _encode(document).encode())


_encode = json.JSONEncoder().encode  # json.dumps with its defaults, without its per-call checks
_decode = json.JSONDecoder().decode  # json.loads of text, without its per-call checks
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def error_response(error: ApiError) -> Reply:
    return json_response(error.status, {"error_code": error.error_code, "message": error.message})


def bad_token_response(path: str) -> Reply:
    """What a workspace answers for a missing or wrong token (docs/rest-api.md, "Errors"): HTML, not JSON."""
    body = (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        "<title>Error 403 Invalid access token.</title>\n</head>\n<body><h2>HTTP ERROR 403</h2>\n"
        f"<p>Problem accessing {html.escape(path)}. Reason:\n"
        "<pre>    Invalid access token.</pre></p>\n</body>\n</html>\n"
    )
    return Reply(
        403, body.encode(), "text/html;charset=utf-8", [("x-databricks-reason-phrase", "Invalid access token.")]
    )
