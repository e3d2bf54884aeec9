"""Checks for the URL fields and for the `hostnames` string.

Each check returns problems as (severity, message, hint) tuples and knows
nothing of field paths; `rules` places them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from stp_ext.partner_config.model import ERROR, WARNING
from stp_ext.partner_config.text import quote


@dataclass(frozen=True)
class Problem:
    severity: str
    message: str
    hint: str | None = None
    fixed: str | None = None  # for a hostnames entry: the entry as it should be, when we can tell


_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$")
_BAD_HOST_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_BRACKETED = re.compile(r"^\[([^\]]*)\](?::(\d*))?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problems(value: str, example: str) -> list[Problem]:
    """An absolute http(s) URL with a host; http only for loopback (Databricks requires https)."""
    problems: list[Problem] = []
    stripped = value.strip()
    if stripped != value:
        problems.append(Problem(ERROR, "has leading or trailing spaces", f"Use {quote(stripped)}."))
    # The first of these ends the checks: what follows would only repeat it in other words.
    wrong = _character_problem(stripped) or _structure_problem(stripped, example)
    if wrong is not None:
        return [*problems, wrong]
    parts = urlsplit(stripped)
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname or ""):
        https = "https" + stripped[len("http") :]
        problems.append(Problem(WARNING, "uses http: Databricks requires https", f"Use {quote(https)}."))
    return problems


def _character_problem(url: str) -> Problem | None:
    """Spaces, or a backslash: characters that make the URL not say what it seems to."""
    if any(char.isspace() for char in url):
        return Problem(ERROR, "contains spaces", "Remove them or encode them as %20.")
    if "\\" in url:
        # Browsers read a backslash as '/', so `https://partner.example.com\@evil.example/` goes to
        # partner.example.com for them and to evil.example for other parsers: a host that is not what it seems.
        return Problem(
            ERROR,
            "contains a backslash; browsers read it as '/', so its host is not the one it seems to name",
            "Write '/' between the parts of a URL (or %5C for a backslash in its path).",
        )
    return None


def _structure_problem(url: str, example: str) -> Problem | None:
    """The first thing wrong with the URL's parts: unparsable, not http(s), no host, user info, port, host."""
    try:
        parts = urlsplit(url)
        port_error = False
        try:
            _ = parts.port  # reading it is what validates the port
        except ValueError:
            port_error = True
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return Problem(ERROR, f"{quote(url)} is not a valid URL", f"Use an absolute URL like {example}.")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return _not_http(url, scheme, example)
    if not parts.hostname:
        return Problem(ERROR, f"{quote(url)} has no host", f"Write it as {scheme}://host/path, e.g. {example}.")
    if "@" in parts.netloc:
        # `https://partner.example.com@other.example/connect` goes to other.example: what is
        # before the @ is a user name, and a reader sees the host they expect there.
        host = parts.netloc.rsplit("@", 1)[1]
        fixed = f"{scheme}://{host}{url.split(parts.netloc, 1)[1]}"
        return Problem(
            ERROR,
            f"has user info before its host (the host is {quote(parts.hostname)}, not what comes before the @)",
            f"Remove the user info: {quote(fixed)}.",
        )
    if port_error:
        return Problem(ERROR, f"{quote(url)} has an invalid port", "A port is a number from 1 to 65535.")
    return _non_ascii_host(parts.hostname)


def misleading_url(url: str) -> str | None:
    """Why a URL given on the command line (``--url``) does not go where it seems to, or None:
    the same rules as the config's URL fields (a backslash, user info, a non-ASCII host)."""
    problems = [p.message for p in url_problems(url, "https://partner.example.com/connect") if p.severity == ERROR]
    misleading = [m for m in problems if any(w in m for w in ("backslash", "user info", "ASCII", "look-alike"))]
    return misleading[0] if misleading else None


def _scripts(text: str) -> list[str]:
    """The writing systems of the letters of ``text`` (LATIN, CYRILLIC, GREEK...), in order of appearance."""
    found: dict[str, None] = {}
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "UNKNOWN")
            found.setdefault(name.split(" ", 1)[0], None)
    return list(found)


def _non_ascii_host(host: str) -> Problem | None:
    """A URL host that is not ASCII: mixed scripts are a look-alike (``pаrtner.example.com`` with a
    Cyrillic а); any other is refused too, as Databricks compares hosts in their ASCII form."""
    if host.isascii():
        return None
    try:
        ascii_form: str | None = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_form = None
    use = f"Use the ASCII (punycode) form {quote(ascii_form)} if that is the host you mean." if ascii_form else None
    scripts = _scripts(host)
    if len(scripts) > 1:
        names = " and ".join(script.title() for script in scripts)
        return Problem(
            ERROR,
            f"its host {quote(host)} mixes {names} letters: a look-alike of another host",
            use or "Type the host again in plain ASCII letters.",
        )
    return Problem(ERROR, f"its host {quote(host)} is not ASCII (letters that can imitate others)", use)


def _not_http(value: str, scheme: str, example: str) -> Problem:
    after = value.split(":", 1)[1] if ":" in value else ""
    # `partner.example.com:8443/x` parses as scheme `partner.example.com`: a missing scheme, not a foreign one.
    looks_like_host_port = bool(scheme) and after[:1].isdigit()
    if scheme and not looks_like_host_port and _SCHEME.match(value):
        return Problem(ERROR, f"must be an http(s) URL, not {scheme}:", f"Use an https URL, e.g. {example}.")
    if value.startswith("/"):
        return Problem(
            ERROR,
            f"{quote(value)} is a relative path, not an absolute URL",
            f"Give the full URL: {quote('https://partner.example.com' + value)}.",
        )
    return Problem(ERROR, f"{quote(value)} is not an absolute URL (no scheme)", f"Use {quote('https://' + value)}.")


def host_problem(entry: str) -> Problem | None:
    """One stripped, non-empty entry of `hostnames`: (severity, message, hint, fixed entry) or None.

    A port is an error: Databricks matches the host of redirect_uri, which has
    no port, so `host:8443` would never match (inferred from how URL hosts are
    compared; the contract says bare host names).
    """
    q = quote(entry)
    if "://" in entry:
        host = _host_of(entry)
        return Problem(ERROR, f"{q} is a URL, not a hostname", _just(host), host)
    if any(char.isspace() for char in entry):
        fixed = ",".join(entry.split())
        return Problem(ERROR, f"{q} contains spaces", f"Separate hosts with commas only: {quote(fixed)}.", fixed)
    if "@" in entry:
        host = entry.rsplit("@", 1)[1]
        return Problem(ERROR, f"{q} contains user info (@)", _just(host), host)
    if any(char in entry for char in "/?#"):
        host = re.split(r"[/?#]", entry, maxsplit=1)[0]
        return Problem(ERROR, f"{q} has a path; a hostname has none", _just(host), host or None)
    bracketed = _BRACKETED.match(entry)
    if bracketed:
        return _ip6_problem(entry, bracketed.group(1), bracketed.group(2))
    try:
        ipaddress.ip_address(entry)
        return None
    except ValueError:
        pass
    if ":" in entry:
        host, _, port = entry.rpartition(":")
        if port.isdigit() and host and ":" not in host:
            return Problem(ERROR, f"{q} has a port; hostnames are compared without ports", _just(host), host)
        return Problem(ERROR, f"{q} is not a valid hostname", "Use letters, digits, '-' and '.' only.", None)
    if entry.startswith("*."):
        rest = host_problem(entry[2:])
        if rest is not None:
            return rest
        return Problem(
            WARNING,
            f"{q} is a wildcard; wildcards in hostnames are not documented",
            "List each host the redirect_uri may use.",
            entry,
        )
    if not entry.isascii():
        try:
            ascii_form = entry.encode("idna").decode("ascii")
        except UnicodeError:
            return Problem(ERROR, f"{q} is not a valid hostname", "Use letters, digits, '-' and '.' only.", None)
        return Problem(ERROR, f"{q} is not ASCII", f"Use the punycode form {quote(ascii_form)}.", ascii_form)
    return _syntax_problem(entry)


def _syntax_problem(entry: str) -> Problem | None:
    q = quote(entry)
    bad = sorted(set(_BAD_HOST_CHARS.findall(entry)))
    if bad:
        shown = " ".join(quote(char) for char in bad)
        return Problem(ERROR, f"{q} has characters not allowed in a hostname: {shown}", _LETTERS, None)
    if len(entry) > 253:
        return Problem(ERROR, f"{q} is longer than 253 characters", None, None)
    if entry.endswith("."):
        fixed = entry.rstrip(".")
        return Problem(WARNING, f"{q} ends with a dot; a redirect URL's host will not match it", _just(fixed), fixed)
    labels = entry.split(".")
    if any(not label for label in labels):
        return Problem(ERROR, f"{q} has an empty label (two dots in a row, or a leading dot)", None, None)
    for label in labels:
        if len(label) > 63:
            return Problem(ERROR, f"{q} has a label longer than 63 characters", None, None)
        if not _LABEL.match(label):
            return Problem(ERROR, f"{q} has a label that starts or ends with '-'", _LETTERS, None)
    return None


def _ip6_problem(entry: str, address: str, port: str | None) -> Problem | None:
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return Problem(ERROR, f"{quote(entry)} is not a valid IPv6 address", None, None)
    if port is not None:
        host = f"[{address}]"
        return Problem(ERROR, f"{quote(entry)} has a port; hostnames are compared without ports", _just(host), host)
    return None


_LETTERS = "Use letters, digits, '-' and '.' only."


def _host_of(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


def _just(host: str | None) -> str | None:
    return f"Write just the host: {quote(host)}." if host else "Write just the host name."
