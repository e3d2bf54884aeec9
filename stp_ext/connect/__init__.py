"""A local Partner Connect: send what Databricks sends, judge every answer.

Standard library only (no databricks-sdk, no requests) so that connect-test
starts fast and runs without a workspace. The names below load on first use:
`databricks-stp --help` builds every command, and connect-test's options need
only the case ids (stp_ext.connect.catalog), not the runner behind them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stp_ext.connect.report import CheckFinding, ConnectTestReport, ScenarioResult
    from stp_ext.connect.runner import reroot, run_connect_test

__all__ = ["CheckFinding", "ConnectTestReport", "ScenarioResult", "reroot", "run_connect_test"]

_HOMES = {
    "CheckFinding": "stp_ext.connect.report",
    "ConnectTestReport": "stp_ext.connect.report",
    "ScenarioResult": "stp_ext.connect.report",
    "reroot": "stp_ext.connect.runner",
    "run_connect_test": "stp_ext.connect.runner",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
