"""JUnit XML for CI systems: one test case per certification case (or doctor check).

The format most CI systems read (Jenkins, GitLab, GitHub Actions reporters):
``<testsuites><testsuite><testcase classname name time>`` with a
``<failure>`` for a failed case, ``<skipped>`` for one that did not apply,
and the warnings and notes in ``<system-out>``. Standard library only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stp_ext.core.safe_files import PRIVATE, write_whole

if TYPE_CHECKING:
    from stp_ext.connect.report import ConnectTestReport

# XML 1.0 cannot carry most control characters, even escaped; a partner's answer might hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class JUnitCase:
    classname: str
    name: str
    seconds: float
    failure: str | None = None  # the failure message; None when the case passed
    skipped: str | None = None  # why it did not run
    output: str = ""  # warnings and notes


def to_xml(suite: str, cases: Sequence[JUnitCase]) -> bytes:
    failures = sum(1 for c in cases if c.failure is not None)
    skipped = sum(1 for c in cases if c.skipped is not None)
    total = sum(c.seconds for c in cases)
    root = ET.Element("testsuites", name=suite, tests=str(len(cases)), failures=str(failures), time=f"{total:.3f}")
    node = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{total:.3f}",
    )
    for case in cases:
        element = ET.SubElement(
            node, "testcase", classname=_clean(case.classname), name=_clean(case.name), time=f"{case.seconds:.3f}"
        )
        if case.failure is not None:
            first = case.failure.splitlines()[0] if case.failure else "failed"
            failure = ET.SubElement(element, "failure", message=_clean(first), type="AssertionError")
            failure.text = _clean(case.failure)
        elif case.skipped is not None:
            ET.SubElement(element, "skipped", message=_clean(case.skipped))
        if case.output:
            ET.SubElement(element, "system-out").text = _clean(case.output)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write(path: str, suite: str, cases: Sequence[JUnitCase]) -> None:
    """Write the XML to ``path`` whole or not at all (a CI step must not read half a file)."""
    # Never through a link planted at a temporary name; private, as it quotes what the partner said.
    write_whole(path, to_xml(suite, cases), mode=PRIVATE)


def connect_test_cases(report: ConnectTestReport) -> list[JUnitCase]:
    """One JUnit test case per certification case of a connect-test report.

    Certification findings are failures; beyond-certification findings go to
    ``system-out``, or are failures too under ``--strict``.
    """
    cases = []
    for scenario in report.scenarios:
        failing = ("error", "warning") if report.strict else ("error",)
        errors = [f for f in scenario.findings if f.severity in failing]
        others = [f for f in scenario.findings if f.severity not in failing and f.check != "skipped"]
        skipped = next((f.message for f in scenario.findings if f.check == "skipped"), None)
        suffix = "" if scenario.certification else " (beyond certification)"
        cases.append(
            JUnitCase(
                classname="databricks-stp.connect-test",
                name=f"{scenario.case_id} {scenario.title}{suffix}".strip(),
                seconds=scenario.elapsed_ms / 1000,
                failure="\n".join(f"{f.check}: {f.message}" for f in errors) if errors else None,
                skipped=skipped,
                output="\n".join(f"{_label(f.severity)} {f.check}: {f.message}" for f in others),
            )
        )
    return cases


def _label(severity: str) -> str:
    return {"warning": "beyond certification", "info": "note"}.get(severity, severity)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def doctor_cases(checks: Sequence[Any]) -> list[JUnitCase]:
    """One JUnit test case per doctor row (objects with check, ok, detail, fix and warning)."""
    cases = []
    for check in checks:
        failure = None
        if check.ok is False:
            failure = f"{check.detail}\nFix: {check.fix}" if check.fix else check.detail
        notes = [check.detail] if check.ok else []
        if getattr(check, "warning", None):
            notes.append(f"warning: {check.warning}")
        cases.append(
            JUnitCase(
                classname="databricks-stp.doctor",
                name=check.check,
                seconds=0.0,
                failure=failure,
                skipped=check.detail if check.ok is None else None,
                output="\n".join(notes),
            )
        )
    return cases
