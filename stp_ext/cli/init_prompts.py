"""`init`'s questions on a terminal: one per field, each answer checked as it is given.

Every answer goes through the same validator as `validate` (only the findings
about that field count), so a bad URL or a `hostnames` with a scheme is
refused at its own prompt, with the fix, and asked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from stp_ext.core.errors import InputError
from stp_ext.partner_config.model import (
    AUTH_OPTION_DESCRIPTIONS,
    AUTH_OPTIONS,
    CATEGORIES,
    FEATURE_DESCRIPTIONS,
    INTEGRATION_TYPE_DESCRIPTIONS,
    INTEGRATION_TYPES,
    SUPPORTED_FEATURES,
)
from stp_ext.services import init_config

if TYPE_CHECKING:
    from stp_ext.core.terminal import Terminal

Say = Callable[[str], None]


def ask_partner(given: dict[str, Any], *, terminal: Terminal, say: Say) -> dict[str, Any]:
    """Ask for every field ``given`` leaves as None; returns the partner object in the file's order."""
    partner: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    defaults = init_config.DEFAULTS
    _refuse_bad_flags(partner)

    def text(name: str, label: str, default: str | None) -> None:
        if name not in partner:
            partner[name] = terminal.ask(label, default, lambda value: _check(partner, name, value.strip()))

    def choose(name: str) -> None:
        if name not in partner:
            partner[name] = _choose(partner, name, _MENUS[name], defaults[name], say, terminal)

    text("name", "Partner name (shown on the tile)", defaults["name"])
    choose("category")
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
    for name in ("integration_type", "supported_features", "auth_options"):
        choose(name)
    return {name: partner[name] for name in init_config.FIELD_ORDER if name in partner}


@dataclass(frozen=True)
class _Menu:
    """A field chosen from a numbered menu."""

    title: str
    choices: tuple[str, ...]
    meanings: dict[str, str]  # a choice's line on the menu, where it needs one
    many: bool = False  # a list field: several may be chosen, or none


_MENUS = {
    "category": _Menu("Category (where the tile appears)", CATEGORIES, {}),
    "integration_type": _Menu(
        "Integration type (what Databricks provisions)", INTEGRATION_TYPES, INTEGRATION_TYPE_DESCRIPTIONS
    ),
    "supported_features": _Menu("Supported features", SUPPORTED_FEATURES, FEATURE_DESCRIPTIONS, many=True),
    "auth_options": _Menu(
        "Auth options (how the partner authenticates to Databricks)",
        AUTH_OPTIONS,
        AUTH_OPTION_DESCRIPTIONS,
        many=True,
    ),
}


def _refuse_bad_flags(partner: dict[str, Any]) -> None:
    """A wrong flag stops init before the first question: no answer is ever asked for and then lost."""
    for name in partner:
        errors = [f for f in init_config.field_findings(partner, name) if f.severity == "error"]
        if errors:
            first = errors[0]
            raise InputError(
                f"the config would not be valid: {first.field}: {first.message}",
                hint=first.hint or f"Fix --{name.replace('_', '-')} and run init again.",
            )


def _check(partner: dict[str, Any], name: str, value: Any) -> Any:
    """The value, or click.BadParameter with the validator's message and fix (click asks again).

    A list is checked item by item: every wrong item is named with its own
    did-you-mean, so one typo costs one answer, not the whole list.
    """
    trial = {**partner, name: value}
    errors = [f for f in init_config.field_findings(trial, name) if f.severity == "error"]
    if not errors:
        return value
    lines = []
    for finding in errors[:MAX_REFUSALS]:
        hint = _better_hint(finding.message, finding.hint, name)
        lines.append(finding.message + (f" ({hint})" if hint else ""))
    raise click.BadParameter("; ".join(lines))


# A refused answer names at most this many problems: enough for a list, never a wall of text.
MAX_REFUSALS = 5
_QUOTED = re.compile(r'^"([^"]*)" is not an allowed')
_CHOICES = {
    "category": CATEGORIES,
    "integration_type": INTEGRATION_TYPES,
    "supported_features": SUPPORTED_FEATURES,
    "auth_options": AUTH_OPTIONS,
}


def _better_hint(message: str, hint: str | None, name: str) -> str | None:
    """The validator's hint, or a did-you-mean by initials ("uc" -> UNITY_CATALOG) when it has none."""
    found = _QUOTED.match(message)
    choices = _CHOICES.get(name)
    if found and choices and (hint is None or hint.startswith("Use one of")):
        guess = initials_match(found.group(1), choices)
        if guess:
            return f'Did you mean "{guess}"?'
    return hint


def initials_match(token: str, choices: tuple[str, ...]) -> str | None:
    """The one choice whose words' initials spell ``token`` (UC: UNITY_CATALOG), if exactly one."""
    wanted = token.strip().upper().replace("-", "").replace("_", "")
    hits = [c for c in choices if "".join(word[0] for word in c.split("_")) == wanted]
    return hits[0] if len(hits) == 1 else None


def _optional(partner: dict[str, Any], name: str) -> Callable[[str], Any]:
    def check(value: str) -> Any:
        return "-" if value.strip() == "-" else _check(partner, name, value.strip())

    return check


def _pick(token: str, choices: tuple[str, ...]) -> str:
    """A menu number or a name (upper-cased); a number off the menu is refused with the range."""
    token = token.strip()
    if token.isdigit():
        if 1 <= int(token) <= len(choices):
            return choices[int(token) - 1]
        raise click.BadParameter(f"{token} is not on the menu: choose a number from 1 to {len(choices)}, or a name")
    return token.upper().replace("-", "_").replace(" ", "_")


def _choose(partner: dict[str, Any], name: str, menu: _Menu, default: Any, say: Say, terminal: Terminal) -> Any:
    """The menu, then the answer: a name or a number, or for a list field several, checked as given."""
    say(menu.title + ":")
    for number, choice in enumerate(menu.choices, 1):
        meaning = menu.meanings.get(choice)
        say(f"  {number}. {choice}" + (f": {meaning}" if meaning else ""))
    numbers = f"1-{len(menu.choices)}"
    if not menu.many:
        return terminal.ask(
            f"Number ({numbers}) or name", default, lambda v: _check(partner, name, _pick(v, menu.choices))
        )
    question = f"Numbers ({numbers}) or names, comma-separated ('none' for none)"
    return terminal.ask(question, ",".join(default) or "none", _list_answer(partner, name, menu.choices))


def _list_answer(partner: dict[str, Any], name: str, choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    """The check of a list answer: every item off the menu or wrong is named at once."""

    def parse(answer: str) -> list[str]:
        tokens = [t for t in answer.replace(" ", ",").split(",") if t.strip()]
        if [t.lower() for t in tokens] in ([], ["none"]):
            return []
        picked, off_menu = [], []
        for token in tokens:
            try:
                picked.append(_pick(token, choices))
            except click.BadParameter as e:
                off_menu.append(e.message)
        if off_menu:  # named together with any wrong name, so one re-ask fixes them all
            try:
                _check(partner, name, picked)
            except click.BadParameter as e:
                off_menu.append(e.message)
            raise click.BadParameter("; ".join(off_menu))
        checked: list[str] = _check(partner, name, picked)
        return checked

    return parse
