"""The partner config file: model, loading, validation and JSON Schema.

Standard library only, and no databricks-sdk: `validate` and `schema` must
start fast and work offline.
"""

from __future__ import annotations

from stp_ext.partner_config.loading import load_partner_config
from stp_ext.partner_config.model import (
    AUTH_OPTIONS,
    CATEGORIES,
    INTEGRATION_TYPES,
    SUPPORTED_FEATURES,
    ConfigReport,
    Finding,
    PartnerConfig,
)
from stp_ext.partner_config.rules import validate_partner_config
from stp_ext.partner_config.schema import partner_json_schema

__all__ = [
    "AUTH_OPTIONS",
    "CATEGORIES",
    "INTEGRATION_TYPES",
    "SUPPORTED_FEATURES",
    "ConfigReport",
    "Finding",
    "PartnerConfig",
    "load_partner_config",
    "partner_json_schema",
    "validate_partner_config",
]
