"""A local Databricks workspace for tests, `demo` and partners' own CI.

It speaks the endpoints this tool uses with their real rules: the
self-testing partner endpoints, the Secrets API 2.0, SCIM Me, host
metadata and OAuth M2M (client credentials). Standard library only (served by stp_ext/servers): no databricks-sdk.
"""

from __future__ import annotations

from stp_ext.emulator.app import ROUTES, RequestRecord, Route
from stp_ext.emulator.http import ADMIN, DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN, USER
from stp_ext.emulator.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from stp_ext.emulator.server import Emulator
from stp_ext.emulator.state import EmulatorStateError

__all__ = [
    "ADMIN",
    "DEFAULT_ADMIN_TOKEN",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_USER_TOKEN",
    "ROUTES",
    "USER",
    "Emulator",
    "EmulatorStateError",
    "RequestRecord",
    "Route",
]
