"""Where connect-test sends: the config's URLs, or the same paths on a local base (``--url``)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def reroot(url: str, base: str) -> str:
    """``url``'s path and query on ``base``'s scheme, host and port, after ``base``'s own path.

    ``reroot("https://partner.example.com/databricks/connect?v=2", "http://localhost:8080")``
    is ``http://localhost:8080/databricks/connect?v=2``; with the base
    ``http://localhost:8080/staging`` it is ``http://localhost:8080/staging/databricks/connect?v=2``.
    """
    original = urlsplit(url)
    root = urlsplit(base)
    path = root.path.rstrip("/") + (original.path or "/")
    return urlunsplit((root.scheme, root.netloc, path, original.query, ""))
