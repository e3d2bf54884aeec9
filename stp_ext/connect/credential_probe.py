"""Does the partner accept the STORED credential? One harmless request, for `doctor`.

Partner Connect sends the stored Authorization value to every endpoint of
the partner. A delete-connection for a connection id that cannot exist
creates nothing and deletes nothing: a correct partner checks the
credential first, so it answers 401 ``unauthorized`` to a wrong one and 404
``connection_not_found`` to the right one (openapi/partner-connect-2.0.yaml,
2.1.1). Same headers, HTTP client, ``--url`` re-rooting and envelope rules
as connect-test.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from stp_ext.connect import http, rules
from stp_ext.connect.payload import Caller, delete_connection_request
from stp_ext.connect.session import headers
from stp_ext.connect.urls import reroot
from stp_ext.core.wire import TransportFailure


@dataclass(frozen=True)
class CredentialProbe:
    ok: bool
    detail: str
    fix: str | None = None
    warning: str | None = None


def probe_credential(
    delete_url: str, auth_header: str, *, url: str | None = None, timeout: float = 10.0, fix: str
) -> CredentialProbe:
    """Send ``auth_header`` (never shown) with a delete-connection for a connection that cannot exist.

    ``fix``: the command that stores the right credential, for a refusal.
    """
    target = reroot(delete_url, url) if url else delete_url
    connection_id = f"databricks-stp-doctor-{secrets.token_hex(8)}"  # no partner made this one
    caller = Caller.generate("doctor")
    body = json.dumps(delete_connection_request(connection_id, caller)).encode()
    try:
        response = http.send("POST", target, body=body, headers=headers(auth_header), timeout=timeout)
    except TransportFailure as e:
        return CredentialProbe(False, f"POST {target}: {e.message}", "Check delete_url and that the partner is up.")
    findings, doc = rules.envelope(response, (404,), "")
    reason = doc.get("error_reason") if isinstance(doc, dict) else None
    said = f"POST {target} (connection {connection_id}) answered HTTP {response.status}" + (
        f" {reason}" if isinstance(reason, str) else ""
    )
    if response.status in (401, 403):
        return CredentialProbe(False, f"{said}: the partner refuses the stored credential", fix)
    if response.status == 404:
        if reason == "connection_not_found":
            return CredentialProbe(True, f"{said}: the stored credential is accepted")
        return CredentialProbe(
            True,
            f"{said}: past the credential check",
            warning=f"delete-connection answered 404 without error_reason connection_not_found ({said})",
        )
    if 200 <= response.status < 300:
        return CredentialProbe(
            True,
            f"{said}: the stored credential is accepted",
            warning="delete-connection answered success for a connection that cannot exist; "
            "2.1.1 asks for 404 connection_not_found",
        )
    first = next((f for f in findings if f.severity == "error" and f.check != "status_code"), None)
    detail = f"{said}; {first.check}: {first.message}" if first else said
    return CredentialProbe(
        False,
        f"{detail}: cannot tell whether the stored credential is accepted",
        "A partner answers 401 unauthorized to a wrong credential and 404 connection_not_found to an unknown "
        "connection; run connect-test for every certification case.",
    )
