"""The endpoint credential: the exact Authorization header value Databricks sends.

Kept in a small value type whose repr never shows the value, so it cannot leak
through a log line, a dataclass repr or an exception message.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from stp_ext.core.errors import InputError
from stp_ext.core.logs import register_secret

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
        unsendable = not_visible_ascii(self.value)
        if unsendable is not None:
            # Refused before anything is sent: stored, it would fail every request Databricks makes.
            # The character itself is not shown: it is part of a secret.
            raise InputError(
                f"{self.description} contains {unsendable}, which cannot travel in an HTTP header "
                "(visible ASCII characters and spaces only); nothing was sent",
                hint="Check the value you piped in; a password with other characters goes through "
                "--basic-user USER --basic-password-stdin (Basic auth encodes it).",
            )
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


def not_visible_ascii(value: str) -> str | None:
    """'a control character (U+0009 at position 8)' or 'a non-ASCII character (...)': the first
    character an HTTP header value cannot carry as it is, or None."""
    for position, char in enumerate(value, start=1):
        if " " <= char <= "~":
            continue
        kind = "a non-ASCII character" if ord(char) > 127 else "a control character"
        return f"{kind} (U+{ord(char):04X} at position {position})"
    return None


def without_line_end(text: str) -> str:
    """A value read from stdin without the one line break ``echo`` adds."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def from_text(text: str) -> tuple[AuthHeader, list[str]]:
    """A header value read from stdin: drop one trailing newline (echo adds one), flag the rest."""
    text = without_line_end(text)
    warnings = []
    if text != text.strip():
        warnings.append("the Authorization header value starts or ends with spaces")
    return AuthHeader(text, description="the Authorization header from stdin"), warnings


def none() -> AuthHeader:
    return AuthHeader("", description="no Authorization header")
