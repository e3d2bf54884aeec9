"""The local servers, run in the foreground: `sample-partner` (and the workspace emulator).

Each command only parses options, starts its server from its own package and
prints where it listens; servers are imported inside the commands so that
loading this module for `--help` stays cheap.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import click

from stp_ext.cli.credential_input import CredentialInput, credential_options_for
from stp_ext.cli.options import CommandEnv, command_env, offline_options
from stp_ext.sample_partner import FAULTS
from stp_ext.sample_partner.faults import FAULT_NAMES

if TYPE_CHECKING:
    from stp_ext.core.auth_header import AuthHeader


@click.command(
    "sample-partner",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8766,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@credential_options_for("accept")
@click.option(
    "--hostnames",
    metavar="HOSTS",
    help="Comma-separated hosts redirect_uri points to (the first is used), as in the config's "
    "hostnames; default: this server itself.",
)
@click.option(
    "--fault",
    type=click.Choice(FAULT_NAMES),
    metavar="NAME",
    help="Break one rule of the contract on purpose (see --list-faults); a request can also ask "
    "with the query parameter ?fault=NAME.",
)
@click.option(
    "--new-user-action",
    type=click.Choice(("auto_add", "invite", "not_found", "error")),
    default="auto_add",
    show_default=True,
    help="How a never-seen user of a known account is answered when reusing a connection (P302).",
)
@click.option("--list-faults", is_flag=True, help="List the fault modes and exit.")
@offline_options
def sample_partner(
    host: str,
    port: int,
    hostnames: str | None,
    fault: str | None,
    new_user_action: str,
    list_faults: bool,
    **kwargs: Any,
) -> None:
    """Run the reference Partner Connect endpoint (a correct partner) in the foreground.

    It implements every operation of the Partner Connect API: POST /connect,
    POST /delete-connection, POST /test-connection, DELETE /delete-account and
    PUT /expire-account (test domains only), GET /connectors, and serves the
    pages its redirect_uri points to (GET /create-trial, /sign-in, ...), all
    also under any path prefix (e.g. /databricks/connect). Accounts are e-mail
    domains with their users; every new-connection request makes a new
    connection. It accepts only the Authorization header the credential
    options give and passes every connect-test case. Read its code
    (stp_ext/sample_partner/) as an example of a correct partner. Stop it
    with Ctrl-C.

    \b
    Examples:
      databricks-stp sample-partner --no-auth-header
      databricks-stp sample-partner --port 8766 --basic-user databricks \\
          --basic-password-stdin < pw.txt
      databricks-stp sample-partner --no-auth-header \\
          --hostnames partner.example.com --fault bad_enum
      databricks-stp sample-partner --no-auth-header --new-user-action invite
      databricks-stp sample-partner --list-faults
      curl -s -X POST 'http://127.0.0.1:8766/connect?fault=html_body' \\
          -H 'Content-Type: application/json' -d '{}'
    """
    # deferred: --help imports every command module; the server (werkzeug) and the view load when it runs
    from stp_ext.render.views import servers as view
    from stp_ext.sample_partner import SamplePartner

    env = command_env()
    render = env.renderer
    if list_faults:
        view.faults(render, FAULTS)
        return
    credential = CredentialInput.from_kwargs(kwargs)
    header = _accepted_header(env, credential)
    server = SamplePartner(
        host=host,
        port=port,
        auth_header=header.value if header is not None else "",
        hostnames=hostnames,
        fault=fault,
        new_user_action=new_user_action,
        log=view.request_logger(render),
    ).bind()
    checks_auth = header is not None and not header.is_empty
    _announce(server, checks_auth, hostnames, fault, new_user_action, render, credential)
    server.serve_forever()  # returns on Ctrl-C: stopping is the normal end of a foreground server
    view.stopped(render)


def _accepted_header(env: CommandEnv, credential: CredentialInput) -> AuthHeader | None:
    """The Authorization header the partner accepts; with none given it accepts any, and says so."""
    header = credential.read(prompt=True, warn=env.renderer.warning, terminal=env.terminal)
    if header is None:
        env.renderer.warning(
            "no credential given: accepting requests with any Authorization header or none "
            "(pass --basic-user, --auth-header-stdin, or --no-auth-header to say so)"
        )
    return header


def _announce(
    server: Any,
    checks_auth: bool,
    hostnames: str | None,
    fault: str | None,
    new_user_action: str,
    render: Any,
    credential: CredentialInput,
) -> None:
    # deferred: --help imports every command module; what a command runs loads when it runs
    from stp_ext.render.views import servers as view

    url = server.url
    info = {
        "url": url,
        "connect_url": f"{url}/connect",
        "delete_url": f"{url}/delete-connection",
        "test_connection_url": f"{url}/test-connection",
        "connectors_url": f"{url}/connectors",
        "new_user_action": new_user_action,
        "hostnames": hostnames or server.host,
        "requires_authorization": checks_auth,
        "fault": fault,
        "connect_test": _connect_test_command(url, new_user_action, credential if checks_auth else None),
    }
    view.sample_partner_listening(render, info, checks_auth)


def _connect_test_command(url: str, new_user_action: str, credential: CredentialInput | None) -> str:
    """The connect-test command that passes both verdicts against this partner, as pasted.

    It needs a partner.json whose hostnames list the partner's redirect hosts
    (the view says which) and the credential the partner was started with, read
    the way it was given (the password or header from a file, never a value).
    """
    parts = [
        "databricks-stp connect-test -f partner.json",
        f"--url {url}",
        f"--test-connection-url {url}/test-connection",
        f"--new-user-action {new_user_action}",
    ]
    if credential is None:
        return " ".join(parts)  # the view says why this cannot pass AUTH
    if credential.basic_user:
        parts.append(f"--basic-user {shlex.quote(credential.basic_user)} --basic-password-stdin < password.txt")
    else:
        parts.append("--auth-header-stdin < header.txt")
    return " ".join(parts)
