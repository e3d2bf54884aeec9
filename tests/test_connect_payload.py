"""The requests connect-test builds: pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest
from connect_fixtures import partner_config

from stp_ext.connect import reroot
from stp_ext.connect.payload import Caller, connect_request, deep_merge, delete_connection_request
from stp_ext.connect.session import headers

CALLER = Caller.generate("primary", "0a1b2c3d")


def build(**changes: Any) -> dict[str, Any]:
    established = changes.pop("established", False)
    kwargs: dict[str, Any] = {"established": established}
    if established:
        kwargs["connection_id"] = "conn-1"
    return connect_request(partner_config(**changes), CALLER, **kwargs)


def test_required_fields_and_types() -> None:
    body = build()
    user = body["user_info"]
    assert isinstance(user["email"], str) and "@" in user["email"]
    assert isinstance(user["first_name"], str) and isinstance(user["last_name"], str)
    for name in ("databricks_user_id", "databricks_organization_id"):
        assert isinstance(user[name], int) and 0 < user[name] < 2**63
    assert user["is_connection_established"] is False
    assert body["port"] == 443
    assert body["workspace_id"] == user["databricks_organization_id"]
    assert body["workspace_url"].startswith(f"https://{body['hostname']}/")
    assert body["demo"] is False and body["is_free_trial"] is False
    assert body["cloud_provider"] in ("aws", "azure", "gcp")
    assert "connection_id" not in body


def test_callers_are_stable_per_token_and_distinct_per_role() -> None:
    assert Caller.generate("primary", "0a1b2c3d") == CALLER
    other = Caller.generate("retry", "0a1b2c3d")
    assert other.email != CALLER.email and other.org_id != CALLER.org_id
    assert CALLER.email.endswith("@databricks-test.com")


def test_warehouse_read_sends_a_sql_warehouse_and_m2m_secret() -> None:
    body = build(integration_type="WAREHOUSE_READ", auth_options=["AUTH_OAUTH_M2M"], supported_features=[])
    assert body["is_sql_warehouse"] is body["is_sql_endpoint"] is True
    assert body["http_path"] == f"/sql/1.0/warehouses/{body['cluster_id']}"
    assert body["jdbc_url"].startswith("jdbc:spark://") and body["databricks_jdbc_url"].startswith("jdbc:databricks://")
    assert body["service_principal_oauth_secret"] and body["service_principal_id"]
    assert "auth" not in body["user_info"]
    assert "catalog_name" not in body


def test_writers_and_unity_catalog_get_a_catalog_hive_metastore_without_unity_catalog() -> None:
    # The YAML: "a custom name if using Unity Catalog, or hive_metastore if not".
    assert build(integration_type="WAREHOUSE_WRITE", supported_features=[])["catalog_name"] == "hive_metastore"
    assert build(integration_type="WAREHOUSE_READ_WRITE", supported_features=None)["catalog_name"] == "hive_metastore"
    unity = build(integration_type="WAREHOUSE_WRITE", supported_features=["UNITY_CATALOG"])["catalog_name"]
    assert unity not in ("", "hive_metastore")
    assert build(integration_type="WAREHOUSE_READ", supported_features=["UNITY_CATALOG"])["catalog_name"] == unity


def test_database_name_is_never_sent() -> None:
    # "Unused today" (2.1.1), "unused and reserved for future use" (ApiSpecifications.md).
    for integration in ("WAREHOUSE_WRITE", "WAREHOUSE_READ", "CLUSTER_COMPUTE"):
        assert "database_name" not in build(integration_type=integration, supported_features=["UNITY_CATALOG"])


@pytest.mark.parametrize(
    ("cloud", "sent", "host_end", "scheme"),
    [
        ("aws", "aws", ".cloud.databricks.com", "s3://"),
        ("azure", "azure", ".azuredatabricks.net", "abfss://"),
        ("gcp", "gpc", ".gcp.databricks.com", "gs://"),  # 2.1.1's enum spells gcp "gpc"
    ],
)
def test_the_cloud_sets_cloud_provider_the_workspace_url_and_the_destination(
    cloud: str, sent: str, host_end: str, scheme: str
) -> None:
    caller = CALLER.on(cloud)
    body = connect_request(
        partner_config(integration_type="WAREHOUSE_WRITE", supported_features=["EXTERNAL_LOCATION"]), caller
    )
    assert body["cloud_provider"] == sent
    assert body["hostname"].endswith(host_end)
    assert body["workspace_url"] == f"https://{body['hostname']}/?o={CALLER.org_id}"
    assert body["jdbc_url"].startswith(f"jdbc:spark://{body['hostname']}:443/")
    assert body["destination_location"].startswith(scheme)
    assert body["cloud_provider_region"]
    # The delete-connection body's description says gcp.
    assert delete_connection_request("c-1", caller)["cloud_provider"] == cloud
    with pytest.raises(ValueError, match="cloud"):
        CALLER.on("gpc")


def test_cluster_compute_sends_an_interactive_cluster() -> None:
    body = build(integration_type="CLUSTER_COMPUTE", auth_options=None)
    assert body["is_sql_warehouse"] is False and body["cluster_id"]
    assert body["user_info"]["auth"]["personal_access_token"].startswith("dapi")
    # No SQL warehouse: no http_path or JDBC URLs (ApiSpecifications.md; the suite sends them only then).
    assert not {"http_path", "jdbc_url", "databricks_jdbc_url"} & set(body)


def test_workspace_management_sends_only_credentials() -> None:
    body = build(integration_type="WORKSPACE_MANAGEMENT", auth_options=["AUTH_PAT"])
    assert "cluster_id" not in body and "http_path" not in body
    assert body["user_info"]["auth"]["personal_access_token"]


def test_no_integration_sends_no_service_principal_or_token() -> None:
    body = build(integration_type="NO_INTEGRATION", auth_options=["AUTH_PAT"])
    assert "auth" not in body["user_info"]
    assert not {"service_principal_id", "service_principal_oauth_secret", "cluster_id"} & set(body)


def test_non_admin_falls_back_from_m2m_to_pat_and_scopes_to_the_user() -> None:
    body = build(auth_options=["AUTH_OAUTH_M2M"], supported_features=["NON_ADMIN"])
    assert "service_principal_oauth_secret" not in body
    assert body["user_info"]["auth"]["personal_access_token"]
    assert body["connection_scope"] == "user"
    assert build()["connection_scope"] == "workspace"


def test_u2m_sends_the_app_id() -> None:
    assert build(auth_options=["AUTH_PAT", "AUTH_OAUTH_U2M"])["oauth_u2m_app_id"]
    assert "oauth_u2m_app_id" not in build(auth_options=["AUTH_PAT"])


def test_external_location_sends_a_destination_only_to_partners_that_write() -> None:
    body = build(integration_type="WAREHOUSE_WRITE", supported_features=["EXTERNAL_LOCATION"])
    assert body["destination_location"].startswith("s3://")
    assert build(integration_type="CLUSTER_COMPUTE", supported_features=["EXTERNAL_LOCATION"])["destination_location"]
    for read_only in ("WAREHOUSE_READ", "NO_INTEGRATION"):
        assert "destination_location" not in build(integration_type=read_only, supported_features=["EXTERNAL_LOCATION"])


def test_established_connection_sends_its_id_and_no_new_credentials() -> None:
    for auth in (["AUTH_PAT"], ["AUTH_OAUTH_M2M"]):
        body = build(established=True, auth_options=auth)
        assert body["connection_id"] == "conn-1"
        assert body["user_info"]["is_connection_established"] is True
        assert "auth" not in body["user_info"] and "service_principal_oauth_secret" not in body


def test_overrides_deep_merge_and_null_removes() -> None:
    body = connect_request(
        partner_config(),
        CALLER,
        overrides={"cloud_provider": "azure", "user_info": {"last_name": "", "first_name": None}, "extra": [1]},
    )
    assert body["cloud_provider"] == "azure"
    assert body["user_info"]["last_name"] == ""
    assert "first_name" not in body["user_info"]
    assert body["user_info"]["email"] == CALLER.email  # untouched siblings stay
    assert body["extra"] == [1]


def test_deep_merge_does_not_touch_its_inputs() -> None:
    base = {"a": {"b": 1, "c": [1]}}
    override = {"a": {"c": [2]}, "d": {"e": 1}}
    merged = deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [2]}, "d": {"e": 1}}
    merged["a"]["c"].append(3)
    merged["d"]["e"] = 2
    assert base == {"a": {"b": 1, "c": [1]}} and override == {"a": {"c": [2]}, "d": {"e": 1}}


def test_delete_request_shape() -> None:
    assert delete_connection_request("c-1", CALLER) == {
        "connection_id": "c-1",
        "cloud_provider": "aws",
        "databricks_organization_id": CALLER.org_id,
    }


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "https://p.example.com/databricks/connect",
            "http://localhost:8080",
            "http://localhost:8080/databricks/connect",
        ),
        (
            "https://p.example.com/databricks/connect",
            "http://localhost:8080/",
            "http://localhost:8080/databricks/connect",
        ),
        ("https://p.example.com/db/connect?v=2", "http://127.0.0.1:9/stage", "http://127.0.0.1:9/stage/db/connect?v=2"),
        ("https://p.example.com", "https://staging.example.com:8443", "https://staging.example.com:8443/"),
    ],
)
def test_reroot(url: str, base: str, expected: str) -> None:
    assert reroot(url, base) == expected


def test_headers_are_exactly_what_databricks_sends() -> None:
    assert headers("Basic abc") == {
        "User-Agent": "databricks",
        "Content-Type": "application/json",
        "Accept-Language": "en-US",
        "Authorization": "Basic abc",
    }
    assert "Authorization" not in headers("")
