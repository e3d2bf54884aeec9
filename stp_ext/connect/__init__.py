"""A local Partner Connect: send what Databricks sends, judge every answer.

Standard library only (no databricks-sdk, no requests) so that connect-test
starts fast and runs without a workspace.
"""

from __future__ import annotations

from stp_ext.connect.report import CheckFinding, ConnectTestReport, ScenarioResult
from stp_ext.connect.runner import reroot, run_connect_test

__all__ = ["CheckFinding", "ConnectTestReport", "ScenarioResult", "reroot", "run_connect_test"]
