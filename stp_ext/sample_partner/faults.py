"""The ways the sample partner can be told to be wrong, all in one place.

Each fault breaks one rule of the Partner Connect contract, so that tests (and
partners curious about the report) can see connect-test catch it. Pick one
with ``sample-partner --fault NAME``, ``SamplePartner(fault=NAME)``, or per
request with the query parameter ``?fault=NAME``.

Unless a description says otherwise, a fault changes the successful (2xx)
answers of POST /connect and nothing else. The faults named for a
certification case (P100...P900) break exactly the assertion of that case.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str
    description: str


FAULTS: tuple[Fault, ...] = (
    # The envelope of every connect answer
    Fault("wrong_status", "answers 202 instead of 200"),
    Fault("html_body", "answers with an HTML page (text/html)"),
    Fault("text_plain", "sends the JSON as text/plain"),
    Fault("no_content_type", "sends the JSON without a Content-Type header"),
    Fault("malformed_json", "sends a truncated JSON document"),
    Fault("huge_body", "pads the answer to several megabytes"),
    Fault("redirect", "answers 302 to another host instead of answering"),
    Fault("slow", "waits longer than any sane client timeout before answering (every /connect)"),
    Fault("continue_flood", "answers 'HTTP/1.1 100 Continue' every 2 s and never a final answer (every /connect)"),
    Fault("header_drip", "sends its status line and headers a byte at a time, never finishing (every /connect)"),
    # Any path, any credential: a hostile OAuth token endpoint or workspace host, for a client's time bounds
    Fault("hang", "answers nothing at all, on any path (a token endpoint included), until it stops (10 min at most)"),
    Fault("drip", "answers every path 200 with an OAuth token document whose body comes a byte every 0.2 s"),
    Fault("missing_field", "leaves out user_status"),
    Fault("bad_enum", "answers redirect_value 'signin' (not a documented value)"),
    # redirect_uri
    Fault("foreign_redirect", "redirect_uri points to a host that is not in hostnames"),
    Fault("lookalike_redirect", "redirect_uri host merely contains a listed host (partner.example.com.evil.example)"),
    Fault("subdomain_redirect", "redirect_uri is on a sub-domain of a listed host (a warning only)"),
    Fault("relative_redirect", "redirect_uri is a relative path"),
    Fault("redirect_page_404", "the redirect pages (GET redirect_uri) answer 404"),
    Fault(
        "redirect_page_silent",
        "redirect_uri is a page per sign-in (?session=...), and the pages wait longer than any sane client "
        "timeout before answering",
    ),
    # P100, P400, P401, P600: new connections
    Fault("new_account_sign_in", "sends a brand-new account to sign_in instead of create_trial (P100)"),
    Fault("configures_nothing", "a new connection answers configured_resources false and no connection_id"),
    Fault("connection_id_missing", "configured_resources true without a connection_id"),
    Fault("not_idempotent", "answers 500 to a connect request it has seen before (P400)"),
    Fault(
        "no_recreate_after_delete", "answers 500 to a new connection after that user's connection was deleted (P401)"
    ),
    Fault("second_workspace_refused", "answers 500 to a known user connecting from a second workspace (P600)"),
    # P300, P302, P402: reusing a connection
    Fault("reuse_201", "answers 201 instead of exactly 200 when a connection is reused (P300)"),
    Fault("reuse_contact_admin", "answers redirect_value contact_admin when a known user reuses a connection"),
    Fault("reuse_configured", "answers configured_resources true when a connection is reused (P300)"),
    Fault("connection_id_on_established", "returns connection_id for an established connection (P300)"),
    Fault("new_user_existing", "calls a never-seen user of a known account 'existing' when reusing (P302)"),
    Fault("unknown_connection_ok", "answers 200 for a deleted or unknown connection_id instead of 404 (P402)"),
    # P700
    Fault("demo_ignored", "ignores demo: true (a known account is sent to sign_in, not create_trial) (P700)"),
    # Credentials and error answers
    Fault("accept_any_auth", "accepts a wrong Authorization header"),
    Fault("wrong_auth_status", "answers a wrong Authorization header with 401 but no error_reason"),
    Fault(
        "echo_credential",
        "answers a wrong Authorization header with 403 whose debugging_message quotes the expected one "
        "(without its scheme): a client must not print it",
    ),
    Fault("error_not_json", "sends every error answer as a plain-text page"),
    Fault("error_not_strings", 'adds "retry_after": 3 (a number) to every error answer'),
    Fault("error_text_plain", "labels every JSON error answer text/plain (beyond certification only)"),
    # Other operations
    Fault("delete_bad_status", "POST /delete-connection answers an undocumented resource_status"),
    Fault("delete_no_status", "POST /delete-connection answers 200 {} (no resource_status)"),
    Fault(
        "test_connection_invalid",
        "POST /test-connection answers status UNKNOWN without a message (P800, beyond certification only)",
    ),
    Fault("test_deleted_passes", "POST /test-connection answers PASS for a deleted connection (P801)"),
    Fault("connectors_invalid", "GET /connectors lists a connector of type 'both' with no name (P900)"),
    Fault("u2m_no_oauth_redirect", "leaves out oauth_redirect_uri for AUTH_OAUTH_U2M (a warning only)"),
)

FAULT_NAMES: tuple[str, ...] = tuple(fault.name for fault in FAULTS)


def check_fault(name: str | None) -> str | None:
    """``name`` when it is a known fault (or None); ValueError otherwise."""
    if name is not None and name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULT_NAMES)}")
    return name
