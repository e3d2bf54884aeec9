"""What a Partner Connect click provisions in the emulator, and the credentials that then work.

A click (partner_connect.py) makes, for the active self-testing partner, what
its integration type and auth options call for: a service principal named
after the partner, a personal access token for it (AUTH_PAT) or an OAuth
secret (AUTH_OAUTH_M2M), a SQL warehouse (WAREHOUSE_*) or an interactive
cluster (CLUSTER_COMPUTE). They live in one SQLite row per connection (table
``pc_connections``, beside the emulator's own tables), so they survive a
restart as partners and secrets do. Token and secret values are never
stored: only their SHA-256, compared in constant time.

What the credentials reach (docs/partner-connect-in-a-box.md): the service
principal is a member of ``users`` and of nothing else; it reads its own
warehouse or cluster (``CAN_USE``, as Partner Connect grants it) and gets 403
for any other; every admin-only API refuses it, as it refuses any non-admin.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stp_ext.emulator.http import ApiError, Call, Reply, Request, User, bad_request, json_response, permission_denied
from stp_ext.emulator.oauth import MAX_LIVE_TOKENS, TOKEN_TTL_S, _client_credentials, _oauth_error
from stp_ext.emulator.state import Store, now_ms

TABLE = """CREATE TABLE IF NOT EXISTS pc_connections (
    partner_id TEXT PRIMARY KEY, doc TEXT NOT NULL, created_ms INTEGER NOT NULL)"""

WAREHOUSE_TYPES = ("WAREHOUSE_READ", "WAREHOUSE_READ_WRITE", "WAREHOUSE_WRITE")


@dataclass
class Provisioned:
    """One connection's workspace side: who and what the partner was given, and who clicked.

    ``pat`` and ``oauth_secret`` hold the values only between provisioning
    and the connect request that carries them; stored, only hashes remain.
    """

    partner_id: str
    partner_name: str
    integration_type: str
    connection_id: str | None = None
    principal: dict[str, str] | None = None  # id, application_id, display_name
    pat_hash: str | None = None
    oauth_secret_hash: str | None = None
    compute: dict[str, str] | None = None  # kind (warehouse|cluster), id, name
    catalog: str | None = None
    schemas: list[str] = field(default_factory=list)
    external_location: str | None = None
    users: list[dict[str, Any]] = field(default_factory=list)  # user, first_click_ms, clicks
    created_ms: int = 0
    partner_url: str | None = None  # the click's "url": the partner's endpoints re-rooted there
    pat: str | None = field(default=None, repr=False)
    oauth_secret: str | None = field(default=None, repr=False)

    def to_doc(self) -> dict[str, Any]:
        """The stored (and listed) form: no secret values, no hashes."""
        return {
            "partner_id": self.partner_id,
            "partner_name": self.partner_name,
            "integration_type": self.integration_type,
            "connection_id": self.connection_id,
            "service_principal": self.principal,
            "personal_access_token": self.pat_hash is not None,
            "oauth_secret": self.oauth_secret_hash is not None,
            "compute": self.compute,
            "catalog": self.catalog,
            "schemas": list(self.schemas),
            "external_location": self.external_location,
            "users": [dict(u) for u in self.users],
            "created_ms": self.created_ms,
            "partner_url": self.partner_url,
        }

    def _stored(self) -> str:
        doc = self.to_doc()
        doc["_pat_hash"] = self.pat_hash
        doc["_oauth_secret_hash"] = self.oauth_secret_hash
        return json.dumps(doc)

    @classmethod
    def _load(cls, text: str) -> Provisioned:
        doc = json.loads(text)
        return cls(
            partner_id=doc["partner_id"],
            partner_name=doc["partner_name"],
            integration_type=doc["integration_type"],
            connection_id=doc.get("connection_id"),
            principal=doc.get("service_principal"),
            pat_hash=doc.get("_pat_hash"),
            oauth_secret_hash=doc.get("_oauth_secret_hash"),
            compute=doc.get("compute"),
            catalog=doc.get("catalog"),
            schemas=list(doc.get("schemas") or []),
            external_location=doc.get("external_location"),
            users=list(doc.get("users") or []),
            created_ms=int(doc.get("created_ms") or 0),
            partner_url=doc.get("partner_url"),
        )

    @property
    def user(self) -> User | None:
        """The service principal as the emulator's other APIs see a caller."""
        if self.principal is None:
            return None
        p = self.principal
        return User(p["id"], p["application_id"], p["display_name"], False, ("users",))


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def provision(partner_id: str, name: str, integration_type: str, auth_options: list[str]) -> Provisioned:
    """Make (in memory) what the integration type and auth options call for; ``store`` saves it."""
    made = Provisioned(partner_id, name, integration_type, created_ms=now_ms())
    if integration_type == "NO_INTEGRATION":
        return made  # Partner Connect gives such a partner nothing in the workspace
    made.principal = {
        "id": str(2_000_000 + secrets.randbelow(1_000_000)),
        "application_id": str(uuid.uuid4()),
        # Partner Connect names the principal after the partner (docs/partner-connect-in-a-box.md).
        "display_name": f"{name} service principal",
    }
    if "AUTH_PAT" in auth_options:
        made.pat = "dapi" + secrets.token_hex(16)
        made.pat_hash = digest(made.pat)
    if "AUTH_OAUTH_M2M" in auth_options:
        made.oauth_secret = "dose" + secrets.token_hex(16)
        made.oauth_secret_hash = digest(made.oauth_secret)
    if integration_type in WAREHOUSE_TYPES:
        made.compute = {"kind": "warehouse", "id": secrets.token_hex(8), "name": f"{name} Endpoint"}
    elif integration_type == "CLUSTER_COMPUTE":
        cluster_id = f"{time.strftime('%m%d')}-{secrets.randbelow(10**6):06d}-stp{secrets.token_hex(3)}"
        made.compute = {"kind": "cluster", "id": cluster_id, "name": f"{name} Cluster"}
    return made


class Connections:
    """The ``pc_connections`` rows, and the OAuth access tokens handed to their service principals."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self._clock = clock
        self._tokens: dict[str, tuple[float, str]] = {}  # access token -> (expiry, application id)
        self._lock = threading.Lock()
        with store.transaction() as db:
            db.execute(TABLE)

    # -- rows -------------------------------------------------------------------

    def get(self, partner_id: str) -> Provisioned | None:
        with self.store.read() as db:
            row = db.execute("SELECT doc FROM pc_connections WHERE partner_id = ?", (partner_id,)).fetchone()
        return None if row is None else Provisioned._load(row[0])

    def all(self) -> list[Provisioned]:
        with self.store.read() as db:
            rows = db.execute("SELECT doc FROM pc_connections ORDER BY created_ms").fetchall()
        return [Provisioned._load(doc) for (doc,) in rows]

    def save(self, made: Provisioned) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO pc_connections VALUES (?, ?, ?)",
                (made.partner_id, made._stored(), made.created_ms),
            )

    def revoke(self, partner_id: str) -> None:
        """Delete the row: its principal, token, secret and compute are gone at once."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM pc_connections WHERE partner_id = ?", (partner_id,))
        with self._lock:
            gone = {p.principal["application_id"] for p in self.all() if p.principal}
            for token, (_, app_id) in list(self._tokens.items()):
                if app_id not in gone:
                    del self._tokens[token]

    def wipe(self) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM pc_connections")
        with self._lock:
            self._tokens.clear()

    # -- authentication -----------------------------------------------------------

    def user_for(self, token: str) -> User | None:
        """The service principal for one of its PATs or live OAuth access tokens; None otherwise."""
        if not token:
            return None
        with self._lock:
            held = self._tokens.get(token)
            if held is not None and self._clock() >= held[0]:
                del self._tokens[token]
                held = None
        if held is not None:
            return next((p.user for p in self.all() if p.principal and p.principal["application_id"] == held[1]), None)
        hashed = digest(token)
        for made in self.all():
            if made.pat_hash is not None and hmac.compare_digest(made.pat_hash, hashed):
                return made.user
        return None

    def oauth_token(self, request: Request, fallback: Callable[[Request], Reply]) -> Reply:
        """The token endpoint for provisioned principals; any other client goes to ``fallback``."""
        if request.method != "POST":
            return fallback(request)
        from urllib.parse import parse_qsl

        try:
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return fallback(request)
        client_id, client_secret = _client_credentials(request, form)
        made = next(
            (p for p in self.all() if p.principal and p.principal["application_id"] == client_id and client_id),
            None,
        )
        if made is None:
            return fallback(request)
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported")
        if made.oauth_secret_hash is None or not hmac.compare_digest(made.oauth_secret_hash, digest(client_secret)):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        token = "dose" + secrets.token_hex(32)
        with self._lock:
            now = self._clock()
            for old in [t for t, (expiry, _) in self._tokens.items() if expiry <= now]:
                del self._tokens[old]
            while len(self._tokens) >= MAX_LIVE_TOKENS:
                del self._tokens[next(iter(self._tokens))]
            self._tokens[token] = (now + TOKEN_TTL_S, client_id)
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": TOKEN_TTL_S,
                "scope": form.get("scope") or "all-apis",
            },
        )


def forget_partner(db: Any, partner_id: str) -> None:
    """Updating or deleting a self-testing partner removes its connections (docs/rest-api.md).

    Called inside the partner endpoint's own transaction; with the row go the
    principal, its PAT and OAuth secret (and so its access tokens) and compute.
    """
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'pc_connections'").fetchone():
        db.execute("DELETE FROM pc_connections WHERE partner_id = ?", (partner_id,))


# -- the workspace APIs that show what was provisioned (route handlers) ------------


def _rows(store: Store) -> list[Provisioned]:
    with store.read() as db:
        table = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'pc_connections'").fetchone()
        rows = db.execute("SELECT doc FROM pc_connections").fetchall() if table else []
    return [Provisioned._load(doc) for (doc,) in rows]


def _compute(store: Store, call: Call, kind: str, compute_id: str) -> tuple[Provisioned, dict[str, str]] | None:
    """The connection and compute with this id; 403 for a caller it was not granted to."""
    for made in _rows(store):
        if made.compute and made.compute["kind"] == kind and made.compute["id"] == compute_id:
            grantee = made.principal["application_id"] if made.principal else None
            if not call.user.is_admin and call.user.user_name != grantee:
                raise permission_denied(
                    f"User {call.user.user_name} does not have CAN_USE permission on {kind} {compute_id}"
                )
            return made, made.compute
    return None


def get_warehouse(store: Store, call: Call) -> dict[str, Any]:
    """``GET /api/2.0/sql/warehouses/{id}``: the warehouse a click made, for admins and its principal."""
    warehouse_id = call.args["warehouse_id"]
    found = _compute(store, call, "warehouse", warehouse_id)
    if found is None:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {warehouse_id} does not exist.")
    made, compute = found
    host = call.request.header("Host")
    return {
        "id": compute["id"],
        "name": compute["name"],
        "state": "RUNNING",
        "cluster_size": "2X-Small",
        "warehouse_type": "PRO",
        "enable_serverless_compute": True,
        "creator_name": "Partner Connect",
        "odbc_params": {
            "hostname": host.rpartition(":")[0] if ":" in host else host,
            "path": f"/sql/1.0/warehouses/{compute['id']}",
            "protocol": "http",
            "port": int(host.rpartition(":")[2]) if host.rpartition(":")[2].isdigit() else 80,
        },
        "tags": {"custom_tags": [{"key": "PartnerConnect", "value": made.partner_name}]},
    }


def get_cluster(store: Store, call: Call) -> dict[str, Any]:
    """``GET /api/2.0/clusters/get?cluster_id=``: the cluster a click made, for admins and its principal."""
    cluster_id = call.param("cluster_id")
    if not isinstance(cluster_id, str):
        raise bad_request("cluster_id must be a string")
    found = _compute(store, call, "cluster", cluster_id)
    if found is None:
        # The Clusters API answers an unknown id with 400, not 404.
        raise bad_request(f"Cluster {cluster_id} does not exist")
    made, compute = found
    return {
        "cluster_id": compute["id"],
        "cluster_name": compute["name"],
        "state": "RUNNING",
        "spark_version": "15.4.x-scala2.12",
        "creator_user_name": "Partner Connect",
        "custom_tags": {"PartnerConnect": made.partner_name},
    }


def list_service_principals(store: Store, call: Call) -> dict[str, Any]:
    """``GET /api/2.0/preview/scim/v2/ServicePrincipals``: admins see the principals clicks made."""
    if not call.user.is_admin:
        raise permission_denied("Only workspace admins can list service principals")
    found = [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"],
            "id": made.principal["id"],
            "applicationId": made.principal["application_id"],
            "displayName": made.principal["display_name"],
            "active": True,
            "groups": [{"display": "users", "value": "group-users"}],
        }
        for made in _rows(store)
        if made.principal is not None
    ]
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(found),
        "startIndex": 1,
        "itemsPerPage": len(found),
        "Resources": found,
    }
