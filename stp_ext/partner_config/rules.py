"""Validation of a parsed partner config: every rule of docs/partner-config.md.

`validate_partner_config` is pure and total: any JSON value in, a sorted list
of findings out. It never recurses into user data, so nesting depth cannot
hurt it, and every piece of user text in a message goes through `text.quote`.
"""

from __future__ import annotations

import json
from typing import Any

from stp_ext.partner_config.model import (
    AUTH_OPTIONS,
    CATEGORIES,
    ERROR,
    FIELDS,
    FIELDS_BY_NAME,
    INTEGRATION_TYPES,
    NON_WRITING_INTEGRATION_TYPES,
    PARTNER_KEY,
    SCHEMA_KEY,
    SUPPORTED_FEATURES,
    WARNING,
    FieldSpec,
    Finding,
    sort_findings,
)
from stp_ext.partner_config.text import (
    camel_enum,
    child,
    close_matches,
    control_character,
    kind,
    normalize_enum,
    normalize_key,
    one_of,
    quote,
    token_matches,
)
from stp_ext.partner_config.urls import host_problem, url_problems

FILE = "(file)"

# Names partners reach for, mapped to the real field (after normalize_key).
_FIELD_ALIASES: dict[str, str] = {
    "hostname": "hostnames",
    "host_names": "hostnames",
    "hosts": "hostnames",
    "host": "hostnames",
    "domains": "hostnames",
    "terms_url": "terms_of_service_url",
    "tos_url": "terms_of_service_url",
    "terms_of_service": "terms_of_service_url",
    "tos": "terms_of_service_url",
    "privacy_url": "privacy_policy_url",
    "privacy_policy": "privacy_policy_url",
    "privacy": "privacy_policy_url",
    "signup_url": "sign_up_url",
    "sign_up": "sign_up_url",
    "connect": "connect_url",
    "delete": "delete_url",
    "features": "supported_features",
    "feature": "supported_features",
    "auth": "auth_options",
    "auth_option": "auth_options",
    "auth_type": "auth_options",
    "type": "integration_type",
    "integration": "integration_type",
    "partner_name": "name",
}

# Which field each enum value belongs to, to say "that is a supported_features value".
_ENUM_OWNERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("category", CATEGORIES),
    ("integration_type", INTEGRATION_TYPES),
    ("supported_features", SUPPORTED_FEATURES),
    ("auth_options", AUTH_OPTIONS),
)


# Did-you-mean (difflib) for this many unknown keys; past it only the cheap exact checks,
# so 40,000 unknown keys cost milliseconds, not seconds.
_FUZZY_SUGGESTIONS = 100


class _Findings:
    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.fuzzy_left = _FUZZY_SUGGESTIONS

    def suggest(self, key: str) -> str | None:
        """The field ``key`` is probably a misspelling of, or None."""
        fuzzy = self.fuzzy_left > 0
        self.fuzzy_left -= 1
        return _suggest_field(key, fuzzy=fuzzy)

    def error(self, field: str, message: str, hint: str | None = None) -> None:
        self.items.append(Finding(ERROR, field, message, hint))

    def warn(self, field: str, message: str, hint: str | None = None) -> None:
        self.items.append(Finding(WARNING, field, message, hint))


def validate_partner_config(data: Any) -> list[Finding]:
    """Every finding for a parsed config file (errors first, then by field)."""
    out = _Findings()
    try:
        _check_document(data, out)
    except Exception as e:  # a bug here must not crash `create`; tests assert this never shows
        out.error(FILE, f"internal validation error ({type(e).__name__})", "Please report this as a bug.")
    return sort_findings(out.items)


# -- the document and the wrapper ----------------------------------------------


def _check_document(data: Any, out: _Findings) -> None:
    if not isinstance(data, dict):
        hint = 'Write one object: {"partner": {...}}.'
        if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
            hint = "Remove the [ ] around the object: the file holds one object, not an array."
        out.error(FILE, f"the file must hold a JSON object, got {kind(data)}", hint)
        return

    if PARTNER_KEY in data:
        _check_top_level_keys(data, {PARTNER_KEY}, out)
        _check_partner_value(data[PARTNER_KEY], out)
        return

    misnamed = [key for key in data if _is_partner_key_typo(key)]
    if misnamed:
        key = misnamed[0]
        out.error(child("", key), f"{quote(key)} should be {quote(PARTNER_KEY)}", f"Rename it to {quote(PARTNER_KEY)}.")
        _check_top_level_keys(data, {key}, out)
        _check_partner_value(data[key], out)
        return

    unwrapped = {key: value for key, value in data.items() if key != SCHEMA_KEY}
    if any(key in FIELDS_BY_NAME or out.suggest(key) for key in unwrapped):
        out.error(
            PARTNER_KEY,
            'the partner fields are at the top level, not inside a "partner" object',
            'Wrap them: {"partner": {"name": ..., "category": ..., ...}}.',
        )
        # Validate them as if wrapped, so one run reports everything to fix.
        _check_partner(unwrapped, out)
        return

    out.error(
        PARTNER_KEY,
        'missing the top-level "partner" object',
        'The file must look like {"partner": {"name": ..., ...}}; `databricks-stp schema` prints the format.',
    )
    _check_top_level_keys(data, set(), out)


def _is_partner_key_typo(key: str) -> bool:
    normalized = normalize_key(key)
    return normalized in ("partner", "partners", "partner_config") or bool(
        close_matches(normalized, [PARTNER_KEY], cutoff=0.8)
    )


def _check_top_level_keys(data: dict[str, Any], known: set[str], out: _Findings) -> None:
    for key in data:
        if key in known or key == SCHEMA_KEY:
            continue
        path = child("", key)
        if normalize_key(key).lstrip("$") == "schema":
            out.warn(path, f"unknown top-level key {quote(key)}", f'Did you mean "{SCHEMA_KEY}"?')
        elif key in FIELDS_BY_NAME or out.suggest(key):
            out.warn(
                path,
                f"{quote(key)} is outside the partner object",
                f'Move it inside "partner"; only "partner" and "{SCHEMA_KEY}" belong at the top level.',
            )
        else:
            out.warn(
                path,
                f"unknown top-level key {quote(key)}",
                f'Remove it; only "partner" and "{SCHEMA_KEY}" belong at the top level.',
            )


def _check_partner_value(partner: Any, out: _Findings) -> None:
    if isinstance(partner, dict):
        _check_partner(partner, out)
        return
    hint = 'Write "partner": {"name": ..., "category": ..., ...}.'
    if isinstance(partner, list) and len(partner) == 1 and isinstance(partner[0], dict):
        hint = "Remove the [ ] around the partner object: there is one partner per file."
    out.error(PARTNER_KEY, f"must be an object, got {kind(partner)}", hint)


# -- the partner object -------------------------------------------------------


def _check_partner(partner: dict[str, Any], out: _Findings) -> None:
    nested = partner.get(PARTNER_KEY)
    if isinstance(nested, dict) and not any(key in FIELDS_BY_NAME for key in partner):
        out.error(
            child(PARTNER_KEY, PARTNER_KEY),
            '"partner" is nested inside "partner"',
            'Remove one level: {"partner": {"name": ..., ...}}.',
        )
        return

    renamed = _check_unknown_fields(partner, out)
    valid: dict[str, Any] = {}
    for spec in FIELDS:
        path = child(PARTNER_KEY, spec.name)
        key = spec.name
        if key not in partner:
            if key not in renamed:
                if spec.required:
                    out.error(path, "required field is missing", f"Add {json.dumps(key)}: {_example(spec)}.")
                continue
            # Check the misspelled key's value too, under its own path, so one run reports all.
            key = renamed[key]
            path = child(PARTNER_KEY, key)
        value = _check_field(spec, partner[key], path, out)
        if value is not None:
            valid[spec.name] = value
    _check_combinations(valid, out)


def _check_unknown_fields(partner: dict[str, Any], out: _Findings) -> dict[str, str]:
    """Warn on unknown fields; return {missing field: the unknown key that is a misspelling of it}."""
    renamed: dict[str, str] = {}
    for key in partner:
        if key in FIELDS_BY_NAME:
            continue
        path = child(PARTNER_KEY, key)
        if key == SCHEMA_KEY:
            out.warn(path, f'"{SCHEMA_KEY}" is inside the partner object', "Move it to the top level.")
            continue
        suggestion = out.suggest(key)
        if suggestion is None:
            out.warn(path, f"unknown field {quote(key)}", f"Remove it. Known fields: {one_of(FIELDS_BY_NAME)}.")
        elif suggestion in partner:
            out.warn(path, f"unknown field {quote(key)}", f"Remove it; {quote(suggestion)} is already set.")
        elif suggestion in renamed:
            out.warn(path, f"unknown field {quote(key)}", f"Remove it; {quote(renamed[suggestion])} is renamed.")
        elif FIELDS_BY_NAME[suggestion].required:
            # The required field is missing because of this name: one error, here, instead of two findings.
            renamed[suggestion] = key
            out.error(
                path,
                f"unknown field {quote(key)}; the required field {quote(suggestion)} is missing",
                f"Rename {quote(key)} to {quote(suggestion)}.",
            )
        else:
            renamed[suggestion] = key
            out.warn(path, f"unknown field {quote(key)}", f"Did you mean {quote(suggestion)}? Rename it.")
    return renamed


def _suggest_field(key: str, *, fuzzy: bool = True) -> str | None:
    if len(key) > 64:
        return None
    normalized = normalize_key(key)
    if normalized in FIELDS_BY_NAME:
        return normalized
    if normalized in _FIELD_ALIASES:
        return _FIELD_ALIASES[normalized]
    if not fuzzy:
        return None
    matches = close_matches(normalized, FIELDS_BY_NAME, cutoff=0.75)
    return matches[0] if matches else None


def _example(spec: FieldSpec) -> str:
    return json.dumps(spec.example)


def _check_field(spec: FieldSpec, value: Any, path: str, out: _Findings) -> Any:
    """Check one present field; return its value when usable by the combination rules."""
    if spec.kind == "enum_list":
        return _check_enum_list(spec, value, path, out)
    text = _check_string(spec, value, path, out)
    if text is None:
        return None
    if spec.kind == "enum":
        return _check_enum(spec.name, text, spec.choices, path, out)
    if spec.kind == "url":
        for problem in url_problems(text, spec.example):
            out.items.append(Finding(problem.severity, path, problem.message, problem.hint))
    elif spec.kind == "hostnames":
        _check_hostnames(text, path, out)
    elif text != text.strip():
        out.warn(path, "has leading or trailing spaces", f"Use {quote(text.strip())}.")
    return text


def _bare_host(entry: str) -> str:
    """``https://a.example.com/x`` -> ``a.example.com``: what a hostnames entry should be."""
    entry = entry.strip()
    if "://" in entry:
        entry = entry.split("://", 1)[1]
    return entry.split("/", 1)[0]


def _check_string(spec: FieldSpec, value: Any, path: str, out: _Findings) -> str | None:
    """A non-blank string, or None after reporting why not (null on an optional field is absent)."""
    if isinstance(value, str):
        control = control_character(value)
        if control is not None:
            out.error(
                path,
                f"contains a control character ({control})",
                "Remove it: this text is shown to users, where a control character can hide or forge text.",
            )
            return None
        if value.strip():
            return value
        if spec.required:
            out.error(path, "must not be empty", f"Give a value, e.g. {_example(spec)}.")
        else:
            out.warn(path, "is empty", f"Remove the field, or give a value like {_example(spec)}.")
        return None
    if value is None and not spec.required:
        return None  # JSON null on an optional field reads as absent
    hint = f"Use a string, e.g. {_example(spec)}."
    if isinstance(value, list):
        strings = [item for item in value if isinstance(item, str)]
        if spec.kind == "hostnames" and strings and len(strings) == len(value):
            joined = ",".join(_bare_host(item) for item in strings)
            out.error(path, "must be ONE comma-separated string, not an array", f"Use {quote(joined)}.")
            # Check the entries too, so a scheme or path inside them is named in the same run.
            _check_hostnames(",".join(item.strip() for item in strings), path, out)
            return None
        if len(value) == 1 and strings:
            hint = f"Use {quote(strings[0])} without the [ ]."
    if spec.kind == "enum":
        hint = f"Use one of: {one_of(spec.choices)}."
    out.error(path, f"must be a string, got {kind(value)}", hint)
    return None


def _check_enum(field: str, value: str, choices: tuple[str, ...], path: str, out: _Findings) -> str | None:
    if value in choices:
        return value
    message = f"{quote(value)} is not an allowed {field} value"
    fixed = normalize_enum(value)
    if fixed not in choices:
        fixed = camel_enum(value)
    if fixed in choices:
        reason = "values are upper case" if value.upper() == fixed else "values are upper case with underscores"
        out.error(path, f"{message}: {reason}", f"Did you mean {quote(fixed)}?")
        return None
    normalized = normalize_enum(value)
    for owner, owner_choices in _ENUM_OWNERS:
        if owner != field and normalized in owner_choices:
            out.error(path, f"{message}: it is a {owner} value", f"Move {quote(normalized)} to {owner}.")
            return None
    matches = close_matches(normalized, choices) or token_matches(normalized, choices)
    if len(matches) == 1:
        hint = f"Did you mean {quote(matches[0])}?"
    elif matches:
        hint = f"Did you mean one of: {one_of(matches)}?"
    else:
        hint = f"Use one of: {one_of(choices)}."
    out.error(path, message, hint)
    return None


def _check_enum_list(spec: FieldSpec, value: Any, path: str, out: _Findings) -> list[str] | None:
    if value is None:
        return None  # optional; null reads as absent
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
        hint = f"Use {json.dumps(items)}." if items else "Use [] or remove the field."
        out.error(path, "must be an array of strings, got a string", hint)
        return None
    if not isinstance(value, list):
        out.error(path, f"must be an array of strings, got {kind(value)}", f"Use e.g. {_example(spec)}.")
        return None
    good: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(item, str):
            out.error(item_path, f"must be a string, got {kind(item)}", f"Use one of: {one_of(spec.choices)}.")
            continue
        if item in seen:
            out.warn(item_path, f"{quote(item)} is listed twice", "Remove the repeat.")
            continue
        seen.add(item)
        checked = _check_enum(spec.name, item, spec.choices, item_path, out)
        if checked is not None:
            good.append(checked)
    return good


def _check_hostnames(value: str, path: str, out: _Findings) -> None:
    entries = value.split(",")
    fixed: list[str] = []
    has_empty = has_spaces = has_repeat = False
    for raw in entries:
        entry = raw.strip()
        if not entry:
            has_empty = True
            continue
        has_spaces = has_spaces or entry != raw
        problem = host_problem(entry)
        if problem is not None:
            out.items.append(Finding(problem.severity, path, problem.message, problem.hint))
        # Unfixable entries stay as written: the suggestion must not silently drop a host.
        replacement = entry if problem is None or problem.fixed is None else problem.fixed
        for host in replacement.split(","):
            if host in fixed:
                has_repeat = True
            else:
                fixed.append(host)
    suggestion = f"Use {quote(','.join(fixed))}." if fixed else None
    if has_empty:
        out.error(path, "has an empty entry (a comma at the start or end, or two in a row)", suggestion)
    if has_spaces:
        out.warn(path, "has spaces around entries", suggestion)
    if has_repeat:
        out.warn(path, "lists a host more than once", suggestion)


# -- rules across fields ------------------------------------------------------


def _check_combinations(valid: dict[str, Any], out: _Findings) -> None:
    features = valid.get("supported_features") or []
    auth = valid.get("auth_options") or []
    integration = valid.get("integration_type")
    auth_path = child(PARTNER_KEY, "auth_options")
    if "AUTH_OAUTH_M2M" in auth and "AUTH_PAT" in auth:
        out.error(
            auth_path,
            "AUTH_OAUTH_M2M and AUTH_PAT cannot be used together",
            "Keep one: AUTH_OAUTH_M2M (a service principal) or AUTH_PAT (a personal access token).",
        )
    elif "NON_ADMIN" in features and "AUTH_OAUTH_M2M" in auth:
        out.warn(
            auth_path,
            "with NON_ADMIN, AUTH_OAUTH_M2M is not supported: Databricks falls back to AUTH_PAT",
            "Use AUTH_PAT to say what will happen, or drop NON_ADMIN to keep OAuth M2M.",
        )
    if "EXTERNAL_LOCATION" in features and integration in NON_WRITING_INTEGRATION_TYPES:
        out.warn(
            child(PARTNER_KEY, "supported_features"),
            f"EXTERNAL_LOCATION does not apply to {integration}, a read-only integration type: it applies "
            "only to partners that write data, and Databricks sends a read-only partner no destination_location",
            "Remove EXTERNAL_LOCATION, or use WAREHOUSE_READ_WRITE or WAREHOUSE_WRITE if the partner writes data.",
        )
