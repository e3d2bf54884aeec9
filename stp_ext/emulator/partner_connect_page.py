"""``/partner-connect``: the self-testing tile as a workspace user sees it, in plain HTML forms.

No scripts: every step is a form POST, so the page works in any browser and
in a headless one under test. Everything from the partner's config and
answers is data: HTML-escaped where it is shown, and a redirect only to an
absolute http(s) URL without control characters. The page sends no script
and allows none (Content-Security-Policy).

Steps: the tile (choose who clicks) -> the dialog (the catalog, schemas and
external location this integration type takes, with defaults) -> the click
(partner_connect.py) -> 302 to the partner's ``redirect_uri``; or a page that
says what went wrong. The connections are listed with a Delete button.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stp_ext.emulator.http import ApiError, Reply, Request
from stp_ext.emulator.partner_connect import USERS, Choices, PartnerConnect, active_partner, applicable_choices

PAGE = "/partner-connect"
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"

_STYLE = """
body{font-family:sans-serif;margin:2em;max-width:52em;color:#1b3139}
.tile{display:flex;gap:1em;align-items:center;border:1px solid #ccc;border-radius:8px;padding:1em;width:26em}
.icon{width:48px;height:48px;border-radius:8px;background:#ff3621;color:#fff;font-size:28px;
display:flex;align-items:center;justify-content:center}
.mark{background:#fde68a;border-radius:4px;padding:0 .4em;font-size:.8em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.fail{color:#b91c1c}.ok{color:#15803d}pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}
"""


def handle(pc: PartnerConnect, request: Request, base_url: str) -> Reply:
    """One page request (the caller has checked it comes from this machine)."""
    path = request.path.rstrip("/") or "/"
    try:
        if path == PAGE and request.method == "GET":
            return _page(200, _tile(pc))
        if request.method != "POST":
            return _page(405, "<p>Use the page's buttons.</p>")
        form = _form(request)
        if path == f"{PAGE}/connect":
            return _connect(pc, form, base_url)
        if path == f"{PAGE}/delete":
            return _delete(pc, form)
        return _page(404, f'<p>No such page. <a href="{PAGE}">Back to Partner Connect</a></p>')
    except ApiError as e:
        body = f'<h1>Partner Connect</h1><p class="fail" id="error">{_e(e.message)}</p>{_back()}'
        return _page(e.status, body)


# -- the steps --------------------------------------------------------------------


def _tile(pc: PartnerConnect) -> str:
    partner = active_partner(pc.store)
    parts = ["<h1>Partner Connect</h1>"]
    if partner is None:
        parts.append(
            '<p id="no-partner">No self-testing partner yet: create one with <code>databricks-stp create</code>.</p>'
        )
    else:
        config = partner.config
        initial = _e(config.name[:1].upper() or "?")
        parts.append(
            f'<div class="tile" id="tile"><div class="icon" aria-hidden="true">{initial}</div><div>'
            f'<div id="partner-name"><b>{_e(config.name)}</b> <span class="mark">self-testing</span></div>'
            f'<div id="partner-category">{_e(config.category)}</div></div></div>'
            f'<form method="post" action="{PAGE}/connect"><p><label>Click as '
            '<select name="user" id="user">'
            '<option value="admin">admin@example.com (workspace admin)</option>'
            '<option value="user">user@example.com (not an admin)</option>'
            '</select></label> <button type="submit" id="connect">Connect</button></p></form>'
        )
    parts.append(_connections(pc))
    return "".join(parts)


def _connections(pc: PartnerConnect) -> str:
    rows = []
    for made in pc.connections.all():
        if made.connection_id is None:
            continue
        compute = f"{made.compute['kind']} {made.compute['id']}" if made.compute else "none"
        principal = made.principal["display_name"] if made.principal else "none"
        users = ", ".join(str(u.get("user")) for u in made.users)
        rows.append(
            f"<tr><td>{_e(made.partner_name)}</td><td>{_e(made.connection_id)}</td><td>{_e(principal)}</td>"
            f"<td>{_e(compute)}</td><td>{_e(users)}</td><td>"
            f'<form method="post" action="{PAGE}/delete">'
            f'<input type="hidden" name="connection_id" value="{_e(made.connection_id)}">'
            '<button type="submit" class="delete">Delete</button></form></td></tr>'
        )
    if not rows:
        return '<h2>Connections</h2><p id="connections">None yet.</p>'
    head = (
        "<tr><th>Partner</th><th>Connection</th><th>Service principal</th><th>Compute</th><th>Users</th><th></th></tr>"
    )
    return f'<h2>Connections</h2><table id="connections">{head}{"".join(rows)}</table>'


def _connect(pc: PartnerConnect, form: dict[str, str], base_url: str) -> Reply:
    who = form.get("user", "admin")
    if who not in USERS:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"unknown user {who!r}")
    partner = active_partner(pc.store)
    if partner is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", "No active self-testing partner: create one first")
    applies = applicable_choices(partner.config)
    connected = pc.connections.get(partner.id)
    if form.get("step") != "go" and applies and (connected is None or connected.connection_id is None):
        return _page(200, _dialog(partner.config.name, who, applies))
    body: dict[str, Any] = {"user": who}
    if "catalog" in applies and form.get("catalog", "").strip():
        body["catalog"] = form["catalog"].strip()
    if "schemas" in applies and form.get("schemas", "").strip():
        body["schemas"] = [s.strip() for s in form["schemas"].split(",") if s.strip()]
    if "external_location" in applies and form.get("external_location", "").strip():
        body["external_location"] = form["external_location"].strip()
    if connected is not None and connected.connection_id is not None:
        body = {"user": who}  # an existing connection is opened, not configured again
    result = pc.click(Choices.from_json(body), base_url=base_url)
    target = result.redirect_uri
    if result.passed and target and _safe_redirect(target):
        return Reply(302, b"", "text/plain", [("Location", target)])
    findings = "".join(
        f'<li class="{"fail" if f["severity"] == "error" else ""}">{_e(f["check"])}: {_e(f["message"])}</li>'
        for f in result.findings
    )
    answer = json.dumps(result.response, indent=2) if result.response is not None else "(no answer)"
    status = "no answer" if result.status is None else f"HTTP {result.status}"
    page = (
        f"<h1>Could not connect to {_e(result.partner['name'])}</h1>"
        f'<p class="fail" id="error">The partner answered {_e(status)}.</p>'
        f'<ul id="findings">{findings}</ul><h2>Its answer</h2><pre>{_e(answer)}</pre>{_back()}'
    )
    return _page(502, page)


def _dialog(name: str, who: str, applies: dict[str, Any]) -> str:
    fields = [f'<input type="hidden" name="user" value="{_e(who)}"><input type="hidden" name="step" value="go">']
    if "catalog" in applies:
        fields.append(
            f'<p><label>Catalog <input name="catalog" id="catalog" value="{_e(applies["catalog"])}"></label></p>'
        )
    if "schemas" in applies:
        schemas = ", ".join(applies["schemas"])
        fields.append(
            f'<p><label>Schemas (comma-separated) <input name="schemas" id="schemas" value="{_e(schemas)}"></label></p>'
        )
    if "external_location" in applies:
        fields.append(
            "<p><label>External location "
            f'<input name="external_location" id="external_location" value="{_e(applies["external_location"])}">'
            "</label></p>"
        )
    return (
        f"<h1>Connect to {_e(name)}</h1><p>Partner Connect will create a service principal, its credential and "
        "the compute this integration needs, and send them to the partner.</p>"
        f'<form method="post" action="{PAGE}/connect">{"".join(fields)}'
        '<button type="submit" id="confirm">Connect</button></form>'
    )


def _delete(pc: PartnerConnect, form: dict[str, str]) -> Reply:
    connection_id = form.get("connection_id", "")
    if not connection_id:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "connection_id is required")
    result = pc.delete(connection_id)
    status = "not called (no delete_url)" if result.status is None and result.request is None else result.status
    verdict = "ok" if result.passed else "fail"
    page = (
        f'<h1>Connection deleted</h1><p id="deleted">Connection {_e(connection_id)} of '
        f"{_e(result.partner['name'])}: its service principal, credential and compute are revoked.</p>"
        f'<p class="{verdict}" id="partner-answer">The partner\'s delete_url answered: {_e(str(status))}</p>'
        f"{_back()}"
    )
    return _page(200, page)


# -- helpers ------------------------------------------------------------------------


def _form(request: Request) -> dict[str, str]:
    kind = request.header("Content-Type").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ApiError(415, "INVALID_PARAMETER_VALUE", "The page takes its own forms only")
    try:
        return dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", "The form is not UTF-8") from None


def _safe_redirect(target: str) -> bool:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _back() -> str:
    return f'<p><a href="{PAGE}" id="back">Back to Partner Connect</a></p>'


def _e(value: object) -> str:
    # Control characters are shown as escapes: a partner's answer is data, never layout.
    shown = "".join(
        ch if (ord(ch) >= 32 and ord(ch) != 127) or ch in "\n\t" else f"\\x{ord(ch):02x}" for ch in str(value)
    )
    return html.escape(shown, quote=True)


def _page(status: int, body: str) -> Reply:
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Partner Connect (emulator)</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    headers = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store")]
    return Reply(status, document.encode("utf-8"), "text/html; charset=utf-8", headers)
