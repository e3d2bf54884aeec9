"""The endpoint credential: the exact Authorization header value Databricks sends.

Kept in a small value type whose repr never shows the value, so it cannot leak
through a log line, a dataclass repr or an exception message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from stp_ext.errors import InputError
from stp_ext.logs import register_secret

# The most a workspace secret can hold (Secrets API: "value at most 128 KB"); Partner
# Connect reads the header from one, so a longer value could never be sent.
MAX_VALUE_BYTES = 128 * 1024


@dataclass(frozen=True)
class AuthHeader:
    """An Authorization header value; empty means "send no header"."""

    value: str = field(repr=False)
    description: str = "an Authorization header"

    def __post_init__(self) -> None:
        register_secret(self.value)
        size = len(self.value.encode("utf-8", "surrogatepass"))
        if size > MAX_VALUE_BYTES:
            # Refused before anything is sent: creating the partner first would leave a half-done setup.
            raise InputError(
                f"{self.description} is {size} bytes; a workspace secret holds at most 128 KiB "
                f"({MAX_VALUE_BYTES} bytes), so Databricks could never send it; nothing was sent",
                hint="Check that you piped in the right value (an Authorization header is usually under 1 KiB).",
            )

    @property
    def is_empty(self) -> bool:
        return self.value == ""

    def __str__(self) -> str:
        return self.description


def basic(user: str, password: str) -> AuthHeader:
    if ":" in user:
        raise InputError(
            "the Basic auth user name cannot contain ':'",
            hint="Basic auth joins user and password with ':'; use --auth-header-stdin for other schemes.",
        )
    if not user:
        raise InputError("--basic-user is empty")
    register_secret(password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return AuthHeader(f"Basic {token}", description=f"Basic auth for user {user!r}")


def from_text(text: str) -> tuple[AuthHeader, list[str]]:
    """A header value read from stdin: drop one trailing newline (echo adds one), flag the rest."""
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    warnings = []
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        warnings.append(
            "the Authorization header value contains control characters (a newline or tab?); "
            "Databricks sends it verbatim"
        )
    if text != text.strip():
        warnings.append("the Authorization header value starts or ends with spaces")
    return AuthHeader(text, description="the Authorization header from stdin"), warnings


def none() -> AuthHeader:
    return AuthHeader("", description="no Authorization header")
