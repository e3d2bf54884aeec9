"""The self-testing partner endpoints (docs/rest-api.md), with the real rules."""

from __future__ import annotations

import json
import secrets
from typing import Any

from stp_ext.emulator import provisioning
from stp_ext.emulator.http import ApiError, Call, not_found, permission_denied
from stp_ext.emulator.state import Store, now_ms
from stp_ext.partner_config import validate_partner_config

ALREADY_ACTIVE = "Workspace already has an active self-testing partner."


def _require_admin(call: Call) -> None:
    if not call.user.is_admin:
        raise permission_denied("Workspace admin is required")


def _validated(call: Call) -> tuple[str, str]:
    """The body as sent (JSON text) and the partner name; 400 like the server for bad configs."""
    body = call.json_body()
    errors = [f for f in validate_partner_config(body) if f.severity == "error"]
    if errors:
        first = errors[0]
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{first.field}: {first.message}")
    # A valid config has a name; .get keeps a validator gap from turning into a 500.
    return json.dumps(body), str(body["partner"].get("name", ""))


def create(store: Store, call: Call) -> dict[str, Any]:
    _require_admin(call)
    config, name = _validated(call)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM partners").fetchone():
            raise ApiError(400, "BAD_REQUEST", ALREADY_ACTIVE)
        partner_id = secrets.token_hex(16).upper()
        db.execute("INSERT INTO partners VALUES (?, ?, ?, ?)", (partner_id, name, config, now_ms()))
    return {"id": partner_id}


def get(store: Store, call: Call) -> dict[str, Any]:
    _require_admin(call)
    with store.read() as db:
        rows = db.execute("SELECT id, name FROM partners ORDER BY created_ms").fetchall()
    # With no active partner the body is {} (no "partners" key), as the service does.
    return {"partners": [{"id": i, "name": n} for i, n in rows]} if rows else {}


def update(store: Store, call: Call) -> dict[str, Any]:
    _require_admin(call)
    config, name = _validated(call)
    partner_id = call.args["partner_id"]
    with store.transaction() as db:
        changed = db.execute("UPDATE partners SET name = ?, config = ? WHERE id = ?", (name, config, partner_id))
        if changed.rowcount == 0:
            raise not_found(f"Self-testing partner {partner_id} does not exist.")
        provisioning.forget_partner(db, partner_id)  # destructive, as in a workspace
    return {}


def delete(store: Store, call: Call) -> dict[str, Any]:
    _require_admin(call)
    partner_id = call.args["partner_id"]
    with store.transaction() as db:
        if db.execute("DELETE FROM partners WHERE id = ?", (partner_id,)).rowcount == 0:
            raise not_found(f"Self-testing partner {partner_id} does not exist.")
        provisioning.forget_partner(db, partner_id)
    return {}
