"""Partner Connect in a box: the emulator clicks the self-testing partner's tile, as Databricks does.

A click (``POST /_emulator/partner-connect/connect``, or the page in
partner_connect_page.py) does what a workspace does when a user clicks a
Partner Connect tile (docs/partner-connect-in-a-box.md):

1. reads the active self-testing partner, as created through its API;
2. refuses a non-admin unless the partner lists ``NON_ADMIN``;
3. reads the endpoint credential from scope ``partner-connect``, key = the
   partner id, with the clicking user's rights (a non-admin fails when
   ``users`` cannot READ it, as the workspace's click would);
4. on the first click, provisions what the integration type calls for
   (provisioning.py) and keeps it, so the partner may use it at once;
5. sends ONE connect request, built by connect-test's own builder
   (stp_ext.connect.payload) and filled with the real values, to the
   partner's ``connect_url``, and judges the answer with connect-test's rules;
6. keeps the connection when the partner configured one, revokes what it
   provisioned otherwise. A later click (any user) reuses the connection.

Nothing here prints; the answers are JSON documents (or the page's HTML).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from stp_ext.connect import rules
from stp_ext.connect.payload import Caller, connect_request, delete_connection_request
from stp_ext.connect.session import Journey, Session
from stp_ext.connect.urls import reroot
from stp_ext.emulator import provisioning, secrets_api
from stp_ext.emulator.http import ADMIN, USER, ApiError, Call, Reply, Request, User, bad_request, json_response
from stp_ext.emulator.oauth import base_url
from stp_ext.emulator.provisioning import Connections, Provisioned
from stp_ext.emulator.state import Store, now_ms
from stp_ext.partner_config import PartnerConfig

if TYPE_CHECKING:
    from stp_ext.connect.http import HttpResponse

SCOPE = "partner-connect"  # where Partner Connect reads the credential (docs/secrets.md)
# The emulator is one workspace: a fixed id, so a partner recognises it from run to run.
WORKSPACE_ID = 1_234_567_890_123_456
USERS = {"admin": ADMIN, "user": USER}
REDACTED = "[REDACTED]"
TIMEOUT_S = 10.0  # a connect answer that takes longer fails the click
_CHOICE_FIELDS = frozenset({"user", "catalog", "schemas", "external_location", "demo", "url"})
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")  # a Unity Catalog catalog or schema name


@dataclass
class Choices:
    """What the user chose in the connect dialog; None where the default applies."""

    user: User
    catalog: str | None = None
    schemas: list[str] | None = None
    external_location: str | None = None
    demo: bool = False
    # Send to the config's connect_url and delete_url paths on this base (as connect-test --url),
    # so a partner's CI keeps its production config and clicks its local build.
    url: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Choices:
        """The control API's body, checked field by field (400 names the field)."""
        unknown = sorted(set(body) - _CHOICE_FIELDS)
        if unknown:
            raise bad_request(f"unknown field {unknown[0]!r}; a click takes {', '.join(sorted(_CHOICE_FIELDS))}")
        who = body.get("user", "admin")
        if who not in USERS:
            raise bad_request(f"user must be 'admin' or 'user', not {who!r}")
        catalog = body.get("catalog")
        if catalog is not None and not (isinstance(catalog, str) and _NAME.match(catalog)):
            raise bad_request("catalog must be a catalog name (letters, digits, _ and -)")
        schemas = body.get("schemas")
        if schemas is not None and not (
            isinstance(schemas, list) and schemas and all(isinstance(s, str) and _NAME.match(s) for s in schemas)
        ):
            raise bad_request("schemas must be a non-empty list of schema names (letters, digits, _ and -)")
        location = body.get("external_location")
        if location is not None and not (isinstance(location, str) and "://" in location and len(location) < 1024):
            raise bad_request("external_location must be a URL such as s3://bucket/path")
        demo = body.get("demo", False)
        if not isinstance(demo, bool):
            raise bad_request("demo must be true or false")
        url = body.get("url")
        if url is not None and not _is_base_url(url):
            raise bad_request("url must be an http(s) base URL such as http://127.0.0.1:8766")
        return cls(USERS[who], catalog, list(schemas) if schemas else None, location, demo, url)


@dataclass
class ClickResult:
    """One click, as the control API answers it (no secret values)."""

    partner: dict[str, str]
    user: str
    established: bool
    request: dict[str, Any] | None
    authorization: str
    status: int | None
    response: Any
    passed: bool
    findings: list[dict[str, str]]
    redirect_uri: str | None
    connection_id: str | None
    provisioned: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # every field, in order, as the control API answers it


@dataclass
class DeleteResult:
    connection_id: str
    partner: dict[str, str]
    request: dict[str, Any] | None
    status: int | None
    response: Any
    passed: bool
    findings: list[dict[str, str]] = field(default_factory=list)
    revoked: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ActivePartner:
    id: str
    config: PartnerConfig

    @property
    def summary(self) -> dict[str, str]:
        return {"id": self.id, "name": self.config.name}


def active_partner(store: Store) -> ActivePartner | None:
    with store.read() as db:
        row = db.execute("SELECT id, config FROM partners ORDER BY created_ms LIMIT 1").fetchone()
    if row is None:
        return None
    return ActivePartner(row[0], PartnerConfig.from_partner(json.loads(row[1])["partner"]))


def applicable_choices(config: PartnerConfig) -> dict[str, Any]:
    """The dialog's fields for this partner and their defaults, as the connect body decides them.

    The body built by connect-test's builder says which fields Partner Connect
    sends for this integration type and these features; the dialog asks for those.
    """
    probe = connect_request(config, Caller("u@example.com", "U", "Ser", 1, WORKSPACE_ID))
    fields: dict[str, Any] = {}
    if "catalog_name" in probe:
        # The schemas are granted, not sent: the body's database_name is unused (2.1.1) and not sent.
        fields["catalog"] = probe["catalog_name"]
        fields["schemas"] = ["default"]
    if "destination_location" in probe:
        fields["external_location"] = f"s3://databricks-stp-emulator/{_slug(config.name)}"
    return fields


class PartnerConnect:
    """The clicks and connections of one emulator."""

    def __init__(self, store: Store, timeout: float = TIMEOUT_S) -> None:
        self.store = store
        self.connections = Connections(store)
        self.timeout = timeout
        self._lock = threading.Lock()  # one click or delete at a time: a connection is made once

    # -- the control API ------------------------------------------------------------

    def connect_view(self, request: Request) -> Reply:
        body = Call(request, ANONYMOUS_CALLER, {}).json_body()
        result = self.click(Choices.from_json(body), base_url=base_url(request))
        return json_response(200, result.to_dict())

    def delete_view(self, request: Request) -> Reply:
        body = Call(request, ANONYMOUS_CALLER, {}).json_body()
        connection_id = body.get("connection_id")
        if not isinstance(connection_id, str) or not connection_id:
            raise bad_request("connection_id (a string) is required")
        return json_response(200, self.delete(connection_id).to_dict())

    def list_view(self, request: Request) -> Reply:
        return json_response(200, {"connections": [made.to_doc() for made in self.connections.all()]})

    # -- a click --------------------------------------------------------------------

    def click(self, choices: Choices, *, base_url: str) -> ClickResult:
        with self._lock:
            return self._click(choices, base_url)

    def _click(self, choices: Choices, base_url: str) -> ClickResult:
        partner, user = self._clickable_partner(choices.user), choices.user
        config = partner.config
        header = self._credential(partner, user)
        applies = applicable_choices(config)
        _check_choices(choices, applies, config)
        made, established = self._connection_for(partner, choices, applies)
        connection_id = made.connection_id if established else None
        body = connect_request(
            config, _caller(user), established=established, connection_id=connection_id, demo=choices.demo
        )
        _fill(body, made, base_url)
        sent = _redacted(body)
        base = choices.url or made.partner_url
        if established and choices.url and choices.url != made.partner_url:
            made.partner_url = choices.url  # later calls (delete-connection) go where this one went
        exchange = self._send(partner, "POST", config.connect_url, body, header, established=established, base=base)
        self._settle(partner.id, made, exchange, user, established=established)
        doc, kept = exchange.doc, self.connections.get(partner.id)
        return ClickResult(
            partner=partner.summary,
            user=user.user_name,
            established=established,
            request=sent,
            authorization="none" if not header else f"the value of secret {SCOPE}/{partner.id}",
            status=exchange.status,
            response=exchange.shown,
            passed=exchange.passed,
            findings=exchange.findings,
            redirect_uri=doc.get("redirect_uri") if isinstance(doc, dict) and exchange.passed else None,
            connection_id=kept.connection_id if kept is not None else None,
            provisioned=kept.to_doc() if kept is not None else None,
        )

    def _clickable_partner(self, user: User) -> ActivePartner:
        """The active partner, if ``user`` may click its tile (a non-admin only when it lists NON_ADMIN)."""
        partner = active_partner(self.store)
        if partner is None:
            raise ApiError(
                404, "RESOURCE_DOES_NOT_EXIST", "No active self-testing partner: create one (databricks-stp create)"
            )
        if not user.is_admin and not partner.config.is_non_admin:
            raise ApiError(
                403,
                "PERMISSION_DENIED",
                f"Only workspace admins can connect to {partner.config.name}: its supported_features lack NON_ADMIN",
            )
        return partner

    def _connection_for(
        self, partner: ActivePartner, choices: Choices, applies: dict[str, Any]
    ) -> tuple[Provisioned, bool]:
        """The partner's connection and True when one is established; else what a first click provisions, and False."""
        existing = self.connections.get(partner.id)
        if existing is not None and existing.connection_id is not None:
            return existing, True
        config = partner.config
        made = provisioning.provision(partner.id, config.name, config.integration_type, config.effective_auth_options)
        made.catalog = choices.catalog or applies.get("catalog")
        made.schemas = choices.schemas or applies.get("schemas") or []
        made.external_location = choices.external_location or applies.get("external_location")
        made.partner_url = choices.url
        self.connections.save(made)  # before the request: a partner may use the credential at once
        return made, False

    def _settle(self, partner_id: str, made: Provisioned, exchange: Exchange, user: User, *, established: bool) -> None:
        """Keep the connection the partner configured (and count the click), or revoke what nothing will use."""
        if established:
            if exchange.passed:
                _count_click(made, user)
                self.connections.save(made)
            return
        doc = exchange.doc
        connection_id = doc.get("connection_id") if isinstance(doc, dict) else None
        configured = isinstance(doc, dict) and doc.get("configured_resources") is True
        if exchange.passed and configured and isinstance(connection_id, str):
            made.connection_id = connection_id
            made.pat = made.oauth_secret = None
            _count_click(made, user)
            self.connections.save(made)
        else:
            # No connection was made: what was provisioned for it goes, as nothing will use it.
            self.connections.revoke(partner_id)

    def _credential(self, partner: ActivePartner, user: User) -> str:
        """The Authorization value, read from the secret with ``user``'s rights (as the workspace reads it)."""
        try:
            value = secrets_api.read_as(self.store, Call(Request({}), user, {}), SCOPE, partner.id)
        except ApiError as e:
            if e.status == 403:
                raise ApiError(
                    403,
                    "PERMISSION_DENIED",
                    f"{user.user_name} cannot READ the endpoint credential {SCOPE}/{partner.id}: a NON_ADMIN "
                    f"partner needs `users` to READ scope {SCOPE} (databricks-stp secret put --non-admin)",
                ) from None
            raise ApiError(
                400,
                "FAILED_PRECONDITION",
                f"No endpoint credential stored for partner {partner.id} ({e.message}): "
                "store it with databricks-stp secret put (or create with a credential)",
            ) from None
        return value.decode("utf-8", "replace")

    # -- delete-connection ----------------------------------------------------------

    def delete(self, connection_id: str) -> DeleteResult:
        with self._lock:
            return self._delete(connection_id)

    def _delete(self, connection_id: str) -> DeleteResult:
        made = next((m for m in self.connections.all() if m.connection_id == connection_id), None)
        if made is None:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"No Partner Connect connection {connection_id}")
        partner = active_partner(self.store)
        summary = {"id": made.partner_id, "name": made.partner_name}
        result = DeleteResult(connection_id, summary, None, None, None, True)
        if partner is not None and partner.id == made.partner_id and partner.config.delete_url:
            # The workspace itself deletes: the credential is read with an admin's rights.
            header = self._credential(partner, ADMIN)
            body = delete_connection_request(connection_id, _caller(ADMIN))
            exchange = self._send(
                partner, "POST", partner.config.delete_url, body, header, deletion=True, base=made.partner_url
            )
            result.request, result.status, result.response = body, exchange.status, exchange.shown
            result.passed, result.findings = exchange.passed, exchange.findings
        self.connections.revoke(made.partner_id)
        result.revoked = made.to_doc()
        return result

    # -- one exchange, judged by connect-test's rules ---------------------------------

    def _send(
        self,
        partner: ActivePartner,
        method: str,
        url: str,
        body: dict[str, Any],
        header: str,
        *,
        established: bool = False,
        deletion: bool = False,
        base: str | None = None,
    ) -> Exchange:
        from urllib.parse import urlsplit

        config = partner.config
        if base:
            url = reroot(url, base)
        session = Session(
            partner=config,
            connect_url=reroot(config.connect_url, base) if base else config.connect_url,
            delete_url=config.delete_url,
            auth_header=header,
            # As connect-test --url: a redirect to the local build's own host is tolerated.
            hosts=rules.HostPolicy(
                allowed=tuple(config.hostname_list), local=urlsplit(base).hostname if base else None, base=base
            ),
            timeout=self.timeout,
        )
        step = "delete-connection" if deletion else ("reuse" if established else "connect")
        journey = Journey("partner-connect", "Partner Connect click", session)
        response = journey.send(method, url, body, step)
        exchange = Exchange(status=journey.status)
        if response is not None:
            _judge(journey, response, step, established=established, deletion=deletion)
            exchange.doc = _json_or_none(response)
            exchange.shown = exchange.doc if exchange.doc is not None else {"text": response.text[:2000]}
        result = journey.result()
        exchange.passed = result.passed
        exchange.findings = [f.to_dict() for f in result.findings]
        return exchange


def _judge(journey: Journey, response: HttpResponse, step: str, *, established: bool, deletion: bool) -> None:
    """connect-test's rules on one answer: a deletion's, or a new or reused connection's."""
    if deletion:
        doc = journey.answer(response, (200,), "expected 200 for deleting a connection it created", step)
        if doc is not None:
            journey.add(rules.deletion(doc), step)
        return
    expected = (200,) if established else rules.SUCCESS
    expectation = (
        "expected exactly 200 when a connection is reused"
        if established
        else "expected 200 (or 201) for a new connection"
    )
    doc = journey.answer(response, expected, expectation, step)
    if doc is not None:
        session = journey.session
        findings, page = rules.connection(
            doc, established=established, hosts=session.hosts, uses_u2m=session.uses_u2m, redirects=None
        )
        journey.add(findings, step)
        journey.check_page(page, step)


@dataclass
class Exchange:
    status: int | None
    doc: Any = None
    shown: Any = None
    passed: bool = False
    findings: list[dict[str, str]] = field(default_factory=list)


# The control API's calls carry no token: a Call only to parse the JSON body.
ANONYMOUS_CALLER = User("0", "control", "Control API", False, ())


def _caller(user: User) -> Any:
    first, _, last = user.display_name.partition(" ")
    return Caller(
        email=user.user_name,
        first_name=first or user.display_name,
        last_name=last or user.display_name,
        user_id=int(user.id),
        org_id=WORKSPACE_ID,
    )


def _fill(body: dict[str, Any], made: Provisioned, base_url: str) -> None:
    """Put the real values where the builder put placeholders: only fields it chose to send.

    The builder decides which fields a partner of this kind gets (the same
    decision connect-test makes); the emulator only supplies what it made.
    """
    host, _, port = base_url.partition("://")[2].partition(":")
    present = body.keys()
    if "hostname" in present:
        body["hostname"] = host
    if "port" in present and port.isdigit():
        body["port"] = int(port)
    if "workspace_url" in present:
        body["workspace_url"] = base_url
    compute = made.compute
    if compute is not None and "cluster_id" in present:
        body["cluster_id"] = compute["id"]
        if compute["kind"] == "warehouse":
            http_path = f"/sql/1.0/warehouses/{compute['id']}"
            for name, value in (
                ("http_path", http_path),
                ("jdbc_url", _jdbc("spark", host, port, http_path)),
                ("databricks_jdbc_url", _jdbc("databricks", host, port, http_path)),
            ):
                if name in present:
                    body[name] = value
    if made.principal is not None and "service_principal_id" in present:
        body["service_principal_id"] = made.principal["application_id"]
    auth = body.get("user_info", {}).get("auth")
    if isinstance(auth, dict) and "personal_access_token" in auth and made.pat is not None:
        auth["personal_access_token"] = made.pat
    if "service_principal_oauth_secret" in present and made.oauth_secret is not None:
        body["service_principal_oauth_secret"] = made.oauth_secret
    if "catalog_name" in present and made.catalog:
        body["catalog_name"] = made.catalog
    if "database_name" in present and made.schemas:
        body["database_name"] = made.schemas[0]
    if "destination_location" in present and made.external_location:
        body["destination_location"] = made.external_location


def _jdbc(driver: str, host: str, port: str, http_path: str) -> str:
    # The emulator speaks plain HTTP: ssl=0, unlike a workspace.
    return f"jdbc:{driver}://{host}:{port}/default;transportMode=http;ssl=0;AuthMech=3;httpPath={http_path};"


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(body)
    auth = shown.get("user_info", {}).get("auth")
    if isinstance(auth, dict) and "personal_access_token" in auth:
        auth["personal_access_token"] = REDACTED
    if "service_principal_oauth_secret" in shown:
        shown["service_principal_oauth_secret"] = REDACTED
    return shown


def _check_choices(choices: Choices, applies: dict[str, Any], config: PartnerConfig) -> None:
    """A choice this partner's connect body has no field for is an error, not silently dropped."""
    kind = config.integration_type
    for name, given in (
        ("catalog", choices.catalog),
        ("schemas", choices.schemas),
        ("external_location", choices.external_location),
    ):
        if given is not None and name not in applies:
            raise bad_request(f"{name} does not apply to {config.name} ({kind}, features {config.supported_features})")


def _count_click(made: Provisioned, user: User) -> None:
    for entry in made.users:
        if entry.get("user") == user.user_name:
            entry["clicks"] = int(entry.get("clicks", 0)) + 1
            return
    made.users.append({"user": user.user_name, "first_click_ms": now_ms(), "clicks": 1})


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _is_base_url(url: object) -> bool:
    from urllib.parse import urlsplit

    if not isinstance(url, str) or len(url) > 2048 or any(ord(ch) <= 32 or ord(ch) == 127 for ch in url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query and not parts.fragment


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "partner"
