"""`connect-test`: a local Partner Connect against the partner's own endpoints.

Thin: read the config, the credential and the options, call
``stp_ext.connect.run_connect_test``, render. Needs no workspace and never
imports databricks-sdk.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import click

from stp_ext.cli.config_input import load_valid_config
from stp_ext.cli.credential_input import CredentialInput, credential_options
from stp_ext.cli.options import command_env, common_options, config_file_option
from stp_ext.errors import CheckFailed, InputError


@click.command(
    "connect-test",
    epilog="Examples:\n\n\b\n"
    "  databricks-stp connect-test -f partner.json --basic-user databricks --basic-password-stdin < pw.txt\n"
    "  databricks-stp connect-test -f partner.json --no-auth-header --url http://localhost:8080\n"
    "  databricks-stp connect-test -f partner.json --no-auth-header --payload extra.json -o json\n"
    "  databricks-stp sample-partner --no-auth-header --hostnames partner.example.com &  # a correct partner\n"
    "  databricks-stp connect-test -f partner.json --no-auth-header --url http://127.0.0.1:8766",
)
@config_file_option()
@credential_options
@click.option(
    "--url",
    metavar="URL",
    help="Send to this base instead of the config's hosts: the path and query of connect_url and "
    "delete_url are appended to URL (https://p.example.com/db/connect with --url http://localhost:8080 "
    "calls http://localhost:8080/db/connect). redirect_uri on URL's host is then a warning, not an error.",
)
@click.option(
    "--payload",
    "payload_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A JSON object deep-merged into every connect request (objects merge, other values "
    "replace, null removes the key).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Time allowed for each answer.",
)
@common_options
def connect_test(config_path: str, url: str | None, payload_path: str | None, timeout: float, **kwargs: Any) -> None:
    """Call your connect (and delete) endpoint the way Databricks does, and check every answer.

    No workspace is needed. The same headers and request bodies Databricks
    sends (built from the config's integration_type, auth_options and
    supported_features) are sent in these scenarios, independent ones at once:

    \b
      new_connection          first connect: 200, JSON, required fields, enums,
                              redirect_uri absolute and on one of hostnames,
                              connection_id exactly when configured_resources
      established_connection  connect again with that connection_id: 200, no connection_id
      wrong_credentials       a wrong Authorization header: 401 error_reason unauthorized
      unknown_connection      an unknown connection_id: 404 connection_not_found
      demo                    demo: true for a known user: redirect_value create_trial
      repeat_request          the same request twice (Databricks retries 500s): no failure
      delete_connection       delete_url with the connection_id: 200 and a valid resource_status

    The credential options give the Authorization header to send (as stored
    with `create` or `secret put`). Exits 1 when any check fails.
    """
    from stp_ext.connect import run_connect_test
    from stp_ext.render.views import connect as view

    env = command_env()
    render = env.renderer
    credential = CredentialInput.from_kwargs(kwargs)
    credential.check_stdin_free(config_path)
    base_url = _check_url(url) if url else None
    overrides = _read_payload(payload_path) if payload_path else None
    partner = load_valid_config(config_path, render).partner
    header = credential.read(prompt=True, warn=render.warning, terminal=env.terminal)
    if header is None:
        render.warning(
            "no credential given: sending no Authorization header and skipping the wrong-credentials "
            "scenario (pass --basic-user, --auth-header-stdin, or --no-auth-header to say so)"
        )
    auth_value = header.value if header is not None else ""
    with render.status("Playing Partner Connect…"):
        report = run_connect_test(partner, auth_value, url=base_url, overrides=overrides, timeout=timeout)
    view.report(render, report)
    if not report.passed:
        names = ", ".join(s.name for s in report.failed)
        raise CheckFailed(
            f"connect-test failed: {len(report.failed)} of {len(report.scenarios)} scenarios ({names})",
            hint="Fix the findings above; rerun with --debug to see each request and answer status.",
        )


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--url {url!r} is not an absolute http(s) URL", hint="For example: --url http://localhost:8080"
        )
    if parts.query or parts.fragment:
        raise InputError(f"--url {url!r} has a query or fragment; give only scheme, host, port and path")
    return url


def _read_payload(path: str) -> dict[str, Any]:
    from stp_ext.inputs import MiB, decode_utf8, read_path

    raw = read_path(
        path,
        limit=MiB,
        what="--payload file",
        option="--payload",
        too_big=f"--payload {path} is larger than 1 MiB",
        too_big_hint="A payload holds the few request fields to change; check that this is the right file.",
    )
    try:
        document = json.loads(decode_utf8(raw, f"--payload {path}"))
    except ValueError as e:  # not JSON, or a number longer than Python converts
        raise InputError(f"--payload {path} is not valid JSON: {e}") from None
    except RecursionError:
        raise InputError(f"--payload {path} is nested too deeply to be a request body") from None
    if not isinstance(document, dict):
        raise InputError(
            f"--payload {path} must hold a JSON object",
            hint='For example: {"cloud_provider": "azure", "user_info": {"last_name": ""}}',
        )
    return document
