"""`--junit-xml FILE`, one option for the commands that report checks (`connect-test`, `doctor`), and its writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import click

from stp_ext.core.errors import InputError

if TYPE_CHECKING:
    from stp_ext.connect.junit import JUnitCase

F = TypeVar("F", bound=Callable[..., object])


def junit_xml_option(one_case_per: str) -> Callable[[F], F]:
    """The option, as ``junit_path``; the command checks the folder (``check_writable``) before it sends anything."""
    return click.option(
        "--junit-xml",
        "junit_path",
        metavar="FILE",
        type=click.Path(dir_okay=False, writable=True),
        help=f"Also write a JUnit XML report (one test case per {one_case_per}) for CI.",
    )


def write_junit_xml(path: str, suite: str, cases: Sequence[JUnitCase]) -> None:
    # deferred: xml.etree (~14 ms with the JUnit model) only when a report is written
    from stp_ext.connect import junit

    try:
        junit.write(path, suite, cases)
    except OSError as e:
        raise InputError(f"cannot write --junit-xml {path}: {e.strerror or e}") from None
