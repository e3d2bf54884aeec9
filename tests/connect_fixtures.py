"""Helpers for the connect-test and sample-partner tests: configs, credentials, a partner on a free port."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from helpers import DROP, example_partner, write_partner_config

from stp_ext.core import auth_header
from stp_ext.partner_config import PartnerConfig
from stp_ext.sample_partner import SamplePartner
from stp_ext.servers.serving import LocalServer

BASIC_USER = "databricks"
BASIC_PASSWORD = "s3cret-pass-for-tests"
BASIC = auth_header.basic(BASIC_USER, BASIC_PASSWORD).value

# The example config names production URLs on partner.example.com; tests
# re-root them on the sample partner with --url, as a partner would.
HOSTNAME = "partner.example.com"


def partner_dict(**changes: Any) -> dict[str, Any]:
    """The example partner; here None removes a field (connect tests never send a null)."""
    return example_partner(**{key: DROP if value is None else value for key, value in changes.items()})


def partner_config(**changes: Any) -> PartnerConfig:
    return PartnerConfig.from_partner(partner_dict(**changes))


write_config = write_partner_config


@contextmanager
def sample_partner(
    fault: str | None = None, auth: str = BASIC, hostnames: str | None = HOSTNAME, **kwargs: Any
) -> Iterator[SamplePartner]:
    with SamplePartner(auth_header=auth, hostnames=hostnames, fault=fault, **kwargs) as partner:
        yield partner


def findings_of(report: Any) -> set[tuple[str, str, str]]:
    """(scenario, severity, check) of every finding in a ConnectTestReport."""
    return {(s.name, f.severity, f.check) for s in report.scenarios for f in s.findings}


@dataclass
class Exchange:
    """One request a tapped partner answered, as the partner saw it."""

    method: str
    path: str
    authorization: str
    body: Any  # the request's JSON, or None
    status: int
    answer: Any  # the answer's JSON object, or its raw bytes


@contextmanager
def tapped_partner(app: Any) -> Iterator[tuple[str, list[Exchange]]]:
    """Serve the WSGI ``app`` behind a tap that records every exchange; yields its URL and the record."""
    seen: list[Exchange] = []
    lock = threading.Lock()

    def tap(environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[int] = []

        def capture(line: str, headers: Any, *rest: Any) -> Any:
            status.append(int(line.split()[0]))
            return start_response(line, headers, *rest)

        chunks = b"".join(app(environ, capture))
        answer = json.loads(chunks) if chunks.startswith(b"{") else chunks
        exchange = Exchange(
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            environ.get("HTTP_AUTHORIZATION", ""),
            json.loads(raw) if raw else None,
            status[0],
            answer,
        )
        with lock:
            seen.append(exchange)
        return [chunks]

    server = LocalServer(tap).start()
    try:
        yield server.url, seen
    finally:
        server.stop()
