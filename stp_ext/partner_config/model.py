"""The partner config model: allowed values, field specs, findings, the parsed config.

One table (``FIELDS``) describes every field of the ``partner`` object; the
validator and the JSON Schema are both built from it, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stp_ext.core.wording import plural

# -- allowed values (docs/partner-config.md) ---------------

CATEGORIES: tuple[str, ...] = (
    "INGEST",
    "DATA_PREP_AND_TRANSFORM",
    "SECURITY_AND_GOVERNANCE",
    "BI_AND_VIZ",
    "ML",
    "DATA_QUALITY",
    "REVERSE_ETL",
    "SEMANTIC_LAYER",
    "DATA_GOVERNANCE",
)

INTEGRATION_TYPES: tuple[str, ...] = (
    "NO_INTEGRATION",
    "CLUSTER_COMPUTE",
    "WAREHOUSE_READ",
    "WAREHOUSE_READ_WRITE",
    "WAREHOUSE_WRITE",
    "WORKSPACE_MANAGEMENT",
)

SUPPORTED_FEATURES: tuple[str, ...] = ("UNITY_CATALOG", "NON_ADMIN", "EXTERNAL_LOCATION")

AUTH_OPTIONS: tuple[str, ...] = ("AUTH_OAUTH_M2M", "AUTH_PAT", "AUTH_OAUTH_U2M")

# Integration types that give the partner a way to write data. EXTERNAL_LOCATION
# "only applies to partners who are writing data" (the original CLI's documentation); cluster compute and
# workspace management hand out compute that can write, so only the types that
# cannot write at all draw a warning.
NON_WRITING_INTEGRATION_TYPES: tuple[str, ...] = ("NO_INTEGRATION", "WAREHOUSE_READ")

INTEGRATION_TYPE_DESCRIPTIONS: dict[str, str] = {
    "NO_INTEGRATION": "No Databricks service principal needed.",
    "CLUSTER_COMPUTE": "Databricks provides an interactive cluster and a PAT (notebook partners).",
    "WAREHOUSE_READ": "Databricks provides a SQL warehouse and a PAT to query the data the user selects "
    "(BI and data quality partners).",
    "WAREHOUSE_READ_WRITE": "Databricks provides a SQL warehouse and a PAT to create schemas and tables in "
    "one catalog and query selected data (data preparation partners).",
    "WAREHOUSE_WRITE": "Databricks provides a SQL warehouse and a PAT to create schemas and tables in one "
    "catalog (ingestion partners).",
    "WORKSPACE_MANAGEMENT": "Databricks provides a PAT to call the REST APIs on clusters and jobs; "
    "no SQL warehouse access.",
}

FEATURE_DESCRIPTIONS: dict[str, str] = {
    "UNITY_CATALOG": "The partner supports Unity Catalog.",
    "NON_ADMIN": "Non-admin users may connect (discuss with your Databricks SA first). "
    "AUTH_OAUTH_M2M then falls back to AUTH_PAT.",
    "EXTERNAL_LOCATION": "Only for partners that write data to Databricks.",
}

AUTH_OPTION_DESCRIPTIONS: dict[str, str] = {
    "AUTH_OAUTH_M2M": "OAuth machine-to-machine with a service principal. Not together with AUTH_PAT.",
    "AUTH_PAT": "A personal access token (the default when auth_options is absent or empty).",
    "AUTH_OAUTH_U2M": "OAuth user-to-machine.",
}

PARTNER_KEY = "partner"
SCHEMA_KEY = "$schema"  # editors' pointer to the JSON Schema; accepted and never sent


@dataclass(frozen=True)
class FieldSpec:
    """One field of the ``partner`` object, as the validator and the schema see it."""

    name: str
    kind: str  # "text", "url", "hostnames", "enum" or "enum_list"
    required: bool
    description: str
    example: Any
    choices: tuple[str, ...] = ()


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "text", True, "Name of the partner, shown on the Partner Connect tile.", "Test Partner"),
    FieldSpec(
        "category",
        "enum",
        True,
        "Where the tile appears on the Partner Connect page.",
        "DATA_PREP_AND_TRANSFORM",
        CATEGORIES,
    ),
    FieldSpec(
        "connect_url",
        "url",
        True,
        "Endpoint Databricks calls (POST) when a user connects.",
        "https://partner.example.com/databricks/connect",
    ),
    FieldSpec("sign_up_url", "url", True, "Sign-up page of the partner.", "https://partner.example.com/sign-up"),
    FieldSpec(
        "delete_url",
        "url",
        False,
        "Endpoint Databricks calls when a connection is deleted.",
        "https://partner.example.com/databricks/delete",
    ),
    FieldSpec(
        "terms_of_service_url", "url", True, "Terms of service of the partner.", "https://partner.example.com/tos"
    ),
    FieldSpec(
        "privacy_policy_url", "url", True, "Privacy policy of the partner.", "https://partner.example.com/privacy"
    ),
    FieldSpec(
        "hostnames",
        "hostnames",
        True,
        "ONE comma-separated string of the hosts the connect response's redirect_uri may point to. "
        "Bare host names: no scheme, no path, no port.",
        "partner.example.com,app.partner.example.com",
    ),
    FieldSpec(
        "supported_features",
        "enum_list",
        False,
        "Features the partner supports; may be empty.",
        ["UNITY_CATALOG"],
        SUPPORTED_FEATURES,
    ),
    FieldSpec(
        "integration_type",
        "enum",
        True,
        "What Databricks provisions for the partner when a user connects.",
        "WAREHOUSE_READ",
        INTEGRATION_TYPES,
    ),
    FieldSpec(
        "auth_options",
        "enum_list",
        False,
        "How the partner authenticates to Databricks; absent or empty means AUTH_PAT. "
        "AUTH_OAUTH_M2M and AUTH_PAT are mutually exclusive.",
        ["AUTH_OAUTH_M2M"],
        AUTH_OPTIONS,
    ),
)

FIELDS_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
REQUIRED_FIELDS: tuple[str, ...] = tuple(spec.name for spec in FIELDS if spec.required)
URL_FIELDS: tuple[str, ...] = tuple(spec.name for spec in FIELDS if spec.kind == "url")


# -- findings ----------------------------------------------------------------

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem in a config file, named by the JSON path of the field at fault."""

    severity: str  # "error" | "warning"
    field: str  # "partner.hostnames", "partner.auth_options[1]", "(file)" for the file as a whole
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "field": self.field, "message": self.message, "hint": self.hint}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by field path; stable, so rule order breaks ties."""
    return sorted(findings, key=lambda f: (f.severity != ERROR, f.field))


@dataclass
class PartnerConfig:
    """A validated ``partner`` object. Build it from ``ConfigReport.partner``."""

    name: str
    category: str
    connect_url: str
    sign_up_url: str
    terms_of_service_url: str
    privacy_policy_url: str
    hostnames: str
    integration_type: str
    delete_url: str | None = None
    supported_features: list[str] = field(default_factory=list)
    auth_options: list[str] = field(default_factory=list)
    # The partner object exactly as the file gave it (unknown fields included),
    # so what we send is what the user wrote. None when built in code.
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_partner(cls, partner: dict[str, Any]) -> PartnerConfig:
        """Build from a ``partner`` object that validated without errors."""
        return cls(
            name=partner["name"],
            category=partner["category"],
            connect_url=partner["connect_url"],
            sign_up_url=partner["sign_up_url"],
            terms_of_service_url=partner["terms_of_service_url"],
            privacy_policy_url=partner["privacy_policy_url"],
            hostnames=partner["hostnames"],
            integration_type=partner["integration_type"],
            delete_url=partner.get("delete_url") or None,
            supported_features=list(partner.get("supported_features") or []),
            auth_options=list(partner.get("auth_options") or []),
            raw=partner,
        )

    @property
    def hostname_list(self) -> list[str]:
        return [host.strip() for host in self.hostnames.split(",") if host.strip()]

    @property
    def is_non_admin(self) -> bool:
        return "NON_ADMIN" in self.supported_features

    @property
    def effective_auth_options(self) -> list[str]:
        """The auth options Databricks will use: AUTH_PAT when none; no M2M for NON_ADMIN."""
        options = self.auth_options or ["AUTH_PAT"]
        if self.is_non_admin:
            options = ["AUTH_PAT" if option == "AUTH_OAUTH_M2M" else option for option in options]
        return list(dict.fromkeys(options))  # drop duplicates, keep order

    def to_request_body(self) -> dict[str, Any]:
        """The create/update body: ``{"partner": ...}`` with the user's object unchanged.

        Only the ``partner`` object is sent: "$schema" and unknown top-level keys
        (which the validator warns about) stay local.
        """
        if self.raw is not None:
            return {PARTNER_KEY: dict(self.raw)}
        body: dict[str, Any] = {
            "name": self.name,
            "category": self.category,
            "connect_url": self.connect_url,
            "sign_up_url": self.sign_up_url,
        }
        if self.delete_url is not None:
            body["delete_url"] = self.delete_url
        body.update(
            terms_of_service_url=self.terms_of_service_url,
            privacy_policy_url=self.privacy_policy_url,
            hostnames=self.hostnames,
            supported_features=list(self.supported_features),
            integration_type=self.integration_type,
            auth_options=list(self.auth_options),
        )
        return {PARTNER_KEY: body}


@dataclass
class ConfigReport:
    """What loading a config file found: the parsed data and every finding."""

    data: Any | None
    findings: list[Finding]
    source: str  # the path as given, or "<stdin>"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def partner(self) -> PartnerConfig:
        if not self.valid or not isinstance(self.data, dict) or not isinstance(self.data.get(PARTNER_KEY), dict):
            count = len(self.errors)
            raise ValueError(f"{self.source} is not a valid partner config ({plural(count, 'error')})")
        return PartnerConfig.from_partner(self.data[PARTNER_KEY])
