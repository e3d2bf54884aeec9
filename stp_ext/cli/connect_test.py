"""`connect-test`: a local Partner Connect against the partner's own endpoints.

Thin: read the config, the credential and the options, call
``stp_ext.connect.run_connect_test``, render. Needs no workspace and never
imports databricks-sdk.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from stp_ext.cli.arguments import check_url, check_writable
from stp_ext.cli.config_input import load_valid_config
from stp_ext.cli.credential_input import CredentialInput, credential_options_for
from stp_ext.cli.junit_xml import junit_xml_option, write_junit_xml
from stp_ext.cli.options import CommandEnv, command_env, config_file_option, offline_options, timeout_option
from stp_ext.connect.catalog import CASE_IDS, NEW_USER_ACTIONS
from stp_ext.core.errors import CheckFailed, InputError
from stp_ext.core.inputs import MiB, decode_utf8, read_path

if TYPE_CHECKING:
    from stp_ext.connect import ConnectTestReport
    from stp_ext.partner_config import PartnerConfig


# The command's --help, kept here rather than as the docstring: it is most of the module's prose.
_HELP = """Run the Partner Connect certification cases against your endpoints, as Databricks calls them.

A pre-certification run: every automated case of the public certification
suite (databrickslabs/partner-connect-api), with the suite's assertions
and skip rules, no workspace and no Docker needed. Each case starts from a
new account (a random sub-domain of databricks-test.com), so runs can be
repeated.

Two verdicts: certification (exactly the suite's assertions; the exit
code follows it) and beyond certification (our stricter advice, as
warnings the suite would pass; --strict makes them fail the run too).

\b
  P100  new user, new account: 200/201, configured_resources true,
        a connection_id, redirect_value create_trial
  P300  the same user reuses the connection: exactly 200,
        configured_resources false, no connection_id
  P302  a never-seen user of the account reuses it: the answer of the
        declared new_user_action (auto_add: 200 new sign_in|create_trial;
        invite: 200 not_applicable contact_admin; not_found: 404
        account_not_found; error: 500 general_error)
  P400  the same new-connection request twice: two valid new connections
  P401  delete through delete_url, connect again: a valid new connection
  P402  delete, then reuse: 404 connection_not_found
  P600  the same user from a second workspace: new connection and reuse
  P700  demo: true for two users of one account: create_trial, user and
        account new each time, and each can reuse (--supports-demo)
  P800  test-connection on a live connection (--test-connection-url;
        not in the public suite: beyond certification)
  P801  test-connection on a deleted connection: 404 connection_not_found
        (beyond certification)
  P900  the connector list of an INGEST partner (--connectors-url,
        required for INGEST partners)
  AUTH  a wrong Authorization header: 401 unauthorized (needs a
        credential: the suite always sends one)

\b
Every answer: the documented enums (a success redirects to create_trial,
sign_in or purchase_product unless the case says otherwise), error
answers as JSON whose values are strings with a valid error_reason, and
each redirect_uri answers a GET (not followed) with 2xx/3xx on a host
that contains one of hostnames (beyond certification: exactly one).

The credential options give the Authorization header to send, the value
the partner gave Databricks. Exits 1 when the certification verdict fails
(or, with --strict, when there is any beyond-certification finding).

Coming from the Scala suite in Docker: BASIC_USER/BASIC_PASSWORD become
--basic-user and --basic-password-stdin, test_connection_path and
get_connectors_path --test-connection-url and --connectors-url,
new_user_action --new-user-action, supports_demo --supports-demo or
--no-demo, require_manual_signup --require-manual-signup; PAT_TOKEN is
not needed (see the README and docs/connect-exchange.md).

\b
Examples:
  databricks-stp connect-test -f partner.json --basic-user databricks \\
      --basic-password-stdin < pw.txt
  databricks-stp connect-test -f partner.json --auth-header-stdin \\
      --url http://localhost:8080 < header.txt
  databricks-stp connect-test -f partner.json --basic-user databricks \\
      --basic-password-stdin --strict < pw.txt
  databricks-stp connect-test -f partner.json --auth-header-stdin \\
      --new-user-action invite --no-demo < h.txt
  databricks-stp connect-test -f partner.json --no-auth-header --case P100 \\
      --payload extra.json -o json
  databricks-stp sample-partner --basic-user databricks \\
      --basic-password-stdin < pw.txt  # prints a command
"""


@click.command("connect-test", help=_HELP)
@config_file_option()
@credential_options_for("send")
@click.option(
    "--url",
    metavar="URL",
    help="Send to this base instead of the config's hosts: the path and query of connect_url and "
    "delete_url are appended to URL (https://p.example.com/db/connect with --url http://localhost:8080 "
    "calls http://localhost:8080/db/connect); redirect pages on the config's hostnames are fetched there too.",
)
@click.option(
    "--payload",
    "payload_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A JSON object deep-merged into every connect request (objects merge, other values "
    "replace, null removes the key).",
)
@timeout_option(
    60.0,
    "Time allowed for each answer: the suite's 60 s. An answer slower than 10 s is a beyond-certification "
    "warning; once an endpoint has timed out, the cases that would wait on it again are not run.",
)
@click.option(
    "--new-user-action",
    type=click.Choice(NEW_USER_ACTIONS),
    help="What P302 must see for a never-seen user of a known account (as declared to Databricks); "
    "default: auto_add, the suite's default config (the report says it was assumed).",
)
@click.option(
    "--supports-demo/--no-demo",
    default=True,
    show_default=True,
    help="Whether the partner supports the demo flag (supports_demo): the suite runs P700 only if it does.",
)
@click.option(
    "--require-manual-signup",
    is_flag=True,
    help="The partner requires a manual signup (require_manual_signup): sign-ins must answer 404 "
    "account_not_found or connection_not_found, as the suite expects.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail the run on beyond-certification findings too (exact redirect hosts, content types, "
    "answers over 10 s, test-connection), not only on certification failures.",
)
@click.option(
    "--test-connection-url",
    metavar="URL",
    help="The partner's test-connection endpoint: runs P800 and P801 (re-rooted by --url like the config's URLs).",
)
@click.option(
    "--connectors-url",
    metavar="URL",
    help="The partner's connector list (INGEST partners): runs P900.",
)
@click.option(
    "--cloud",
    type=click.Choice(("aws", "azure", "gcp")),
    default="aws",
    show_default=True,
    help="The cloud of the workspace the requests speak for: sets cloud_provider (the OpenAPI 2.1.1 enum spells "
    "gcp as gpc, and connect-test sends that), the region and the shape of the workspace URL.",
)
@click.option(
    "--case",
    "case_ids",
    multiple=True,
    type=click.Choice(CASE_IDS, case_sensitive=False),
    metavar="ID",
    help=f"Run only this case (repeatable): {', '.join(CASE_IDS)}.",
)
@junit_xml_option("certification case")
@offline_options
def connect_test(
    config_path: str,
    url: str | None,
    payload_path: str | None,
    timeout: float,
    new_user_action: str | None,
    supports_demo: bool,
    require_manual_signup: bool,
    strict: bool,
    test_connection_url: str | None,
    connectors_url: str | None,
    cloud: str,
    case_ids: tuple[str, ...],
    junit_path: str | None,
    **kwargs: Any,
) -> None:
    # deferred: keeps the connect-test runner (http.client, ssl: ~65 ms) out of --help
    from stp_ext.connect import run_connect_test
    from stp_ext.render.views import connect as view

    env = command_env()
    render = env.renderer
    extra_urls = {"--test-connection-url": test_connection_url, "--connectors-url": connectors_url}
    request = _read_request(env, config_path, kwargs, url, extra_urls, payload_path, junit_path)
    with render.status("Running the certification cases…"), _reporting_interrupts(render):
        report = run_connect_test(
            request.partner,
            request.auth_value,
            url=request.base_url,
            overrides=request.overrides,
            timeout=timeout,
            new_user_action=new_user_action,
            test_connection_url=test_connection_url,
            connectors_url=connectors_url,
            cases=[c.upper() for c in case_ids] or None,
            cloud=cloud,
            supports_demo=supports_demo,
            require_manual_signup=require_manual_signup,
            strict=strict,
        )
    if junit_path:
        # deferred: xml.etree (~14 ms with the JUnit model) only when a report is written
        from stp_ext.connect import junit

        write_junit_xml(junit_path, "databricks-stp connect-test", junit.connect_test_cases(report))
    view.report(render, report)
    _fail_unless_passed(report)


@dataclass
class _Request:
    """What every case sends, read and checked before anything is sent."""

    partner: PartnerConfig
    auth_value: str  # the Authorization header, "" for none
    base_url: str | None  # --url
    overrides: dict[str, Any] | None  # --payload


def _read_request(
    env: CommandEnv,
    config_path: str,
    kwargs: dict[str, Any],
    url: str | None,
    extra_urls: dict[str, str | None],
    payload_path: str | None,
    junit_path: str | None,
) -> _Request:
    """Every local input checked (URLs, --payload, --junit-xml, the config) before the credential is read,
    so a mistake costs no typed password; nothing is sent yet."""
    render = env.renderer
    credential = CredentialInput.from_kwargs(kwargs)
    credential.check_stdin_free(config_path)
    base_url = check_url(url, "--url") if url else None
    for option, value in extra_urls.items():
        if value:
            check_url(value, option, query_ok=True)
    overrides = _read_payload(payload_path) if payload_path else None
    if junit_path:
        check_writable(junit_path, "--junit-xml")
    partner = load_valid_config(config_path, render).partner
    header = credential.read(prompt=True, warn=render.warning, terminal=env.terminal)
    if header is None:
        render.warning(
            "no credential given: sending no Authorization header, so the wrong-credentials case (AUTH) "
            "cannot run and certification fails (pass --basic-user or --auth-header-stdin)"
        )
    return _Request(partner, header.value if header is not None else "", base_url, overrides)


def _fail_unless_passed(report: ConnectTestReport) -> None:
    """Exit 1 on a failed certification verdict, or, with --strict, on any beyond-certification finding."""
    if not report.certification_passed:
        names = ", ".join(s.name for s in report.failed)
        raise CheckFailed(
            f"connect-test failed: {report.summary}; failing: {names}",
            hint="Fix the findings above (each names the assertion); rerun with --debug to see every request.",
        )
    if not report.passed:  # --strict, and beyond-certification findings
        raise CheckFailed(
            f"connect-test failed under --strict: {report.summary}, but {report.beyond_summary}",
            hint="Each beyond-certification finding says what production would see; run without --strict "
            "for the certification verdict alone.",
        )


@contextlib.contextmanager
def _reporting_interrupts(render: Any) -> Iterator[None]:
    """On Ctrl-C, say which cases had finished before the interrupt ends the command (exit 130)."""
    # deferred: keeps the connect-test runner (http.client, ssl: ~65 ms) out of --help
    from stp_ext.connect.runner import Interrupted

    try:
        yield
    except Interrupted as e:
        outcomes = (f"{r.case_id} {'skipped' if r.skipped else 'passed' if r.passed else 'failed'}" for r in e.finished)
        done = ", ".join(outcomes) or "none"
        render.note(f"Interrupted after {len(e.finished)} of {e.total} cases had finished: {done}")
        raise


def _read_payload(path: str) -> dict[str, Any]:
    from stp_ext.core import json_limits  # deferred: --help imports every command module

    raw = read_path(
        path,
        limit=MiB,
        what="--payload file",
        option="--payload",
        too_big=f"--payload {path} is larger than 1 MiB",
        too_big_hint="A payload holds the few request fields to change; check that this is the right file.",
    )
    too_deep = InputError(f"--payload {path} is nested more than {json_limits.MAX_DEPTH} levels deep")
    try:
        document = json.loads(decode_utf8(raw, f"--payload {path}"), parse_int=json_limits.parse_int)
    except ValueError as e:  # not JSON, or a number longer than we convert
        raise InputError(f"--payload {path} is not valid JSON: {e}") from None
    except RecursionError:
        raise too_deep from None
    if json_limits.too_deep(document) is not None:
        raise too_deep
    if not isinstance(document, dict):
        raise InputError(
            f"--payload {path} must hold a JSON object",
            hint='For example: {"cloud_provider": "azure", "user_info": {"last_name": ""}}',
        )
    return document
