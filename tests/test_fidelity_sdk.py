"""databricks-sdk's WorkspaceClient, a client nobody here wrote, against the emulator.

If the emulator speaks the workspace API faithfully, the SDK's own services
work against it unchanged and raise the error classes a workspace would make
them raise (docs/rest-api.md).
"""

from __future__ import annotations

import base64
import logging
import re
import time
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from emulator_client import PARTNERS, RawClient, partner_body

from stp_ext.emulator import ADMIN, DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, USER, Emulator

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

# Importing databricks.sdk whole (every service) takes two seconds: imported at the top of this file,
# every pytest-xdist worker would pay it while collecting. These tests import it when they run.


@pytest.fixture
def errors() -> ModuleType:
    import databricks.sdk.errors

    return databricks.sdk.errors


@pytest.fixture
def secrets_types() -> ModuleType:
    """The secrets service's types: AclPermission, ScopeBackendType."""
    import databricks.sdk.service.workspace

    return databricks.sdk.service.workspace


def client_for(emu: Emulator, token: str) -> WorkspaceClient:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    # WorkspaceClient(...) itself takes no retry_timeout_seconds in 0.162: it goes through Config.
    return WorkspaceClient(config=Config(host=emu.url, token=token, auth_type="pat", retry_timeout_seconds=5))


@pytest.fixture
def w(emulator: Emulator) -> WorkspaceClient:
    return client_for(emulator, DEFAULT_ADMIN_TOKEN)


@pytest.fixture
def w_user(emulator: Emulator) -> WorkspaceClient:
    return client_for(emulator, DEFAULT_USER_TOKEN)


def test_scopes_create_list_delete(w: WorkspaceClient, secrets_types: ModuleType) -> None:
    w.secrets.create_scope("partner-connect")
    w.secrets.create_scope(
        "other", initial_manage_principal="users", scope_backend_type=secrets_types.ScopeBackendType.DATABRICKS
    )
    scopes = {s.name: s.backend_type for s in w.secrets.list_scopes()}
    assert scopes == {
        "partner-connect": secrets_types.ScopeBackendType.DATABRICKS,
        "other": secrets_types.ScopeBackendType.DATABRICKS,
    }
    w.secrets.delete_scope("other")
    assert [s.name for s in w.secrets.list_scopes()] == ["partner-connect"]
    w.secrets.delete_scope("partner-connect")
    assert list(w.secrets.list_scopes()) == []


def test_secrets_put_list_get_delete(w: WorkspaceClient) -> None:
    w.secrets.create_scope("s")
    before = int(time.time() * 1000)
    w.secrets.put_secret("s", "basic", string_value="Basic dXNlcjpwYXNz")
    w.secrets.put_secret("s", "raw", bytes_value=base64.b64encode(b"\x00\xff\x10").decode())
    w.secrets.put_secret("s", "none", string_value="")
    listed = {m.key: m.last_updated_timestamp for m in w.secrets.list_secrets("s")}
    assert set(listed) == {"basic", "raw", "none"}
    assert all(ts is not None and before - 1000 <= ts <= time.time() * 1000 + 1000 for ts in listed.values())

    got = w.secrets.get_secret("s", "basic")
    assert got.key == "basic"
    assert base64.b64decode(got.value or "") == b"Basic dXNlcjpwYXNz"
    assert base64.b64decode(w.secrets.get_secret("s", "raw").value or "") == b"\x00\xff\x10"
    assert not w.secrets.get_secret("s", "none").value

    w.secrets.delete_secret("s", "raw")
    assert sorted(str(m.key) for m in w.secrets.list_secrets("s")) == ["basic", "none"]


def test_acls_put_get_list_delete(w: WorkspaceClient, secrets_types: ModuleType) -> None:
    w.secrets.create_scope("s")
    w.secrets.put_acl("s", "users", secrets_types.AclPermission.READ)
    acl = w.secrets.get_acl("s", "users")
    assert (acl.principal, acl.permission) == ("users", secrets_types.AclPermission.READ)
    assert {(a.principal, a.permission) for a in w.secrets.list_acls("s")} == {
        (ADMIN.user_name, secrets_types.AclPermission.MANAGE),
        ("users", secrets_types.AclPermission.READ),
    }
    w.secrets.delete_acl("s", "users")
    assert [a.principal for a in w.secrets.list_acls("s")] == [ADMIN.user_name]


def test_the_sdk_raises_what_a_workspace_makes_it_raise(
    w: WorkspaceClient, w_user: WorkspaceClient, errors: ModuleType
) -> None:
    w.secrets.create_scope("s")
    with pytest.raises(errors.ResourceAlreadyExists, match="Scope s already exists!"):
        w.secrets.create_scope("s")
    with pytest.raises(errors.ResourceDoesNotExist, match="does not exist"):
        w.secrets.get_secret("s", "missing")
    with pytest.raises(errors.ResourceDoesNotExist):
        w.secrets.delete_scope("missing")
    with pytest.raises(errors.ResourceDoesNotExist):
        w.secrets.get_acl("s", "users")
    with pytest.raises(errors.ResourceDoesNotExist):
        list(w.secrets.list_secrets("missing"))
    with pytest.raises(errors.InvalidParameterValue):
        w.secrets.create_scope("bad name!")
    with pytest.raises(errors.InvalidParameterValue):
        w.secrets.put_secret("s", "k", string_value="x" * (128 * 1024 + 1))
    with pytest.raises(errors.PermissionDenied):
        w_user.secrets.put_secret("s", "k", string_value="v")
    with pytest.raises(errors.PermissionDenied):
        list(w_user.secrets.list_acls("s"))
    assert list(w.secrets.list_secrets("s")) == []


def test_a_non_admin_works_within_their_grant(
    w: WorkspaceClient, w_user: WorkspaceClient, errors: ModuleType, secrets_types: ModuleType
) -> None:
    w.secrets.create_scope("partner-connect")
    w.secrets.put_secret("partner-connect", "ID", string_value="Bearer abc")
    with pytest.raises(errors.PermissionDenied):
        w_user.secrets.get_secret("partner-connect", "ID")
    w.secrets.put_acl("partner-connect", "users", secrets_types.AclPermission.READ)
    assert base64.b64decode(w_user.secrets.get_secret("partner-connect", "ID").value or "") == b"Bearer abc"
    with pytest.raises(errors.PermissionDenied):
        w_user.secrets.delete_secret("partner-connect", "ID")
    w_user.secrets.create_scope("mine")
    assert [(a.principal, a.permission) for a in w_user.secrets.list_acls("mine")] == [
        (USER.user_name, secrets_types.AclPermission.MANAGE)
    ]


def test_a_bad_token_is_permission_denied_with_the_reason(emulator: Emulator, errors: ModuleType) -> None:
    w = client_for(emulator, "dapi-not-a-token")
    with pytest.raises(errors.PermissionDenied, match="Invalid access token"):
        list(w.secrets.list_scopes())


def test_current_user_me(w: WorkspaceClient, w_user: WorkspaceClient) -> None:
    me = w.current_user.me()
    assert me.user_name == ADMIN.user_name
    assert "admins" in {g.display for g in me.groups or []}
    me_user = w_user.current_user.me()
    assert me_user.user_name == USER.user_name
    assert "admins" not in {g.display for g in me_user.groups or []}


def sdk_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.startswith("databricks.sdk") and r.levelno >= logging.WARNING
    ]


def test_constructing_a_client_is_quiet(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.core import Config

    caplog.set_level(logging.WARNING, logger="databricks.sdk")
    config = Config(host=emulator.url, token=DEFAULT_ADMIN_TOKEN, auth_type="pat", retry_timeout_seconds=5)
    w = WorkspaceClient(config=config)
    w.current_user.me()
    assert sdk_warnings(caplog) == []
    # The SDK did ask for the host metadata; the emulator's answer is what keeps it quiet.
    assert ("/.well-known/databricks-config", 200) in [(r.path, r.status) for r in emulator.request_log]


def test_the_quiet_check_would_see_a_warning(emulator: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    """The check above can fail: a workspace answering 404 for host metadata makes the SDK warn."""
    from databricks.sdk.core import Config

    caplog.set_level(logging.WARNING, logger="databricks.sdk")
    emulator.faults.arm(fail_next=1, status=404, path_prefix="/.well-known/")
    Config(host=emulator.url, token=DEFAULT_ADMIN_TOKEN, auth_type="pat", retry_timeout_seconds=5)
    assert sdk_warnings(caplog)


def test_partner_endpoints_through_api_client_do(emulator: Emulator, w: WorkspaceClient, errors: ModuleType) -> None:
    api = w.api_client
    assert api.do("GET", f"{PARTNERS}/get") == {}
    created = api.do("POST", f"{PARTNERS}/create", body=partner_body())
    assert isinstance(created, dict) and set(created) == {"id"}
    partner_id = created["id"]
    assert re.fullmatch(r"[0-9A-F]{32}", partner_id)
    assert api.do("GET", f"{PARTNERS}/get") == {"partners": [{"id": partner_id, "name": "Test Partner"}]}
    assert api.do("PUT", f"{PARTNERS}/update/{partner_id}", body=partner_body(name="Renamed")) == {}
    assert RawClient(emulator.port).partners() == [{"id": partner_id, "name": "Renamed"}]

    with pytest.raises(errors.BadRequest, match=re.escape("Workspace already has an active self-testing partner.")):
        api.do("POST", f"{PARTNERS}/create", body=partner_body())
    with pytest.raises(errors.InvalidParameterValue, match="hostnames"):
        api.do("PUT", f"{PARTNERS}/update/{partner_id}", body=partner_body(hostnames="https://x.example.com"))
    with pytest.raises(errors.NotFound):
        api.do("DELETE", f"{PARTNERS}/delete/{'0' * 32}")

    assert api.do("DELETE", f"{PARTNERS}/delete/{partner_id}") == {}
    assert api.do("GET", f"{PARTNERS}/get") == {}


def test_partner_endpoints_refuse_a_non_admin_through_the_sdk(w_user: WorkspaceClient, errors: ModuleType) -> None:
    with pytest.raises(errors.PermissionDenied, match="Workspace admin is required"):
        w_user.api_client.do("GET", f"{PARTNERS}/get")
    with pytest.raises(errors.PermissionDenied, match="Workspace admin is required"):
        w_user.api_client.do("POST", f"{PARTNERS}/create", body=partner_body())


def test_the_sdk_retries_an_injected_503_and_fails_a_500_at_once(
    emulator: Emulator, w: WorkspaceClient, errors: ModuleType
) -> None:
    emulator.faults.arm(fail_next=1, status=503, retry_after=0, path_prefix="/api/")
    assert list(w.secrets.list_scopes()) == []
    assert [r.status for r in emulator.request_log if r.path.endswith("/scopes/list")] == [503, 200]
    emulator.faults.arm(fail_next=1, status=500, path_prefix="/api/")
    with pytest.raises(errors.InternalError):
        list(w.secrets.list_scopes())
    assert [r.status for r in emulator.request_log if r.path.endswith("/scopes/list")] == [503, 200, 500]
