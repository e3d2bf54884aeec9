"""Request context, users and JSON errors shared by the emulator's handlers."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

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


@dataclass
class Call:
    """One API call, as handlers see it (``user`` is ANONYMOUS on public routes)."""

    request: Request
    user: User
    args: Mapping[str, Any]  # from the URL rule

    def json_body(self) -> dict[str, Any]:
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "MALFORMED_REQUEST", "Request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "MALFORMED_REQUEST", "Request body must be a JSON object")
        return body

    def param(self, name: str, *, required: bool = True) -> Any:
        """A field: from the query string for GET, from the JSON body otherwise."""
        source: Any = self.request.args if self.request.method == "GET" else self.json_body()
        value = source.get(name)
        if required and (value is None or value == ""):
            raise bad_request(f"Missing required field: {name}")
        return value


def json_response(status: int, document: Any) -> Response:
    return Response(json.dumps(document), status=status, content_type="application/json")


def error_response(error: ApiError) -> Response:
    return json_response(error.status, {"error_code": error.error_code, "message": error.message})


def bad_token_response(path: str) -> Response:
    """What a workspace answers for a missing or wrong token (contracts.md section 1): HTML, not JSON."""
    body = (
        '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
        "<title>Error 403 Invalid access token.</title>\n</head>\n<body><h2>HTTP ERROR 403</h2>\n"
        f"<p>Problem accessing {html.escape(path)}. Reason:\n"
        "<pre>    Invalid access token.</pre></p>\n</body>\n</html>\n"
    )
    response = Response(body, status=403, content_type="text/html;charset=utf-8")
    response.headers["x-databricks-reason-phrase"] = "Invalid access token."
    return response
