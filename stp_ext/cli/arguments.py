"""Checks of local arguments shared by commands (URLs, output files), before anything is sent.

Bad local input exits 2 with one ``Error:`` line: these raise ``InputError``.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from stp_ext.core.errors import InputError


def check_writable(path: str, option: str) -> None:
    """Refuse a report path that cannot be written before anything is sent."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"cannot write {option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {option} {path}: the folder {folder} is not writable")


def check_url(url: str, option: str, *, query_ok: bool = False) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
        host = parts.hostname
    except ValueError as e:
        raise InputError(
            f"{option} {url!r} is not a valid URL: {e}", hint="For example: http://localhost:8080"
        ) from None
    # deferred: keeps the partner config model (~14 ms) out of --help
    from stp_ext.partner_config.urls import misleading_url

    misleading = misleading_url(url)
    if misleading is not None:
        raise InputError(
            f"{option} {url!r}: {misleading}",
            hint="Give the URL as scheme://host:port/path, e.g. http://localhost:8080",
        )
    if parts.scheme not in ("http", "https") or not host:
        raise InputError(f"{option} {url!r} is not an absolute http(s) URL", hint="For example: http://localhost:8080")
    if port == 0:
        raise InputError(f"{option} {url!r} has port 0; give the port the partner listens on")
    if not query_ok and (parts.query or parts.fragment):
        raise InputError(f"{option} {url!r} has a query or fragment; give only scheme, host, port and path")
    return url
