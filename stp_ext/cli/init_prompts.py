"""`init`'s questions on a terminal: one per field, each answer checked as it is given.

Every answer goes through the same validator as `validate` (only the findings
about that field count), so a bad URL or a `hostnames` with a scheme is
refused at its own prompt, with the fix, and asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from stp_ext import init_config
from stp_ext.partner_config.model import (
    AUTH_OPTION_DESCRIPTIONS,
    AUTH_OPTIONS,
    CATEGORIES,
    FEATURE_DESCRIPTIONS,
    INTEGRATION_TYPE_DESCRIPTIONS,
    INTEGRATION_TYPES,
    SUPPORTED_FEATURES,
)

if TYPE_CHECKING:
    from stp_ext.terminal import Terminal

Say = Callable[[str], None]


def ask_partner(given: dict[str, Any], *, terminal: Terminal, say: Say) -> dict[str, Any]:
    """Ask for every field ``given`` leaves as None; returns the partner object in the file's order."""
    partner: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    defaults = init_config.DEFAULTS

    def text(name: str, label: str, default: str | None) -> None:
        if name not in partner:
            partner[name] = terminal.ask(label, default, lambda value: _check(partner, name, value.strip()))

    text("name", "Partner name (shown on the tile)", defaults["name"])
    if "category" not in partner:
        partner["category"] = _choose(
            partner,
            "category",
            "Category (where the tile appears)",
            CATEGORIES,
            {},
            defaults["category"],
            say,
            terminal,
        )
    text("connect_url", "Connect URL (Databricks POSTs here when a user connects)", defaults["connect_url"])
    derived = init_config.derive({"connect_url": partner["connect_url"]})
    for name, label in (
        ("sign_up_url", "Sign-up page URL"),
        ("delete_url", "Delete-connection URL (optional, '-' for none)"),
        ("terms_of_service_url", "Terms of service URL"),
        ("privacy_policy_url", "Privacy policy URL"),
    ):
        if name == "delete_url" and name not in partner:
            answer = terminal.ask(label, derived.get(name), _optional(partner, "delete_url"))
            if answer != "-":
                partner[name] = answer
            continue
        text(name, label, derived.get(name))
    urls = [partner[n] for n in ("connect_url", "sign_up_url") if partner.get(n)]
    text("hostnames", "Hostnames redirect_uri may point to (comma-separated bare hosts)", init_config.hosts_of(urls))
    if "integration_type" not in partner:
        partner["integration_type"] = _choose(
            partner,
            "integration_type",
            "Integration type (what Databricks provisions)",
            INTEGRATION_TYPES,
            INTEGRATION_TYPE_DESCRIPTIONS,
            defaults["integration_type"],
            say,
            terminal,
        )
    if "supported_features" not in partner:
        partner["supported_features"] = _choose_many(
            partner,
            "supported_features",
            "Supported features",
            SUPPORTED_FEATURES,
            FEATURE_DESCRIPTIONS,
            defaults["supported_features"],
            say,
            terminal,
        )
    if "auth_options" not in partner:
        partner["auth_options"] = _choose_many(
            partner,
            "auth_options",
            "Auth options (how the partner authenticates to Databricks)",
            AUTH_OPTIONS,
            AUTH_OPTION_DESCRIPTIONS,
            defaults["auth_options"],
            say,
            terminal,
        )
    return {name: partner[name] for name in init_config.FIELD_ORDER if name in partner}


def _check(partner: dict[str, Any], name: str, value: Any) -> Any:
    """The value, or click.BadParameter with the validator's message and fix (click asks again)."""
    trial = {**partner, name: value}
    errors = [f for f in init_config.field_findings(trial, name) if f.severity == "error"]
    if errors:
        first = errors[0]
        raise click.BadParameter(f"{first.message}" + (f" ({first.hint})" if first.hint else ""))
    return value


def _optional(partner: dict[str, Any], name: str) -> Callable[[str], Any]:
    def check(value: str) -> Any:
        return "-" if value.strip() == "-" else _check(partner, name, value.strip())

    return check


def _menu(title: str, choices: tuple[str, ...], meanings: dict[str, str], say: Say) -> None:
    say(title + ":")
    for number, choice in enumerate(choices, 1):
        meaning = meanings.get(choice)
        say(f"  {number}. {choice}" + (f": {meaning}" if meaning else ""))


def _pick(token: str, choices: tuple[str, ...]) -> str:
    token = token.strip()
    if token.isdigit() and 1 <= int(token) <= len(choices):
        return choices[int(token) - 1]
    return token.upper().replace("-", "_").replace(" ", "_")


def _choose(
    partner: dict[str, Any],
    name: str,
    title: str,
    choices: tuple[str, ...],
    meanings: dict[str, str],
    default: str,
    say: Say,
    terminal: Terminal,
) -> str:
    _menu(title, choices, meanings, say)
    value: str = terminal.ask("Number or name", default, lambda v: _check(partner, name, _pick(v, choices)))
    return value


def _choose_many(
    partner: dict[str, Any],
    name: str,
    title: str,
    choices: tuple[str, ...],
    meanings: dict[str, str],
    default: list[str],
    say: Say,
    terminal: Terminal,
) -> list[str]:
    _menu(title, choices, meanings, say)

    def parse(answer: str) -> list[str]:
        tokens = [t for t in answer.replace(" ", ",").split(",") if t.strip()]
        picked = [] if [t.lower() for t in tokens] in ([], ["none"]) else [_pick(t, choices) for t in tokens]
        checked: list[str] = _check(partner, name, picked)
        return checked

    value: list[str] = terminal.ask(
        "Numbers or names, comma-separated ('none' for none)", ",".join(default) or "none", parse
    )
    return value
