"""What Databricks sends to a partner: the connect and delete-connection bodies.

The connect body follows the ``ConnectRequest`` of the Partner Connect API
(openapi/partner-connect-2.0.yaml, 2.1.1, in databrickslabs/partner-connect-api;
vendored in tests/fixtures/, and every combination of config is validated
against it there). Which optional fields appear is decided by the partner
config the way Partner Connect decides it (ApiSpecifications.md and the YAML's
field descriptions; inferred where the documentation is silent):

- ``integration_type``: WAREHOUSE_* send a SQL warehouse (``cluster_id`` is the
  warehouse id, ``http_path``, JDBC URLs, ``is_sql_warehouse`` true, and a
  ``catalog_name`` for the writers); CLUSTER_COMPUTE sends an interactive
  cluster (``cluster_id``, no ``http_path`` or JDBC URLs); WORKSPACE_MANAGEMENT
  sends only credentials; NO_INTEGRATION sends neither a service principal nor
  a token.
- ``auth_options`` (after the NON_ADMIN fallback): AUTH_PAT sends
  ``user_info.auth.personal_access_token``, AUTH_OAUTH_M2M sends
  ``service_principal_oauth_secret``; both only for a new connection, as a
  credential is created only then. AUTH_OAUTH_U2M sends ``oauth_u2m_app_id``.
- ``supported_features``: NON_ADMIN makes the connection user-scoped;
  EXTERNAL_LOCATION adds a ``destination_location`` only for an integration
  type that writes data (the seed: it "only applies to partners who write
  data"); UNITY_CATALOG makes ``catalog_name`` a Unity Catalog name. Writers
  without it get ``hive_metastore`` (the YAML: "a custom name if using Unity
  Catalog, or hive_metastore if not").
- ``database_name`` is never sent: the YAML calls it "Unused today" and
  ApiSpecifications.md "unused and reserved for future use".
- ``cloud`` (aws, azure, gcp) sets ``cloud_provider``, the region, the
  workspace host name's shape and the destination's URI scheme. The YAML's
  enum spells gcp ``gpc`` (a typo in 2.1.1, which ApiSpecifications.md spells
  gcp): the connect body sends what the enum says, the delete-connection body
  (whose description says gcp) sends ``gcp``.

Credentials in the body are fakes with the right shape; nothing here is real.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from stp_ext.partner_config.model import NON_WRITING_INTEGRATION_TYPES

if TYPE_CHECKING:
    from stp_ext.partner_config import PartnerConfig

WAREHOUSE_TYPES = ("WAREHOUSE_READ", "WAREHOUSE_READ_WRITE", "WAREHOUSE_WRITE")
WRITER_TYPES = ("WAREHOUSE_READ_WRITE", "WAREHOUSE_WRITE")
NO_CREDENTIAL_TYPES = ("NO_INTEGRATION",)
# The integration types that write no data, so EXTERNAL_LOCATION does not apply to them:
# the list `validate` warns about, kept in one place.
READ_ONLY_TYPES = NON_WRITING_INTEGRATION_TYPES

CLOUDS = ("aws", "azure", "gcp")
# What ConnectRequest.cloud_provider's enum says for each cloud (2.1.1 spells gcp "gpc").
CONNECT_CLOUD_PROVIDER = {"aws": "aws", "azure": "azure", "gcp": "gpc"}
DEFAULT_REGIONS = {"aws": "us-west-2", "azure": "westus2", "gcp": "us-central1"}
_STORAGE_SCHEMES = {"aws": "s3", "azure": "abfss", "gcp": "gs"}


@dataclass(frozen=True)
class Caller:
    """The Databricks user and workspace a request speaks for."""

    email: str
    first_name: str
    last_name: str
    user_id: int
    org_id: int
    cloud_provider: str = "aws"  # the cloud, one of CLOUDS (the connect body spells it as the spec does)
    region: str = ""  # "" is the cloud's default region

    @property
    def hostname(self) -> str:
        """The workspace host name, shaped as each cloud's workspaces are."""
        if self.cloud_provider == "azure":
            return f"adb-{self.org_id}.{self.org_id % 20}.azuredatabricks.net"
        if self.cloud_provider == "gcp":
            return f"{self.org_id}.{self.org_id % 10}.gcp.databricks.com"
        return f"dbc-{self.org_id % 16**8:08x}-{self.org_id % 16**4:04x}.cloud.databricks.com"

    @property
    def cloud_region(self) -> str:
        return self.region or DEFAULT_REGIONS.get(self.cloud_provider, DEFAULT_REGIONS["aws"])

    def on(self, cloud: str) -> Caller:
        """The same caller in a workspace on ``cloud`` (one of CLOUDS)."""
        if cloud not in CLOUDS:
            raise ValueError(f"cloud must be one of {', '.join(CLOUDS)}, not {cloud!r}")
        return self if cloud == self.cloud_provider else replace(self, cloud_provider=cloud)

    @property
    def workspace_url(self) -> str:
        return f"https://{self.hostname}/?o={self.org_id}"

    @classmethod
    def generate(cls, role: str, run_token: str | None = None) -> Caller:
        """A fresh caller per run, so a partner sees a genuinely new user each time.

        The e-mail domain is the one the Partner Connect API reserves for tests
        (databricks-test.com), so partners can recognise and clean up test users.
        """
        token = run_token or secrets.token_hex(4)
        number = int(token, 16)
        return cls(
            email=f"stp-{token}-{role}@databricks-test.com",
            first_name="Self",
            last_name=f"Test {role}",
            user_id=4_000_000_000_000 + number * 16 + len(role),
            org_id=1_000_000_000_000_000 + number * 256 + sum(map(ord, role)) % 256,
        )

    @classmethod
    def in_account(cls, user: str, domain: str, workspace_id: int | None = None) -> Caller:
        """``user``@``domain`` with a fresh user id, in ``workspace_id`` (default: a fresh workspace)."""
        return cls(
            email=f"{user}@{domain}",
            first_name="Self",
            last_name=f"Test {user}",
            user_id=random_id(),
            org_id=workspace_id if workspace_id is not None else random_id(),
        )


def new_account_domain(label: str) -> str:
    """A never-seen account: a random sub-domain of the domain the API reserves for tests.

    The Partner Connect API lets partners delete and expire accounts only
    under databricks-test.com and databricks-demo.com, so partners can clean
    up after connect-test; a fresh domain per case and run means a second run
    against the same partner meets a new account again.
    """
    return f"{label.lower()}-{secrets.token_hex(6)}.databricks-test.com"


def random_id() -> int:
    """A positive int64, as Databricks user and workspace ids are (and the suite's ``nextLong``)."""
    return secrets.randbits(62) + 1


def connect_request(
    partner: PartnerConfig,
    caller: Caller,
    *,
    established: bool = False,
    connection_id: str | None = None,
    demo: bool = False,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of one connect call, with ``overrides`` deep-merged last."""
    integration = partner.integration_type
    auth_options = list(partner.effective_auth_options)
    with_credentials = integration not in NO_CREDENTIAL_TYPES
    user_info: dict[str, Any] = {
        "email": caller.email,
        "first_name": caller.first_name,
        "last_name": caller.last_name,
        "databricks_user_id": caller.user_id,
        "databricks_organization_id": caller.org_id,
        "is_connection_established": established,
    }
    if with_credentials and not established and "AUTH_PAT" in auth_options:
        user_info["auth"] = {"personal_access_token": _fake_pat()}
    body: dict[str, Any] = {
        "user_info": user_info,
        "hostname": caller.hostname,
        "port": 443,
        "workspace_url": caller.workspace_url,
        "workspace_id": caller.org_id,
        "demo": demo,
        "cloud_provider": CONNECT_CLOUD_PROVIDER.get(caller.cloud_provider, caller.cloud_provider),
        "cloud_provider_region": caller.cloud_region,
        "is_free_trial": False,
        "connection_scope": "user" if partner.is_non_admin else "workspace",
    }
    if established:
        body["connection_id"] = connection_id
    body.update(_compute_fields(integration, caller))
    features = set(partner.supported_features or [])
    if integration in WRITER_TYPES or "UNITY_CATALOG" in features:
        body["catalog_name"] = "main" if "UNITY_CATALOG" in features else "hive_metastore"
    if "EXTERNAL_LOCATION" in features and integration not in READ_ONLY_TYPES:
        scheme = _STORAGE_SCHEMES.get(caller.cloud_provider, "s3")
        body["destination_location"] = f"{scheme}://databricks-stp-test-{caller.org_id}/partner"
    if with_credentials:
        body["service_principal_id"] = str(uuid.UUID(int=caller.org_id))
        if "AUTH_OAUTH_M2M" in auth_options and not established:
            body["service_principal_oauth_secret"] = "dose" + secrets.token_hex(16)
        if "AUTH_OAUTH_U2M" in auth_options:
            body["oauth_u2m_app_id"] = str(uuid.UUID(int=caller.org_id + 1))
    return deep_merge(body, overrides) if overrides else body


def delete_connection_request(connection_id: str, caller: Caller) -> dict[str, Any]:
    """The body of delete-connection (DeleteConnectionRequest, whose description spells gcp ``gcp``)."""
    return {
        "connection_id": connection_id,
        "cloud_provider": caller.cloud_provider,
        "databricks_organization_id": caller.org_id,
    }


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: objects merge key by key, anything else replaces.

    A ``null`` in ``override`` removes the key, so a payload file can also
    take a field away (to see how the partner copes without it).
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _compute_fields(integration: str, caller: Caller) -> dict[str, Any]:
    host = caller.hostname
    if integration in WAREHOUSE_TYPES:
        warehouse_id = f"{caller.org_id % 16**16:016x}"
        http_path = f"/sql/1.0/warehouses/{warehouse_id}"
        return {
            "cluster_id": warehouse_id,
            "http_path": http_path,
            "jdbc_url": _jdbc("spark", host, http_path),
            "databricks_jdbc_url": _jdbc("databricks", host, http_path),
            "is_sql_endpoint": True,
            "is_sql_warehouse": True,
        }
    if integration == "CLUSTER_COMPUTE":
        # An interactive cluster: no http_path or JDBC URLs. ApiSpecifications.md
        # sets those only for SQL warehouses and the certification suite sends
        # them only then.
        return {
            "cluster_id": f"0101-{caller.org_id % 10**6:06d}-stp{caller.org_id % 10**5:05d}",
            "is_sql_endpoint": False,
            "is_sql_warehouse": False,
        }
    return {}


def _jdbc(driver: str, host: str, http_path: str) -> str:
    return f"jdbc:{driver}://{host}:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath={http_path};"


def _fake_pat() -> str:
    # The shape of a Databricks PAT, so partners' format checks pass; it opens nothing.
    return "dapi" + secrets.token_hex(16)
