"""`init`: write a valid starting partner config (and its schema beside it).

On a terminal it asks for each field not given as a flag, checking every
answer with the same rules as `validate`; off a terminal (or with
--no-input) flags and defaults are used. Never imports databricks-sdk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from stp_ext.cli.options import command_env, offline_options
from stp_ext.core.errors import InputError

# The fields chosen from a list: any case, with - or _ (--category bi-and-viz is BI_AND_VIZ).
CHOSEN_FIELDS = ("category", "integration_type")


def _split(values: tuple[str, ...]) -> list[str] | None:
    """Repeated or comma-separated flag values; None when the flag was not given."""
    if not values:
        return None
    items = [part.strip().upper() for value in values for part in value.split(",")]
    return [item for item in items if item and item != "NONE"]


@click.command()
@click.option(
    "-f",
    "--file",
    "path",
    default="partner.json",
    show_default=True,
    metavar="FILE",
    help="Where to write the config; the JSON Schema is written beside it.",
)
@click.option(
    "--example",
    metavar="NAME|TYPE",
    help="Copy a shipped example: a name (see --list-examples) or an integration type.",
)
@click.option("--list-examples", is_flag=True, help="List the shipped examples and exit.")
@click.option("--force", is_flag=True, help="Replace FILE (and the schema beside it) when it exists.")
@click.option("--no-input", is_flag=True, help="Never ask, even on a terminal: flags and defaults only.")
@click.option("--name", help="Partner name, shown on the tile.")
@click.option("--category", help="Where the tile appears, e.g. DATA_PREP_AND_TRANSFORM.")
@click.option("--connect-url", help="Endpoint Databricks calls when a user connects.")
@click.option("--sign-up-url", help="Default: /sign-up on the connect URL's host.")
@click.option("--delete-url", help="Default: /databricks/delete on the connect URL's host.")
@click.option("--terms-of-service-url", help="Default: /tos on the connect URL's host.")
@click.option("--privacy-policy-url", help="Default: /privacy on the connect URL's host.")
@click.option("--hostnames", help="Default: the hosts of the connect and sign-up URLs.")
@click.option("--integration-type", help="What Databricks provisions, e.g. WAREHOUSE_READ.")
@click.option(
    "--auth-option",
    "auth_options",
    multiple=True,
    help="AUTH_PAT, AUTH_OAUTH_M2M or AUTH_OAUTH_U2M (repeat, or comma-separate; 'none' for an empty list).",
)
@click.option(
    "--feature",
    "features",
    multiple=True,
    help="UNITY_CATALOG, NON_ADMIN or EXTERNAL_LOCATION (repeat, or comma-separate; 'none' for an empty list).",
)
@offline_options
def init(
    path: str,
    example: str | None,
    list_examples: bool,
    force: bool,
    no_input: bool,
    auth_options: tuple[str, ...],
    features: tuple[str, ...],
    **flags: Any,
) -> None:
    """Write a valid starting partner config (FILE, default partner.json).

    On a terminal you are asked for each field not given as a flag, and each
    answer is checked as you go; off a terminal (or with --no-input) flags and
    defaults are used. The other URLs default to pages on the connect URL's
    host, and hostnames to the hosts of the URLs. The JSON Schema is written
    beside FILE and "$schema" points at it, so editors check the file offline.
    An existing file is never replaced without --force.

    \b
    Examples:
      databricks-stp init
      databricks-stp init --no-input --name "Acme" \\
          --connect-url https://acme.example.com/databricks/connect
      databricks-stp init --example non-admin -f partner.json
      databricks-stp init --list-examples
    """
    # deferred: keeps the questions and the partner config model (~38 ms) out of --help
    from stp_ext.cli.init_prompts import ask_partner
    from stp_ext.render.views import init as view
    from stp_ext.services import init_config

    env = command_env()
    render = env.renderer
    if list_examples:
        view.examples(render, _example_rows())
        return
    target = Path(path).expanduser()
    # lexists: a link planted there, even one to nothing, is a file we will not replace without --force.
    if os.path.lexists(target) and not force:  # before any question: do not ask for answers we cannot write
        raise InputError(f"{target} already exists; nothing was written", hint="Add --force to replace it.")
    given = _given(flags, auth_options, features)

    chosen_example = None
    if example is not None:
        chosen_example, partner = init_config.example_partner(example)
        partner.update({k: v for k, v in given.items() if v is not None})
    elif not no_input and env.terminal.stdin_is_tty():
        partner = ask_partner(given, terminal=env.terminal, say=render.note)
    else:
        partner = init_config.build_partner(given)
    result = init_config.write_config(target, partner, force=force, example=chosen_example)
    view.written(render, result, env.steps)


def _given(flags: dict[str, Any], auth_options: tuple[str, ...], features: tuple[str, ...]) -> dict[str, Any]:
    """Every field as its flag gave it, None where none did: the text fields and URLs first."""
    # deferred: keeps the partner config model (~14 ms) out of --help
    from stp_ext.services import init_config

    # Each text field comes from the flag of its name (--connect-url: connect_url).
    text = [name for name in init_config.FIELD_ORDER if name in flags and name not in CHOSEN_FIELDS]
    given: dict[str, Any] = {name: flags.get(name) for name in text}
    for name in CHOSEN_FIELDS:
        value = flags.get(name)
        given[name] = value.strip().upper().replace("-", "_") if value else None
    given["auth_options"] = _split(auth_options)
    given["supported_features"] = _split(features)
    return given


def _example_rows() -> list[dict[str, Any]]:
    # deferred: keeps the partner config model (~14 ms) out of --help
    import json

    from stp_ext.services import init_config

    rows = []
    for name in init_config.example_names():
        data = json.loads((init_config.EXAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))["partner"]
        rows.append(
            {
                "name": name,
                "integration_type": data["integration_type"],
                "supported_features": data.get("supported_features") or [],
                "auth_options": data.get("auth_options") or [],
            }
        )
    return rows
