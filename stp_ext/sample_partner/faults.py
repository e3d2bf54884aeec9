"""The ways the sample partner can be told to be wrong, all in one place.

Each fault breaks one rule of the Partner Connect contract, so that tests (and
partners curious about the report) can see connect-test catch it. Pick one
with ``sample-partner --fault NAME``, ``SamplePartner(fault=NAME)``, or per
request with the query parameter ``?fault=NAME``.

Unless a description says otherwise, a fault changes the successful (2xx)
answers of POST /connect and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    description: str


FAULTS: tuple[Fault, ...] = (
    Fault("wrong_status", "answers 202 instead of 200"),
    Fault("html_body", "answers with an HTML page (text/html)"),
    Fault("text_plain", "sends the JSON as text/plain"),
    Fault("no_content_type", "sends the JSON without a Content-Type header"),
    Fault("malformed_json", "sends a truncated JSON document"),
    Fault("huge_body", "pads the answer to several megabytes"),
    Fault("redirect", "answers 302 to another host instead of answering"),
    Fault("slow", "waits longer than any sane client timeout before answering (every /connect)"),
    Fault("missing_field", "leaves out user_status"),
    Fault("bad_enum", "answers redirect_value 'signin' (not a documented value)"),
    Fault("foreign_redirect", "redirect_uri points to a host that is not in hostnames"),
    Fault("relative_redirect", "redirect_uri is a relative path"),
    Fault("connection_id_missing", "configured_resources true without a connection_id"),
    Fault("connection_id_on_established", "returns connection_id for an established connection"),
    Fault("accept_any_auth", "accepts a wrong Authorization header"),
    Fault("wrong_auth_status", "answers a wrong Authorization header with 401 but no error_reason"),
    Fault("unknown_connection_ok", "answers 200 for an unknown connection_id instead of 404"),
    Fault("demo_ignored", "ignores demo: true (a known user is sent to sign_in, not create_trial)"),
    Fault("not_idempotent", "answers 500 to a connect request it has seen before"),
    Fault("delete_bad_status", "POST /delete-connection answers an undocumented resource_status"),
    Fault("u2m_no_oauth_redirect", "leaves out oauth_redirect_uri for AUTH_OAUTH_U2M (a warning only)"),
)

FAULT_NAMES: tuple[str, ...] = tuple(fault.name for fault in FAULTS)


def check_fault(name: str | None) -> str | None:
    """``name`` when it is a known fault (or None); ValueError otherwise."""
    if name is not None and name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    return name
