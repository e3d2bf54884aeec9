"""A quick look at a connect endpoint, through connect-test's machinery (for `doctor`).

One request, the way Databricks calls (same headers, same HTTP client, same
``--url`` re-rooting, same rules), but with no credential and no user: a
correct partner refuses it with a JSON error answer (400 bad_request or 401
unauthorized) and creates nothing, so the probe is safe against production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from stp_ext.connect import http, rules
from stp_ext.connect.session import headers
from stp_ext.connect.urls import reroot
from stp_ext.core.wire import TransportFailure


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str
    fix: str | None = None


def probe_connect(connect_url: str, *, url: str | None = None, timeout: float = 10.0) -> ProbeResult:
    target = reroot(connect_url, url) if url else connect_url
    try:
        response = http.send("POST", target, body=json.dumps({}).encode(), headers=headers(""), timeout=timeout)
    except TransportFailure as e:
        return ProbeResult(
            False,
            f"POST {target}: {e.message}",
            "Check connect_url in the config and that the endpoint is up and reachable from the internet.",
        )
    answered = f"{target} answered HTTP {response.status} in {response.elapsed_ms:.0f} ms"
    if 200 <= response.status < 300:
        return ProbeResult(
            False,
            f"{answered} to a request with no credential and no user",
            "The endpoint must check the Authorization header (401 unauthorized) and the body (400 bad_request).",
        )
    findings, doc = rules.envelope(response, (response.status,), "")
    if response.status >= 400:
        findings += rules.error_answer(doc, response.status, ())
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        first = errors[0]
        return ProbeResult(
            False,
            f"{answered}; {first.check}: {first.message}",
            "Answer errors as JSON with an error_reason; run connect-test for every certification case.",
        )
    reason = f" {doc['error_reason']}" if doc and isinstance(doc.get("error_reason"), str) else ""
    return ProbeResult(True, f"{answered}{reason}")
