"""Who is calling: SCIM Me, and the host metadata databricks-sdk asks for before any call."""

from __future__ import annotations

from typing import Any

from stp_ext.emulator.http import Call
from stp_ext.emulator.oauth import OIDC, base_url
from stp_ext.emulator.state import Store


def host_metadata(store: Store, call: Call) -> dict[str, Any]:
    """``GET /.well-known/databricks-config``, unauthenticated.

    databricks-sdk fetches it while building a ``Config``; a 404 makes it warn
    on stderr (docs/rest-api.md, "What databricks-sdk does"). ``oidc_endpoint``
    is where OAuth M2M finds its discovery document (oauth.py), as in a real workspace.
    """
    return {"oidc_endpoint": base_url(call.request) + OIDC}


def me(store: Store, call: Call) -> dict[str, Any]:
    """``GET /api/2.0/preview/scim/v2/Me``: the token's user, with ``admins`` among the groups of an admin."""
    user = call.user
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user.id,
        "userName": user.user_name,
        "displayName": user.display_name,
        "active": True,
        "emails": [{"value": user.user_name, "primary": True, "type": "work"}],
        "groups": [{"display": g, "value": f"group-{g}"} for g in user.groups],
    }
