"""Partner Connect in a box: the emulator clicks the tile, against the sample partner, over real HTTP.

One emulator and one wiretapped sample partner for the module; each test
creates its partner through the tool's own services (databricks-sdk over
HTTP, as `create` does) and deletes it at the end.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from connect_fixtures import Exchange, tapped_partner
from emulator_client import RawClient
from helpers import example_partner
from test_connect_schema import check_connect_body

from stp_ext.core import auth_header
from stp_ext.emulator import Emulator
from stp_ext.sample_partner.app import SamplePartnerApp
from stp_ext.servers.serving import LocalServer

GOOD = auth_header.basic("databricks", "box-secret-for-tests").value
WRONG = auth_header.basic("databricks", "not-the-one").value
CONNECT = "/_emulator/partner-connect/connect"
DELETE = "/_emulator/partner-connect/delete-connection"
ME = "/api/2.0/preview/scim/v2/Me"


@dataclass
class Partner:
    url: str
    seen: list[Exchange] = field(default_factory=list)

    def take(self) -> list[Exchange]:
        taken, self.seen[:] = list(self.seen), []
        return taken


@pytest.fixture(scope="module")
def partner() -> Iterator[Partner]:
    """The sample partner (it accepts only GOOD) behind a tap that records every exchange."""
    with tapped_partner(SamplePartnerApp(auth_header=GOOD)) as (url, seen):
        yield Partner(url, seen)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(port=0) as emulator:
        yield emulator


@pytest.fixture
def box(emu: Emulator, partner: Partner) -> Iterator[Box]:
    made = Box(emu, partner)
    yield made
    made.cleanup()


class Box:
    """Create a partner through the tool's services; click through the control API."""

    def __init__(self, emu: Emulator, partner: Partner) -> None:
        self.emu, self.partner = emu, partner
        self.admin = RawClient(emu.port)
        self.control = RawClient(emu.port, token=None)
        self.partner_id: str | None = None

    def create(self, header: str = GOOD, *, users_read: bool | None = None, **changes: Any) -> str:
        from stp_ext.partner_config import PartnerConfig
        from stp_ext.services.flows import create_partner
        from stp_ext.services.next_steps import NextSteps
        from stp_ext.workspace.auth import connect

        url = self.partner.url
        fields = {
            "connect_url": f"{url}/connect",
            "delete_url": f"{url}/delete-connection",
            "hostnames": "127.0.0.1",
            **changes,
        }
        config = PartnerConfig.from_partner(example_partner(**fields))
        workspace = connect(host=self.emu.url, token=self.emu.admin_token)
        outcome = create_partner(workspace, config, auth_header.AuthHeader(header), steps=NextSteps(), status=_quiet)
        self.partner_id = outcome.partner.id
        if users_read is False:
            self.admin.post("/api/2.0/secrets/acls/delete", {"scope": "partner-connect", "principal": "users"})
        self.partner.take()
        return self.partner_id

    def click(self, user: str = "admin", **choices: Any) -> tuple[int, dict[str, Any]]:
        reply = self.control.post(CONNECT, {"user": user, **choices})
        return reply.status, reply.json()

    def cleanup(self) -> None:
        for connection in self.control.get("/_emulator/partner-connect/connections").json()["connections"]:
            if connection["connection_id"]:
                self.control.post(DELETE, {"connection_id": connection["connection_id"]})
        if self.partner_id is not None:
            self.admin.delete(f"/api/2.0/partnerhub/self-test-partners/delete/{self.partner_id}")
            self.admin.post("/api/2.0/secrets/delete", {"scope": "partner-connect", "key": self.partner_id})
        self.partner.take()


class _quiet:
    def __init__(self, _message: str) -> None:
        pass

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def as_token(emu: Emulator, token: str) -> RawClient:
    return RawClient(emu.port, token=token)


INTEGRATIONS = [
    "WAREHOUSE_READ",
    "WAREHOUSE_READ_WRITE",
    "WAREHOUSE_WRITE",
    "CLUSTER_COMPUTE",
    "WORKSPACE_MANAGEMENT",
    "NO_INTEGRATION",
]
AUTH = [["AUTH_PAT"], ["AUTH_OAUTH_M2M"], ["AUTH_PAT", "AUTH_OAUTH_U2M"], ["AUTH_OAUTH_M2M", "AUTH_OAUTH_U2M"]]
CASES = [(integration, auth) for integration in INTEGRATIONS for auth in AUTH]


@pytest.mark.parametrize(("integration", "auth"), CASES)
def test_a_click_provisions_connects_reuses_and_deletes(
    box: Box, integration: str, auth: list[str], emu: Emulator
) -> None:
    box.create(integration_type=integration, auth_options=auth)
    status, first = box.click()
    assert status == 200 and first["passed"], first["findings"]
    sent = box.partner.take()
    connects = [s for s in sent if s.path == "/connect"]
    assert len(connects) == 1, [(s.method, s.path) for s in sent]  # ONE connect (and a GET of the page)
    connect = connects[0]
    assert connect.authorization == GOOD  # the stored credential, verbatim
    uses_pat = integration != "NO_INTEGRATION" and "AUTH_PAT" in auth
    check_connect_body(connect.body, uses_pat=uses_pat)
    assert first["redirect_uri"] == first["response"]["redirect_uri"] and first["connection_id"]
    uses_m2m = integration != "NO_INTEGRATION" and "AUTH_OAUTH_M2M" in auth
    assert ("[REDACTED]" in json.dumps(first["request"])) == (uses_pat or uses_m2m)

    # The credential handed to the partner works, as the service principal, for what it was given only.
    principal = first["provisioned"]["service_principal"]
    token = _credential_token(emu, connect.body, auth)
    if integration == "NO_INTEGRATION":
        assert principal is None and token is None
    else:
        assert token is not None
        client = as_token(emu, token)
        me = client.get(ME)
        assert me.status == 200 and me.json()["userName"] == principal["application_id"]
        assert me.json()["displayName"] == f"{first['partner']['name']} service principal"
        assert client.get("/api/2.0/partnerhub/self-test-partners/get").status == 403  # admins only
        # An admin-only partner's credential: users hold no ACL on its scope, nor does the principal.
        assert client.get("/api/2.0/secrets/list", scope="partner-connect").status == 403
        compute = first["provisioned"]["compute"]
        if compute is None:
            assert integration == "WORKSPACE_MANAGEMENT"
        elif compute["kind"] == "warehouse":
            assert connect.body["cluster_id"] == compute["id"]
            assert client.get(f"/api/2.0/sql/warehouses/{compute['id']}").json()["id"] == compute["id"]
            assert as_token(emu, emu.user_token).get(f"/api/2.0/sql/warehouses/{compute['id']}").status == 403
        else:
            assert client.get("/api/2.0/clusters/get", cluster_id=compute["id"]).json()["state"] == "RUNNING"
            assert as_token(emu, emu.user_token).get("/api/2.0/clusters/get", cluster_id=compute["id"]).status == 403
        listed = box.admin.get("/api/2.0/preview/scim/v2/ServicePrincipals").json()["Resources"]
        assert principal["application_id"] in {p["applicationId"] for p in listed}

    # A second click by the same user reuses the connection: no new credential.
    status, again = box.click()
    assert status == 200 and again["passed"] and again["established"], again["findings"]
    (reuse,) = [s for s in box.partner.take() if s.path == "/connect"]
    assert reuse.body["user_info"]["is_connection_established"] is True
    assert reuse.body["connection_id"] == first["connection_id"]
    assert "auth" not in reuse.body["user_info"] and "service_principal_oauth_secret" not in reuse.body

    # delete-connection reaches the partner and revokes what was provisioned.
    deleted = box.control.post(DELETE, {"connection_id": first["connection_id"]}).json()
    assert deleted["passed"] and deleted["status"] == 200, deleted
    assert [(s.path, s.authorization, s.status) for s in box.partner.take()] == [("/delete-connection", GOOD, 200)]
    if token is not None:
        assert as_token(emu, token).get(ME).status == 403
    assert box.control.get("/_emulator/partner-connect/connections").json() == {"connections": []}


def _credential_token(emu: Emulator, body: dict[str, Any], auth: list[str]) -> str | None:
    """The PAT sent to the partner, or an access token for the M2M secret sent to it."""
    pat = body["user_info"].get("auth", {}).get("personal_access_token")
    if pat:
        return str(pat)
    secret = body.get("service_principal_oauth_secret")
    if not secret:
        return None
    basic = base64.b64encode(f"{body['service_principal_id']}:{secret}".encode()).decode()
    answer = RawClient(emu.port, token=None).request(
        "POST",
        "/oidc/v1/token",
        b"grant_type=client_credentials&scope=all-apis",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200, answer.json()
    return str(answer.json()["access_token"])


def test_a_wrong_stored_credential_fails_the_click_naming_the_partners_401(box: Box) -> None:
    box.create(WRONG)
    status, click = box.click()
    assert status == 200 and click["passed"] is False and click["status"] == 401
    assert any("401" in f["message"] for f in click["findings"]), click["findings"]
    assert click["redirect_uri"] is None and click["connection_id"] is None
    # Nothing provisioned for a connection that was not made stays behind.
    assert box.control.get("/_emulator/partner-connect/connections").json() == {"connections": []}


def test_a_non_admin_clicks_a_non_admin_partner_only_when_users_can_read_the_credential(box: Box) -> None:
    box.create(users_read=False, supported_features=["NON_ADMIN"], integration_type="WAREHOUSE_READ")
    status, refused = box.click("user")
    assert status == 403 and "cannot READ" in refused["message"]
    assert box.partner.take() == []  # refused before anything was sent
    box.admin.put_acl("partner-connect", "users", "READ")
    status, click = box.click("user")
    assert status == 200 and click["passed"] and click["user"] == "user@example.com", click["findings"]
    # The admin joins the connection the user made: a reuse of its connection_id.
    status, joined = box.click("admin")
    assert joined["passed"] and joined["established"] and joined["connection_id"] == click["connection_id"]
    (connection,) = box.control.get("/_emulator/partner-connect/connections").json()["connections"]
    assert [u["user"] for u in connection["users"]] == ["user@example.com", "admin@example.com"]


def test_an_admin_only_partner_refuses_a_non_admins_click(box: Box) -> None:
    box.create()
    status, refused = box.click("user")
    assert status == 403 and "NON_ADMIN" in refused["message"]


def test_choices_reach_the_body_and_bad_ones_are_refused_before_sending(box: Box) -> None:
    box.create(integration_type="WAREHOUSE_WRITE", supported_features=["UNITY_CATALOG", "EXTERNAL_LOCATION"])
    assert box.click(catalog="bad name!")[0] == 400
    assert "unknown field 'catalogue'" in box.click(catalogue="sales")[1]["message"]
    status, click = box.click(catalog="sales", schemas=["raw", "gold"], external_location="s3://bucket/in")
    assert status == 200 and click["passed"], click["findings"]
    (connect,) = [s for s in box.partner.take() if s.path == "/connect"]
    assert connect.body["catalog_name"] == "sales" and "database_name" not in connect.body  # unused in 2.1.1
    assert connect.body["destination_location"] == "s3://bucket/in"
    assert click["provisioned"]["schemas"] == ["raw", "gold"]


def test_no_active_partner_is_a_clear_404(box: Box) -> None:
    status, answer = box.click()
    assert status == 404 and "create" in answer["message"]


def test_the_provisioned_credentials_work_through_databricks_sdk(box: Box, emu: Emulator) -> None:
    """A client nobody here wrote: databricks-sdk's WorkspaceClient, with the PAT and with the M2M secret."""
    from databricks.sdk import WorkspaceClient

    box.create(integration_type="WAREHOUSE_READ", auth_options=["AUTH_PAT"])
    click = box.click()[1]
    (connect,) = [s for s in box.partner.take() if s.path == "/connect"]
    pat = connect.body["user_info"]["auth"]["personal_access_token"]
    me = WorkspaceClient(host=emu.url, token=pat).current_user.me()
    assert me.user_name == click["provisioned"]["service_principal"]["application_id"]
    box.cleanup()

    box.create(integration_type="CLUSTER_COMPUTE", auth_options=["AUTH_OAUTH_M2M"])
    box.click()
    (connect,) = [s for s in box.partner.take() if s.path == "/connect"]
    m2m = WorkspaceClient(
        host=emu.url,
        client_id=connect.body["service_principal_id"],
        client_secret=connect.body["service_principal_oauth_secret"],
        auth_type="oauth-m2m",
    )
    assert m2m.current_user.me().user_name == connect.body["service_principal_id"]


def test_a_connection_and_its_token_survive_a_restart(partner: Partner, tmp_path: Any) -> None:
    """With --state the provisioned principal is kept like partners and secrets (only hashes are stored)."""
    state = tmp_path / "emulator.db"
    with Emulator(port=0, state_path=state) as first:
        box = Box(first, partner)
        box.create(auth_options=["AUTH_PAT"])
        assert box.click()[1]["passed"]
        (connect,) = [s for s in partner.take() if s.path == "/connect"]
        pat = connect.body["user_info"]["auth"]["personal_access_token"]
    assert pat.encode() not in state.read_bytes()
    with Emulator(port=0, state_path=state) as second:
        assert as_token(second, pat).get(ME).json()["userName"] == connect.body["service_principal_id"]
        assert Box(second, partner).click()[1]["established"] is True
    partner.take()


@pytest.mark.slow  # three commands in processes, as a CI job runs them
def test_the_readmes_ci_recipe_clicks_the_tile_as_written(tmp_path: Any) -> None:
    """README "Partner Connect in a box": verbatim but for its ports, with the example's production URLs."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from stp_ext.sample_partner import SamplePartner

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (the recipe uses it)")
    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text().split("## Partner Connect in a box", 1)[1]
    block = text.split("In your CI, the whole click:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    started = [line for line in lines if line.rstrip().endswith("&")]
    assert [line.split("databricks-stp ")[1].split()[0] for line in started] == ["emulator", "sample-partner"]
    with Emulator(port=0) as emu, SamplePartner(port=0, auth_header="Bearer ci-secret") as partner:
        script = "set -e\n" + "\n".join(line for line in lines if line not in started)
        script = script.replace("127.0.0.1:8765", f"127.0.0.1:{emu.port}")
        script = script.replace("127.0.0.1:8766", f"127.0.0.1:{partner.port}")
        (tmp_path / "partner.json").write_text((readme.parent / "examples" / "partner.json").read_text())
        bin_dir = Path(sys.executable).parent
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        env.pop("DATABRICKS_CONFIG_FILE", None)
        done = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{partner.url}/create-trial" in done.stdout.splitlines()  # the partner's redirect, printed
        click = json.loads((tmp_path / "click.json").read_text())
        assert click["request"]["service_principal_oauth_secret"] == "[REDACTED]"  # the example is AUTH_OAUTH_M2M
        connection_id = click["connection_id"]
        # The connection is deleted where it was made: the url the click was given.
        deleted = RawClient(emu.port, token=None).post(DELETE, {"connection_id": connection_id}).json()
        assert deleted["passed"] and deleted["status"] == 200
        assert partner.state.connection(connection_id) is None


def test_updating_or_deleting_the_partner_removes_its_connection(box: Box, emu: Emulator) -> None:
    """As in a workspace (docs/rest-api.md): update and delete are destructive; the credential stops working."""
    box.create(auth_options=["AUTH_PAT"])
    assert box.click()[1]["passed"]
    (connect,) = [s for s in box.partner.take() if s.path == "/connect"]
    pat = connect.body["user_info"]["auth"]["personal_access_token"]
    assert as_token(emu, pat).get(ME).status == 200
    config = example_partner(connect_url=f"{box.partner.url}/connect", hostnames="127.0.0.1")
    assert (
        box.admin.put(f"/api/2.0/partnerhub/self-test-partners/update/{box.partner_id}", {"partner": config}).status
        == 200
    )
    assert as_token(emu, pat).get(ME).status == 403
    assert box.control.get("/_emulator/partner-connect/connections").json() == {"connections": []}
    fresh = box.click()[1]
    assert fresh["passed"] and fresh["established"] is False  # a new connection, with a new credential


def test_the_page_shows_a_partners_answer_as_text_and_refuses_other_sites(emu: Emulator) -> None:
    """No browser needed: the failure page escapes the answer, sends no script, and a foreign Origin is refused."""
    from urllib.parse import urlencode

    from stp_ext.sample_partner import SamplePartner

    with SamplePartner(port=0, auth_header=GOOD, fault="html_body") as hostile:
        box = Box(emu, Partner(hostile.url))
        box.create(auth_options=["AUTH_PAT"], integration_type="WORKSPACE_MANAGEMENT", supported_features=[])
        try:
            form = urlencode({"user": "admin", "step": "go"})
            kind = {"Content-Type": "application/x-www-form-urlencoded"}
            page = box.control.request("POST", "/partner-connect/connect", form, headers=kind)
            assert page.status == 502 and "default-src 'none'" in page.headers["Content-Security-Policy"]
            text = page.body.decode()
            assert "&lt;!DOCTYPE html&gt;" in text and "Please sign in" in text  # the answer, as text
            assert text.count("<html") == 1  # only the page's own
            foreign = {**kind, "Origin": "https://evil.example"}
            assert box.control.request("POST", "/partner-connect/connect", form, headers=foreign).status == 403
        finally:
            box.cleanup()


def test_a_partner_may_use_the_credential_while_it_answers_the_connect(emu: Emulator) -> None:
    """A partner that checks the PAT against the workspace before answering: the click waits, nothing deadlocks."""
    import urllib.request

    seen: list[str] = []

    def checking_partner(environ: dict[str, Any], start_response: Any) -> Any:
        body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
        if environ["PATH_INFO"] != "/connect":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<!DOCTYPE html><title>signed in</title>"]
        me_request = urllib.request.Request(
            f"{body['workspace_url']}{ME}",
            headers={"Authorization": f"Bearer {body['user_info']['auth']['personal_access_token']}"},
        )
        with urllib.request.urlopen(me_request, timeout=5) as me:  # back to the emulator, mid-click
            seen.append(json.loads(me.read())["userName"])
        answer = {
            "redirect_uri": f"http://127.0.0.1:{environ['SERVER_PORT']}/sign-in",
            "redirect_value": "create_trial",
            "user_status": "new",
            "account_status": "new",
            "configured_resources": True,
            "connection_id": "checked-1",
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]

    server = LocalServer(checking_partner).start()
    box = Box(emu, Partner(server.url))
    try:
        box.create(auth_options=["AUTH_PAT"], integration_type="WAREHOUSE_READ", supported_features=[])
        status, click = box.click()
        assert status == 200 and click["passed"], click["findings"]
        assert seen == [click["provisioned"]["service_principal"]["application_id"]]
    finally:
        box.partner_id and box.admin.delete(f"/api/2.0/partnerhub/self-test-partners/delete/{box.partner_id}")
        box.admin.post("/api/2.0/secrets/delete", {"scope": "partner-connect", "key": box.partner_id or "x"})
        server.stop()
